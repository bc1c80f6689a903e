// Which language the pages speak, chosen once as a page loads: the link's `?lang=`, else this
// tab's earlier choice (the welcome page's switch, or an earlier `?lang=`), else the link's own
// `lang` claim, else the browser's languages, else English. The choice sets <html lang>, and
// every Intl formatter takes its locale from here. No DOM or storage is touched when there is
// none (the catalogue test imports strings.js in Node).

/** Each language the pages speak, by its code, with its name in itself (for the switch). */
export const LANGUAGE_NAMES = { en: "English", es: "Español" };
export const DEFAULT_LANGUAGE = "en";

const KEY = "rapport.lang"; // sessionStorage: this tab's choice
const hasWindow = typeof window !== "undefined";

let current = null;

/** The language in use ("en", "es"), chosen on first call. */
export function language() {
  if (current === null) apply(choose());
  return current;
}

/**
 * The locale for Intl: the browser's own tag when it speaks the chosen language ("es-MX",
 * "en-GB": their clock and date habits), else the bare language code.
 */
export function intlLocale() {
  const lang = language();
  const own = browserLanguages().find((tag) => primary(tag) === lang);
  return own || lang;
}

/**
 * The link's `lang` claim: used only when neither the address (`?lang=`) nor this tab chose
 * already. Returns true when it changed the language (the page then fills its text again).
 */
export function useClaimLanguage(claim) {
  const code = supported(claim);
  if (!code || fromAddress() || fromTab()) return false;
  const before = language();
  apply(code);
  return code !== before;
}

/**
 * The welcome page's switch: remember `code` for this tab, put it in the address (so a refresh
 * or the link's own `?lang=` cannot undo it), and reload, so every part of the page is built
 * again in it.
 */
export function switchLanguage(code) {
  const chosen = supported(code);
  if (!chosen || !hasWindow) return;
  try {
    sessionStorage.setItem(KEY, chosen);
  } catch {
    // storage refused (private mode): the address still carries the choice
  }
  const url = new URL(location.href);
  url.searchParams.set("lang", chosen);
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  location.reload();
}

function choose() {
  const linked = fromAddress();
  if (linked) {
    try {
      sessionStorage.setItem(KEY, linked);
    } catch {
      // as above
    }
    return linked;
  }
  return fromTab() || browserLanguages().map(supported).find(Boolean) || DEFAULT_LANGUAGE;
}

function apply(code) {
  current = code;
  if (typeof document !== "undefined") document.documentElement.lang = code;
}

function fromAddress() {
  return hasWindow ? supported(new URLSearchParams(location.search).get("lang")) : null;
}

function fromTab() {
  if (!hasWindow) return null;
  try {
    return supported(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function browserLanguages() {
  if (typeof navigator === "undefined") return [];
  if (Array.isArray(navigator.languages) && navigator.languages.length) return [...navigator.languages];
  return navigator.language ? [navigator.language] : [];
}

function primary(tag) {
  return String(tag || "").toLowerCase().split("-")[0];
}

/** The code of a language the pages speak for a tag ("es-MX" -> "es"), or null. */
function supported(tag) {
  const code = primary(tag);
  return Object.hasOwn(LANGUAGE_NAMES, code) ? code : null;
}
