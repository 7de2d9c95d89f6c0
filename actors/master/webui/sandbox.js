// A task's sandbox on its agent: browse its files and follow one with a live tail, like
// Mesos' file viewer. Reads the agent's /files/browse and /files/read through the master
// (/agent/<id>/files/...), which passes on the page's own Basic credentials, so the agent's
// access_sandboxes ACL applies to the person logged in; "download" links to the agent itself.
import {h, link, table, bytes, when, getJSON, morph} from "./dom.js";

const CHUNK = 64 * 1024;          // bytes per /files/read
const START_BACK = 64 * 1024;     // a tail starts this far before the end of the file
const KEEP_CHARS = 1024 * 1024;   // the viewer keeps at most this much text
const POLL_MS = 1000;

// Follows ``path`` at ``filesUrl`` (/agent/<id>), appending what is written to ``pre``.
class Tail {
  constructor(filesUrl, path, pre, onError) {
    this.filesUrl = filesUrl;
    this.path = path;
    this.pre = pre;
    this.onError = onError;
    this.offset = null;
    this.stopped = false;
    this.timer = null;
  }

  url(offset, length) {
    const q = new URLSearchParams({path: this.path, offset: String(offset), length: String(length)});
    return `${this.filesUrl}/files/read?${q}`;
  }

  async step() {
    if (this.offset === null) {
      const size = (await getJSON(this.url(-1, 0))).offset;
      this.offset = Math.max(0, size - START_BACK);
    }
    const chunk = await getJSON(this.url(this.offset, CHUNK));
    if (chunk.data) {
      this.offset = chunk.offset + new TextEncoder().encode(chunk.data).length;
      const follow = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
      let text = this.pre.textContent + chunk.data;
      if (text.length > KEEP_CHARS) text = text.slice(text.length - KEEP_CHARS);
      this.pre.textContent = text;
      this.pre.dataset.offset = String(this.offset);
      if (follow) this.pre.scrollTop = this.pre.scrollHeight;
    }
    return Boolean(chunk.data);
  }

