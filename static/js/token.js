// The page's token: it arrives in the URL fragment (never sent to a server), is kept in
// sessionStorage so a refresh still works, and is then stripped from the address bar so it is
// not left on screen, in the history or in a screenshot.

const PREFIX = "rapport.";

/**
 * The token for this page ("client", "therapist" or "admin"): from the fragment when there is
 * one (replacing a stored one), else the one stored for this tab. Null when there is none.
 * `changed` is true when the fragment brought a token different from the stored one.
 * `given` is a token the page got another way (a short link's, see shortLinkToken), taken as if it
 * came in the fragment; `path` is then where the address bar goes (e.g. "/join").
 */
export function takeToken(kind, given = null, path = location.pathname) {
  const key = `${PREFIX}${kind}.token`;
  const fromHash = given || fragmentToken();
  const stored = sessionStorage.getItem(key);
  if (fromHash) {
    sessionStorage.setItem(key, fromHash);
    history.replaceState(history.state, "", path + location.search);
    return { token: fromHash, changed: fromHash !== stored };
  }
  return { token: stored, changed: false };
}

// A short link's path: /s/ and 13 symbols of the server's alphabet (telehealth/links.py).
const SHORT_PATH = /^\/s\/([0-9abcdefghjkmnpqrstvwxyz]{13})$/;

/** The short link's code in the address bar ("/s/<code>"), null when the page is not one; a
 * malformed code is "" (it never reaches the server). */
export function shortLinkCode(pathname = location.pathname) {
  if (!pathname.startsWith("/s/")) return null;
  const match = SHORT_PATH.exec(pathname);
  return match ? match[1] : "";
}

/**
 * Trade a short link's code for its session link token (POST /api/short-links/resolve, the code
 * in the body). Resolves to {token} or {problem}: "invalid" (unknown, expired or withdrawn: the
 * server does not say which), "busy" (too many tries from this address) or "offline".
 */
export async function shortLinkToken(code, timeoutMs = 8000) {
  if (!code) return { problem: "invalid" };
  try {
    const response = await postPublic("/api/short-links/resolve", { code }, timeoutMs);
    if (response.status === 429) return { problem: "busy" };
    if (!response.ok) return { problem: response.status === 404 ? "invalid" : "offline" };
    const { token } = await response.json();
    return typeof token === "string" ? { token } : { problem: "invalid" };
  } catch {
    return { problem: "offline" };
  }
}

/** The token `takeToken` will take, without taking it (the address bar is left alone). */
export function peekToken(kind) {
  return fragmentToken() || sessionStorage.getItem(`${PREFIX}${kind}.token`);
}

function fragmentToken() {
  const raw = location.hash.slice(1).trim();
  if (!raw) return null;
  if (raw.startsWith("token=")) return new URLSearchParams(raw).get("token") || null;
  return decodeURIComponent(raw);
}

/** POST `body` as JSON to a public lookup that takes a credential in its body (never in a URL). */
export function postPublic(path, body, timeoutMs) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** Keep `token` for this tab from now on (a fresh one the server handed the page). */
export function replaceToken(kind, token) {
  sessionStorage.setItem(`${PREFIX}${kind}.token`, token);
}

/** Forget everything this tab stored for `kind` (after a terminal end). */
export function forget(kind) {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(`${PREFIX}${kind}.`)) sessionStorage.removeItem(key);
  }
}

/** A small per-tab memory tied to one kind of page (e.g. the client's display name). */
export function remember(kind, name, value) {
  const key = `${PREFIX}${kind}.${name}`;
  if (value === undefined) {
    const raw = sessionStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  }
  sessionStorage.setItem(key, JSON.stringify(value));
  return value;
}

/** {load, save} for one remembered value, e.g. the device choices: `store("client", "devices")`. */
export function store(kind, name) {
  return { load: () => remember(kind, name), save: (value) => remember(kind, name, value) };
}

/** The JWT payload (claims), decoded without verification; null when it is not a JWT. */
export function decodePayload(token) {
  const parts = (token || "").split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/**
 * "ok", "expired", "not_yet_valid" or "invalid" for these claims at `now` (seconds), with a
 * little leeway for clocks that are a bit off: the server has the final word.
 */
export function tokenStatus(claims, now = Date.now() / 1000, leeway = 60) {
  if (!claims) return "invalid";
  if (typeof claims.exp === "number" && now > claims.exp + leeway) return "expired";
  if (typeof claims.nbf === "number" && now + leeway < claims.nbf) return "not_yet_valid";
  return "ok";
}

/** The rooms a token is for: `room` for a session link, `rooms` for a therapist. */
export function tokenRooms(claims) {
  if (!claims) return [];
  if (Array.isArray(claims.rooms)) return claims.rooms.filter((r) => typeof r === "string");
  return typeof claims.room === "string" ? [claims.room] : [];
}
