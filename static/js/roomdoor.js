// A therapist's room link (/r/<slug>): the client's page asks the door
// (POST /api/room-links/<slug>/enter) for a short-lived client token for the room, keeps it for
// this tab like a session link's token, and from there goes on exactly as with a session link.
// A refresh keeps the token it has (the visitor keeps their place); locked, full or unknown
// links get their kind pages.

import { decodePayload, remember, replaceToken, takeToken, tokenStatus } from "./token.js";

const KIND = "client";
const DOOR_TIMEOUT_MS = 8000;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// The error page (strings.js `errors.*`) for each refusal code of the door.
const DOOR_PAGES = {
  room_link_locked: "roomLinkLocked",
  room_link_full: "roomLinkFull",
  too_many_attempts: "roomLinkBusy",
};

/** The slug when this page was opened as /r/<slug>, else null. */
export function roomLinkSlug() {
  const match = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

/**
 * Make sure this tab holds a token for the room behind `slug`: the one it already has for it
 * (a refresh), or a fresh one from the door. Resolves to null when the page can go on, or to
 * the key of the error page to show.
 */
export async function enterRoomLink(slug) {
  if (slug.length < 3 || slug.length > 40 || !SLUG.test(slug)) return "roomLinkUnknown";
  const { token } = takeToken(KIND);
  const claims = decodePayload(token);
  if (remember(KIND, "roomLink") === slug && claims && claims.via === "room_link" &&
      tokenStatus(claims) === "ok") {
    return null;
  }
  let response;
  try {
    response = await fetch(`/api/room-links/${encodeURIComponent(slug)}/enter`, {
      method: "POST",
      headers: { Accept: "application/json" },
      cache: "no-store",
      signal: AbortSignal.timeout(DOOR_TIMEOUT_MS),
    });
  } catch {
    return "generic";
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = body && body.error ? body.error.code : "";
    if (DOOR_PAGES[code]) return DOOR_PAGES[code];
    return response.status >= 500 && code !== "not_configured" ? "generic" : "roomLinkUnknown";
  }
  // A new visit: this tab holds no seat and no name for it yet.
  replaceToken(KIND, body.token);
  remember(KIND, "roomLink", slug);
  remember(KIND, "name", null);
  remember(KIND, "resume", null);
  return null;
}
