// The mesopy web UI: polls the master's JSON endpoints and renders the page the location's hash names.
import {h, link, table, num, mem, when, percent, bar, shortId, getJSON, morph} from "./dom.js";
import {usageChart, shareChart, cpus} from "./charts.js";
import {SandboxPage} from "./sandbox.js";

const REFRESH_MS = Number(new URLSearchParams(location.search).get("refresh") || 2000);
const USAGE_EVERY = 5;  // refreshes between reads of /master/usage (sampled every 10 s)
const MAX_ROWS = 200;  // rows of a task table

const data = {state: null, metrics: {}, roles: [], shares: {frameworks: {}, roles: {}}, usage: [], live: []};
let page = null;
let refreshes = 0;

// --- reading the master -------------------------------------------------------

async function refresh() {
  try {
    const wantUsage = refreshes % USAGE_EVERY === 0;
    const [state, metrics, roles, shares, usage] = await Promise.all([
      getJSON("/master/state"),
      getJSON("/metrics/snapshot").catch(() => data.metrics),  // a principal the get_endpoints ACL refuses
      getJSON("/master/roles"),
      getJSON("/master/shares").catch(() => data.shares),
      wantUsage ? getJSON("/master/usage").catch(() => null) : Promise.resolve(null)]);
    Object.assign(data, {state, metrics, roles: roles.roles || [], shares});
    if (usage) data.usage = usage.samples;
    addLivePoint(metrics);
    refreshes += 1;
    setStatus(`updated ${new Date().toLocaleTimeString()}`, false);
  } catch (e) {
    setStatus(`master unreachable: ${e.message || e}`, true);
    return;
  } finally {
    document.body.dataset.refreshes = String(refreshes);
  }
  show();  // an error here is the UI's own: thrown (the console shows it), and the polling goes on
}

// Points between the master's 10 s samples, so a chart moves at every refresh (kept one hour).
function addLivePoint(m) {
  const point = {time: Date.now() / 1000};
  for (const name of ["cpus", "mem"]) {
    point[name + "_total"] = m[`master/${name}_total`] || 0;
    point[name + "_used"] = m[`master/${name}_used`] || 0;
    const allocated = m[`allocator/mesos/resources/${name}/offered_or_allocated`] || point[name + "_used"];
    point[name + "_offered"] = Math.max(0, allocated - point[name + "_used"]);
  }
  data.live.push(point);
  while (data.live.length && data.live[0].time < point.time - 3600) data.live.shift();
}

function samples() {
  const lastSample = data.usage.length ? data.usage[data.usage.length - 1].time : 0;
  return [...data.usage, ...data.live.filter(p => p.time > lastSample)];
}

function setStatus(text, bad) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.classList.toggle("bad", bad);
}

// --- what the state holds ----------------------------------------------------

function frameworks() {
  return data.state ? data.state.frameworks || [] : [];
}

function allFrameworks() {
  return data.state ? [...frameworks(), ...(data.state.completed_frameworks || [])] : [];
}

function activeTasks() {
  return frameworks().flatMap(fw => [...(fw.tasks || []), ...(fw.unreachable_tasks || [])]);
}

function completedTasks() {
  return allFrameworks().flatMap(fw => fw.completed_tasks || []);
}

function frameworkName(id) {
  const fw = allFrameworks().find(f => f.id === id);
  return fw ? fw.name || id : id;
}

function agentName(id) {
  const agent = data.state && (data.state.slaves || []).find(a => a.id === id);
  return agent ? agent.hostname || id : id;
}

function startTime(task) {
  return task.statuses && task.statuses.length ? task.statuses[0].timestamp : 0;
}

function weightOf(role) {
  const entry = data.roles.find(r => r.name === role);
  return entry ? entry.weight : 1;
}

function frameworkStatus(fw) {
  if (!fw.connected) return "disconnected";
  return fw.active ? "active" : "inactive";
}

function sandboxHref(task) {
  const q = new URLSearchParams({agent: task.slave_id, framework: task.framework_id,
    executor: task.executor_id || task.id, task: task.id, path: "", file: ""});
  return `#/sandbox?${q}`;
}

// --- tables -------------------------------------------------------------------

function stateCell(value) {
  return h("span", {class: "state " + value}, value);
}

