// The session-link page: welcome (name, device check, consent) -> waiting room -> call ->
// closing page, plus kind pages for links that do not work. A refresh resumes by itself: the
// token, the name and the device choices are kept in this tab's sessionStorage.

import { chime, flagUnseen, setTitle, unlockAudioOnGesture } from "./alerts.js";
import { CallView, mediaButtons } from "./callview.js";
import { DeviceChooser } from "./devices.js";
import { LocalMedia } from "./media.js";
import { mountPage } from "./page.js";
import { CLOSE, Signaling, errorPageFor, signalingUrl } from "./signaling.js";
import { t } from "./strings.js";
import { selfTile } from "./tile.js";
import { decodePayload, forget, remember, store, takeToken, tokenStatus } from "./token.js";
import { byId, clockTime, confirmDialog, duration, el, showBanner, showError, showView } from "./ui.js";

const KIND = "client";
const LINK_CHECK_TIMEOUT_MS = 4000;
const LINK_PROBLEMS = new Set([CLOSE.TOKEN_INVALID, CLOSE.TOKEN_EXPIRED, CLOSE.TOKEN_NOT_YET_VALID,
  CLOSE.TOKEN_REVOKED, CLOSE.WRONG_TOKEN_KIND, CLOSE.WRONG_ROOM]);
const MAX_REPLY = 500; // characters, as the server checks (signaling/messages.py)
const DEFAULT_CONFIG = { consent_text: "", show_queue_position: false, grace: 60, max_participants: 4 };

mountPage();

const dom = {
  form: byId("join-form"),
  name: byId("name"),
  nameError: byId("name-error"),
  consent: byId("consent"),
  consentText: byId("consent-text"),
  consentError: byId("consent-error"),
  join: byId("join"),
  preview: byId("preview"),
  deviceArea: byId("device-area"),
  meter: byId("mic-level"),
  welcomeDevices: byId("welcome-devices"),
  deviceStatus: byId("device-status"),
  deviceCheck: byId("device-check"),
  status: byId("status"),
  therapistStatus: byId("therapist-status"),
  position: byId("position"),
  waitingSelf: byId("waiting-self"),
  waitingControls: byId("waiting-controls"),
  messages: byId("messages"),
  messagesEmpty: byId("messages-empty"),
  late: byId("late"),
  lateNotice: byId("late-notice"),
  lateCountdown: byId("late-countdown"),
  replyForm: byId("reply-form"),
  reply: byId("reply"),
  replyHint: byId("reply-hint"),
  replyStatus: byId("reply-status"),
  muteAlerts: byId("mute-alerts"),
  callView: byId("call-view"),
  closingTitle: byId("closing-title"),
  closingText: byId("closing-text"),
  closingActions: byId("closing-actions"),
};

const media = new LocalMedia(store(KIND, "devices"));

const session = {
  token: null,
  room: null,
  name: null,
  config: DEFAULT_CONFIG,
  signaling: null,
  view: null, // the CallView
  state: null, // "waiting" | "admitted"
  stopMeter: () => {},
  replies: false, // the server takes replies (welcome.replies)
  heard: false, // a message from the therapist has arrived: there is something to reply to
  eta: null, // the therapist's running-late ETA (epoch seconds), while waiting
  lateTimer: null,
};

// --- start ------------------------------------------------------------------------------------

async function start() {
  document.title = t("client.title");
  unlockAudioOnGesture();

  const { token, changed } = takeToken(KIND);
  if (!token) return showError("noLink");
  if (changed) {
    remember(KIND, "name", null); // a different link: ask again
    remember(KIND, "resume", null); // ... and this tab holds no seat of it yet
  }
  const claims = decodePayload(token);
  const status = tokenStatus(claims);
  if (status === "invalid") return showError("invalid");
  if (claims.typ !== "session_link" || typeof claims.room !== "string") return showError("wrongKind");
  if (status === "expired") return showError("expired");
  if (status === "not_yet_valid") return waitUntilValid(claims.nbf);
  session.token = token;
  session.room = claims.room;

  const [config, problem] = await Promise.all([loadConfig(), checkLink(token, claims.room)]);
  session.config = config;
  if (problem === "notYet") return waitUntilValid(claims.nbf);
  if (problem) return showError(problem);

  const storedName = remember(KIND, "name");
  if (storedName) {
    // A refresh (or a reconnect after closing the tab): carry on without asking again.
    await media.open();
    return join(storedName);
  }
  return showWelcome();
}

