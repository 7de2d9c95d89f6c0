// DOM building and formatting helpers of the mesopy web UI (no library: text goes in as text nodes).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// A table: columns [{title, cell: row => node|text, class}], one <tr> per row with rowAttrs(row).
export function table(columns, rows, rowAttrs, empty) {
  if (!rows.length) return h("p", {class: "empty"}, empty || "none");
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(c => h("th", {class: c.class}, c.title)))),
    h("tbody", {}, rows.map(row => h("tr", rowAttrs ? rowAttrs(row) : {},
      columns.map(c => h("td", {class: c.class}, c.cell(row)))))));
}

export function link(href, text, attrs) {
  return h("a", Object.assign({href}, attrs || {}), text);
}

export function num(value, digits = 2) {
  const n = Number(value || 0);
  return Number.isInteger(n) ? String(n) : n.toFixed(digits).replace(/\.?0+$/, "");
}

export function mem(mb) {
  const n = Number(mb || 0);
  if (n >= 1024 * 1024) return num(n / (1024 * 1024)) + " TB";
  if (n >= 1024) return num(n / 1024) + " GB";
  return num(n) + " MB";
}

export function bytes(n) {
  if (n >= 1 << 30) return num(n / (1 << 30)) + " GiB";
  if (n >= 1 << 20) return num(n / (1 << 20)) + " MiB";
  if (n >= 1 << 10) return num(n / (1 << 10)) + " KiB";
  return n + " B";
}

export function when(epoch) {
  if (!epoch) return "";
  return new Date(epoch * 1000).toLocaleString();
}

export function percent(fraction) {
  return (100 * (fraction || 0)).toFixed(1) + "%";
}

// A horizontal bar showing fraction (0..1) with a label.
export function bar(fraction, label) {
  const width = Math.max(0, Math.min(1, fraction || 0)) * 100;
  return h("span", {class: "bar", title: label || percent(fraction)},
    h("span", {class: "fill", style: `width:${width.toFixed(1)}%`}), h("span", {class: "label"}, label || percent(fraction)));
}

export function shortId(id) {
  return id && id.length > 14 ? id.slice(0, 6) + "\u2026" + id.slice(-6) : id || "";
}

export async function getJSON(url) {
  const response = await fetch(url, {cache: "no-store"});
  if (!response.ok) throw new Error(`${url}: ${response.status} ${(await response.text()).trim()}`);
  return response.json();
}

// Makes ``parent``'s children look like ``children`` by changing only what differs, so the
// elements a person is pointing at or clicking survive a refresh that did not change them.
export function morph(parent, children) {
  const next = [];
  collect(next, children);
  for (let i = 0; i < next.length; i++) {
    const old = parent.childNodes[i];
    if (!old) parent.append(next[i]);
    else if (old.nodeType !== next[i].nodeType || old.nodeName !== next[i].nodeName) parent.replaceChild(next[i], old);
    else patch(old, next[i]);
  }
  while (parent.childNodes.length > next.length) parent.lastChild.remove();
}

function collect(out, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) collect(out, child);
    else out.push(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function patch(old, fresh) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return;
  }
  for (const {name} of [...old.attributes]) if (!fresh.hasAttribute(name)) old.removeAttribute(name);
  for (const {name, value} of [...fresh.attributes]) if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  morph(old, [...fresh.childNodes]);
}
