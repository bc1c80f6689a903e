// The session-link page: welcome, one short step at a time (name, where you are, consent, device
// check) -> waiting room -> call -> closing page, plus kind pages for links that do not work. A
// refresh resumes by itself: the token, the name, the check-in answers and the device choices are
// kept in this tab's sessionStorage.

import { chime, flagUnseen, setTitle, unlockAudioOnGesture } from "./alerts.js";
import { applyPractice, loadRoomProfile, showRoomIntro } from "./brand.js";
import { BackgroundBlur } from "./blur.js";
import { CallView, mediaButtons } from "./callview.js";
import { DeviceChooser } from "./devices.js";
import { LocalMedia } from "./media.js";
import { LANGUAGE_NAMES, language, switchLanguage, useClaimLanguage } from "./language.js";
import { mountPage } from "./page.js";
import { mountPrecall } from "./precall.js";
import { enterRoomLink, roomLinkSlug } from "./roomdoor.js";
import { CLOSE, Signaling, errorPageFor } from "./signaling.js";
import { t } from "./strings.js";
import { selfTile } from "./tile.js";
import {
  decodePayload, forget, peekToken, postPublic, remember, shortLinkCode, shortLinkToken, store,
  takeToken, tokenStatus,
} from "./token.js";
import { byId, clockTime, confirmDialog, duration, el, showBanner, showError, showView } from "./ui.js";

const KIND = "client";
const LINK_CHECK_TIMEOUT_MS = 4000;
// The kind page (strings.js `errors.*`) for each state the link status check answers with.
const LINK_PAGES = {
  ended: "sessionEnded",
  room_ended: "roomClosed",
  withdrawn: "revoked",
  denied: "denied",
  removed: "removed",
  expired: "expired",
  not_yet_valid: "notYet",
  invalid: "invalid",
};
const MAX_REPLY = 500; // characters, as the server checks (signaling/messages.py)
const DEFAULT_CONFIG = { show_queue_position: false, grace: 60, max_participants: 4 };
// What check-in asks (GET /api/checkin); without an answer, the page asks for everything and the
// server, which has the final word, says what it needs.
const DEFAULT_CHECKIN = { consent: null, emergency_info: true };
const STEPS = ["name", "where", "consent", "devices"];
// The server's rules for emergency information (signaling/messages.py check_emergency).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const PHONE = /^\+?[0-9 ().-]+$/;

// The link may name the client's language (a `lang` claim): settled before anything is shown.
useClaimLanguage(decodePayload(peekToken(KIND))?.lang);
mountPage();

