// The session-link page: welcome (name, device check, consent) -> waiting room -> call ->
// closing page, plus kind pages for links that do not work. A refresh resumes by itself: the
// token and the name are kept in this tab's sessionStorage.

import { chime, setTitle, unlockAudioOnGesture } from "./alerts.js";
import { Call } from "./call.js";
import { hasTrack, levelMeter, openMedia, setEnabled, stopStream } from "./media.js";
import { CLOSE, Signaling } from "./signaling.js";
import { t } from "./strings.js";
import { decodePayload, forget, remember, takeToken, tokenStatus } from "./token.js";
import {
  byId, clockTime, confirmDialog, el, errorKeyForClose, localize, showBanner, showError, showView, videoTile,
} from "./ui.js";

const KIND = "client";

const dom = {
  form: byId("join-form"),
  name: byId("name"),
  nameError: byId("name-error"),
  consent: byId("consent"),
  consentText: byId("consent-text"),
  consentError: byId("consent-error"),
  join: byId("join"),
  preview: byId("preview"),
  meter: byId("mic-level"),
  deviceStatus: byId("device-status"),
  deviceCheck: byId("device-check"),
  status: byId("status"),
  therapistStatus: byId("therapist-status"),
  position: byId("position"),
  waitingSelf: byId("waiting-self"),
  messages: byId("messages"),
  messagesEmpty: byId("messages-empty"),
  callStatus: byId("call-status"),
  grid: byId("video-grid"),
  chatLog: byId("chat-log"),
  chatForm: byId("chat-form"),
  chatInput: byId("chat-input"),
  closingTitle: byId("closing-title"),
  closingText: byId("closing-text"),
  closingActions: byId("closing-actions"),
};

const session = {
  token: null,
  room: null,
  name: null,
  media: null, // {stream, device, message} once the camera / microphone were asked for
  stopMeter: () => {},
  signaling: null,
  call: null,
  participantId: null,
  state: null, // "waiting" | "admitted"
  audioOn: true,
  videoOn: true,
  selfTile: null,
  tiles: new Map(), // peer id -> tile
  names: new Map(), // peer id -> display name
  peerMedia: new Map(), // peer id -> {audio, video}
};

// --- start ------------------------------------------------------------------------------------

async function start() {
  localize();
  document.title = t("client.title");
  unlockAudioOnGesture();

  const { token, changed } = takeToken(KIND);
  if (!token) return showError("noLink");
  if (changed) remember(KIND, "name", null); // a different link: ask again
  const claims = decodePayload(token);
  const status = tokenStatus(claims);
  if (status === "invalid") return showError("invalid");
  if (claims.typ !== "session_link" || typeof claims.room !== "string") return showError("wrongKind");
  if (status === "expired") return showError("expired");
  if (status === "not_yet_valid") return waitUntilValid(claims.nbf);
  session.token = token;
  session.room = claims.room;

  const storedName = remember(KIND, "name");
  if (storedName) {
    // A refresh (or a reconnect after closing the tab): carry on without asking again.
    session.media = await openMedia();
    return join(storedName);
  }
  await showWelcome();
}

function waitUntilValid(nbf) {
  showError("notYet", { text: clockTime(nbf) });
  const wait = Math.max(1000, (nbf - Date.now() / 1000) * 1000 + 1000);
  setTimeout(() => location.reload(), Math.min(wait, 2 ** 31 - 1));
}

// --- welcome ----------------------------------------------------------------------------------

async function showWelcome() {
  dom.consentText.textContent = (await loadConfig()).consent_text;
  dom.deviceCheck.addEventListener("click", checkDevices);
  dom.form.addEventListener("submit", onJoin);
  showView("welcome");
  dom.name.focus();
}

async function loadConfig() {
  try {
    const response = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (response.ok) return await response.json();
  } catch {
    // fall through to the defaults
  }
  return { consent_text: "", show_queue_position: false, grace: 60, max_participants: 4 };
}

async function checkDevices() {
  dom.deviceCheck.disabled = true;
  dom.deviceStatus.textContent = t("media.checking");
  session.stopMeter();
  stopStream(session.media?.stream);
  session.media = await openMedia();
  const { stream, message } = session.media;
  dom.preview.srcObject = stream;
  session.stopMeter = levelMeter(stream, dom.meter);
  dom.deviceStatus.textContent = message || t("media.ok");
  dom.deviceStatus.dataset.ok = String(!message);
  dom.deviceCheck.disabled = false;
}

function cleanName(raw) {
  return raw.split(/\s+/).filter(Boolean).join(" ");
}

