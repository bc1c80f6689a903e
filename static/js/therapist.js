// The therapist's console: pick a room, see who is waiting (live), be alerted when someone
// arrives, message them, admit or deny (one or several at once; into a running session only after
// confirming who will see whom), run the call, and create session links.

import {
  askForNotifications, chime, notificationPermission, notify, setTitle, soundAllowed, unlockAudioOnGesture,
} from "./alerts.js";
import { BackgroundBlur } from "./blur.js";
import { keepSignedIn, lockWhenIdle } from "./authority.js";
import { CallView } from "./callview.js";
import { LocalMedia } from "./media.js";
import { applyPractice } from "./brand.js";
import { mountPage } from "./page.js";
import { precallSummary } from "./precall.js";
import { mountRoomLink } from "./roomlink.js";
import { RoomProfileForm } from "./roomprofile.js";
import { LinkPanel } from "./schedule.js";
import { SessionTimer } from "./sessiontimer.js";
import { CLOSE, Signaling, errorPageFor } from "./signaling.js";
import { errorText, t } from "./strings.js";
import { decodePayload, forget, remember, store, takeToken, tokenRooms, tokenStatus } from "./token.js";
import {
  announce, byId, clockTime, confirmDialog, el, relativeTime, showBanner, showError, showView,
} from "./ui.js";

const KIND = "therapist";
const REFRESH_TIMES_MS = 15000;
const NEW_ARRIVAL_MS = 8000; // how long a newcomer's entry stays highlighted
const LATE_CHOICES = [5, 10, 15]; // minutes, one button each
const MAX_LATE_MINUTES = 120; // as the server checks (signaling/messages.py)
const REPLIES_KEPT = 3; // a client's latest replies shown on their card

const roomLabel = el("span", { id: "room-label", dataset: { testid: "room" }, hidden: true });
const switchRoom = el("button", { type: "button", className: "button button-small",
  dataset: { testid: "switch-room" }, hidden: true }, t("therapist.switchRoom"));
mountPage({ tagline: "therapist.heading", extra: [roomLabel, switchRoom] });

const dom = {
  picker: byId("room-picker"),
  waitingCount: byId("waiting-count"),
  alertsStatus: byId("alerts-status"),
  alertsEnable: byId("alerts-enable"),
  waitingEmpty: byId("waiting-empty"),
  waitingList: byId("waiting-list"),
  sessionFull: byId("session-full"),
  admitSelected: byId("admit-selected"),
  messageAllForm: byId("message-all-form"),
  messageAll: byId("message-all"),
  lateChoices: byId("late-choices"),
  lateForm: byId("late-form"),
  lateMinutes: byId("late-minutes"),
  lateError: byId("late-error"),
  lateState: byId("late-state"),
  lateClear: byId("late-clear"),
  status: byId("console-status"),
  waitingStatus: byId("waiting-status"),
  sessionCount: byId("session-count"),
  sessionEmpty: byId("session-empty"),
  sessionList: byId("session-list"),
  callView: byId("call-view"),
};

const media = new LocalMedia(store(KIND, "devices"));
const roomProfile = new RoomProfileForm(() => state.token);
const blur = new BackgroundBlur(media, store(KIND, "blur")); // before any control is built

const state = {
  token: null,
  rooms: [],
  room: null,
  maxParticipants: 4,
  emergencyInfo: true, // the deployment asks clients where they are (TELEHEALTH_EMERGENCY_INFO)
  roomLinks: false, // the deployment offers room links (TELEHEALTH_ROOM_LINKS): the panel shows
  signaling: null,
  view: null, // the CallView
  endButton: null,
  names: new Map(), // participant id -> name
  waiting: [], // the last room.waiting
  session: [], // the last room.session (clients)
  items: new Map(), // waiting pid -> {li, refs}
  replies: new Map(), // waiting pid -> their latest replies [{text, at}], oldest first
  eta: null, // the running-late notice the waiting clients see (epoch seconds)
  seen: null, // waiting pids already announced (null until the first room message)
  switching: false,
  locked: false, // locked after a quiet spell (TELEHEALTH_CONSOLE_IDLE_LOGOFF)
};