// The newest ``limit`` of ``tasks`` (a page of thousands of rows, rebuilt every refresh, would stall).
function tasksTable(tasks, empty, limit = MAX_ROWS) {
  const sorted = [...tasks].sort((a, b) => startTime(b) - startTime(a) || (a.id < b.id ? -1 : 1));
  const shown = sorted.slice(0, limit);
  const rows = table([
    {title: "ID", cell: t => link(sandboxHref(t), t.id, {class: "task-link", title: "open the sandbox"})},
    {title: "Name", cell: t => t.name},
    {title: "State", cell: t => stateCell(t.state), class: "state-cell"},
    {title: "Framework", cell: t => link(`#/frameworks/${t.framework_id}`, frameworkName(t.framework_id))},
    {title: "Agent", cell: t => link(`#/agents/${t.slave_id}`, agentName(t.slave_id))},
    {title: "CPUs", cell: t => num(t.resources.cpus), class: "num"},
    {title: "Mem", cell: t => mem(t.resources.mem), class: "num"},
    {title: "Started", cell: t => when(startTime(t))},
    {title: "", cell: t => link(sandboxHref(t), "sandbox")},
  ], shown, t => ({"data-task-id": t.id, "data-state": t.state}), empty || "no tasks");
  return sorted.length > shown.length ?
    h("div", {}, rows, h("p", {class: "more"}, `the newest ${shown.length} of ${sorted.length} shown; `,
      "the Tasks page filters them, ", h("code", {}, "mesopy tasks --all"), " lists them all")) : rows;
}

function agentsTable(agents) {
  return table([
    {title: "ID", cell: a => link(`#/agents/${a.id}`, shortId(a.id), {title: a.id})},
    {title: "Host", cell: a => a.hostname},
    {title: "State", cell: a => stateCell(a.active ? "active" : "inactive"), class: "state-cell"},
    {title: "CPUs", cell: a => bar(a.resources.cpus ? a.used_resources.cpus / a.resources.cpus : 0,
                                     `${num(a.used_resources.cpus)} / ${num(a.resources.cpus)}`)},
    {title: "Mem", cell: a => bar(a.resources.mem ? a.used_resources.mem / a.resources.mem : 0,
                                    `${mem(a.used_resources.mem)} / ${mem(a.resources.mem)}`)},
    {title: "Registered", cell: a => when(a.registered_time)},
  ], agents, a => ({"data-agent-id": a.id, "data-state": a.active ? "active" : "inactive"}), "no agents");
}

function frameworksTable(fws) {
  return table([
    {title: "ID", cell: f => link(`#/frameworks/${f.id}`, shortId(f.id), {title: f.id})},
    {title: "Name", cell: f => f.name},
    {title: "Role", cell: f => (f.roles || [f.role]).join(", ")},
    {title: "Weight", cell: f => num(weightOf(f.role)), class: "num"},
    {title: "Dominant share", cell: f => bar(data.shares.frameworks[f.id] || 0)},
    {title: "Tasks", cell: f => String((f.tasks || []).length), class: "num"},
    {title: "CPUs", cell: f => num(f.used_resources.cpus), class: "num"},
    {title: "Mem", cell: f => mem(f.used_resources.mem), class: "num"},
    {title: "State", cell: f => stateCell(frameworkStatus(f)), class: "state-cell"},
    {title: "", cell: f => link(`#/frameworks/${f.id}?why=1`, "why no offers?")},
  ], fws, f => ({"data-framework-id": f.id, "data-state": frameworkStatus(f)}), "no frameworks");
}

function offersTable(offers) {
  return table([
    {title: "Offer", cell: o => shortId(o.id)},
    {title: "Framework", cell: o => link(`#/frameworks/${o.framework_id}`, frameworkName(o.framework_id))},
    {title: "Agent", cell: o => link(`#/agents/${o.slave_id}`, agentName(o.slave_id))},
    {title: "CPUs", cell: o => num(o.resources.cpus), class: "num"},
    {title: "Mem", cell: o => mem(o.resources.mem), class: "num"},
    {title: "Ports", cell: o => o.resources.ports || ""},
  ], offers, o => ({"data-offer-id": o.id}), "no outstanding offers");
}

