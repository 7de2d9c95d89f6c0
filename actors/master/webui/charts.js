// Inline SVG charts of the mesopy web UI: a resource over the last hour, and dominant shares.
import {h, svg, num, percent} from "./dom.js";

const W = 460, H = 160, PAD_L = 46, PAD_B = 20, PAD_T = 10, PAD_R = 8;

// samples: [{time, <name>_total, <name>_used, <name>_offered}] oldest first; the last hour is drawn.
export function usageChart(name, title, samples, format) {
  const now = samples.length ? samples[samples.length - 1].time : Date.now() / 1000;
  const start = now - 3600;
  const shown = samples.filter(s => s.time >= start);
  const top = Math.max(1e-9, ...shown.map(s => Math.max(s[name + "_total"], s[name + "_used"] + s[name + "_offered"])));
  const x = t => PAD_L + (W - PAD_L - PAD_R) * (t - start) / 3600;
  const y = v => H - PAD_B - (H - PAD_B - PAD_T) * v / top;
  const points = key => shown.map(s => `${x(s.time).toFixed(1)},${y(key(s)).toFixed(1)}`);
  const area = key => shown.length ? [`${x(shown[0].time).toFixed(1)},${y(0)}`, ...points(key),
    `${x(shown[shown.length - 1].time).toFixed(1)},${y(0)}`].join(" ") : "";
  const last = shown[shown.length - 1];
  const chart = svg("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
                            "aria-label": `${title}: allocated against total over the last hour`},
    svg("line", {x1: PAD_L, y1: y(0), x2: W - PAD_R, y2: y(0), class: "axis"}),
    svg("line", {x1: PAD_L, y1: PAD_T, x2: PAD_L, y2: y(0), class: "axis"}),
    svg("text", {x: PAD_L - 4, y: PAD_T + 8, class: "tick", "text-anchor": "end"}, format(top)),
    svg("text", {x: PAD_L - 4, y: y(0), class: "tick", "text-anchor": "end"}, "0"),
    svg("text", {x: PAD_L, y: H - 4, class: "tick"}, "-60 min"),
    svg("text", {x: (PAD_L + W) / 2, y: H - 4, class: "tick", "text-anchor": "middle"}, "-30 min"),
    svg("text", {x: W - PAD_R, y: H - 4, class: "tick", "text-anchor": "end"}, "now"),
    shown.length ? svg("polygon", {points: area(s => s[name + "_used"] + s[name + "_offered"]), class: "offered"}) : null,
    shown.length ? svg("polygon", {points: area(s => s[name + "_used"]), class: "used"}) : null,
    shown.length ? svg("polyline", {points: points(s => s[name + "_total"]).join(" "), class: "total"}) : null);
  const legend = last ? `allocated ${format(last[name + "_used"])}, offered ${format(last[name + "_offered"])}, ` +
    `total ${format(last[name + "_total"])}` : "no samples yet";
  return h("figure", {class: "usage", "data-chart": name, "data-samples": shown.length},
    h("figcaption", {}, title, h("span", {class: "legend"}, legend)), chart);
}

// rows: [{label, share, href}] drawn as horizontal bars of the dominant share (0..1).
export function shareChart(rows) {
  if (!rows.length) return h("p", {class: "empty"}, "no frameworks");
  const rowH = 22, labelW = 160, width = 460;
  const chart = svg("svg", {viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, class: "chart shares", role: "img",
                            "aria-label": "dominant share of each framework"});
  rows.forEach((row, i) => {
    const barW = (width - labelW - 60) * Math.max(0, Math.min(1, row.share));
    chart.append(
      svg("text", {x: 0, y: i * rowH + 15, class: "tick"}, row.label.length > 22 ? row.label.slice(0, 21) + "\u2026" : row.label),
      svg("rect", {x: labelW, y: i * rowH + 4, width: Math.max(1, barW), height: rowH - 8, class: "share"}),
      svg("text", {x: labelW + barW + 6, y: i * rowH + 15, class: "tick"}, percent(row.share)));
  });
  return h("figure", {class: "usage", "data-chart": "shares"}, h("figcaption", {}, "Dominant share (DRF)"), chart);
}

export function cpus(v) { return num(v) + " cpus"; }