function waitUntilValid(nbf) {
  showError("notYet", { text: clockTime(nbf) });
  const wait = Math.max(1000, (nbf - Date.now() / 1000) * 1000 + 1000);
  setTimeout(() => location.reload(), Math.min(wait, 2 ** 31 - 1));
}

async function loadConfig() {
  try {
    const response = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (response.ok) return { ...DEFAULT_CONFIG, ...(await response.json()) };
  } catch {
    // fall through to the defaults
  }
  return DEFAULT_CONFIG;
}

/**
 * Whether the service still accepts this link, asked before the person types anything: an
 * `auth` without a name is refused with "invalid name" (4018) when the link is good, and with the
 * link's own close code (4003 to 4008) when it is not. Nothing is joined either way. Resolves to
 * an error-page key, or null when the link is good or the answer did not come.
 */
function checkLink(token, room) {
  return new Promise((resolve) => {
    let ws;
    const done = (answer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      ws?.close();
      done(null);
    }, LINK_CHECK_TIMEOUT_MS);
    try {
      ws = new WebSocket(signalingUrl());
    } catch {
      done(null);
      return;
    }
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", role: "client", token, room })));
    ws.addEventListener("close", (event) => done(LINK_PROBLEMS.has(event.code) ? errorPageFor(event.code) : null));
  });
}

// --- welcome ----------------------------------------------------------------------------------

function showWelcome() {
  dom.consentText.textContent = session.config.consent_text;
  dom.preview.replaceChildren(selfTile(media).root);
  const chooser = new DeviceChooser(media, {
    prefix: "welcome",
    onError: (text) => showDeviceResult(text),
  });
  dom.welcomeDevices.replaceChildren(chooser.root);
  dom.deviceCheck.addEventListener("click", checkDevices);
  dom.form.addEventListener("submit", onJoin);
  document.title = t("client.title");
  showView("welcome");
  dom.name.focus();
}

async function checkDevices() {
  dom.deviceCheck.disabled = true;
  dom.deviceStatus.replaceChildren(el("p", {}, t("media.checking")));
  session.stopMeter();
  await media.open();
  session.stopMeter = media.meter(dom.meter);
  dom.deviceArea.hidden = !media.mic && !media.camera;
  showDeviceResult();
  dom.deviceCheck.textContent = media.problem && media.problem !== "micOnly" && media.problem !== "camOnly"
    ? t("media.checkAgain") : t("media.check");
  dom.deviceCheck.disabled = false;
}

/** What the device check found, and what to do about it, in plain steps. */
function showDeviceResult(override = "") {
  const { problem } = media;
  const box = dom.deviceStatus;
  box.dataset.ok = String(!problem && !override);
  if (override) {
    box.replaceChildren(el("p", {}, override));
    return;
  }
  if (!problem) {
    box.replaceChildren(el("p", {}, t("media.ok")));
    return;
  }
  const steps = t(`media.help.${problem}`);
  const blocking = !media.mic && !media.camera;
  box.replaceChildren(
    el("p", { className: "guidance-title" }, t(`media.${problem}`)),
    steps.length ? el("ol", { className: "steps" }, ...steps.map((step) => el("li", {}, step))) : null,
    blocking ? el("p", {}, t("media.joinWithout")) : null,
  );
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
  if (!media.opened) await checkDevices();
  session.stopMeter();
  remember(KIND, "name", name);
  return join(name);
}

// --- joining and the waiting room -------------------------------------------------------------

