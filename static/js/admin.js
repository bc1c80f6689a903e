// The admin monitor: a live table of every active room from the admin feed (every ~2 s), with
// the longest waits highlighted and a confirmed "End room" action.

import { keepSignedIn, lockWhenIdle } from "./authority.js";
import { mountPage } from "./page.js";
import { Signaling, errorPageFor } from "./signaling.js";
import { t } from "./strings.js";
import { decodePayload, forget, takeToken, tokenStatus } from "./token.js";
import { byId, clockTime, confirmDialog, duration, el, showBanner, showError, showView } from "./ui.js";

const KIND = "admin";
const LONG_WAIT_S = 300; // waits from five minutes on stand out

mountPage({ tagline: "admin.tagline" });

const dom = {
  updated: byId("updated"),
  status: byId("admin-status"),
  rows: byId("rooms"),
  empty: byId("rooms-empty"),
};

const state = { token: null, signaling: null, rows: new Map(), locked: false }; // rows: room -> row refs

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

  const signaling = new Signaling(() => ({ type: "auth", role: "admin", token: state.token }));
  state.signaling = signaling;
  keepSignedIn(KIND, signaling, (fresh) => { state.token = fresh; });
  signaling.on("rooms", (msg) => {
    if (document.body.dataset.screen !== "monitor") showView("monitor");
    render(msg.rooms, msg.at);
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
  lockWhenIdle((await loadConfig()).console_idle_logoff, lockMonitor);
}

function render(rooms, at) {
  dom.updated.textContent = t("admin.updated", clockTime(at, { seconds: true }));
  dom.empty.hidden = rooms.length > 0;
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
}

function makeRow(room) {
  const cells = {
    room: el("th", { scope: "row" }, el("code", {}, room)),
    therapist: el("td"),
    waiting: el("td", { className: "num", dataset: { testid: `waiting-${room}` } }),
    wait: el("td", { className: "num wait", dataset: { testid: `longest-${room}` } }),
    session: el("td"),
    nodes: el("td"),
    actions: el("td"),
  };
  const end = el("button", {
    type: "button",
    className: "button button-danger button-small",
    dataset: { testid: `end-room-${room}` },
    "aria-label": t("admin.endRoomName", room),
    onclick: () => endRoom(room),
  }, t("admin.endRoom"));
  cells.actions.append(end);
  const tr = el("tr", { dataset: { testid: `room-${room}`, room } }, ...Object.values(cells));
  return { tr, cells, end };
}

function updateRow(row, summary, longest) {
  const { cells } = row;
  const long = summary.waiting > 0 && summary.longest_wait_s >= LONG_WAIT_S;
  const isLongest = summary.waiting > 0 && summary.longest_wait_s === longest;
  row.tr.classList.toggle("long-wait", long);
  row.tr.classList.toggle("longest", isLongest);

  let therapist = ["admin.therapistAbsent", "tag tag-off"];
  if (summary.therapist_present) {
    therapist = summary.therapist_connected
      ? ["admin.therapistConnected", "tag"]
      : ["admin.therapistDropped", "tag tag-warn"];
  }
  cells.therapist.replaceChildren(el("span", { className: therapist[1] }, t(therapist[0])));
  cells.waiting.textContent = String(summary.waiting);
  // The words say it, the colour repeats it: the longest wait of all, and any wait past 5 min.
  cells.wait.replaceChildren(
    summary.waiting > 0 ? duration(summary.longest_wait_s) : t("admin.noOne"),
    isLongest ? el("span", { className: "tag tag-strong", dataset: { testid: "longest-tag" } }, t("admin.longest")) : "",
    long ? el("span", { className: "tag tag-warn" }, t("admin.longWait")) : "",
  );
  cells.session.replaceChildren(
    ...(summary.in_session.length
      ? summary.in_session.map((m) =>
        el("span", { className: m.connected ? "tag" : "tag tag-warn", title: m.node },
          t("admin.member", t(`admin.role.${m.role}`), m.participant_id)))
      : [t("admin.noOne")]),
  );
  cells.nodes.replaceChildren(...summary.nodes.map((node) => el("span", { className: "tag tag-off" }, node)));
}

async function endRoom(room) {
  if (!(await confirmDialog(t("admin.endConfirm", room), t("admin.endRoom")))) return;
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/end`, {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}` },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
    dom.status.textContent = t("admin.ended", room, body.ended);
  } catch (err) {
    dom.status.textContent = t("admin.endFailed", room, err.message);
  }
}


start().catch((err) => {
  console.error(err);
  showError("generic");
});

