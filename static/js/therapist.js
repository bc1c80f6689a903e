// The therapist's console: pick a room, see who is waiting (live), message them, admit or deny
// (one or several at once), run the call, and create session links.

import { chime, setTitle, unlockAudioOnGesture } from "./alerts.js";
import { Call } from "./call.js";
import { hasTrack, openMedia, setEnabled, stopStream } from "./media.js";
import { CLOSE, Signaling } from "./signaling.js";
import { STRINGS, t } from "./strings.js";
import { decodePayload, forget, remember, takeToken, tokenRooms, tokenStatus } from "./token.js";
import {
  byId, clockTime, confirmDialog, el, errorKeyForClose, localize, relativeTime, showBanner, showError,
  showView, videoTile,
} from "./ui.js";

const KIND = "therapist";
const REFRESH_TIMES_MS = 15000;

const dom = {
  roomLabel: byId("room-label"),
  switchRoom: byId("switch-room"),
  announcer: byId("announcer"),
  picker: byId("room-picker"),
  waitingCount: byId("waiting-count"),
  waitingEmpty: byId("waiting-empty"),
  waitingList: byId("waiting-list"),
  admitSelected: byId("admit-selected"),
  messageAllForm: byId("message-all-form"),
  messageAll: byId("message-all"),
  linkForm: byId("link-form"),
  linkTtl: byId("link-ttl"),
  linkOutput: byId("link-output"),
  linkUrl: byId("link-url"),
  copyLink: byId("copy-link"),
  linkExpiry: byId("link-expiry"),
  linkStatus: byId("link-status"),
  status: byId("console-status"),
  grid: byId("video-grid"),
  endSession: byId("end-session"),
  sessionEmpty: byId("session-empty"),
  sessionList: byId("session-list"),
  chatLog: byId("chat-log"),
  chatForm: byId("chat-form"),
  chatInput: byId("chat-input"),
};

const state = {
  token: null,
  rooms: [],
  room: null,
  media: null,
  audioOn: true,
  videoOn: true,
  signaling: null,
  call: null,
  selfTile: null,
  tiles: new Map(), // peer id -> tile
  names: new Map(), // participant id -> name
  peerMedia: new Map(),
  waiting: [], // the last room.waiting
  session: [], // the last room.session (clients)
  peers: [], // the last session.peers
  items: new Map(), // waiting pid -> {li, refs}
  seen: null, // waiting pids already announced (null until the first room message)
  switching: false,
};

// --- start ------------------------------------------------------------------------------------

async function start() {
  localize();
  document.title = t("therapist.title");
  unlockAudioOnGesture();
  fillTtlOptions();

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

  const stored = remember(KIND, "room");
  if (state.rooms.length === 1) return enterRoom(state.rooms[0]);
  if (stored && state.rooms.includes(stored)) return enterRoom(stored);
  showPicker();
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
  dom.roomLabel.textContent = t("therapist.roomLabel", room);
  dom.roomLabel.hidden = false;
  dom.switchRoom.hidden = state.rooms.length < 2;
  showView("loading");
  if (!state.media) state.media = await openMedia();
  if (state.media.message) dom.status.textContent = state.media.message;
  connect();
}

function connect() {
  state.seen = null;
  state.selfTile = state.selfTile || videoTile({ id: "self", self: true });
  state.selfTile.setStream(state.media?.stream || null);
  dom.grid.replaceChildren(state.selfTile.root);
  updateControls();

  const signaling = new Signaling(() => ({
    type: "auth", role: "therapist", token: state.token, room: state.room,
  }));
  state.signaling = signaling;
  window.__rapport = Object.assign(window.__rapport || {}, { signaling });
  state.call = new Call({
    send: (msg) => signaling.send(msg),
    localStream: state.media?.stream || null,
    onRemoteStream: showRemote,
    onPeerClosed: dropTile,
    onQuality: (id, q) => state.tiles.get(id)?.setQuality(q.level),
  });

  signaling.on("welcome", (msg) => {
    state.call.setIceServers(msg.ice_servers);
    if (document.body.dataset.screen !== "console") showView("console");
  });
  signaling.on("room", onRoom);
  signaling.on("session", onSession);
  for (const type of ["offer", "answer", "candidate", "hangup"]) {
    signaling.on(type, (msg) => state.call.handleSignal(msg));
  }
  signaling.on("chat", (msg) => addChat(msg.name, msg.text, msg.at));
  signaling.on("media", onPeerMedia);
  signaling.on("error", (msg) => {
    dom.status.textContent = msg.message;
    console.warn("server refused", msg.ref, msg.code, msg.message);
  });
  signaling.on("reconnecting", () => showBanner(t("common.connectionLost")));
  signaling.on("open", ({ reconnected }) => {
    if (reconnected) showBanner(t("common.connectionBack"), 3000);
  });
  signaling.on("closed", onClosed);
  signaling.connect();
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
  renderWaiting();
  renderSession();
  if (arrivals.length) {
    chime();
    dom.announcer.textContent = arrivals.map((p) => t("therapist.arrival", p.name)).join(" ");
  }
  updateTitle();
}