function leaveButton(testid, className) {
  return el("button", { type: "button", className, dataset: { testid }, onclick: confirmLeave },
    t("common.leave"));
}

function join(name) {
  session.name = name;
  showView("loading");
  dom.waitingSelf.replaceChildren(selfTile(media).root);
  dom.waitingControls.replaceChildren(...mediaButtons(media, { suffix: "-waiting" }),
    leaveButton("leave-waiting", "button button-quiet"));

  const signaling = new Signaling(() => ({
    type: "auth",
    role: "client",
    token: session.token,
    room: session.room,
    name: session.name,
    device: media.device,
    // This tab's resume secret (from an earlier welcome): it takes this tab's seat back. The
    // same link opened in another tab or on another device has none, and waits.
    ...(remember(KIND, "resume") ? { resume: remember(KIND, "resume") } : {}),
  }));
  signaling.on("welcome", (msg) => {
    if (msg.resume) remember(KIND, "resume", msg.resume);
    session.replies = msg.replies === true;
    updateReplyForm();
  });
  session.signaling = signaling;
  window.__rapport = Object.assign(window.__rapport || {}, { signaling });
  session.view = new CallView({
    root: dom.callView,
    signaling,
    media,
    headingLevel: 2,
    extraControls: [leaveButton("leave", "button button-danger")],
  });

  signaling.on("state", onState);
  signaling.on("message", addTherapistMessage);
  // The session may run a little past the booked time; say when it ends.
  signaling.on("token_expiring", (msg) => showBanner(t("authority.sessionEnding", clockTime(msg.closes_at))));
  signaling.on("reconnecting", () => showBanner(t("common.connectionLost")));
  signaling.on("open", ({ reconnected }) => {
    if (reconnected) showBanner(t("common.connectionBack"), 3000);
  });
  signaling.on("closed", onClosed);
  signaling.on("error", (msg) => {
    if (msg.ref === "reply") replyRefused(msg.code);
    console.warn("server refused", msg.ref, msg.code);
  });

  // A reload starts new connections: a hangup lets the others drop the old ones at once.
  window.addEventListener("pagehide", () => session.view?.call.closeAll(true));
  signaling.connect();
}

function onState(msg) {
  const previous = session.state;
  session.state = msg.state;
  dom.therapistStatus.textContent = t(`client.therapist.${msg.therapist}`);
  dom.therapistStatus.dataset.state = msg.therapist;
  const showPosition = session.config.show_queue_position && Number.isInteger(msg.position);
  dom.position.hidden = !showPosition;
  if (showPosition) dom.position.textContent = t("client.position", msg.position);
  showLate(msg.state === "waiting" ? msg.eta ?? null : null);

  if (msg.state === "waiting" && previous !== "waiting") {
    if (previous === "admitted") {
      session.view.end();
      dom.status.textContent = t("client.sentBack");
    } else {
      dom.status.textContent = t("client.waitingStatus");
    }
    document.title = t("client.waitingTitle");
    showView("waiting");
  } else if (msg.state === "admitted" && previous !== "admitted") {
    showView("call");
    if (previous === "waiting") {
      chime({ sinkId: media.speaker });
      setTitle(t("client.admittedTitle"), t("client.inSessionTitle"));
      session.view.status(t("client.admitted"));
    } else {
      document.title = t("client.inSessionTitle"); // back in the call after a refresh
    }
  }
}

function addTherapistMessage(msg) {
  dom.messagesEmpty.hidden = true;
  const time = el("time", { dateTime: new Date(msg.at * 1000).toISOString(), text: clockTime(msg.at) });
  dom.messages.append(el("li", { dataset: { testid: "message" } }, time, " ", msg.text));
  session.heard = true;
  updateReplyForm();
  if (!alertsMuted()) {
    chime({ sinkId: media.speaker });
    flagUnseen((n) => t("waitingRoom.newMessageTitle", n), calmTitle);
  }
}

function calmTitle() {
  if (session.state === "admitted") return t("client.inSessionTitle");
  return session.state === "waiting" ? t("client.waitingTitle") : t("client.title");
}

