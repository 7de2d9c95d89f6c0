// mesopy-chronos' web UI: talks only to Chronos' REST API under /v1/scheduler.
// ?refresh=N polls every N seconds (default 2).
import { draw, parseCsv } from "./graph.js";

const API = "/v1/scheduler";
const params = new URLSearchParams(location.search);
const REFRESH_S = Math.max(0.2, Number(params.get("refresh")) || 2);
const READ_ONLY = ["successCount", "errorCount", "lastSuccess", "lastError", "errorsSinceLastSuccess", "status"];

let jobs = new Map();
let picked = params.get("job") || "";
let timer = 0;
let busy = false;
let again = false;

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return node;
}

async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const reply = await fetch(API + path, init);
  const text = await reply.text();
  if (!reply.ok) {
    let message = text;
    try { message = JSON.parse(text).message || text; } catch (e) { /* plain text */ }
    throw new Error(`${method} ${API}${path}: ${reply.status} ${message}`.trim());
  }
  return text;
}

function say(text, bad = false) {
  const box = $("message");
  box.textContent = text;
  box.className = bad ? "message bad" : "message";
}

// "2026-12-01T10:00:00.000Z" -> "2026-12-01 10:00:00Z (3m ago)"; "" -> "never".
function when(iso) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  const ago = s < 0 ? "in the future" : s < 90 ? `${s}s ago` : s < 5400 ? `${Math.round(s / 60)}m ago`
    : s < 129600 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`;
  return `${new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")} (${ago})`;
}

function lastState(job) {
  if (!job.lastSuccess && !job.lastError) return "fresh";
  if (!job.lastError) return "success";
  if (!job.lastSuccess) return "failure";
  return Date.parse(job.lastSuccess) > Date.parse(job.lastError) ? "success" : "failure";
}

function runsOf(job) {
  if (job.parents && job.parents.length) return `after ${job.parents.join(", ")}`;
  return job.schedule || "";
}

function nextRun(job) {
  const m = /^R(\d*)\/([^/]*)\//.exec(job.schedule || "");
  if (!m || job.disabled || m[1] === "0") return "";
  return m[2];
}

async function run(name) {
  try {
    await call("PUT", `/job/${encodeURIComponent(name)}`);
    say(`${name}: run requested`);
  } catch (e) { say(e.message, true); }
  refresh();
}

async function toggle(name) {
  const job = jobs.get(name);
  if (!job) return;
  const body = { ...job, disabled: !job.disabled };
  for (const field of READ_ONLY) delete body[field];
  const kind = job.parents && job.parents.length ? "dependency" : "iso8601";
  try {
    await call("POST", `/${kind}`, body);
    say(`${name}: ${body.disabled ? "disabled" : "enabled"}`);
  } catch (e) { say(e.message, true); }
  refresh();
}

function pick(name) {
  picked = name;
  const url = new URL(location.href);
  url.searchParams.set("job", name);
  history.replaceState(null, "", url);
  refresh();
}

function jobRow(job) {
  const state = job.status || "idle";
  const last = lastState(job);
  return h("tr", { "data-job": job.name, "data-state": state, "data-last": last,
                   "data-disabled": String(Boolean(job.disabled)), class: job.name === picked ? "picked" : "" },
    h("td", {}, h("a", { href: `?job=${encodeURIComponent(job.name)}`, "data-pick": job.name,
                         onclick: (e) => { e.preventDefault(); pick(job.name); } }, job.name)),
    h("td", { class: "mono" }, runsOf(job)),
    h("td", { class: "mono" }, nextRun(job)),
    h("td", { class: last === "success" ? "ok" : "" }, when(job.lastSuccess)),
    h("td", { class: last === "failure" ? "bad" : "" }, when(job.lastError)),
    h("td", { class: "num" }, String(job.successCount ?? 0)),
    h("td", { class: "num" }, String(job.errorCount ?? 0)),
    h("td", {}, h("span", { class: `state ${state}` }, job.disabled ? `${state}, disabled` : state)),
    h("td", { class: "actions" },
      h("button", { type: "button", "data-action": "run", "data-job": job.name, onclick: () => run(job.name) }, "Run"),
      h("button", { type: "button", "data-action": "toggle", "data-job": job.name, onclick: () => toggle(job.name) },
        job.disabled ? "Enable" : "Disable")));
}

