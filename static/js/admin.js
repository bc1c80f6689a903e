// The admin monitor: a live table of every active room from the admin feed (every ~2 s): the
// therapist's presence, who waits and for how long (ids, never names), the longest waits
// highlighted, and the rooms the server puts in alert (someone waited too long with no therapist)
// listed above the table and announced when they appear. Below: a room's audit timeline, opened
// from its row, and a chart of the last hour's waits. "End room" asks first.

import { keepSignedIn, lockWhenIdle } from "./authority.js";
import { applyPractice } from "./brand.js";
import { mountPage } from "./page.js";
import { Signaling, errorPageFor } from "./signaling.js";
import { failureText, requestError, t } from "./strings.js";
import { renderQuality } from "./qualitychart.js";
import { openTimeline, setUpTimeline } from "./timeline.js";
import { decodePayload, forget, takeToken, tokenStatus } from "./token.js";
import {
  announce, byId, clockTime, confirmDialog, duration, el, showBanner, showError, showView,
} from "./ui.js";
import { chartLegend, drawWaitChart } from "./waitchart.js";

const KIND = "admin";
const LONG_WAIT_S = 300; // waits from five minutes on stand out
const WAITERS_SHOWN = 5; // per row; the rest are counted
const CHART_EVERY_MS = 60_000; // the chart's admitted waits are asked for again this often...
const CHART_SOONEST_MS = 3_000; // ...or sooner when someone left a waiting room, but not more

mountPage({ tagline: "admin.tagline" });

const dom = {
  updated: byId("updated"),
  status: byId("admin-status"),
  rows: byId("rooms"),
  empty: byId("rooms-empty"),
  alerts: byId("alerts"),
  alertList: byId("alert-list"),
  chart: byId("chart"),
  chartRows: byId("chart-rows"),
  chartLegend: byId("chart-legend"),
  chartStatus: byId("chart-status"),
};

const state = {
  token: null,
  signaling: null,
  locked: false,
  rows: new Map(), // room -> row refs
  alerts: new Set(), // rooms in alert at the last update, to announce only new ones
  waiting: new Map(), // room -> how many waited at the last update
  latest: null, // the last feed message
  chart: { admitted: [], truncated: false, askedAt: 0, asking: false, stale: false },
};

async function loadConfig() {
  try {
    const response = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (response.ok) return await response.json();
  } catch {
    // the defaults will do
  }
  return {};
}

/** Nobody has used the monitor for a while: lock it and ask for the sign-in link again. */
function lockMonitor() {
  state.locked = true;
  state.token = null;
  forget(KIND);
  state.signaling?.close();
  showError("idle");
}

async function start() {
  document.title = t("admin.title");
  const { token } = takeToken(KIND);
  if (!token) return showError("noLink");
  const claims = decodePayload(token);
  const status = tokenStatus(claims);
  if (status === "invalid") return showError("invalid");
  if (status === "expired") return showError("expired");
  if (claims.typ !== "admin") return showError("wrongKind");
  state.token = token;
  setUpTimeline(getJson);
  // The chart is drawn at its shown width: draw again when that changes (a phone turned round).
  let chartWidth = 0;
  new ResizeObserver(([entry]) => {
    const width = Math.round(entry.contentRect.width);
    if (width !== chartWidth) {
      chartWidth = width;
      drawChart();
    }
  }).observe(dom.chart);

  const signaling = new Signaling(() => ({ type: "auth", role: "admin", token: state.token }));
  state.signaling = signaling;
  keepSignedIn(KIND, signaling, (fresh) => { state.token = fresh; });
  signaling.on("rooms", (msg) => {
    if (document.body.dataset.screen !== "monitor") showView("monitor");
    render(msg);
  });
  signaling.on("reconnecting", () => showBanner(t("common.connectionLost")));
  signaling.on("open", ({ reconnected }) => {
    if (reconnected) showBanner(t("common.connectionBack"), 3000);
  });
  signaling.on("closed", ({ code, gaveUp }) => {
    if (state.locked) return undefined; // the lock screen stays
    if (gaveUp) {
      return showError("gaveUp", { action: { label: t("common.retry"), run: () => signaling.connect() } });
    }
    forget(KIND);
    return showError(errorPageFor(code));
  });
  signaling.connect();
  const config = await loadConfig();
  applyPractice(config.practice);
  lockWhenIdle(config.console_idle_logoff, lockMonitor);
}

/** An admin API path as JSON; otherwise an Error saying what went wrong in the page's words. */
async function getJson(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw requestError(response, body);
  return body;
}