// --- start ------------------------------------------------------------------------------------

async function start() {
  document.title = t("therapist.title");
  unlockAudioOnGesture(updateAlerts);

  const { token, changed } = takeToken(KIND);
  if (!token) return showError("noLink");
  if (changed) remember(KIND, "room", null);
  const claims = decodePayload(token);
  const status = tokenStatus(claims);
  if (status === "invalid") return showError("invalid");
  if (claims.typ !== "therapist") return showError("wrongKind");
  if (status === "expired") return showError("expired");
  if (status === "not_yet_valid") return showError("notYet", { text: clockTime(claims.nbf) });
  state.token = token;
  state.rooms = tokenRooms(claims);
  if (state.rooms.length === 0) return showError("wrongKind");
  const config = await loadConfig();
  applyPractice(config.practice);
  blur.configure(config);
  state.maxParticipants = config.max_participants || state.maxParticipants;
  state.emergencyInfo = config.emergency_info !== false;
  state.roomLinks = config.room_links === true;
  lockWhenIdle(config.console_idle_logoff, lockConsole, () => state.session.length > 0);

  const stored = remember(KIND, "room");
  if (state.rooms.length === 1) return enterRoom(state.rooms[0]);
  if (stored && state.rooms.includes(stored)) return enterRoom(stored);
  return showPicker();
}

async function loadConfig() {
  try {
    const response = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (response.ok) return await response.json();
  } catch {
    // the defaults will do
  }
  return {};
}

function showPicker() {
  dom.picker.replaceChildren(
    ...state.rooms.map((room) =>
      el("li", {}, el("button", {
        type: "button",
        className: "button button-large",
        dataset: { testid: `pick-${room}` },
        onclick: () => enterRoom(room),
      }, t("therapist.roomLabel", room))),
    ),
  );
  document.title = t("therapist.title");
  showView("pick");
}

async function enterRoom(room) {
  state.room = room;
  remember(KIND, "room", room);
  roomLabel.textContent = t("therapist.roomLabel", room);
  roomLabel.hidden = false;
  switchRoom.hidden = state.rooms.length < 2;
  showView("loading");
  roomProfile.load(room);
  if (!media.opened) await media.open();
  dom.status.textContent = media.problem ? t(`media.${media.problem}`) : "";
  connect();
  links.refresh();
  if (state.roomLinks) mountRoomLink(room, () => state.token);
}

/** Connect to the current room: one socket and one call view for the page, reused per room. */
function connect() {
  state.seen = null;
  if (state.signaling) {
    state.signaling.connect(); // the auth message reads state.room afresh
    return;
  }
  const signaling = new Signaling(() => ({
    type: "auth", role: "therapist", token: state.token, room: state.room,
  }));
  state.signaling = signaling;
  window.__rapport = Object.assign(window.__rapport || {}, { signaling });
  state.endButton = el("button", { type: "button", className: "button button-danger",
    dataset: { testid: "end-session" }, disabled: true, onclick: endForAll }, t("therapist.endSession"));
  state.view = new CallView({
    root: dom.callView,
    signaling,
    media,
    headingLevel: 3,
    extraControls: [state.endButton],
    onPeersChanged,
  });

  signaling.on("welcome", () => {
    if (document.body.dataset.screen !== "console") showView("console");
    updateAlerts();
  });
  signaling.on("room", onRoom);
  signaling.on("reply", onReply);
  signaling.on("error", (msg) => {
    if (msg.ref === "quality") return; // a call-quality summary at a session's edge: no news
    dom.status.textContent = errorText(msg.code);
    console.warn("server refused", msg.ref, msg.code);
  });
  signaling.on("reconnecting", () => showBanner(t("common.connectionLost")));
  signaling.on("open", ({ reconnected }) => {
    if (reconnected) showBanner(t("common.connectionBack"), 3000);
  });
  signaling.on("closed", onClosed);
  keepSignedIn(KIND, signaling, (token) => { state.token = token; });
  // A reload starts new connections: a hangup lets the clients drop the old ones at once.
  window.addEventListener("pagehide", () => state.view.call.closeAll(true));
  signaling.connect();
}