function updateTitle() {
  const n = state.waiting.length;
  setTitle(n ? t("therapist.titleWithCount", n) : t("therapist.title"));
}

function renderWaiting() {
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
  let previous = null;
  for (const entry of state.waiting) {
    let item = state.items.get(entry.participant_id);
    if (!item) {
      item = waitingItem(entry);
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
  updateAdmitSelected();
}

function waitingItem(entry) {
  const pid = entry.participant_id;
  const select = el("input", { type: "checkbox", id: `select-${pid}`, dataset: { testid: `select-${pid}` },
    onchange: updateAdmitSelected });
  const name = el("label", { htmlFor: `select-${pid}`, className: "name" });
  const meta = el("p", { className: "meta" });
  const admit = el("button", { type: "button", className: "button button-primary button-small",
    dataset: { testid: `admit-${pid}` }, onclick: () => admitIds([pid]) }, t("therapist.admit"));
  const messageToggle = el("button", { type: "button", className: "button button-small",
    "aria-expanded": "false", "aria-controls": `message-form-${pid}`,
    dataset: { testid: `message-${pid}` } }, t("therapist.messageOne"));
  const deny = el("button", { type: "button", className: "button button-quiet button-small",
    dataset: { testid: `deny-${pid}` }, onclick: () => denyOne(pid) }, t("therapist.deny"));
  const input = el("input", { type: "text", id: `message-input-${pid}`, maxLength: 2000, autocomplete: "off",
    dataset: { testid: `message-input-${pid}` } });
  const formLabel = el("label", { htmlFor: `message-input-${pid}` });
  const form = el("form", { className: "inline-form", id: `message-form-${pid}`, hidden: true },
    formLabel,
    el("div", { className: "row" }, input,
      el("button", { type: "submit", className: "button button-small" }, t("common.send"))));
  input.classList.add("grow");
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
      dom.status.textContent = t("therapist.messageSent");
    }
  });
  const li = el("li", { className: "waiting-item", dataset: { testid: `waiting-${pid}`, pid } },
    el("div", { className: "who" }, select, el("div", {}, name, meta)),
    el("div", { className: "item-actions" }, admit, messageToggle, deny),
    form);
  if (state.seen && state.seen.size) {
    li.classList.add("is-new");
    setTimeout(() => li.classList.remove("is-new"), 8000);
  }
  return { li, select, name, meta, admit, messageToggle, deny, formLabel, entry };
}

function updateWaitingItem(item, entry) {
  item.entry = entry;
  item.name.textContent = entry.name;
  item.admit.setAttribute("aria-label", t("therapist.admitName", entry.name));
  item.admit.disabled = false;
  item.deny.setAttribute("aria-label", t("therapist.denyName", entry.name));
  item.messageToggle.setAttribute("aria-label", t("therapist.messageName", entry.name));
  item.formLabel.textContent = t("therapist.messageToLabel", entry.name);
  item.select.setAttribute("aria-label", t("therapist.select", entry.name));
  const device = entry.device || { camera: "skipped", microphone: "skipped" };
  item.meta.replaceChildren(
    el("span", { className: "since", dataset: { since: String(entry.since) } },
      t("therapist.waitingSince", relativeTime(entry.since))),
    " · ",
    el("span", { className: entry.connected ? "" : "dropped" },
      entry.connected ? t("therapist.connected") : t("therapist.dropped")),
    " · ",
    t("media.deviceSummary", t(`media.deviceState.${device.camera}`), t(`media.deviceState.${device.microphone}`)),
  );
}