function setFieldError(input, errorNode, message) {
  errorNode.textContent = message || "";
  errorNode.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

async function onJoin(event) {
  event.preventDefault();
  const name = cleanName(dom.name.value);
  const nameOk = name.length >= 1 && name.length <= 64;
  setFieldError(dom.name, dom.nameError, nameOk ? "" : t("client.nameRequired"));
  setFieldError(dom.consent, dom.consentError, dom.consent.checked ? "" : t("client.consentRequired"));
  if (!nameOk) return dom.name.focus();
  if (!dom.consent.checked) return dom.consent.focus();

  dom.join.disabled = true;
  dom.join.textContent = t("client.joining");
  if (!session.media) await checkDevices();
  session.stopMeter();
  remember(KIND, "name", name);
  join(name);
}

// --- joining and the waiting room -------------------------------------------------------------

function deviceReport() {
  return session.media ? session.media.device : { camera: "skipped", microphone: "skipped" };
}

function join(name) {
  session.name = name;
  showView("loading");
  session.selfTile = videoTile({ id: "self", self: true });
  session.selfTile.setStream(session.media?.stream || null);
  dom.waitingSelf.replaceChildren(session.selfTile.root);
  updateControls();

  const signaling = new Signaling(() => ({
    type: "auth",
    role: "client",
    token: session.token,
    room: session.room,
    name: session.name,
    device: deviceReport(),
  }));
  session.signaling = signaling;
  window.__rapport = Object.assign(window.__rapport || {}, { signaling });
  session.call = new Call({
    send: (msg) => signaling.send(msg),
    localStream: session.media?.stream || null,
    onRemoteStream: showRemote,
    onPeerClosed: dropTile,
    onQuality: (id, q) => session.tiles.get(id)?.setQuality(q.level),
  });

  signaling.on("welcome", (msg) => {
    session.participantId = msg.participant_id;
    session.call.setIceServers(msg.ice_servers);
  });
  signaling.on("state", onState);
  signaling.on("session", onSession);
  signaling.on("reconnecting", () => showBanner(t("common.connectionLost")));
  signaling.on("open", ({ reconnected }) => {
    if (reconnected) showBanner(t("common.connectionBack"), 3000);
  });
  signaling.on("closed", onClosed);
  for (const type of ["offer", "answer", "candidate", "hangup"]) {
    signaling.on(type, (msg) => session.call.handleSignal(msg));
  }
  signaling.on("chat", (msg) => addChat(msg.name, msg.text, msg.at));
  signaling.on("media", onPeerMedia);
  signaling.on("error", (msg) => console.warn("server refused", msg.ref, msg.code, msg.message));
  signaling.on("message", addTherapistMessage);

  window.addEventListener("pagehide", () => session.call?.closeAll(true));
  signaling.connect();
}

function onState(msg) {
  const previous = session.state;
  session.state = msg.state;
  dom.therapistStatus.textContent = t(`client.therapist.${msg.therapist}`);
  dom.therapistStatus.dataset.state = msg.therapist;
  dom.position.hidden = msg.position === null || msg.position === undefined;
  if (!dom.position.hidden) dom.position.textContent = t("client.position", msg.position);

  if (msg.state === "waiting") {
    if (previous === "admitted") {
      session.call.closeAll(false);
      dom.status.textContent = t("client.sentBack");
    } else if (previous !== "waiting") {
      dom.status.textContent = t("client.waitingStatus");
    }
    if (previous !== "waiting") {
      dom.waitingSelf.replaceChildren(session.selfTile.root);
      showView("waiting");
      document.title = t("client.waitingTitle");
    }
  } else if (msg.state === "admitted" && previous !== "admitted") {
    dom.grid.append(session.selfTile.root);
    dom.callStatus.textContent = t("client.waitingForVideo");
    showView("call");
    if (previous === "waiting") {
      chime();
      setTitle(t("client.admittedTitle"));
      dom.callStatus.textContent = t("client.admitted");
    } else {
      document.title = t("client.admittedTitle");
    }
    sendMediaState();
  }
  if (msg.state === "admitted") {
    // In the call, say so when the therapist's connection drops, and clear it once they are back.
    const away = msg.therapist === "reconnecting";
    if (away) dom.callStatus.textContent = t("client.therapist.reconnecting");
    else if (dom.callStatus.dataset.away === "true") dom.callStatus.textContent = "";
    dom.callStatus.dataset.away = String(away);
  }
}

function onSession(msg) {
  for (const peer of msg.peers) {
    session.names.set(peer.participant_id, peer.name);
    session.tiles.get(peer.participant_id)?.setName(peer.name);
  }
  session.call.updatePeers(msg.peers);
}

function addTherapistMessage(msg) {
  dom.messagesEmpty.hidden = true;
  const time = el("time", { dateTime: new Date(msg.at * 1000).toISOString(), text: clockTime(msg.at) });
  dom.messages.append(el("li", { dataset: { testid: "message" } }, time, " ", msg.text));
}


// --- the call ---------------------------------------------------------------------------------

function showRemote(peerId, stream) {
  let tile = session.tiles.get(peerId);
  if (!tile) {
    tile = videoTile({ id: peerId, name: session.names.get(peerId) || "" });
    session.tiles.set(peerId, tile);
    dom.grid.insertBefore(tile.root, session.selfTile.root.parentNode === dom.grid ? session.selfTile.root : null);
    const media = session.peerMedia.get(peerId);
    if (media) applyPeerMedia(tile, media);
  }
  tile.setStream(stream);
  dom.callStatus.textContent = "";
}

function dropTile(peerId) {
  session.tiles.get(peerId)?.root.remove();
  session.tiles.delete(peerId);
}

function onPeerMedia(msg) {
  const media = { audio: msg.audio, video: msg.video };
  session.peerMedia.set(msg.from, media);
  const tile = session.tiles.get(msg.from);
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
  if (!text || !session.signaling) return;
  if (session.signaling.send({ type: "chat", text })) {
    addChat(t("common.you"), text, Date.now() / 1000);
    dom.chatInput.value = "";
  }
});