function render(msg) {
  const { rooms, at } = msg;
  state.latest = msg;
  dom.updated.textContent = t("admin.updated", clockTime(at, { seconds: true }));
  dom.empty.hidden = rooms.length > 0;
  renderAlerts(rooms, msg.wait_alert_s);
  const longest = Math.max(0, ...rooms.map((r) => r.longest_wait_s));
  const present = new Set(rooms.map((r) => r.room));
  for (const [room, row] of state.rows) {
    if (!present.has(room)) {
      row.tr.remove();
      state.rows.delete(room);
    }
  }
  let previous = null;
  for (const summary of rooms) {
    let row = state.rows.get(summary.room);
    if (!row) {
      row = makeRow(summary.room);
      state.rows.set(summary.room, row);
    }
    updateRow(row, summary, longest);
    const expected = previous ? previous.nextSibling : dom.rows.firstChild;
    if (expected !== row.tr) dom.rows.insertBefore(row.tr, expected); // keeps focus when in place
    previous = row.tr;
  }
  refreshChart(rooms);
}

// --- alerts --------------------------------------------------------------------------------------

function renderAlerts(rooms, alertS) {
  const inAlert = rooms.filter((r) => r.alert);
  dom.alerts.hidden = inAlert.length === 0;
  dom.alertList.replaceChildren(...inAlert.map((r) =>
    el("li", { className: "alert-item", dataset: { testid: `alert-${r.room}` } },
      t("admin.alertText", r.room, duration(r.longest_wait_s),
        t(`admin.therapist.${r.therapist}`)))));
  const now = new Set(inAlert.map((r) => r.room));
  const sentences = [
    ...inAlert.filter((r) => !state.alerts.has(r.room)).map((r) => t("admin.alertNew", r.room, duration(alertS))),
    ...[...state.alerts].filter((room) => !now.has(room)).map((room) => t("admin.alertCleared", room)),
  ];
  state.alerts = now;
  if (sentences.length) announce(sentences.join(" "));
}

// --- the rooms table -----------------------------------------------------------------------------

function makeRow(room) {
  const label = (key) => ({ label: t(`admin.col.${key}`) });
  const cells = {
    room: el("th", { scope: "row", dataset: label("room") }, el("code", {}, room)),
    therapist: el("td", { dataset: label("therapist") }),
    waiting: el("td", { className: "num", dataset: label("waiting") }),
    wait: el("td", { className: "num wait", dataset: { ...label("longest"), testid: `longest-${room}` } }),
    session: el("td", { dataset: label("session") }),
    nodes: el("td", { dataset: label("nodes") }),
    actions: el("td", { className: "row-actions", dataset: label("actions") }),
  };
  const count = el("span", { className: "count-number", dataset: { testid: `waiting-${room}` } });
  const waiters = el("ul", { className: "waiters", dataset: { testid: `waiters-${room}` } });
  cells.waiting.append(count, waiters);
  const members = el("span");
  // Call quality beside who is in session (qualitychart.js); :empty takes no room.
  const quality = el("span", { className: "quality-slot", dataset: { testid: `quality-${room}` } });
  cells.session.append(members, quality);
  const timeline = el("button", {
    type: "button",
    className: "button button-small",
    dataset: { testid: `timeline-${room}` },
    "aria-label": t("admin.timeline.openName", room),
    onclick: () => openTimeline(room, timeline),
  }, t("admin.timeline.open"));
  const end = el("button", {
    type: "button",
    className: "button button-danger button-small",
    dataset: { testid: `end-room-${room}` },
    "aria-label": t("admin.endRoomName", room),
    onclick: () => endRoom(room),
  }, t("admin.endRoom"));
  cells.actions.append(timeline, end);
  const tr = el("tr", { dataset: { testid: `room-${room}`, room } }, ...Object.values(cells));
  return { tr, cells, count, waiters, members, quality };
}

const THERAPIST_TAGS = { present: "tag", reconnecting: "tag tag-warn", absent: "tag tag-off" };