function refreshTimes() {
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
  dom.admitSelected.disabled = n === 0;
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

async function denyOne(pid) {
  const name = state.names.get(pid) || "";
  if (await confirmDialog(t("therapist.denyConfirm", name), t("therapist.deny"))) {
    state.signaling.send({ type: "deny", participant_id: pid });
  }
}

dom.admitSelected.addEventListener("click", () => admitIds(selectedIds()));

dom.messageAllForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = dom.messageAll.value.trim();
  if (text && state.signaling?.send({ type: "message", text })) {
    dom.messageAll.value = "";
    dom.status.textContent = t("therapist.messageSent");
  }
});

// --- the session ------------------------------------------------------------------------------

function renderSession() {
  dom.sessionEmpty.hidden = state.session.length > 0;
  dom.endSession.disabled = state.session.length === 0;
  dom.sessionList.replaceChildren(
    ...state.session.map((p) => {
      const pid = p.participant_id;
      return el("li", { className: "session-item", dataset: { testid: `session-${pid}` } },
        el("strong", {}, p.name), " ",
        el("span", { className: p.connected ? "hint" : "hint dropped" },
          p.connected ? t("therapist.connected") : t("therapist.dropped")),
        el("div", { className: "item-actions" },
          el("button", { type: "button", className: "button button-small", dataset: { testid: `send-back-${pid}` },
            "aria-label": t("therapist.sendBackName", p.name),
            onclick: () => state.signaling.send({ type: "send_back", participant_id: pid }) },
          t("therapist.sendBack")),
          el("button", { type: "button", className: "button button-quiet button-small",
            dataset: { testid: `remove-${pid}` }, "aria-label": t("therapist.removeName", p.name),
            onclick: () => removeOne(pid, p.name) }, t("therapist.remove"))));
    }),
  );
}

async function removeOne(pid, name) {
  if (await confirmDialog(t("therapist.removeConfirm", name), t("therapist.remove"))) {
    state.signaling.send({ type: "remove", participant_id: pid });
  }
}

function onSession(msg) {
  const before = new Set(state.peers.map((p) => p.participant_id));
  state.peers = msg.peers;
  for (const peer of msg.peers) {
    state.names.set(peer.participant_id, peer.name);
    state.tiles.get(peer.participant_id)?.setName(peer.name);
  }
  state.call.updatePeers(msg.peers);
  const joined = msg.peers.filter((p) => !before.has(p.participant_id));
  if (joined.length) {
    dom.status.textContent = joined.map((p) => t("therapist.clientJoined", p.name)).join(" ");
    sendMediaState(); // newcomers learn whether we are muted
  }
}

function showRemote(peerId, stream) {
  let tile = state.tiles.get(peerId);
  if (!tile) {
    tile = videoTile({ id: peerId, name: state.names.get(peerId) || "" });
    state.tiles.set(peerId, tile);
    dom.grid.insertBefore(tile.root, state.selfTile.root);
    const media = state.peerMedia.get(peerId);
    if (media) applyPeerMedia(tile, media);
  }
  tile.setStream(stream);
}

function dropTile(peerId) {
  state.tiles.get(peerId)?.root.remove();
  state.tiles.delete(peerId);
}

function onPeerMedia(msg) {
  const media = { audio: msg.audio, video: msg.video };
  state.peerMedia.set(msg.from, media);
  const tile = state.tiles.get(msg.from);
  if (tile) applyPeerMedia(tile, media);
}

function applyPeerMedia(tile, media) {
  tile.setMuted(!media.audio);
  tile.setCameraOff(!media.video);
}

function addChat(name, text, at) {
  const who = el("span", { className: "chat-who", text: t("common.chatFrom", name, clockTime(at)) });
  dom.chatLog.append(el("li", { dataset: { testid: "chat-message" } }, who, el("span", { text })));
  dom.chatLog.scrollTop = dom.chatLog.scrollHeight;
}

dom.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = dom.chatInput.value.trim();
  if (!text || state.peers.length === 0) return;
  if (state.signaling?.send({ type: "chat", text })) {
    addChat(t("common.you"), text, Date.now() / 1000);
    dom.chatInput.value = "";
  }
});

