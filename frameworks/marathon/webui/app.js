// Marathon's web UI: apps with their instances, health and deployments; create, scale, restart and
// destroy apps. Plain JavaScript on Marathon's v2 REST API only (/v2/apps, /v2/deployments, /v2/info,
// /v2/events); the page redraws on every event of the stream and, as a fallback, every few seconds.

const REFRESH_MS = 5000;    // poll this often even with the event stream (it may be cut)
const MAX_EVENTS = 50;      // events kept in the "Recent events" list
const $ = (id) => document.getElementById(id);

const state = {info: null, apps: [], deployments: [], selected: null, pending: null, eventsSeen: 0};
window.marathonUi = state; // for tests and the curious: what the page last read

// --- DOM helpers (text is always set as text: app ids and commands are user data) ---------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function show(text, kind = "error") {
  const el = $("message");
  el.textContent = text;
  el.className = "message " + kind;
  el.hidden = !text;
}

// --- the API --------------------------------------------------------------------------------------

async function api(method, path, body) {
  const init = {method, headers: {"Accept": "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = {message: text}; }
  if (!response.ok) {
    const error = new Error(describeError(response.status, data));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function describeError(status, data) {
  const message = (data && data.message) || `HTTP ${status}`;
  const details = (data && Array.isArray(data.details)) ? data.details : [];
  const parts = details.map(d => `${d.path || ""}: ${(d.errors || []).join(", ")}`);
  return parts.length ? `${message} (${parts.join("; ")})` : message;
}

function appPath(id) {
  return "/v2/apps" + id.split("/").map(encodeURIComponent).join("/");
}

// --- reading ----------------------------------------------------------------------------------------

async function refresh() {
  try {
    const [apps, deployments, info] = await Promise.all([
      api("GET", "/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments"),
      api("GET", "/v2/deployments"),
      state.info ? Promise.resolve(state.info) : api("GET", "/v2/info"),
    ]);
    state.apps = (apps && apps.apps) || [];
    state.deployments = deployments || [];
    state.info = info;
    render();
    if ($("message").classList.contains("stale")) show("");
  } catch (e) {
    show(`Cannot read Marathon's API: ${e.message}`, "error stale");
  }
}

let timer = null;
function scheduleRefresh(ms = 150) {  // events come in bursts: one redraw per burst
  if (timer) return;
  timer = setTimeout(() => { timer = null; refresh(); }, ms);
}

// --- rendering -----------------------------------------------------------------------------------

function appStatus(app) {
  if (app.deployments && app.deployments.length) return "Deploying";
  if (app.instances === 0) return "Suspended";
  if ((app.tasksRunning || 0) < app.instances) return "Waiting";
  return "Running";
}

function hasChecks(app) {
  return Array.isArray(app.healthChecks) && app.healthChecks.length > 0;
}

function healthCell(app) {
  if (!hasChecks(app)) return h("span", {class: "muted"}, "no checks");
  const healthy = app.tasksHealthy || 0, unhealthy = app.tasksUnhealthy || 0;
  const unknown = Math.max(0, (app.tasksRunning || 0) - healthy - unhealthy);
  return h("span", {class: "health"},
    h("span", {class: "healthy", title: "healthy"}, `${healthy} healthy`),
    unhealthy ? h("span", {class: "unhealthy", title: "unhealthy"}, ` ${unhealthy} unhealthy`) : null,
    unknown ? h("span", {class: "unknown", title: "no result yet"}, ` ${unknown} unknown`) : null);
}

function renderAbout() {
  const info = state.info || {};
  const leader = info.leader ? `leader ${info.leader}` : "no leader";
  $("about").textContent = `${info.name || "marathon"} ${info.version || ""} · ${leader}` +
    (info.frameworkId ? ` · framework ${info.frameworkId}` : "");
}

function renderApps() {
  const rows = state.apps.map(app => {
    const scale = h("input", {type: "number", min: "0", value: app.instances, class: "scale-input",
      "aria-label": `instances of ${app.id}`, "data-app": app.id});
    return h("tr", {class: app.id === state.selected ? "app selected" : "app", "data-app": app.id},
      h("td", {}, h("a", {href: "#" + app.id, class: "app-link", onclick: (e) => { e.preventDefault(); select(app.id); }}, app.id)),
      h("td", {class: "status " + appStatus(app).toLowerCase()}, appStatus(app)),
      h("td", {class: "running"}, `${app.tasksRunning || 0} / ${app.instances}`,
        app.tasksStaged ? h("span", {class: "muted"}, ` (${app.tasksStaged} staged)`) : null),
      h("td", {}, healthCell(app)),
      h("td", {}, app.cpus), h("td", {}, `${app.mem} MiB`),
      h("td", {class: "actions"}, scale,
        h("button", {class: "scale", onclick: () => act(`scale ${app.id}`, () => scaleApp(app.id, scale.value))}, "Scale"),
        h("button", {class: "restart", onclick: () => act(`restart ${app.id}`, () => api("POST", appPath(app.id) + "/restart", {}))}, "Restart"),
        h("button", {class: "destroy danger", onclick: () => destroy(app.id)}, "Destroy")));
  });
  // Keep a scale field being typed in: redraw that row's other cells only when it has the focus.
  const focused = document.activeElement && document.activeElement.classList.contains("scale-input")
    ? document.activeElement.getAttribute("data-app") : null;
  if (focused) {
    for (const row of rows) {
      if (row.getAttribute("data-app") === focused) {
        const live = document.querySelector(`#apps tr[data-app="${CSS.escape(focused)}"] .scale-input`);
        if (live) row.querySelector(".scale-input").replaceWith(live);
      }
    }
  }
  replaceRows(document.querySelector("#apps tbody"), rows);
  $("no-apps").hidden = state.apps.length > 0;
  $("app-count").textContent = state.apps.length ? `(${state.apps.length})` : "";
}

function masterUi() {
  const config = (state.info && state.info.marathon_config) || {};
  if (config.mesos_leader_ui_url) return String(config.mesos_leader_ui_url).replace(/\/$/, "");
  const master = String(config.master || "");
  const match = /^([^:/]+):(\d+)$/.exec(master);  // mesopy's default: HTTP on the actor port - 10
  return match ? `http://${match[1]}:${Number(match[2]) - 10}` : null;
}

function sandboxLink(task) {
  const base = masterUi();
  if (!base) return h("span", {class: "muted"}, "no master UI");
  const q = new URLSearchParams({agent: task.slaveId, framework: (state.info && state.info.frameworkId) || "",
    executor: task.id, task: task.id, path: "", file: ""});
  return h("a", {href: `${base}/#/sandbox?${q}`, class: "sandbox-link", target: "_blank", rel: "noopener"}, "sandbox");
}

function taskHealth(app, task) {
  if (!hasChecks(app)) return h("span", {class: "muted"}, "—");
  const results = task.healthCheckResults || [];
  if (!results.length) return h("span", {class: "unknown"}, "unknown");
  const alive = results.every(r => r.alive);
  return h("span", {class: alive ? "healthy" : "unhealthy"}, alive ? "healthy" : "unhealthy");
}

function renderDetail() {
  const app = state.apps.find(a => a.id === state.selected);
  $("detail").hidden = !app;
  if (!app) return;
  $("detail-id").textContent = app.id;
  const tasks = app.tasks || [];
  replaceRows(document.querySelector("#tasks tbody"), tasks.map(task => h("tr", {class: "task", "data-task": task.id},
    h("td", {class: "task-id"}, task.id), h("td", {}, task.host), h("td", {}, (task.ports || []).join(", ")),
    h("td", {class: "state"}, task.state), h("td", {class: "task-health"}, taskHealth(app, task)),
    h("td", {}, task.startedAt ? new Date(task.startedAt).toLocaleTimeString() : "—"),
    h("td", {}, sandboxLink(task), " ",
      h("button", {class: "kill", title: "kill this task (it is replaced)",
        onclick: () => act(`kill ${task.id}`, () => api("DELETE", `${appPath(app.id)}/tasks/${encodeURIComponent(task.id)}`))}, "Kill")))));
  $("no-tasks").hidden = tasks.length > 0;
}

function renderDeployments() {
  const rows = state.deployments.map(d => {
    const action = (d.currentActions || []).map(a => `${a.action} ${a.app}`).join(", ");
    return h("tr", {class: "deployment", "data-deployment": d.id},
      h("td", {class: "mono"}, d.id), h("td", {}, (d.affectedApps || []).join(", ")), h("td", {}, action),
      h("td", {}, `${d.currentStep} / ${d.totalSteps}`), h("td", {class: "mono"}, d.version),
      h("td", {}, h("button", {class: "rollback", title: "cancel and roll back",
        onclick: () => act(`roll back ${d.id}`, () => api("DELETE", `/v2/deployments/${encodeURIComponent(d.id)}`))}, "Roll back")));
  });
  replaceRows(document.querySelector("#deployments tbody"), rows);
  $("no-deployments").hidden = rows.length > 0;
  $("deployment-count").textContent = rows.length ? `(${rows.length})` : "";
}

function render() {
  renderAbout();
  renderApps();
  renderDetail();
  renderDeployments();
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  history.replaceState(null, "", state.selected ? "#" + state.selected : "#");
  render();
}

// --- acting ------------------------------------------------------------------------------------------

async function act(what, fn) {
  try {
    await fn();
    show(`${what}: done`, "ok");
  } catch (e) {
    show(`${what}: ${e.message}`);
  }
  refresh();
}

async function scaleApp(id, value) {
  const instances = Number(value);
  if (!Number.isInteger(instances) || instances < 0) throw new Error(`instances must be an integer >= 0, got ${value}`);
  try {
    return await api("PUT", appPath(id), {instances});
  } catch (e) {
    if (e.status === 409 && confirm(`${id} is being deployed. Force the new scale?`)) {
      return api("PUT", appPath(id) + "?force=true", {instances});
    }
    throw e;
  }
}

function destroy(id) {
  if (!confirm(`Destroy ${id} and kill its tasks?`)) return;
  if (state.selected === id) state.selected = null;
  act(`destroy ${id}`, () => api("DELETE", appPath(id)));
}

function definition(form) {
  const value = (name) => form.elements[name].value.trim();
  const app = {id: value("id"), cmd: value("cmd"), instances: Number(value("instances")),
    cpus: Number(value("cpus")), mem: Number(value("mem"))};
  if (value("ports")) {
    app.portDefinitions = value("ports").split(",").map(p => ({port: Number(p.trim()), protocol: "tcp"}));
  }
  const kind = value("hc"), arg = value("hcarg");
  if (kind) {
    // Probed from the start, every 2 s; failures in the first 30 s (while the task starts) are ignored.
    const check = {protocol: kind, delaySeconds: 0, gracePeriodSeconds: 30, intervalSeconds: 2, timeoutSeconds: 5, maxConsecutiveFailures: 3};
    if (kind === "COMMAND") check.command = {value: arg || "true"};
    else { check.portIndex = 0; if (kind === "MESOS_HTTP") check.path = arg || "/"; }
    app.healthChecks = [check];
  }
  return app;
}

async function create(event) {
  event.preventDefault();
  const form = $("create-form");
  const errors = $("create-errors");
  errors.replaceChildren();
  try {
    const app = await api("POST", "/v2/apps", definition(form));
    $("create").hidden = true;
    form.reset();
    show(`created ${app.id}`, "ok");
    state.selected = app.id;
  } catch (e) {
    const details = (e.data && Array.isArray(e.data.details)) ? e.data.details : [];
    const items = details.length ? details.map(d => `${d.path}: ${(d.errors || []).join(", ")}`) : [e.message];
    errors.replaceChildren(...items.map(text => h("li", {}, text)));
  }
  refresh();
}

// --- events --------------------------------------------------------------------------------------------

function connectEvents() {
  if (!window.EventSource) return;
  const source = new EventSource("/v2/events");
  const indicator = $("stream");
  source.onopen = () => { indicator.textContent = "events: live"; indicator.className = "stream on"; };
  source.onerror = () => { indicator.textContent = "events: reconnecting"; indicator.className = "stream off"; };
  const types = ["deployment_success", "deployment_failed", "deployment_info", "deployment_step_success",
    "deployment_step_failure", "status_update_event", "health_status_changed_event", "api_post_event",
    "app_terminated_event", "instance_health_changed_event", "failed_health_check_event", "group_change_success"];
  const onEvent = (e) => {
    let data = {};
    try { data = JSON.parse(e.data); } catch (err) { /* a heartbeat or a foreign line */ }
    logEvent(e.type, data);
    scheduleRefresh();
  };
  for (const type of types) source.addEventListener(type, onEvent);
  source.onmessage = onEvent;
}

function logEvent(type, data) {
  state.eventsSeen += 1;
  const list = $("events");
  const what = [data.appId, data.taskId, data.taskStatus, data.alive === undefined ? null : (data.alive ? "alive" : "not alive")]
    .filter(x => x !== undefined && x !== null).join(" ");
  list.prepend(h("li", {}, h("span", {class: "event-type"}, type), " ", what,
    h("span", {class: "muted"}, " " + new Date().toLocaleTimeString())));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

// --- start -------------------------------------------------------------------------------------------------

$("create-open").addEventListener("click", () => { $("create").hidden = false; $("f-id").focus(); });
$("create-cancel").addEventListener("click", () => { $("create").hidden = true; $("create-errors").replaceChildren(); });
$("create-form").addEventListener("submit", create);
if (location.hash.length > 1) state.selected = decodeURIComponent(location.hash.slice(1));
refresh();
connectEvents();
setInterval(refresh, REFRESH_MS);