// --- arrival alerts ---------------------------------------------------------------------------

/** Say which alerts are on, and offer the button while sound or notifications are still off. */
function updateAlerts() {
  const permission = notificationPermission();
  const sound = soundAllowed();
  dom.alertsEnable.hidden = sound && permission !== "default";
  dom.alertsEnable.textContent = t(sound ? "therapist.notificationsEnable" : "therapist.alertsEnable");
  let status = "therapist.alertsOff";
  if (sound && permission === "granted") status = "therapist.alertsOn";
  else if (sound && permission === "default") status = "therapist.alertsAskNotifications";
  else if (sound) status = "therapist.alertsSoundOnly";
  dom.alertsStatus.textContent = t(status);
}

dom.alertsEnable.addEventListener("click", async () => {
  await askForNotifications();
  await chime({ sinkId: media.speaker }); // a sample, and it unlocks sound for this page
  updateAlerts();
});

function alertArrivals(arrivals) {
  chime({ sinkId: media.speaker });
  announce(arrivals.map((p) => t("therapist.arrival", p.name)).join(" "));
  // The desktop notice names nobody: it may show on a shared or projected screen.
  notify(t("therapist.notificationTitle"), t("therapist.notificationBody", state.waiting.length));
}

// --- the waiting room -------------------------------------------------------------------------

function onRoom(msg) {
  state.waiting = msg.waiting;
  state.session = msg.session.filter((p) => p.role === "client");
  for (const p of [...msg.waiting, ...msg.session]) state.names.set(p.participant_id, p.name);

  const arrivals = [];
  if (state.seen === null) {
    state.seen = new Set(msg.waiting.map((p) => p.participant_id));
  } else {
    for (const p of msg.waiting) {
      if (!state.seen.has(p.participant_id)) arrivals.push(p);
      state.seen.add(p.participant_id);
    }
  }
  for (const pid of state.replies.keys()) {
    if (!msg.waiting.some((p) => p.participant_id === pid)) state.replies.delete(pid);
  }
  renderWaiting(arrivals);
  renderSession();
  showLateState(msg.eta ?? null);
  if (arrivals.length) alertArrivals(arrivals);
  updateTitle();
}

function updateTitle() {
  const n = state.waiting.length;
  setTitle(n ? t("therapist.titleWithCount", n) : t("therapist.title"));
}

function sessionIsFull() {
  return state.session.length + 1 >= state.maxParticipants;
}

function renderWaiting(arrivals = []) {
  const n = state.waiting.length;
  dom.waitingCount.textContent = n ? t("therapist.waitingCount", n) : "";
  dom.waitingEmpty.hidden = n > 0;
  const current = new Set(state.waiting.map((p) => p.participant_id));
  for (const [pid, item] of state.items) {
    if (!current.has(pid)) {
      item.li.remove();
      state.items.delete(pid);
    }
  }
  const fresh = new Set(arrivals.map((p) => p.participant_id));
  let previous = null;
  for (const entry of state.waiting) {
    let item = state.items.get(entry.participant_id);
    if (!item) {
      item = waitingItem(entry, fresh.has(entry.participant_id));
      state.items.set(entry.participant_id, item);
    }
    updateWaitingItem(item, entry);
    const expectedNext = previous ? previous.nextSibling : dom.waitingList.firstChild;
    if (expectedNext !== item.li) {
      // Only move what is out of place: moving a node would take focus away from its buttons.
      dom.waitingList.insertBefore(item.li, expectedNext);
    }
    previous = item.li;
  }
  const full = sessionIsFull();
  dom.sessionFull.hidden = !(full && n > 0);
  dom.sessionFull.textContent = t("therapist.sessionFull", state.maxParticipants);
  updateAdmitSelected();
}

