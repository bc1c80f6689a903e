// Small DOM helpers shared by the pages: text from strings.js, views, elements built without
// innerHTML (names and messages are other people's input), times, dialogs and video tiles.

import { t } from "./strings.js";

/** Fill every element's text / label / placeholder from strings.js (data-i18n attributes). */
export function localize(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
  }
}

/** document.getElementById that complains loudly when the page and the script disagree. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/** Build an element: el("button", {type: "button", className: "x", dataset: {...}}, "text"). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in node) node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Show one view (a <section data-view="name">) and hide the others; focus its heading so a
 * screen reader announces where the person is now.
 */
export function showView(name, { focus = true } = {}) {
  let shown = null;
  for (const view of document.querySelectorAll("main [data-view]")) {
    const match = view.dataset.view === name;
    view.hidden = !match;
    if (match) shown = view;
  }
  if (shown && focus) {
    const heading = shown.querySelector("h1, h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  }
  document.body.dataset.screen = name;
  return shown;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const clockSeconds = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });
const dateClock = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
});

/** "2 minutes ago" for an epoch time in seconds. */
export function relativeTime(epochSeconds, now = Date.now() / 1000) {
  const ago = Math.max(0, now - epochSeconds);
  if (ago < 45) return t("common.justNow");
  if (ago < 3600) return relative.format(-Math.round(ago / 60), "minute");
  return relative.format(-Math.round(ago / 3600), "hour");
}

/** "10:42" (or with the day when it is not today) for an epoch time in seconds. */
export function clockTime(epochSeconds, { seconds = false } = {}) {
  const date = new Date(epochSeconds * 1000);
  if (seconds) return clockSeconds.format(date);
  const today = new Date().toDateString() === date.toDateString();
  return (today ? clock : dateClock).format(date);
}

/** A duration in seconds as "4 min 05 s" style short text. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/**
 * Ask a yes/no question in a modal <dialog> (focus stays inside; Escape cancels).
 * Resolves true when confirmed.
 */
export function confirmDialog(message, confirmLabel = t("common.confirm"), { danger = true } = {}) {
  return new Promise((resolve) => {
    const text = el("p", { id: "confirm-text", text: message });
    const cancel = el("button", { type: "button", className: "button", dataset: { testid: "confirm-no" } },
      t("common.cancel"));
    const ok = el("button", {
      type: "button",
      className: danger ? "button button-danger" : "button button-primary",
      dataset: { testid: "confirm-yes" },
    }, confirmLabel);
    const dialog = el("dialog", { className: "dialog", "aria-labelledby": "confirm-text" },
      text, el("div", { className: "actions" }, cancel, ok));
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(false));
    ok.addEventListener("click", () => finish(true));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

let bannerTimer = null;

/** The connection banner (#connection-banner): shown until hidden, or for `hideAfter` ms. */
export function showBanner(text, hideAfter = 0) {
  const banner = byId("connection-banner");
  banner.textContent = text;
  banner.hidden = !text;
  clearTimeout(bannerTimer);
  if (hideAfter) bannerTimer = setTimeout(() => { banner.hidden = true; }, hideAfter);
}

/** Fill a kind error page: <section data-view="error"> with #error-title and #error-text. */
export function showError(key, { text, action } = {}) {
  byId("error-title").textContent = t(`errors.${key}.heading`);
  const body = t(`errors.${key}.text`, text);
  byId("error-text").textContent = body;
  const actions = byId("error-actions");
  actions.replaceChildren();
  if (action) {
    actions.append(el("button", { type: "button", className: "button button-primary",
      dataset: { testid: "error-action" }, onclick: action.run }, action.label));
  }
  document.body.dataset.error = key;
  showView("error");
}

/** Which error page a close code leads to (client and therapist pages). */
export function errorKeyForClose(code) {
  switch (code) {
    case 4003: return "invalid";
    case 4004: return "expired";
    case 4005: return "notYet";
    case 4006: return "revoked";
    case 4007:
    case 4008: return "wrongKind";
    case 4009: return "origin";
    case 4010: return "replaced";
    case 4011: return "denied";
    case 4012: return "removed";
    case 4015: return "expiredPlace";
    case 4018: return "name";
    default: return "generic";
  }
}

/** Play a <video>; when the browser blocks sound before a click, play muted and offer a button. */
export function playVideo(video, unmuteButton) {
  const attempt = video.play();
  if (!attempt) return;
  attempt.catch(() => {
    if (video.muted) return;
    video.muted = true;
    video.play().catch(() => {});
    if (unmuteButton) {
      unmuteButton.hidden = false;
      unmuteButton.addEventListener("click", () => {
        video.muted = false;
        video.play().catch(() => {});
        unmuteButton.hidden = true;
      }, { once: true });
    }
  });
}

/**
 * A video tile for one person: <figure> with the video, their name, a muted badge, a
 * camera-off cover and a connection-quality badge.
 */
export function videoTile({ id, name, self = false }) {
  const video = el("video", {
    autoplay: true,
    playsInline: true,
    muted: self,
    className: self ? "mirror" : "",
    dataset: { testid: self ? "self-video" : "remote-video", peer: id },
    "aria-label": self ? t("common.selfView") : t("common.remoteVideo", name),
  });
  video.muted = self;
  const nameNode = el("span", { className: "tile-name", text: self ? t("common.you") : name });
  const mutedBadge = el("span", { className: "badge badge-muted", hidden: true,
    dataset: { testid: "muted-badge" } }, t("common.muted"));
  const quality = el("span", { className: "badge badge-quality", hidden: true,
    dataset: { testid: "quality" } });
  const off = el("div", { className: "tile-off", hidden: true }, t("common.cameraIsOff"));
  const soundOn = el("button", { type: "button", className: "button tile-sound", hidden: true },
    t("common.unmute"));
  const root = el("figure", {
    className: self ? "tile tile-self" : "tile",
    dataset: { testid: self ? "self-tile" : "remote-tile", peer: id },
  }, video, off, soundOn, el("figcaption", {}, nameNode, mutedBadge, quality));
  return {
    root,
    video,
    setStream(stream) {
      if (video.srcObject !== stream) video.srcObject = stream;
      playVideo(video, self ? null : soundOn);
    },
    setName(value) {
      if (!self) {
        nameNode.textContent = value;
        video.setAttribute("aria-label", t("common.remoteVideo", value));
      }
    },
    setMuted(muted) {
      mutedBadge.hidden = !muted;
    },
    setCameraOff(isOff) {
      off.hidden = !isOff;
      root.classList.toggle("is-off", isOff);
    },
    setQuality(level) {
      quality.hidden = !level;
      quality.dataset.level = level || "";
      quality.textContent = level ? t(`common.quality.${level}`) : "";
    },
  };
}