function renderJobs(list) {
  const filter = $("filter").value.trim().toLowerCase();
  const shown = list.filter((j) => !filter || j.name.toLowerCase().includes(filter)
    || String(j.command || "").toLowerCase().includes(filter));
  const body = $("jobs").tBodies[0];
  body.replaceChildren(...shown.map(jobRow));
  if (!shown.length) {
    body.append(h("tr", {}, h("td", { colspan: 9, class: "empty" }, list.length ? "no job matches" : "no jobs yet")));
  }
  $("count").textContent = `${list.length} job${list.length === 1 ? "" : "s"}`;
}

async function renderHistory() {
  const box = $("history");
  if (!picked || !jobs.has(picked)) {
    box.replaceChildren(h("p", { class: "empty" }, "Pick a job to see its runs."));
    delete box.dataset.job;
    return;
  }
  const job = jobs.get(picked);
  const stat = JSON.parse(await call("GET", `/job/stat/${encodeURIComponent(picked)}`));
  const hist = stat.histogram || {};
  const rows = (stat.taskStatHistory || []).map((t) => h("tr", { "data-task": t.taskId, "data-status": t.status },
    h("td", { class: "mono" }, t.taskId), h("td", {}, t.startTime), h("td", {}, t.endTime),
    h("td", {}, t.duration || ""), h("td", {}, h("span", { class: `state ${t.status}` }, t.status))));
  const facts = [["command", job.command], ["runs", runsOf(job)], ["epsilon", job.epsilon || ""],
                 ["retries", job.retries ?? ""], ["owner", job.owner || ""],
                 ["resources", `cpus ${job.cpus} · mem ${job.mem} MB · disk ${job.disk} MB`],
                 ["run times", hist.count ? `${hist.count} successful, mean ${(hist.mean / 1000).toFixed(2)} s,`
                   + ` median ${(hist.median / 1000).toFixed(2)} s` : "no successful run yet"],
                 ["skipped", String(hist.skipped ?? 0)]];
  box.dataset.job = picked;
  box.dataset.runs = String(rows.length);
  box.replaceChildren(
    h("h3", {}, `History of ${picked}`),
    h("table", { class: "facts" }, facts.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "mono" }, v)))),
    h("table", { class: "runs" },
      h("thead", {}, h("tr", {}, ["task", "started", "ended", "took", "status"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "no runs yet")))));
}

function renderGraph(csv) {
  const graph = parseCsv(csv);
  const box = $("graph");
  box.dataset.nodes = String(graph.nodes.length);
  box.dataset.links = String(graph.links.length);
  box.replaceChildren(graph.nodes.length ? draw(graph, jobs, pick) : h("p", { class: "empty" }, "no jobs yet"));
}

async function refresh() {
  if (busy) {  // one refresh at a time; an action during one asks for another right after
    again = true;
    return;
  }
  busy = true;
  clearTimeout(timer);
  try {
    const [list, csv] = await Promise.all([call("GET", "/jobs").then(JSON.parse), call("GET", "/graph/csv")]);
    jobs = new Map(list.map((j) => [j.name, j]));
    renderJobs(list);
    renderGraph(csv);
    await renderHistory();
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "status";
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (e) {
    $("status").textContent = e.message;
    $("status").className = "status bad";
  }
  busy = false;
  if (again) {
    again = false;
    refresh();
  } else {
    timer = setTimeout(refresh, REFRESH_S * 1000);
  }
}

$("filter").addEventListener("input", () => renderJobs([...jobs.values()]));
refresh();