function resourceTable(total, used, offered) {
  const rows = ["cpus", "mem", "disk", "gpus"].map(name => ({name, total: total[name] || 0, used: used[name] || 0,
                                                              offered: offered[name] || 0}));
  const show = (name, v) => name === "cpus" || name === "gpus" ? num(v) : mem(v);
  return table([
    {title: "Resource", cell: r => r.name},
    {title: "Total", cell: r => show(r.name, r.total), class: "num"},
    {title: "Used", cell: r => show(r.name, r.used), class: "num"},
    {title: "Offered", cell: r => show(r.name, r.offered), class: "num"},
    {title: "Idle", cell: r => show(r.name, Math.max(0, r.total - r.used - r.offered)), class: "num"},
    {title: "", cell: r => bar(r.total ? (r.used + r.offered) / r.total : 0)},
  ], rows, r => ({"data-resource": r.name}));
}

function sumResources(list) {
  const out = {};
  for (const r of list) for (const [k, v] of Object.entries(r || {})) if (typeof v === "number") out[k] = (out[k] || 0) + v;
  return out;
}

function card(title, value, detail, id) {
  return h("div", {class: "card", id}, h("div", {class: "card-title"}, title), h("div", {class: "card-value"}, value),
    h("div", {class: "card-detail"}, detail));
}

// --- pages ----------------------------------------------------------------------

// A page that is rebuilt from the data at every refresh.
class Rendered {
  constructor(render) { this.render = render; }
  mount(main, d) { this.main = main; this.update(d); }
  update(d) { if (d.state) morph(this.main, [this.render(d)]); }
  unmount() {}
}

function clusterPage() {
  const m = data.metrics;
  const agents = data.state.slaves || [];
  const active = agents.filter(a => a.active).length;
  const fws = frameworks();
  const taskStates = Object.entries(m).filter(([k, v]) => k.startsWith("master/tasks_") && v > 0)
    .map(([k, v]) => h("span", {class: "count", "data-task-state": "TASK_" + k.slice(13).toUpperCase()},
      `${k.slice(13)} ${num(v)}`));
  const total = sumResources(agents.filter(a => a.active).map(a => a.resources));
  const used = sumResources(agents.filter(a => a.active).map(a => a.used_resources));
  const offered = sumResources(agents.filter(a => a.active).map(a => a.offered_resources));
  const points = samples();
  return [
    h("div", {class: "cards"},
      card("Agents", `${active}`, `active, ${agents.length - active} inactive`, "agents-card"),
      card("Frameworks", `${fws.filter(f => f.active).length}`, `active, ${fws.filter(f => !f.active).length} inactive, ` +
        `${(data.state.completed_frameworks || []).length} completed`, "frameworks-card"),
      card("Tasks", `${activeTasks().length}`, h("span", {}, "live; ", taskStates), "tasks-card"),
      card("Offers", `${num(m["master/outstanding_offers"])}`, "outstanding", "offers-card"),
      card("Leader", data.state.leader_info ? data.state.leader_info.hostname : "", `up ${num(m["master/uptime_secs"], 0)} s`)),
    h("h2", {}, "Resources"),
    resourceTable(total, used, offered),
    h("div", {class: "charts"},
      usageChart("cpus", "CPUs over the last hour", points, cpus),
      usageChart("mem", "Memory over the last hour", points, mem),
      shareChart(fws.map(f => ({label: f.name || f.id, share: data.shares.frameworks[f.id] || 0})))),
    h("h2", {}, "Active tasks"), tasksTable(activeTasks(), "no active tasks", 50),
    h("h2", {}, "Agents"), agentsTable(agents.slice(0, 50)),
    agents.length > 50 ? h("p", {class: "more"}, `50 of ${agents.length} agents shown; see `, link("#/agents", "Agents")) : null,
  ];
}

function frameworksPage() {
  return [h("h2", {}, "Frameworks"), frameworksTable(frameworks()),
    h("h2", {}, "Completed frameworks"), frameworksTable(data.state.completed_frameworks || [])];
}

class FrameworkPage {
  constructor(id, scrollToWhy) { this.id = id; this.why = null; this.scrollToWhy = scrollToWhy; }
  mount(main, d) { this.main = main; this.update(d); }
  unmount() { this.gone = true; }