function waitingItem(entry, isNew) {
  const pid = entry.participant_id;
  const select = el("input", { type: "checkbox", id: `select-${pid}`, dataset: { testid: `select-${pid}` },
    onchange: updateAdmitSelected });
  const name = el("label", { htmlFor: `select-${pid}`, className: "name" });
  const meta = el("p", { className: "meta" });
  const emergency = el("div", {});
  const precall = el("div", { className: "precall-result" });
  const admit = el("button", { type: "button", className: "button button-primary button-small",
    dataset: { testid: `admit-${pid}` }, onclick: () => admitWithCare([pid]) });
  const messageToggle = el("button", { type: "button", className: "button button-small",
    "aria-expanded": "false", "aria-controls": `message-form-${pid}`,
    dataset: { testid: `message-${pid}` } }, t("therapist.messageOne"));
  const deny = el("button", { type: "button", className: "button button-quiet button-small",
    dataset: { testid: `deny-${pid}` }, onclick: () => denyOne(pid) }, t("therapist.deny"));
  const input = el("input", { type: "text", id: `message-input-${pid}`, className: "grow", maxLength: 2000,
    autocomplete: "off", dataset: { testid: `message-input-${pid}` } });
  const formLabel = el("label", { htmlFor: `message-input-${pid}` });
  const form = el("form", { className: "inline-form", id: `message-form-${pid}`, hidden: true },
    formLabel,
    el("div", { className: "row" }, input,
      el("button", { type: "submit", className: "button button-small" }, t("common.send"))));
  messageToggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    messageToggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (state.signaling.send({ type: "message", text, to: pid })) {
      input.value = "";
      form.hidden = true;
      messageToggle.setAttribute("aria-expanded", "false");
      messageToggle.focus();
      dom.waitingStatus.textContent = t("therapist.messageSent");
    }
  });
  const replies = el("ol", { className: "replies", hidden: true, dataset: { testid: `replies-${pid}` } });
  const actions = el("div", { className: "item-actions" }, admit, messageToggle, deny);
  const li = el("li", { className: "waiting-item", dataset: { testid: `waiting-${pid}`, pid } },
    el("div", { className: "who" }, select, el("div", {}, name, meta, emergency, precall)),
    replies,
    actions,
    form);
  if (isNew) {
    li.classList.add("is-new");
    setTimeout(() => li.classList.remove("is-new"), NEW_ARRIVAL_MS);
  }
  return { li, select, name, meta, emergency, precall, admit, messageToggle, deny, formLabel, replies, entry, actions };
}

function updateWaitingItem(item, entry) {
  item.entry = entry;
  updatePrecall(item, entry);
  const inSession = state.session.length > 0;
  item.name.textContent = entry.name;
  item.admit.textContent = inSession ? t("therapist.addToSessionAsk") : t("therapist.admit");
  item.admit.setAttribute("aria-label", t(inSession ? "therapist.addName" : "therapist.admitName", entry.name));
  arrangeActions(item, inSession);
  item.admit.disabled = sessionIsFull();
  item.deny.setAttribute("aria-label", t("therapist.denyName", entry.name));
  item.messageToggle.setAttribute("aria-label", t("therapist.messageName", entry.name));
  item.formLabel.textContent = t("therapist.messageToLabel", entry.name);
  item.select.setAttribute("aria-label", t("therapist.select", entry.name));
  renderReplies(item);
  const device = entry.device || { camera: "skipped", microphone: "skipped" };
  const problem = device.camera !== "ok" || device.microphone !== "ok";
  item.meta.replaceChildren(
    el("span", { className: "since", dataset: { since: String(entry.since) } },
      t("therapist.waitingSince", relativeTime(entry.since))),
    " · ",
    el("span", { className: entry.connected ? "" : "dropped" },
      entry.connected ? t("therapist.connected") : t("therapist.dropped")),
    el("br"),
    el("span", { className: problem ? "device device-problem" : "device", dataset: { testid: "device-result" } },
      t("media.deviceSummary", t(`media.deviceState.${device.camera}`), t(`media.deviceState.${device.microphone}`))),
    ...(entry.second_device
      ? [el("br"), el("span", { className: "device device-problem", dataset: { testid: "second-device" } },
        t("therapist.secondDevice"))]
      : []),
    ...(entry.via === "room_link"
      ? [el("br"), el("span", { className: "via", dataset: { testid: "via-room-link" } }, t("roomLink.cameThrough"))]
      : []),
  );
  item.emergency.replaceChildren(...[emergencyInfo(entry)].filter(Boolean));
}

