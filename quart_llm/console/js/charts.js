// Bar charts drawn as SVG: one bar group per label, one bar per series (stacked when asked).
// Each chart is an image with a text alternative (role="img" and a summary), and each bar has
// a <title> (its tooltip) and its value in data-value, which the tests read.
import { h, svg } from "./dom.js";

const WIDTH = 480;
const HEIGHT = 240;
const MARGIN = { top: 14, right: 10, bottom: 36, left: 78 };

/**
 * series: [{name, values: [number|null], className}]; format: value → text.
 * Returns a <figure> with the chart, its caption and a legend.
 */
export function barChart({ id, title, labels, series, format = String, stacked = false }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = labels.map((_, index) => stacked
    ? series.reduce((sum, s) => sum + (s.values[index] ?? 0), 0)
    : Math.max(0, ...series.map((s) => s.values[index] ?? 0)));
  const top = niceCeiling(Math.max(0, ...totals));
  const scale = (value) => (top === 0 ? 0 : (value / top) * plotHeight);
  const band = labels.length ? plotWidth / labels.length : plotWidth;
  const barWidth = Math.max(2, (band * 0.7) / (stacked ? 1 : series.length));
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart",
    "aria-labelledby": `${id}-caption` });
  chart.append(...axis(top, format, plotWidth, plotHeight));
  labels.forEach((label, index) => {
    const x0 = MARGIN.left + index * band + band * 0.15;
    let stackedHeight = 0;
    series.forEach((s, position) => {
      const value = s.values[index];
      const height = scale(value ?? 0);
      const x = stacked ? x0 : x0 + position * barWidth;
      const y = MARGIN.top + plotHeight - height - (stacked ? stackedHeight : 0);
      if (stacked) stackedHeight += height;
      chart.append(svg("rect", { x, y, width: barWidth, height, class: `bar ${s.className || ""}`,
        "data-label": label, "data-series": s.name, "data-value": value ?? "" },
      svg("title", {}, `${label} · ${s.name}: ${value === null ? "unknown" : format(value)}`)));
    });
    if (index % Math.max(1, Math.ceil(labels.length / 5)) === 0) {
      chart.append(svg("text", { x: x0 + (band * 0.35), y: HEIGHT - MARGIN.bottom + 20,
        class: "tick", "text-anchor": "middle" }, shorten(label)));
    }
  });
  const summary = labels.length
    ? `${title}: ${labels.map((label, i) => `${label} ${series.map((s) => format(s.values[i] ?? 0)).join(" + ")}`).join("; ")}`
    : `${title}: no data in this range`;
  const legend = series.length > 1
    ? h("ul", { class: "legend" }, ...series.map((s) => h("li", { class: s.className || "" }, s.name)))
    : null;
  return h("figure", { class: "chart-figure", id },
    chart, h("figcaption", { id: `${id}-caption` }, h("span", { class: "chart-title" }, title),
      h("span", { class: "visually-hidden" }, summary)), legend);
}

function axis(top, format, plotWidth, plotHeight) {
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    const y = MARGIN.top + plotHeight - fraction * plotHeight;
    parts.push(svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y, y2: y, class: "grid" }));
    parts.push(svg("text", { x: MARGIN.left - 6, y: y + 4, class: "tick", "text-anchor": "end" },
      format(top * fraction)));
  }
  return parts;
}

/** A round number at or above `value`, so the axis reads well. */
function niceCeiling(value) {
  if (value <= 0) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function shorten(label) {
  const text = String(label);
  return text.length > 14 ? `${text.slice(0, 13)}…` : text;
}