function updateRow(row, summary, longest) {
  const { cells } = row;
  const waits = summary.waiting > 0;
  const long = waits && summary.longest_wait_s >= LONG_WAIT_S && !summary.alert;
  const isLongest = waits && summary.longest_wait_s === longest;
  row.tr.classList.toggle("long-wait", long);
  row.tr.classList.toggle("longest", isLongest);
  row.tr.classList.toggle("in-alert", summary.alert);

  cells.therapist.replaceChildren(el("span", {
    className: THERAPIST_TAGS[summary.therapist], dataset: { testid: `therapist-${summary.room}` },
  }, t(`admin.therapist.${summary.therapist}`)));

  row.count.textContent = String(summary.waiting);
  const shown = summary.waiting_clients.slice(0, WAITERS_SHOWN);
  row.waiters.replaceChildren(
    ...shown.map((w) => el("li", { dataset: { testid: `waiter-${w.participant_id}` } },
      el("code", {}, w.participant_id), " ", duration(w.wait_s),
      w.connected ? "" : el("span", { className: "tag tag-warn" }, t("admin.waiterDropped")))),
    summary.waiting_clients.length > shown.length
      ? el("li", { className: "hint" }, t("admin.waitingMore", summary.waiting_clients.length - shown.length))
      : "",
  );

  // The words say it, the colour repeats it: an alert, the longest wait of all, any wait past 5 min.
  cells.wait.replaceChildren(
    waits ? duration(summary.longest_wait_s) : t("admin.noOne"),
    summary.alert
      ? el("span", { className: "tag tag-alert", dataset: { testid: `alert-tag-${summary.room}` } },
        t("admin.alertTag"))
      : "",
    isLongest ? el("span", { className: "tag tag-strong", dataset: { testid: "longest-tag" } }, t("admin.longest")) : "",
    long ? el("span", { className: "tag tag-warn" }, t("admin.longWait")) : "",
  );
  row.members.replaceChildren(
    ...(summary.in_session.length
      ? summary.in_session.map((m) =>
        el("span", { className: m.connected ? "tag" : "tag tag-warn", title: m.node },
          t("admin.member", t(`admin.role.${m.role}`), m.participant_id)))
      : [t("admin.noOne")]),
  );
  cells.nodes.replaceChildren(...summary.nodes.map((node) => el("span", { className: "tag tag-off" }, node)));
  row.tr.classList.toggle("poor-quality", Boolean(summary.poor_quality));
  renderQuality(row.quality, summary);
}

async function endRoom(room) {
  if (!(await confirmDialog(t("admin.endConfirm", room), t("admin.endRoom")))) return;
  try {
    const body = await getJson(`/api/rooms/${encodeURIComponent(room)}/end`, { method: "POST" });
    dom.status.textContent = t("admin.ended", room, body.ended);
  } catch (err) {
    dom.status.textContent = t("admin.endFailed", room, failureText(err));
  }
}

// --- the chart -----------------------------------------------------------------------------------

/** Redraw with the feed's current waits; ask for the admitted waits again when they are due:
 *  every minute, or soon after someone left a waiting room (perhaps admitted). */
function refreshChart(rooms) {
  const left = rooms.some((r) => r.waiting < (state.waiting.get(r.room) ?? 0))
    || [...state.waiting.keys()].some((room) => !rooms.some((r) => r.room === room));
  state.waiting = new Map(rooms.map((r) => [r.room, r.waiting]));
  if (left) state.chart.stale = true; // kept until asked, if it is too soon to ask now
  const since = Date.now() - state.chart.askedAt;
  if (since >= CHART_EVERY_MS || (state.chart.stale && since >= CHART_SOONEST_MS)) loadChart();
  drawChart();
}

async function loadChart() {
  if (state.chart.asking) return;
  state.chart.asking = true;
  state.chart.stale = false;
  state.chart.askedAt = Date.now();
  try {
    const body = await getJson("/api/monitor/waits");
    state.chart.admitted = body.admitted;
    state.chart.truncated = body.truncated;
    dom.chartStatus.textContent = "";
    drawChart();
  } catch (err) {
    console.warn("chart", err);
    state.chart.stale = true; // try again soon
    dom.chartStatus.textContent = t("admin.chart.failed");
  } finally {
    state.chart.asking = false;
  }
}

function drawChart() {
  const msg = state.latest;
  if (!msg) return;
  const waiting = msg.rooms.flatMap((r) => r.waiting_clients.map((w) => ({ room: r.room, wait_s: w.wait_s })));
  drawWaitChart(dom.chart, dom.chartRows, {
    admitted: state.chart.admitted,
    truncated: state.chart.truncated,
    waiting,
    now: msg.at,
    alertS: msg.wait_alert_s,
  });
  dom.chartLegend.replaceChildren(...chartLegend(msg.wait_alert_s));
}


start().catch((err) => {
  console.error(err);
  showError("generic");
});

