// Small DOM helpers shared by the pages: text from strings.js, views, elements built without
// innerHTML (names and messages are other people's input), times, dialogs, banners and the kind
// error page.

import { intlLocale } from "./language.js";
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

// Times in the page's language (language.js), made once per locale: the language is chosen as
// the page loads, and the link's claim may still change it before anything is shown.
const FORMATS = {
  relative: (locale) => new Intl.RelativeTimeFormat(locale, { numeric: "auto" }),
  clock: (locale) => new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" }),
  clockSeconds: (locale) =>
    new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit", second: "2-digit" }),
  dateClock: (locale) => new Intl.DateTimeFormat(locale, {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  }),
};
const made = new Map();

function format(name) {
  const key = `${name} ${intlLocale()}`;
  if (!made.has(key)) made.set(key, FORMATS[name](intlLocale()));
  return made.get(key);
}

/** "2 minutes ago" for an epoch time in seconds. */
export function relativeTime(epochSeconds, now = Date.now() / 1000) {
  const ago = Math.max(0, now - epochSeconds);
  if (ago < 45) return t("common.justNow");
  if (ago < 3600) return format("relative").format(-Math.round(ago / 60), "minute");
  return format("relative").format(-Math.round(ago / 3600), "hour");
}

/** "10:42" (or with the day when it is not today) for an epoch time in seconds. */
export function clockTime(epochSeconds, { seconds = false } = {}) {
  const date = new Date(epochSeconds * 1000);
  if (seconds) return format("clockSeconds").format(date);
  const today = new Date().toDateString() === date.toDateString();
  return format(today ? "clock" : "dateClock").format(date);
}

/** A duration in seconds as "4 min 05 s" style short text. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("common.duration.seconds", s);
  const m = Math.floor(s / 60);
  if (m < 60) return t("common.duration.minutes", m, s % 60);
  return t("common.duration.hours", Math.floor(m / 60), m % 60);
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

/** Say something to screen-reader users without moving focus (#announcer, polite). */
export function announce(text) {
  const node = byId("announcer");
  // Clearing first makes a repeated sentence be read again.
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 50);
}

/** Fill a kind error page: <section data-view="error"> with #error-title and #error-text. */
export function showError(key, { text, action } = {}) {
  const heading = t(`errors.${key}.heading`);
  byId("error-title").textContent = heading;
  document.title = `${heading} — ${t("app.name")}`;
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