// --- running late -----------------------------------------------------------------------------

/** Show (or clear, with null) the therapist's running-late notice, with a countdown. */
function showLate(eta) {
  if (eta === session.eta) return;
  session.eta = eta;
  clearInterval(session.lateTimer);
  session.lateTimer = null;
  dom.late.hidden = eta === null;
  if (eta === null) return;
  const left = eta - Date.now() / 1000;
  const minutes = Math.max(1, Math.round(left / 60));
  dom.lateNotice.textContent = left > 0 ? t("late.notice", minutes, clockTime(eta)) : t("late.anyMoment");
  tickLate();
  if (left > 0) session.lateTimer = setInterval(tickLate, 1000);
}

function tickLate() {
  const left = session.eta - Date.now() / 1000;
  dom.lateCountdown.hidden = left <= 0;
  if (left > 0) {
    dom.lateCountdown.textContent = t("late.countdown", duration(left));
    return;
  }
  // Past the time given: no negative countdown, and one calm sentence instead.
  clearInterval(session.lateTimer);
  session.lateTimer = null;
  dom.lateNotice.textContent = t("late.anyMoment");
}

// --- replies and message alerts ---------------------------------------------------------------

function updateReplyForm() {
  dom.replyForm.hidden = !(session.replies && session.heard);
}

function replyRefused(code) {
  // The last reply did not go: take it out of the list and give the text back to edit.
  const last = dom.messages.lastElementChild;
  if (last?.classList.contains("mine")) {
    if (!dom.reply.value) dom.reply.value = last.dataset.text || "";
    last.remove();
  }
  if (code === "replies_off") {
    session.replies = false;
    updateReplyForm();
    return;
  }
  dom.replyStatus.textContent = code === "too_many_replies" ? t("replies.tooMany") : t("replies.failed");
}

dom.replyHint.textContent = t("replies.hint", MAX_REPLY);
dom.replyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = dom.reply.value.trim();
  if (!text || text.length > MAX_REPLY) return;
  if (!session.signaling?.send({ type: "reply", text })) {
    dom.replyStatus.textContent = t("replies.failed");
    return;
  }
  dom.reply.value = "";
  dom.replyStatus.textContent = t("replies.sent");
  const at = Date.now() / 1000;
  const time = el("time", { dateTime: new Date(at * 1000).toISOString(), text: clockTime(at) });
  dom.messages.append(el("li", { className: "mine", dataset: { testid: "my-reply", text } },
    time, " ", t("replies.you"), " ", text));
});

function alertsMuted() {
  return remember(KIND, "muted") === "1";
}

function showMuted() {
  dom.muteAlerts.setAttribute("aria-pressed", String(alertsMuted()));
}

dom.muteAlerts.addEventListener("click", () => {
  remember(KIND, "muted", alertsMuted() ? null : "1");
  showMuted();
});
showMuted();

async function confirmLeave() {
  if (await confirmDialog(t("client.leaveConfirm"), t("common.leave"))) leave();
}

function leave() {
  session.view?.end({ notify: true });
  if (!session.signaling?.send({ type: "leave" })) {
    session.signaling?.close();
    showEnded(CLOSE.LEFT);
  }
  // The server answers with bye "left" and closes with 4016: onClosed shows the page.
}

// --- the end ----------------------------------------------------------------------------------

function onClosed({ code, gaveUp }) {
  session.view?.end();
  session.state = null;
  showLate(null);
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
      media.stop(); // the other tab needs the camera
      return showError("replaced", { action: { label: t("common.useHere"), run: reconnect } });
    case CLOSE.EXPIRED:
      return showError("expiredPlace", { action: { label: t("client.rejoin"), run: reconnect } });
    default:
      media.stop();
      forget(KIND);
      return showError(errorPageFor(code));
  }
}

function showEnded(code) {
  media.stop();
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
  if (!media.mic && !media.camera) await media.open();
  session.signaling.connect();
}

start().catch((err) => {
  console.error(err);
  showError("generic");
});