/**
 * Where the client is and their phone number, from check-in, for this card only ("not given"
 * when they left it out). Nothing when the deployment does not ask.
 */
function emergencyInfo(entry) {
  if (!state.emergencyInfo) return null;
  const given = entry.emergency || {};
  const row = (key, value, href) => el("div", {},
    el("dt", {}, t(`therapist.emergency.${key}`)),
    el("dd", { dataset: { testid: `emergency-${key}` } },
      value ? (href ? el("a", { href }, value) : value) : t("therapist.emergency.notGiven")));
  return el("dl", { className: "emergency", dataset: { testid: "emergency" } },
    row("location", given.location),
    row("phone", given.phone, given.phone ? `tel:${given.phone.replace(/[^0-9+]/g, "")}` : ""));
}

/**
 * A newcomer's main action: "Admit" while nobody is in the session; while a session runs it is
 * "Message", and "Add to session…" (which asks first) comes second, so that one click never
 * puts a stranger in front of the people already there.
 */
function arrangeActions(item, inSession) {
  const [first, second] = inSession ? [item.messageToggle, item.admit] : [item.admit, item.messageToggle];
  first.classList.add("button-primary");
  second.classList.remove("button-primary");
  if (item.actions.firstElementChild !== first) {
    const focused = document.activeElement;
    item.actions.insertBefore(first, second); // moving a node takes focus away: give it back
    if (focused === first || focused === second) focused.focus();
  }
}

// (kept apart from the meta line above: the figures sit behind a disclosure)
function updatePrecall(item, entry) {
  item.precall.replaceChildren(...precallSummary(entry.precall));
}

function refreshTimes() {
  if (state.eta !== null) showLateState(state.eta);
  for (const node of document.querySelectorAll(".since[data-since]")) {
    node.textContent = t("therapist.waitingSince", relativeTime(Number(node.dataset.since)));
  }
}

function selectedIds() {
  return [...state.items.values()].filter((item) => item.select.checked).map((item) => item.entry.participant_id);
}

function updateAdmitSelected() {
  const n = selectedIds().length;
  dom.admitSelected.textContent = t("therapist.admitSelected", n);
  dom.admitSelected.disabled = n === 0 || state.session.length + 1 + n > state.maxParticipants;
  dom.admitSelected.hidden = state.waiting.length < 2; // for couples and families
}

function admitIds(ids) {
  if (!ids.length) return;
  for (const id of ids) {
    const item = state.items.get(id);
    if (item) {
      item.admit.disabled = true;
      item.select.checked = false;
    }
  }
  updateAdmitSelected();
  state.signaling.send({ type: "admit", participant_ids: ids });
}

/**
 * Admit these waiting clients; into a running session only once the therapist has confirmed,
 * having been told who is already in it.
 */