  async run() {
    if (this.stopped) return;
    let more = false;
    try {
      more = await this.step();
      this.onError(null);
    } catch (e) {
      this.onError(e);
    }
    if (!this.stopped) this.timer = setTimeout(() => this.run(), more ? 0 : POLL_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

function agentUrlOf(state, agentId) {
  const agent = (state.slaves || []).find(a => a.id === agentId);
  const address = agent && agent.address;
  return address ? `${location.protocol}//${address.ip || address.hostname}:${address.port}` : null;
}

function findTask(state, taskId, frameworkId) {
  for (const fw of [...(state.frameworks || []), ...(state.completed_frameworks || [])]) {
    if (fw.id !== frameworkId) continue;
    for (const t of [...(fw.tasks || []), ...(fw.unreachable_tasks || []), ...(fw.completed_tasks || [])]) {
      if (t.id === taskId) return t;
    }
  }
  return null;
}

// The task's statuses, oldest first: state, time, and reason or message where there is one.
function history(task) {
  if (!task || !task.statuses || !task.statuses.length) return "";
  return task.statuses.map(s => {
    const why = [s.reason, s.message].filter(Boolean).join(": ");
    return `${s.state} ${new Date(s.timestamp * 1000).toLocaleTimeString()}${why ? ` (${why})` : ""}`;
  }).join(" \u2192 ");
}

// params: agent, framework, executor, task, path (relative to the run's root), file (relative too).
export class SandboxPage {
  constructor(params) {
    this.params = params;
    this.root = `/frameworks/${params.framework}/executors/${params.executor}/runs/latest`;
    this.tail = null;
    this.listed = null;
  }

  mount(main, data) {
    this.header = h("div", {class: "task-head"});
    this.error = h("p", {class: "error", hidden: true});
    this.listing = h("div", {class: "listing"});
    this.viewer = h("pre", {id: "viewer", class: "viewer", "data-path": ""});
    this.viewerTitle = h("h3", {id: "viewer-title"}, "select a file to follow it");
    main.replaceChildren(h("h2", {}, "Sandbox"), this.header, this.error,
      h("div", {class: "sandbox"}, h("section", {}, h("h3", {}, "Files"), this.listing),
        h("section", {class: "view"}, this.viewerTitle, this.viewer)));
    this.update(data);
  }

  showError(e) {
    this.error.hidden = !e;
    this.error.textContent = e ? String(e.message || e) : "";
  }

  update(data) {
    const p = this.params;
    const task = findTask(data.state, p.task, p.framework);
    const state = task ? task.state : "unknown";
    morph(this.header, [h("table", {class: "facts"}, h("tbody", {},
      h("tr", {}, h("th", {}, "Task"), h("td", {id: "sandbox-task"}, p.task)),
      h("tr", {}, h("th", {}, "State"), h("td", {}, h("span", {id: "sandbox-state", class: "state " + state}, state))),
      h("tr", {}, h("th", {}, "History"), h("td", {id: "sandbox-history"}, history(task))),
      h("tr", {}, h("th", {}, "Framework"), h("td", {}, link(`#/frameworks/${p.framework}`, p.framework))),
      h("tr", {}, h("th", {}, "Agent"), h("td", {}, link(`#/agents/${p.agent}`, p.agent))),
      h("tr", {}, h("th", {}, "Directory"), h("td", {}, this.root + (p.path ? "/" + p.path : "")))))]);
    this.agentUrl = agentUrlOf(data.state, p.agent);
    this.filesUrl = `/agent/${encodeURIComponent(p.agent)}`;
    if (!this.agentUrl) {
      this.showError(new Error(`agent ${p.agent} is not registered or serves no HTTP`));
      return;
    }
    this.browse();
    if (p.file && !this.tail) this.open(p.file);
  }

  async browse() {
    const dir = this.root + (this.params.path ? "/" + this.params.path : "");
    let entries;
    try {
      entries = await getJSON(`${this.filesUrl}/files/browse?${new URLSearchParams({path: dir})}`);
    } catch (e) {
      this.showError(e);
      return;
    }
    this.showError(null);
    const rel = entry => entry.path.slice(this.root.length + 1);
    const up = this.params.path ? [{path: dir.replace(/\/[^/]*$/, ""), mode: "d", size: 0, mtime: 0, up: true}] : [];
    morph(this.listing, [table([
      {title: "Name", cell: e => {
        const name = e.up ? ".." : e.path.split("/").pop();
        if (e.mode.startsWith("d")) return link(this.href({path: e.up ? rel(e) : rel(e), file: ""}), name + "/");
        return h("a", {href: this.href({file: rel(e)}), "data-file": name}, name);
      }},
      {title: "Mode", cell: e => e.up ? "" : e.mode, class: "mono"},
      {title: "Size", cell: e => e.up ? "" : bytes(e.size), class: "num"},
      {title: "Modified", cell: e => when(e.mtime)},
      {title: "", cell: e => e.mode.startsWith("d") ? "" :
        h("a", {href: `${this.agentUrl}/files/download?${new URLSearchParams({path: e.path})}`}, "download")},
    ], [...up, ...entries], e => ({"data-path": e.path}), "empty directory")]);
  }

  href(change) {
    const q = new URLSearchParams({agent: this.params.agent, framework: this.params.framework,
      executor: this.params.executor, task: this.params.task, path: this.params.path || "", file: this.params.file || ""});
    for (const [k, v] of Object.entries(change)) q.set(k, v);
    return `#/sandbox?${q}`;
  }

  open(file) {
    if (this.tail) this.tail.stop();
    this.viewer.textContent = "";
    this.viewer.dataset.path = file;
    this.viewerTitle.textContent = `${file} (following)`;
    this.tail = new Tail(this.filesUrl, `${this.root}/${file}`, this.viewer, e => this.showError(e));
    this.tail.run();
  }

  unmount() {
    if (this.tail) this.tail.stop();
  }
}
