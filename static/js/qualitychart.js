// Call quality in the monitor's rooms table, beside who is in session: a "poor quality now" flag
// when the server says so (anyone's latest summary graded poor), and for each person in the
// session their grade now and a small chart of their recent summaries, drawn as inline SVG (no
// library): the round trip as a line, each summary a mark shaped by its grade (circle good,
// square fair, triangle poor), so shapes, not colours alone, tell them apart. Each chart is an
// image named by its <title> and summed up in words by its <desc> (the text alternative); the
// grade now is also a word beside it.

import { t } from "./strings.js";
import { el } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 120;
const HEIGHT = 30;
const PAD = 4;
const RTT_FLOOR_MS = 400; // the chart's height stands for at least the "poor" round trip
let charts = 0; // ids for the charts' title and desc

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function mark(level, x, y) {
  const cls = `quality-mark quality-${level}`;
  if (level === "poor") return svg("path", { class: cls, d: `M${x} ${y - 4}L${x + 4} ${y + 3}L${x - 4} ${y + 3}Z` });
  if (level === "fair") return svg("rect", { class: cls, x: x - 3, y: y - 3, width: 6, height: 6 });
  return svg("circle", { class: cls, cx: x, cy: y, r: 2.5 });
}

/** The words for one person's quality: their grade now, the latest figures, the recent span. */
export function describeMember(q) {
  const who = t("admin.member", t(`admin.role.${q.role}`), q.participant_id);
  const latest = q.recent[q.recent.length - 1];
  const parts = [t("callQuality.monitor.now", who, t(`callQuality.monitor.level.${q.level}`))];
  if (latest) {
    parts.push(t("callQuality.monitor.figures",
      latest.rtt_ms === null ? null : Math.round(latest.rtt_ms), latest.loss_pct,
      latest.jitter_ms === null ? null : Math.round(latest.jitter_ms), latest.bitrate_kbps,
      t(`callQuality.monitor.candidate.${q.candidate}`)));
    const poor = q.recent.filter((p) => p.level === "poor").length;
    parts.push(t("callQuality.monitor.recent", q.recent.length, poor));
  }
  return parts.join(" ");
}

function chart(q, words) {
  const id = `quality-chart-${(charts += 1)}`;
  const points = q.recent;
  const top = Math.max(RTT_FLOOR_MS, ...points.map((p) => p.rtt_ms ?? 0));
  const step = points.length > 1 ? (WIDTH - 2 * PAD) / (points.length - 1) : 0;
  const at = (i, p) => [PAD + i * step, HEIGHT - PAD - ((p.rtt_ms ?? 0) / top) * (HEIGHT - 2 * PAD)];
  const line = points.map((p, i) => at(i, p).map((v) => v.toFixed(1)).join(",")).join(" ");
  return svg("svg", {
    class: "quality-chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT,
    role: "img", "aria-labelledby": `${id}-title ${id}-desc`, "data-testid": `quality-chart-${q.participant_id}`,
  },
  svg("title", { id: `${id}-title` }, t("callQuality.monitor.chartTitle", q.participant_id)),
  svg("desc", { id: `${id}-desc` }, words),
  svg("line", { class: "quality-base", x1: 0, y1: HEIGHT - PAD, x2: WIDTH, y2: HEIGHT - PAD }),
  points.length > 1 ? svg("polyline", { class: "quality-line", points: line }) : "",
  ...points.map((p, i) => mark(p.level, ...at(i, p))));
}

/** Fill a row's quality slot from its room summary (replacing what was there). */
export function renderQuality(slot, summary) {
  const members = (summary.quality || []).filter((q) => q.recent.length);
  slot.replaceChildren(
    summary.poor_quality
      ? el("span", { className: "tag tag-alert", dataset: { testid: `poor-${summary.room}` } },
        t("callQuality.monitor.poorNow"))
      : "",
    ...members.map((q) => {
      const words = describeMember(q);
      return el("span", { className: "quality-member", dataset: { testid: `quality-member-${q.participant_id}`, level: q.level, candidate: q.candidate } },
        chart(q, words),
        el("span", { className: `tag quality-tag quality-tag-${q.level}` }, t(`callQuality.monitor.level.${q.level}`)));
    }),
  );
}