async function admitWithCare(ids) {
  const sessionIds = () => state.session.map((p) => p.participant_id).join(" ");
  for (;;) {
    const present = sessionIds();
    if (!present) break;
    const names = (list) => list.map((id) => state.names.get(id) || "");
    const question = t("therapist.addConfirm", names(ids), names(present.split(" ")));
    if (!(await confirmDialog(question, t("therapist.addToSession"), { danger: false }))) return;
    // Someone joined or left while the question was open: ask again about the session as it is.
    if (sessionIds() === present) break;
  }
  admitIds(ids.filter((id) => state.items.has(id)));
}

async function denyOne(pid) {
  const name = state.names.get(pid) || "";
  if (await confirmDialog(t("therapist.denyConfirm", name), t("therapist.deny"))) {
    state.signaling.send({ type: "deny", participant_id: pid });
  }
}

dom.admitSelected.addEventListener("click", () => admitWithCare(selectedIds()));

// --- replies from the waiting room ------------------------------------------------------------

function onReply(msg) {
  const pid = msg.from;
  const kept = [...(state.replies.get(pid) || []), { text: msg.text, at: msg.at }].slice(-REPLIES_KEPT);
  state.replies.set(pid, kept);
  const item = state.items.get(pid);
  if (item) renderReplies(item);
  chime({ sinkId: media.speaker });
  announce(t("replies.fromName", state.names.get(pid) || ""));
  // The desktop notice names nobody and quotes nothing: it may show on a shared screen.
  notify(t("replies.notificationTitle"), t("replies.notificationBody"));
}

function renderReplies(item) {
  const pid = item.entry.participant_id;
  const replies = state.replies.get(pid) || [];
  item.replies.hidden = replies.length === 0;
  item.replies.setAttribute("aria-label", t("replies.listLabel", item.entry.name));
  item.replies.replaceChildren(...replies.map((reply) =>
    el("li", { dataset: { testid: `reply-${pid}` } },
      el("time", { dateTime: new Date(reply.at * 1000).toISOString(), text: clockTime(reply.at) }),
      " ", reply.text)));
}

// --- running late -----------------------------------------------------------------------------

function sendLate(minutes) {
  if (state.signaling?.send({ type: "running_late", minutes })) {
    dom.lateMinutes.value = "";
    setFieldError("");
  }
}

function setFieldError(message) {
  dom.lateError.textContent = message;
  dom.lateError.hidden = !message;
  if (message) dom.lateMinutes.setAttribute("aria-invalid", "true");
  else dom.lateMinutes.removeAttribute("aria-invalid");
}

/** What the waiting clients are shown now, from the room view's `eta`. */
function showLateState(eta) {
  state.eta = eta;
  dom.lateClear.hidden = eta === null;
  if (eta === null) {
    dom.lateState.textContent = t("late.none");
    return;
  }
  const left = eta - Date.now() / 1000;
  dom.lateState.textContent = left > 0
    ? t("late.shown", Math.max(1, Math.round(left / 60)), clockTime(eta))
    : t("late.passed", clockTime(eta));
}

dom.lateChoices.replaceChildren(...LATE_CHOICES.map((minutes) =>
  el("button", { type: "button", className: "button button-small", dataset: { testid: `late-${minutes}` },
    onclick: () => sendLate(minutes) }, t("late.choice", minutes))));
dom.lateForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const minutes = Number(dom.lateMinutes.value);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_LATE_MINUTES) {
    setFieldError(t("late.invalid"));
    dom.lateMinutes.focus();
    return;
  }
  sendLate(minutes);
});
dom.lateClear.addEventListener("click", () => sendLate(0));

dom.messageAllForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = dom.messageAll.value.trim();
  if (text && state.signaling?.send({ type: "message", text })) {
    dom.messageAll.value = "";
    dom.waitingStatus.textContent = t("therapist.messageSent");
  }
});

// --- the session ------------------------------------------------------------------------------