// --- microphone, camera, leave ----------------------------------------------------------------

function updateControls() {
  const stream = session.media?.stream;
  const hasAudio = hasTrack(stream, "audio");
  const hasVideo = hasTrack(stream, "video");
  for (const button of document.querySelectorAll('[data-action="mic"]')) {
    button.textContent = session.audioOn && hasAudio ? t("common.mute") : t("common.unmute");
    button.disabled = !hasAudio;
    button.dataset.on = String(session.audioOn && hasAudio);
  }
  for (const button of document.querySelectorAll('[data-action="camera"]')) {
    button.textContent = session.videoOn && hasVideo ? t("common.cameraOff") : t("common.cameraOn");
    button.disabled = !hasVideo;
    button.dataset.on = String(session.videoOn && hasVideo);
  }
  session.selfTile?.setMuted(!(session.audioOn && hasAudio));
  session.selfTile?.setCameraOff(!(session.videoOn && hasVideo));
}

function sendMediaState() {
  if (session.state !== "admitted") return;
  const stream = session.media?.stream;
  session.signaling.send({
    type: "media",
    audio: session.audioOn && hasTrack(stream, "audio"),
    video: session.videoOn && hasTrack(stream, "video"),
    screen: false,
  });
}

async function onControl(event) {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const stream = session.media?.stream;
  switch (button.dataset.action) {
    case "mic":
      session.audioOn = setEnabled(stream, "audio", !session.audioOn);
      break;
    case "camera":
      session.videoOn = setEnabled(stream, "video", !session.videoOn);
      break;
    case "leave":
      if (await confirmDialog(t("client.leaveConfirm"), t("common.leave"))) leave();
      return;
    default:
      return;
  }
  updateControls();
  sendMediaState();
}

document.addEventListener("click", onControl);

function leave() {
  session.call?.closeAll(true);
  if (!session.signaling?.send({ type: "leave" })) {
    session.signaling?.close();
    showEnded(CLOSE.LEFT);
  }
  // The server answers with bye "left" and closes with 4016: onClosed shows the page.
}

// --- the end ----------------------------------------------------------------------------------

function onClosed({ code, gaveUp }) {
  session.call?.closeAll(false);
  session.tiles.forEach((_, id) => dropTile(id));
  session.state = null;
  showBanner("");
  if (gaveUp) {
    return showError("gaveUp", { action: { label: t("common.retry"), run: reconnect } });
  }
  switch (code) {
    case CLOSE.SESSION_ENDED:
    case CLOSE.ROOM_ENDED:
    case CLOSE.LEFT:
      return showEnded(code);
    case CLOSE.REPLACED:
      releaseMedia();
      return showError("replaced", { action: { label: t("common.useHere"), run: reconnect } });
    case CLOSE.EXPIRED:
      return showError("expiredPlace", { action: { label: t("client.rejoin"), run: reconnect } });
    default:
      releaseMedia();
      forget(KIND);
      return showError(errorKeyForClose(code));
  }
}

function releaseMedia() {
  session.stopMeter();
  stopStream(session.media?.stream);
  session.media = null;
}

function showEnded(code) {
  releaseMedia();
  const left = code === CLOSE.LEFT;
  if (left) {
    remember(KIND, "name", null); // the token stays: "Rejoin" goes back to the welcome
  } else {
    forget(KIND);
  }
  dom.closingTitle.textContent = left ? t("client.leftHeading") : t("client.closingHeading");
  dom.closingText.textContent = left ? t("client.leftText") : t("client.closingText");
  dom.closingActions.replaceChildren();
  if (left) {
    dom.closingActions.append(el("button", {
      type: "button", className: "button button-primary", dataset: { testid: "rejoin" },
      onclick: () => location.reload(),
    }, t("client.rejoin")));
  }
  document.title = t("client.closingTitle");
  showView("closing");
}

async function reconnect() {
  showView("loading");
  if (!session.media) {
    session.media = await openMedia();
    session.call.setLocalStream(session.media.stream);
    session.selfTile.setStream(session.media.stream);
    updateControls();
  }
  session.signaling.connect();
}

start().catch((err) => {
  console.error(err);
  showError("generic");
});