const dom = {
  form: byId("join-form"),
  name: byId("name"),
  nameError: byId("name-error"),
  consent: byId("consent"),
  consentText: byId("consent-text"),
  consentError: byId("consent-error"),
  language: byId("language"),
  stepper: byId("stepper"),
  location: byId("location"),
  phone: byId("phone"),
  emergencyError: byId("emergency-error"),
  back: byId("step-back"),
  next: byId("step-next"),
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
const blur = new BackgroundBlur(media, store(KIND, "blur")); // before any control is built

const session = {
  token: null,
  room: null,
  name: null,
  config: DEFAULT_CONFIG,
  checkin: DEFAULT_CHECKIN,
  step: 0, // the welcome's step shown
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
  // The practice's look comes first, so even a link that does not work shows whose it is and
  // how to reach them.
  const configLoad = loadConfig();

  const slug = roomLinkSlug(); // opened as a therapist's room link: first, a token at its door
  if (slug) {
    const refused = await enterRoomLink(slug);
    if (refused) return showRoomLinkRefusal(refused);
  }
  const { token, changed, shown } = await pageToken();
  if (shown) return undefined; // the short link did not work: its page is up
  if (!token) return showError("noLink");
  if (changed) {
    remember(KIND, "name", null); // a different link: ask again
    remember(KIND, "resume", null); // ... and this tab holds no seat of it yet
  }
  const claims = decodePayload(token);
  // A short link's token arrives only now: when its `lang` claim changes the page's language,
  // the page loads again (in it, the token then kept for this tab).
  if (useClaimLanguage(claims?.lang)) {
    location.reload();
    return undefined;
  }
  const status = tokenStatus(claims);
  if (status === "invalid") return showError("invalid");
  if (claims.typ !== "session_link" || typeof claims.room !== "string") return showError("wrongKind");
  if (status === "expired") return showError("expired");
  if (status === "not_yet_valid") {
    // Withdrawn before it opens says so, rather than "opens later".
    const early = await checkLink(token);
    return early && early !== "notYet" ? showError(early) : waitUntilValid(claims.nbf);
  }
  session.token = token;
  session.room = claims.room;

  const [config, problem, checkin, profile] = await Promise.all([
    configLoad, checkLink(token), loadCheckin(), loadRoomProfile(token, claims.room),
  ]);
  session.config = config;
  blur.configure(config);
  session.checkin = checkin;
  showRoomIntro(profile, ["welcome", "waiting"]);
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

/**
 * This page's token: a short link's (/s/<code>, traded with the server, after which the address
 * bar says /join so a refresh works from sessionStorage), else as takeToken finds it.
 */
async function pageToken() {
  const code = shortLinkCode();
  if (code === null) return takeToken(KIND);
  const found = await shortLinkToken(code);
  if (found.token) return takeToken(KIND, found.token, "/join");
  const retry = { label: t("common.retry"), run: () => location.reload() };
  if (found.problem === "busy") showError("shortBusy", { action: retry });
  else if (found.problem === "offline") showError("shortOffline", { action: retry });
  else showError("invalid");
  return { token: null, changed: false, shown: true };
}

/** A room link's kind page; where waiting a while may help (locked, full), a "Try again". */
function showRoomLinkRefusal(key) {
  const retry = key === "roomLinkLocked" || key === "roomLinkFull" || key === "roomLinkBusy";
  showError(key, retry ? { action: { label: t("roomLink.tryAgain"), run: () => location.reload() } } : {});
}

function waitUntilValid(nbf) {
  showError("notYet", { text: clockTime(nbf) });
  const wait = Math.max(1000, (nbf - Date.now() / 1000) * 1000 + 1000);
  setTimeout(() => location.reload(), Math.min(wait, 2 ** 31 - 1));
}

/** The page's settings (`/api/config`), or the defaults when they cannot be read; the
 *  practice's look is applied as soon as they arrive. */
async function loadConfig() {
  const config = await loadJson("/api/config", DEFAULT_CONFIG);
  applyPractice(config.practice);
  return config;
}

/** What check-in asks (`/api/checkin`), or the defaults when it cannot be read. */
function loadCheckin() {
  return loadJson("/api/checkin", DEFAULT_CHECKIN);
}

async function loadJson(path, defaults) {
  try {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (response.ok) return { ...defaults, ...(await response.json()) };
  } catch {
    // fall through to the defaults
  }
  return defaults;
}

/**
 * Whether the link still opens anything, asked before the person types (POST
 * /api/session-links/status, the token in the body): a link whose session or room ended, or that
 * was withdrawn, denied, removed or has expired gets its own page at once. Resolves to an
 * error-page key, or null when the link is open or no answer came (joining then tells).
 */
async function checkLink(token) {
  try {
    const response = await postPublic("/api/session-links/status", { token }, LINK_CHECK_TIMEOUT_MS);
    if (!response.ok) return null;
    const { state } = await response.json();
    return LINK_PAGES[state] || null;
  } catch {
    return null;
  }
}

// --- welcome: short steps -----------------------------------------------------------------------

/** The welcome's steps in order: the "where" step only when the deployment asks for it. */
function welcomeSteps() {
  return session.checkin.emergency_info ? STEPS : STEPS.filter((step) => step !== "where");
}

function showWelcome() {
  const consent = session.checkin.consent;
  // The practice's own consent text as it wrote it; without one, ours in the page's language.
  dom.consentText.textContent = consent ? consent.text : t("client.defaultConsent");
  mountLanguageSwitch();
  dom.preview.replaceChildren(selfTile(media).root);
  const chooser = new DeviceChooser(media, {
    prefix: "welcome",
    onError: (text) => showDeviceResult(text),
  });
  dom.welcomeDevices.replaceChildren(chooser.root);
  dom.deviceCheck.addEventListener("click", checkDevices);
  dom.form.addEventListener("submit", onStepSubmit);
  dom.back.addEventListener("click", () => showStep(session.step - 1));
  const steps = welcomeSteps();
  dom.stepper.replaceChildren(...steps.map((step, i) => el("li", { dataset: { step } },
    el("span", { className: "step-number", "aria-hidden": "true" }, String(i + 1)),
    el("span", { className: "step-name" }, t(`client.steps.names.${step}`)))));
  document.title = t("client.title");
  showView("welcome");
  showStep(0, { focus: false });
  const draft = takeDraft();
  (draft?.language ? dom.language : dom.name).focus();
}

// --- the language switch ------------------------------------------------------------------------

/** The welcome's language switch: each language named in itself; choosing one reloads the page
 *  in it, keeping what was typed so far (for this tab only). */
function mountLanguageSwitch() {
  dom.language.replaceChildren(...Object.entries(LANGUAGE_NAMES).map(([code, name]) =>
    el("option", { value: code, lang: code, selected: code === language() }, name)));
  dom.language.addEventListener("change", () => {
    const { location, phone } = emergencyFields();
    remember(KIND, "draft", { name: dom.name.value, location, phone, language: true });
    switchLanguage(dom.language.value);
  });
}

/** What was typed before the language switch reloaded the page, filled in again (once). */
function takeDraft() {
  const draft = remember(KIND, "draft");
  if (!draft) return null;
  remember(KIND, "draft", null);
  dom.name.value = draft.name || "";
  dom.location.value = draft.location || "";
  dom.phone.value = draft.phone || "";
  return draft;
}

/** Show step `index` of the welcome; its heading takes the focus (unless told otherwise). */
function showStep(index, { focus = true } = {}) {
  const steps = welcomeSteps();
  session.step = Math.max(0, Math.min(index, steps.length - 1));
  const current = steps[session.step];
  for (const node of dom.form.querySelectorAll("[data-step]")) node.hidden = node.dataset.step !== current;
  for (const item of dom.stepper.children) {
    const i = steps.indexOf(item.dataset.step);
    item.classList.toggle("done", i < session.step);
    if (i === session.step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  const last = session.step === steps.length - 1;
  dom.back.hidden = session.step === 0;
  dom.next.hidden = last;
  dom.join.hidden = !last;
  const heading = byId(`step-${current}-heading`);
  heading.textContent = "";
  heading.append(el("span", { className: "visually-hidden" },
    t("client.steps.count", session.step + 1, steps.length)), t(`client.steps.titles.${current}`));
  if (focus) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

/** Next (or Join, at the last step): the step's own checks first, then on. */
function onStepSubmit(event) {
  event.preventDefault();
  const steps = welcomeSteps();
  const current = steps[session.step];
  if (!checkStep(current)) return;
  if (session.step < steps.length - 1) return showStep(session.step + 1);
  return onJoin();
}

/** The step's fields checked as the server will; the first problem is said and focused. */
function checkStep(step) {
  if (step === "name") {
    const name = cleanName(dom.name.value);
    const ok = name.length >= 1 && name.length <= 64;
    setFieldError(dom.name, dom.nameError, ok ? "" : t("client.nameRequired"));
    if (!ok) dom.name.focus();
    return ok;
  }
  if (step === "where") {
    const { location, phone } = emergencyFields();
    const badLocation = location.length > 200 || CONTROL.test(location);
    const badPhone = Boolean(phone) && (phone.length > 32 || !PHONE.test(phone) ||
      phone.replace(/\D/g, "").length < 3);
    dom.emergencyError.textContent = badLocation ? t("client.locationInvalid") : badPhone ? t("client.phoneInvalid") : "";
    dom.emergencyError.hidden = !badLocation && !badPhone;
    for (const [input, bad] of [[dom.location, badLocation], [dom.phone, badPhone]]) {
      if (bad) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (badLocation) dom.location.focus();
    else if (badPhone) dom.phone.focus();
    return !badLocation && !badPhone;
  }
  if (step === "consent") {
    setFieldError(dom.consent, dom.consentError, dom.consent.checked ? "" : t("client.consentRequired"));
    if (!dom.consent.checked) dom.consent.focus();
    return dom.consent.checked;
  }
  return true;
}

function emergencyFields() {
  return { location: cleanName(dom.location.value), phone: cleanName(dom.phone.value) };
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

async function onJoin() {
  for (const step of welcomeSteps()) {
    if (!checkStep(step)) return showStep(welcomeSteps().indexOf(step), { focus: false });
  }
  const name = cleanName(dom.name.value);
  dom.join.disabled = true;
  dom.join.textContent = t("client.joining");
  if (!media.opened) await checkDevices();
  session.stopMeter();
  const { location, phone } = emergencyFields();
  // Kept for this tab, so that a refresh checks in again with the same answers.
  remember(KIND, "emergency", session.checkin.emergency_info && (location || phone) ? { location, phone } : null);
  remember(KIND, "consent", session.checkin.consent ? session.checkin.consent.version : null);
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
    // What the client told at check-in (kept for this tab, so a refresh sends it again).
    ...(remember(KIND, "emergency") ? { emergency: remember(KIND, "emergency") } : {}),
    ...(remember(KIND, "consent") ? { consent: remember(KIND, "consent") } : {}),
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
  mountWaitingPrecall(signaling);
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

/** The optional connection test in the waiting room (precall.js); it stops once admitted. */
function mountWaitingPrecall(signaling) {
  let ice = { iceServers: [], policy: "all" };
  signaling.on("welcome", (msg) => {
    // ice_transport_policy: the relay-only setting, when the node sends one.
    ice = { iceServers: msg.ice_servers || [], policy: msg.ice_transport_policy || "all" };
  });
  const precall = mountPrecall(byId("precall"), signaling, () => ice);
  signaling.on("state", (msg) => {
    if (msg.state !== "waiting") precall.stop();
  });
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
    if (previous === "admitted") session.view.end();
    else session.view.forgetChat(); // a chat this tab kept is from a session that is over
    // Back from the session: the reason says who or what sent them (never a guess).
    dom.status.textContent = msg.reason ? t(`client.back.${msg.reason}`) : t("client.waitingStatus");
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
    case CLOSE.CONSENT_REQUIRED:
    case CLOSE.INVALID_EMERGENCY:
      // Check in again, with the consent text as it is now; the link (token) and this tab's
      // seat (resume secret) stay.
      media.stop();
      for (const key of ["name", "consent", "emergency"]) remember(KIND, key, null);
      return showError(errorPageFor(code), { action: { label: t("client.checkInAgain"), run: () => location.reload() } });
    default:
      media.stop();
      forget(KIND);
      return showError(errorPageFor(code));
  }
}

function showEnded(code) {
  media.stop();
  const left = code === CLOSE.LEFT;
  const roomClosed = code === CLOSE.ROOM_ENDED;
  if (left) {
    remember(KIND, "name", null); // the token stays: "Rejoin" goes back to the welcome
  } else {
    forget(KIND);
  }
  const words = left ? "left" : roomClosed ? "roomClosed" : "closing";
  dom.closingTitle.textContent = t(`client.${words}Heading`);
  dom.closingText.textContent = t(`client.${words}Text`);
  dom.closingActions.replaceChildren();
  if (left) {
    dom.closingActions.append(el("button", {
      type: "button", className: "button button-primary", dataset: { testid: "rejoin" },
      onclick: () => location.reload(),
    }, t("client.rejoin")));
  }
  document.title = t(roomClosed ? "client.roomClosedTitle" : "client.closingTitle");
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