function renderSession() {
  const n = state.session.length;
  dom.sessionEmpty.hidden = n > 0;
  dom.sessionCount.textContent = n ? t("therapist.inSession", n) : "";
  if (state.endButton) state.endButton.disabled = n === 0;
  timer.update(state.session);
  dom.sessionList.replaceChildren(
    ...state.session.map((p) => {
      const pid = p.participant_id;
      return el("li", { className: "session-item", dataset: { testid: `session-${pid}` } },
        el("span", { className: "who" }, el("strong", {}, p.name), " ",
          el("span", { className: p.connected ? "hint" : "hint dropped" },
            p.connected ? t("therapist.connected") : t("therapist.dropped"))),
        el("span", { className: "item-actions" },
          el("button", { type: "button", className: "button button-small", dataset: { testid: `send-back-${pid}` },
            "aria-label": t("therapist.sendBackName", p.name),
            onclick: () => state.signaling.send({ type: "send_back", participant_id: pid }) },
          t("therapist.sendBack")),
          el("button", { type: "button", className: "button button-quiet button-small",
            dataset: { testid: `remove-${pid}` }, "aria-label": t("therapist.removeName", p.name),
            onclick: () => removeOne(pid, p.name) }, t("therapist.remove"))),
        emergencyInfo(p));
    }),
  );
}

async function removeOne(pid, name) {
  if (await confirmDialog(t("therapist.removeConfirm", name), t("therapist.remove"))) {
    state.signaling.send({ type: "remove", participant_id: pid });
  }
}

async function endForAll() {
  if (await confirmDialog(t("therapist.endConfirm"), t("therapist.endSession"))) {
    state.signaling.send({ type: "end_session" });
  }
}

function onPeersChanged({ joined, left }) {
  const said = [
    ...joined.map((p) => t("therapist.clientJoined", p.name)),
    ...left.map((p) => t("therapist.clientLeft", p.name)),
  ];
  if (said.length) dom.status.textContent = said.join(" ");
}

// --- session links ----------------------------------------------------------------------------

const links = new LinkPanel({ auth: () => ({ token: state.token, room: state.room }) });
const timer = new SessionTimer();

// --- connection, switching rooms, the end -----------------------------------------------------

function resetRoom() {
  state.view?.end({ notify: true });
  state.items.forEach((item) => item.li.remove());
  state.items.clear();
  state.waiting = [];
  state.session = [];
  timer.stop();
  showBanner("");
}

switchRoom.addEventListener("click", () => {
  state.switching = true;
  resetRoom();
  // Leaving for good lets waiting clients see "not here yet" instead of "reconnecting".
  if (!state.signaling?.send({ type: "leave" })) state.signaling?.close();
  remember(KIND, "room", null);
  roomLabel.hidden = true;
  showPicker();
});

/** Nobody has used the console for a while: lock it, so the room stays private. */
function lockConsole() {
  state.locked = true;
  state.token = null;
  forget(KIND);
  media.stop();
  state.signaling?.close();
  showError("idle");
}

function onClosed({ code, gaveUp }) {
  if (state.locked) return undefined; // the lock screen stays
  if (state.switching) {
    state.switching = false;
    return undefined;
  }
  resetRoom();
  const retry = { label: t("common.retry"), run: () => state.signaling.connect() };
  if (gaveUp) return showError("gaveUp", { action: retry });
  switch (code) {
    case CLOSE.ROOM_ENDED:
    case CLOSE.SESSION_ENDED: // the therapist's part only ends with the room
      return showError("roomEnded", { action: retry });
    case CLOSE.REPLACED:
      return showError("replaced", { action: { label: t("common.useHere"), run: () => state.signaling.connect() } });
    case CLOSE.LEFT:
      return showPicker();
    default:
      media.stop();
      forget(KIND);
      return showError(errorPageFor(code));
  }
}

setInterval(refreshTimes, REFRESH_TIMES_MS);

start().catch((err) => {
  console.error(err);
  showError("generic");
});