function updateControls() {
  const stream = state.media?.stream;
  const hasAudio = hasTrack(stream, "audio");
  const hasVideo = hasTrack(stream, "video");
  const mic = document.querySelector('[data-action="mic"]');
  mic.textContent = state.audioOn && hasAudio ? t("common.mute") : t("common.unmute");
  mic.disabled = !hasAudio;
  mic.dataset.on = String(state.audioOn && hasAudio);
  const camera = document.querySelector('[data-action="camera"]');
  camera.textContent = state.videoOn && hasVideo ? t("common.cameraOff") : t("common.cameraOn");
  camera.disabled = !hasVideo;
  camera.dataset.on = String(state.videoOn && hasVideo);
  state.selfTile?.setMuted(!(state.audioOn && hasAudio));
  state.selfTile?.setCameraOff(!(state.videoOn && hasVideo));
}

function sendMediaState() {
  if (state.peers.length === 0) return;
  const stream = state.media?.stream;
  state.signaling?.send({
    type: "media",
    audio: state.audioOn && hasTrack(stream, "audio"),
    video: state.videoOn && hasTrack(stream, "video"),
    screen: false,
  });
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const stream = state.media?.stream;
  switch (button.dataset.action) {
    case "mic":
      state.audioOn = setEnabled(stream, "audio", !state.audioOn);
      break;
    case "camera":
      state.videoOn = setEnabled(stream, "video", !state.videoOn);
      break;
    case "end":
      if (await confirmDialog(t("therapist.endConfirm"), t("therapist.endSession"))) {
        state.signaling.send({ type: "end_session" });
      }
      return;
    default:
      return;
  }
  updateControls();
  sendMediaState();
});

// --- session links ----------------------------------------------------------------------------

function fillTtlOptions() {
  dom.linkTtl.replaceChildren(
    ...Object.entries(STRINGS.therapist.ttl).map(([seconds, label]) =>
      el("option", { value: seconds, selected: seconds === "3600" }, label)),
  );
}

dom.linkForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  dom.linkStatus.textContent = "";
  try {
    const response = await fetch("/api/session-links", {
      method: "POST",
      headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ room: state.room, ttl: Number(dom.linkTtl.value) }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
    dom.linkUrl.value = body.url;
    dom.linkExpiry.textContent = t("therapist.linkExpires", clockTime(body.expires_at));
    dom.linkOutput.hidden = false;
    dom.linkUrl.focus();
    dom.linkUrl.select();
  } catch (err) {
    dom.linkStatus.textContent = t("therapist.linkFailed", err.message);
  }
});

dom.copyLink.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(dom.linkUrl.value);
    dom.linkStatus.textContent = t("therapist.copied");
  } catch {
    dom.linkUrl.select();
    const ok = document.execCommand && document.execCommand("copy");
    dom.linkStatus.textContent = ok ? t("therapist.copied") : t("therapist.copyFailed");
  }
});

// --- connection, switching rooms, the end -----------------------------------------------------


function resetRoom() {
  state.call?.closeAll(true);
  state.tiles.forEach((_, id) => dropTile(id));
  state.items.forEach((item) => item.li.remove());
  state.items.clear();
  state.waiting = [];
  state.session = [];
  state.peers = [];
  showBanner("");
}

dom.switchRoom.addEventListener("click", () => {
  state.switching = true;
  resetRoom();
  // Leaving for good lets waiting clients see "not here yet" instead of "reconnecting".
  if (!state.signaling?.send({ type: "leave" })) state.signaling?.close();
  remember(KIND, "room", null);
  dom.roomLabel.hidden = true;
  showPicker();
});

function onClosed({ code, gaveUp }) {
  if (state.switching) {
    state.switching = false;
    return;
  }
  resetRoom();
  if (gaveUp) {
    return showError("gaveUp", { action: { label: t("common.retry"), run: () => state.signaling.connect() } });
  }
  switch (code) {
    case CLOSE.ROOM_ENDED:
    case CLOSE.SESSION_ENDED: // the therapist's part only ends with the room
      return showError("roomEnded", { action: { label: t("common.retry"), run: () => state.signaling.connect() } });
    case CLOSE.REPLACED:
      return showError("replaced", { action: { label: t("common.useHere"), run: () => state.signaling.connect() } });
    case CLOSE.LEFT:
      return showPicker();
    default:
      stopStream(state.media?.stream);
      state.media = null;
      forget(KIND);
      return showError(errorKeyForClose(code));
  }
}

setInterval(refreshTimes, REFRESH_TIMES_MS);

start().catch((err) => {
  console.error(err);
  showError("generic");
});