  update(d) {
    const fw = allFrameworks().find(f => f.id === this.id);
    if (!fw) {
      morph(this.main, [h("h2", {}, "Framework"), h("p", {class: "error"}, `no framework ${this.id}`)]);
      return;
    }
    getJSON(`/master/allocation?framework_id=${encodeURIComponent(this.id)}`)
      .then(why => { this.why = why; }, e => { this.why = {error: String(e.message || e)}; })
      .then(() => {
        if (this.gone) return;
        this.render(fw);
        if (this.scrollToWhy) document.getElementById("why").scrollIntoView();
        this.scrollToWhy = false;
      });
    this.render(fw);
  }

  render(fw) {
    morph(this.main, [
      h("h2", {}, `Framework ${fw.name}`),
      h("table", {class: "facts"}, h("tbody", {},
        [["ID", fw.id], ["Name", fw.name], ["User", fw.user], ["Roles", (fw.roles || [fw.role]).join(", ")],
         ["Weight", num(weightOf(fw.role))], ["Dominant share", percent(data.shares.frameworks[fw.id] || 0)],
         ["State", stateCell(frameworkStatus(fw))], ["Registered", when(fw.registered_time)],
         ["Failover timeout", `${num(fw.failover_timeout)} s`], ["Used", `${num(fw.used_resources.cpus)} cpus, ${mem(fw.used_resources.mem)}`],
         ["Offered", `${num(fw.offered_resources.cpus)} cpus, ${mem(fw.offered_resources.mem)}`]]
          .map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
      h("h3", {}, "Why is it (not) getting offers?"), whySection(this.why),
      h("h3", {}, "Outstanding offers"), offersTable(fw.offers || []),
      h("h3", {}, "Active tasks"), tasksTable([...(fw.tasks || []), ...(fw.unreachable_tasks || [])], "no active tasks"),
      h("h3", {}, "Completed tasks"), tasksTable(fw.completed_tasks || [], "no completed tasks")]);
  }
}

function whySection(why) {
  if (!why) return h("p", {id: "why", class: "empty"}, "asking the allocator...");
  if (why.error) return h("p", {id: "why", class: "error"}, why.error);
  const a = why.allocator, f = why.framework;
  const siblings = Object.entries(a.siblings).flatMap(([role, list]) => list.map(s => ({role, ...s})));
  return h("div", {id: "why"},
    h("ul", {class: "reasons"}, why.why.map(reason => h("li", {}, reason))),
    h("p", {}, `Suppressed roles: ${a.suppressed_roles.length ? a.suppressed_roles.join(", ") : "none"}. `,
      "Last offer: ", f.last_offer ? `${when(f.last_offer.time)} from agent ${agentName(f.last_offer.agent_id)}` : "never"),
    h("h4", {}, "Active decline filters"),
    table([
      {title: "Agent", cell: x => link(`#/agents/${x.agent_id}`, agentName(x.agent_id))},
      {title: "Role", cell: x => x.role},
      {title: "Refused", cell: x => x.resources},
      {title: "Until", cell: x => when(x.until)},
    ], a.filters, x => ({"data-filter-agent": x.agent_id}), "no decline filters"),
    h("h4", {}, "Share against its role's frameworks"),
    table([
      {title: "Role", cell: s => s.role},
      {title: "Framework", cell: s => link(`#/frameworks/${s.framework_id}`, frameworkName(s.framework_id))},
      {title: "Dominant share", cell: s => bar(s.share)},
    ], siblings, s => ({class: s.framework_id === f.id ? "self" : ""})));
}

function agentsPage() {
  return [h("h2", {}, "Agents"), agentsTable(data.state.slaves || [])];
}

function agentPage(id) {
  const agent = (data.state.slaves || []).find(a => a.id === id);
  if (!agent) return [h("h2", {}, "Agent"), h("p", {class: "error"}, `no agent ${id}`)];
  const mine = t => t.slave_id === id;
  const attributes = Object.entries(agent.attributes || {}).map(([k, v]) => `${k}:${v}`).join("; ");
  const address = agent.address ? `${location.protocol}//${agent.address.ip}:${agent.address.port}/` : "no HTTP";  // the master's scheme: TLS on every port or none
  return [
    h("h2", {}, `Agent ${agent.hostname}`),
    h("table", {class: "facts"}, h("tbody", {},
      [["ID", agent.id], ["PID", agent.pid], ["HTTP", address], ["State", stateCell(agent.active ? "active" : "inactive")],
       ["Registered", when(agent.registered_time)], ["Attributes", attributes || "none"], ["Version", agent.version]]
        .map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
    resourceTable(agent.resources, agent.used_resources, agent.offered_resources),
    h("h3", {}, "Active tasks"), tasksTable(activeTasks().filter(mine), "no active tasks"),
    h("h3", {}, "Completed tasks"), tasksTable(completedTasks().filter(mine), "no completed tasks"),
  ];
}

// The Tasks page: a filter (kept across refreshes) over id, name, state, framework and agent.
class TasksPage {
  constructor() {
    this.query = "";
    this.input = h("input", {type: "search", id: "task-filter", placeholder: "filter by id, name, state, framework, agent",
                             oninput: () => { this.query = this.input.value.trim().toLowerCase(); this.update(data); }});
    this.body = h("div", {});
  }
  mount(main, d) { main.replaceChildren(h("div", {class: "filter"}, this.input), this.body); this.update(d); }
  unmount() {}
  update(d) {
    const q = this.query;
    const match = t => !q || [t.id, t.name, t.state, frameworkName(t.framework_id), agentName(t.slave_id)]
      .some(v => String(v || "").toLowerCase().includes(q));
    morph(this.body, [h("h2", {}, "Active tasks"), tasksTable(activeTasks().filter(match), "no active tasks"),
      h("h2", {}, "Completed tasks"), tasksTable(completedTasks().filter(match), "no completed tasks")]);
  }
}

function rolesPage() {
  const rows = data.roles.map(r => ({...r, share: data.shares.roles[r.name] || 0}));
  return [h("h2", {}, "Roles"), table([
    {title: "Role", cell: r => r.name},
    {title: "Weight", cell: r => num(r.weight), class: "num"},
    {title: "Frameworks", cell: r => r.frameworks.map(id => link(`#/frameworks/${id}`, frameworkName(id)))
      .flatMap((a, i) => i ? [", ", a] : [a])},
    {title: "CPUs", cell: r => num(r.resources.cpus), class: "num"},
    {title: "Mem", cell: r => mem(r.resources.mem), class: "num"},
    {title: "Dominant share", cell: r => bar(r.share)},
    {title: "Quota (guarantee / limit / consumed)", cell: r => quotaText(r.quota)},
  ], rows, r => ({"data-role": r.name}), "no roles")];
}

// A role's quota, resource by resource: "cpus 1 / 2 / 0.5"; "" without one.
function quotaText(quota) {
  if (!quota) return "";
  const names = [...new Set([...Object.keys(quota.guarantee), ...Object.keys(quota.limit)])].sort();
  const amount = v => v === undefined ? "-" : num(v);
  return names.map(n => `${n} ${amount(quota.guarantee[n])} / ${amount(quota.limit[n])} / ${amount((quota.consumed || {})[n] || 0)}`)
    .join("; ");
}

function offersPage() {
  return [h("h2", {}, "Outstanding offers"), offersTable(frameworks().flatMap(f => f.offers || []))];
}

// --- routing --------------------------------------------------------------------

function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] || "cluster";
  const pages = {
    cluster: () => new Rendered(clusterPage),
    frameworks: () => parts[1] ? new FrameworkPage(parts[1], Boolean(params.why)) : new Rendered(frameworksPage),
    agents: () => parts[1] ? new Rendered(() => agentPage(parts[1])) : new Rendered(agentsPage),
    tasks: () => new TasksPage(),
    roles: () => new Rendered(rolesPage),
    offers: () => new Rendered(offersPage),
    sandbox: () => new SandboxPage(params),
  };
  if (page) page.unmount();
  page = (pages[name] || (() => new Rendered(() => [h("p", {class: "error"}, `no page ${path}`)])))();
  pageMounted = false;
  document.body.dataset.page = name;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("current", a.dataset.page === name);
  document.getElementById("main").replaceChildren(h("p", {class: "empty"}, "loading..."));
  show();
}

let pageMounted = false;

function show() {
  if (!page || !data.state) return;
  const started = performance.now();
  if (pageMounted) {
    page.update(data);
  } else {
    pageMounted = true;
    page.mount(document.getElementById("main"), data);
  }
  document.body.dataset.renderMs = (performance.now() - started).toFixed(1);  // for a person or a test to read
}

async function loop() {
  try {
    await refresh();
  } finally {
    setTimeout(loop, REFRESH_MS);
  }
}

window.addEventListener("hashchange", route);
route();
loop();
