// The monitor's chart of waits over the last hour, drawn as inline SVG (no library): each admitted
// client is a circle at the time of admission, as high as their wait; each client waiting now is
// a diamond at the right edge, as high as their wait so far; a dashed line marks the alert
// threshold. Shapes, not colours, tell the two apart. The SVG is named by its <title> and a
// <desc> that sums it up in words, and the same points are in a table under a disclosure.

import { t } from "./strings.js";
import { clockTime, duration, el } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const SPAN_S = 3600;
const HEIGHT = 240;
// Drawn at the width it is shown at (one unit a CSS pixel), so its words keep their size on a
// phone; within these bounds.
const MIN_WIDTH = 280;
const MAX_WIDTH = 960;
const PAD = { left: 64, right: 20, top: 16, bottom: 36 };
// Steps for the wait axis, in seconds: the smallest that needs at most five ticks is used.
const STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function waitLabel(seconds) {
  return seconds < 60 ? t("common.duration.seconds", seconds) : t("admin.chart.minutes", seconds / 60);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The chart's text alternative: what a sighted reader takes from it at a glance. */
export function describe({ admitted, waiting, truncated }) {
  const parts = [];
  if (admitted.length) {
    const waits = admitted.map((p) => p.wait_s);
    parts.push(t("admin.chart.summaryAdmitted", admitted.length, duration(median(waits)),
      duration(Math.max(...waits))));
  } else {
    parts.push(t("admin.chart.noneAdmitted"));
  }
  if (waiting.length) {
    parts.push(t("admin.chart.summaryWaiting", waiting.length,
      duration(Math.max(...waiting.map((w) => w.wait_s)))));
  } else {
    parts.push(t("admin.chart.noneWaiting"));
  }
  if (truncated) parts.push(t("admin.chart.truncated"));
  return parts.join(" ");
}

/**
 * Draw into `container` (replacing what was there) and fill the data table's `rows`.
 * `admitted`: [{at, wait_s, room}] from GET /api/monitor/waits; `waiting`: [{room, wait_s}]
 * from the live feed; `now` the feed's time (epoch s); `alertS` the alert threshold.
 */
export function drawWaitChart(container, rows, { admitted, waiting, truncated, now, alertS }) {
  const width = Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, container.clientWidth || 640)));
  const since = now - SPAN_S;
  const recent = admitted.filter((p) => p.at >= since && p.at <= now);
  const top = Math.max(alertS, ...recent.map((p) => p.wait_s), ...waiting.map((w) => w.wait_s), 1);
  const step = STEPS.find((s) => Math.ceil(top / s) <= 5) || STEPS[STEPS.length - 1];
  const yMax = step * Math.ceil((top * 1.05) / step);
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (at) => PAD.left + ((at - since) / SPAN_S) * plotW;
  const y = (wait) => PAD.top + plotH - (Math.min(wait, yMax) / yMax) * plotH;

  const summary = describe({ admitted: recent, waiting, truncated });
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${HEIGHT}`, role: "img", class: "wait-chart",
    "aria-labelledby": "chart-title chart-desc", "data-testid": "wait-chart",
  },
  svg("title", { id: "chart-title" }, t("admin.chart.heading")),
  svg("desc", { id: "chart-desc", "data-testid": "chart-desc" }, summary));

  const grid = svg("g", { class: "chart-grid" });
  for (let wait = 0; wait <= yMax; wait += step) {
    grid.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(wait), y2: y(wait) }),
      svg("text", { x: PAD.left - 8, y: y(wait) + 4, "text-anchor": "end" }, waitLabel(wait)));
  }
  const every = width < 480 ? 1800 : 900; // room for a time under each tick
  for (let back = SPAN_S; back >= 0; back -= every) {
    const at = now - back;
    grid.append(svg("text", { x: x(at), y: HEIGHT - PAD.bottom + 20, "text-anchor": "middle" },
      back === 0 ? t("admin.chart.now") : clockTime(at)));
  }
  chart.append(grid,
    svg("line", { class: "chart-axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + plotH }),
    svg("line", { class: "chart-axis", x1: PAD.left, x2: width - PAD.right,
      y1: PAD.top + plotH, y2: PAD.top + plotH }),
    svg("line", { class: "chart-alert", x1: PAD.left, x2: width - PAD.right, y1: y(alertS), y2: y(alertS),
      "data-testid": "chart-alert-line" }));

  const points = svg("g", { class: "chart-points" });
  for (const p of recent) {
    points.append(svg("circle", { class: "pt-admitted", cx: x(p.at), cy: y(p.wait_s), r: 5,
      "data-testid": "chart-admitted" },
    svg("title", {}, t("admin.chart.pointAdmitted", p.room, clockTime(p.at, { seconds: true }),
      duration(p.wait_s)))));
  }
  for (const w of waiting) {
    const cx = x(now);
    const cy = y(w.wait_s);
    points.append(svg("path", { class: "pt-waiting", d: `M${cx} ${cy - 7}l7 7l-7 7l-7 -7z`,
      "data-testid": "chart-waiting" },
    svg("title", {}, t("admin.chart.pointWaiting", w.room, duration(w.wait_s)))));
  }
  chart.append(points);
  container.replaceChildren(chart);

  const table = [
    ...waiting.map((w) => [t("admin.chart.now"), w.room, w.wait_s, t("admin.chart.kind.waiting")]),
    ...[...recent].reverse().map((p) => [clockTime(p.at, { seconds: true }), p.room, p.wait_s,
      t("admin.chart.kind.admitted")]),
  ];
  const labels = ["time", "room", "wait", "kind"].map((c) => t(`admin.chart.col.${c}`));
  rows.replaceChildren(...table.map(([time, room, wait, kind]) => el("tr", {},
    el("td", { dataset: { label: labels[0] } }, time),
    el("td", { dataset: { label: labels[1] } }, el("code", {}, room)),
    el("td", { className: "num", dataset: { label: labels[2] } }, duration(wait)),
    el("td", { dataset: { label: labels[3] } }, kind))));
  if (!table.length) {
    rows.append(el("tr", {}, el("td", { colSpan: 4 }, t("admin.chart.noData"))));
  }
  return summary;
}

/** The legend under the chart: the shapes drawn small, with their words. */
export function chartLegend(alertS) {
  const swatch = (shape) => svg("svg", { viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true",
    focusable: "false" }, shape);
  return [
    el("span", { className: "legend-item" },
      swatch(svg("circle", { class: "pt-admitted", cx: 8, cy: 8, r: 5 })), t("admin.chart.legendAdmitted")),
    el("span", { className: "legend-item" },
      swatch(svg("path", { class: "pt-waiting", d: "M8 1l7 7l-7 7l-7 -7z" })), t("admin.chart.legendWaiting")),
    el("span", { className: "legend-item" },
      swatch(svg("line", { class: "chart-alert", x1: 0, x2: 16, y1: 8, y2: 8 })),
      t("admin.chart.legendAlert", duration(alertS))),
  ];
}
