// The dependency graph as a picture: Chronos' /scheduler/graph/csv text parsed, laid out in layers
// (parents left of their children) and drawn as SVG. No graphviz, no libraries.

const SVG = "http://www.w3.org/2000/svg";
const NODE_H = 30;
const GAP_X = 70;
const GAP_Y = 16;
const PAD = 12;

// "node,<name>,<last state>,<state>" and "link,<parent>,<child>" lines -> {nodes, links}.
export function parseCsv(text) {
  const nodes = [];
  const links = [];
  for (const line of text.split("\n")) {
    const parts = line.trim().split(",");
    if (parts[0] === "node" && parts.length >= 3) {
      nodes.push({ name: parts[1], last: parts[2], state: parts[3] || "idle" });
    } else if (parts[0] === "link" && parts.length === 3) {
      links.push({ from: parts[1], to: parts[2] });
    }
  }
  return { nodes, links };
}

// Layers by longest path from a root; an edge across several layers gets a virtual node in each
// layer between, so it is routed through a free slot instead of under other jobs. Within a layer, a
// few sweeps order each node by the mean position of its neighbours in the layer before
// (barycenter), which keeps chains straight and crossings few.
// Returns {positions: name -> {x, y, w, layer}, routes: [[x, y], ...] per link, width, height}.
export function layout(nodes, links) {
  const names = nodes.map((n) => n.name);
  for (const l of links) for (const n of [l.from, l.to]) if (!names.includes(n)) names.push(n);
  const parents = new Map(names.map((n) => [n, []]));
  const children = new Map(names.map((n) => [n, []]));
  for (const l of links) {
    parents.get(l.to).push(l.from);
    children.get(l.from).push(l.to);
  }
  const layer = new Map();
  const waiting = new Map(names.map((n) => [n, parents.get(n).length]));
  const ready = names.filter((n) => waiting.get(n) === 0);
  ready.forEach((n) => layer.set(n, 0));
  while (ready.length) {
    const n = ready.shift();
    for (const c of children.get(n)) {
      layer.set(c, Math.max(layer.get(c) ?? 0, layer.get(n) + 1));
      waiting.set(c, waiting.get(c) - 1);
      if (waiting.get(c) === 0) ready.push(c);
    }
  }
  const deepest = Math.max(0, ...layer.values());
  for (const n of names) if (!layer.has(n)) layer.set(n, deepest + 1); // only if the server sent a cycle
  // the drawn graph: real nodes plus a virtual one per layer crossed by a long edge
  const up = new Map(names.map((n) => [n, []]));
  const down = new Map(names.map((n) => [n, []]));
  const chains = links.map((l, i) => {
    const chain = [l.from];
    const [a, b] = [layer.get(l.from), layer.get(l.to)];
    for (let k = a + 1; k < b; k++) {
      const v = `\u0000${i}:${k}`;
      layer.set(v, k);
      up.set(v, []);
      down.set(v, []);
      chain.push(v);
    }
    chain.push(l.to);
    for (let k = 1; k < chain.length; k++) {
      up.get(chain[k]).push(chain[k - 1]);
      down.get(chain[k - 1]).push(chain[k]);
    }
    return chain;
  });
  const layers = [];
  for (const n of layer.keys()) (layers[layer.get(n)] ||= []).push(n);
  const rank = new Map();
  layers.forEach((row) => row.forEach((n, i) => rank.set(n, i)));
  const mean = (list, fallback) => (list.length ? list.reduce((s, n) => s + rank.get(n), 0) / list.length : fallback);
  for (let sweep = 0; sweep < 6; sweep++) {
    const downward = sweep % 2 === 0;
    const order = downward ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const row of order) {
      const key = new Map(row.map((n) => [n, mean(downward ? up.get(n) : down.get(n), rank.get(n))]));
      row.sort((a, b) => key.get(a) - key.get(b) || rank.get(a) - rank.get(b));
      row.forEach((n, i) => rank.set(n, i));
    }
  }
  const virtual = (n) => n.startsWith("\u0000");
  const width = (n) => (virtual(n) ? 0 : Math.max(80, 7.5 * n.length + 24));
  const tallest = Math.max(1, ...layers.map((row) => row.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const positions = new Map();
  let x = PAD;
  layers.forEach((row, index) => {
    const columnWidth = Math.max(20, ...row.map(width));
    const rowHeight = row.length * NODE_H + (row.length - 1) * GAP_Y;
    row.forEach((n, i) => {
      positions.set(n, { x, y: (height - rowHeight) / 2 + i * (NODE_H + GAP_Y), w: columnWidth, layer: index });
    });
    x += columnWidth + GAP_X;
  });
  const routes = chains.map((chain) => chain.flatMap((n, k) => {
    const p = positions.get(n);
    const mid = p.y + NODE_H / 2;
    if (k === 0) return [[p.x + p.w, mid]];
    if (k === chain.length - 1) return [[p.x, mid]];
    return [[p.x, mid], [p.x + p.w, mid]];
  }));
  for (const n of [...positions.keys()]) if (virtual(n)) positions.delete(n);
  return { positions, routes, width: Math.max(x - GAP_X + PAD, 2 * PAD), height };
}

// A smooth path through the route's points: curves between columns, straight lines inside them.
function pathOf(points) {
  let d = `M ${points[0][0]} ${points[0][1]}`;
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i - 1];
    const [x2, y2] = points[i];
    if (i % 2 === 0) {
      d += ` L ${x2} ${y2}`;
    } else {
      const bend = Math.max(20, (x2 - x1) / 2);
      d += ` C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    }
  }
  return d;
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// The SVG of the graph; `jobs` (name -> job JSON) marks disabled jobs, `onPick(name)` is a node click.
export function draw(graph, jobs, onPick) {
  const { positions, routes, width, height } = layout(graph.nodes, graph.links);
  const svg = el("svg", { class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                          "aria-label": "job dependency graph" });
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7,
                                markerHeight: 7, orient: "auto-start-reverse" });
  marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  graph.links.forEach((l, i) => {
    svg.appendChild(el("path", { class: "edge", "data-from": l.from, "data-to": l.to, "marker-end": "url(#arrow)",
                                 d: pathOf(routes[i]) }));
  });
  for (const node of graph.nodes) {
    const p = positions.get(node.name);
    const job = jobs.get(node.name);
    // the csv's state, else the job's own (mesopy's GET /jobs carries a `status`: idle/queued/running)
    const known = node.state !== "idle" ? node.state : (job && job.status) || "idle";
    const state = known.includes("running") ? "running" : known;
    const g = el("g", { class: `node ${node.last} ${state}${job && job.disabled ? " disabled" : ""}`,
                        "data-job": node.name, "data-last": node.last, "data-state": state,
                        transform: `translate(${p.x},${p.y})` });
    g.appendChild(el("title", {}, `${node.name}: last run ${node.last}, ${known}`));
    g.appendChild(el("rect", { width: p.w, height: NODE_H, rx: 5, ry: 5 }));
    g.appendChild(el("text", { x: p.w / 2, y: NODE_H / 2, "dominant-baseline": "central", "text-anchor": "middle" },
                     node.name));
    g.addEventListener("click", () => onPick(node.name));
    svg.appendChild(g);
  }
  return svg;
}
