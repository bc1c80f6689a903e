// The console's session links: create one for an appointment (a start time and a length), see
// the links made today, withdraw one, and copy an invitation holding the short link and the time.
//
// An appointment's window is the link's own: it opens EARLY_S before the start (a client who
// comes early waits in the waiting room; one who comes earlier still sees "It is a little early"
// with the time it opens, and the page opens itself then) and expires at the start plus the
// length. Labels ("Tuesday 2pm") never leave this browser: localStorage, keyed by the link's jti.

import { STRINGS, failureText, requestError, t } from "./strings.js";
import { byId, clockTime, confirmDialog, el } from "./ui.js";

export const EARLY_S = 600; // a scheduled link opens 10 minutes before its start
const DEFAULT_LENGTH = "3000";
const NOTES_KEY = "rapport.links."; // + jti -> {label, start}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** What this browser remembers of a link it made: {label, start} (start in epoch seconds). */
function note(jti) {
  try {
    return JSON.parse(localStorage.getItem(NOTES_KEY + jti)) || {};
  } catch {
    return {};
  }
}

function keepNote(jti, value) {
  try {
    localStorage.setItem(NOTES_KEY + jti, JSON.stringify(value));
  } catch {
    // a browser that keeps nothing: the list shows the link without its label
  }
}

/** The appointment's start (epoch s) of a listed link: as the server keeps it (`starts_at`),
 * else as this browser noted it, else null (a link for "now", or one made without a start). */
function startOf(link) {
  if (typeof link.starts_at === "number") return link.starts_at;
  const kept = note(link.jti);
  return typeof kept.start === "number" ? kept.start : null;
}

/** The start a listed link shows: the appointment's, else the time it opens. */
function shownStart(link) {
  return startOf(link) ?? link.not_before;
}

/** The invitation to send: the short link and the appointment's time, in the browser's locale. */
export function invitation(link) {
  const url = link.short_url || link.url;
  const start = startOf(link);
  if (start === null) return t("schedule.invitationNow", url);
  return t("schedule.invitation", when.format(new Date(start * 1000)), url);
}

function localMidnight() {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  return day.getTime() / 1000;
}

/**
 * The link panel. `auth()` gives {token, room} (the console's current ones); `say(text)` puts a
 * line in the panel's status (role=status, polite).
 */
export class LinkPanel {
  constructor({ auth }) {
    this.auth = auth;
    this.dom = {
      form: byId("link-form"),
      start: byId("link-start"),
      length: byId("link-ttl"),
      label: byId("link-label"),
      error: byId("link-error"),
      output: byId("link-output"),
      url: byId("link-url"),
      copyLink: byId("copy-link"),
      copyInvitation: byId("copy-invitation"),
      expiry: byId("link-expiry"),
      status: byId("link-status"),
      list: byId("today-links"),
      empty: byId("today-empty"),
    };
    this.made = null; // the link just made (the API's answer)
    this.dom.length.replaceChildren(
      ...Object.entries(STRINGS.schedule.lengths).map(([seconds, label]) =>
        el("option", { value: seconds, selected: seconds === DEFAULT_LENGTH }, label)),
    );
    this.dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    this.dom.copyLink.addEventListener("click", () =>
      this.copy(this.dom.url.value, t("therapist.copied"), this.dom.url));
    this.dom.copyInvitation.addEventListener("click", () =>
      this.copy(invitation(this.made), t("schedule.invitationCopied")));
  }

  say(text) {
    this.dom.status.textContent = text;
  }

  async api(path, options = {}) {
    const { token } = this.auth();
    const response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...options.headers },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw requestError(response, body);
    return body;
  }

  async create() {
    this.say("");
    this.dom.error.hidden = true;
    const length = Number(this.dom.length.value);
    const raw = this.dom.start.value; // "YYYY-MM-DDTHH:MM", the browser's local time
    const start = raw ? new Date(raw).getTime() / 1000 : null;
    if (start !== null && (Number.isNaN(start) || start + length < Date.now() / 1000 + 60)) {
      this.dom.error.textContent = t("schedule.startInPast");
      this.dom.error.hidden = false;
      this.dom.start.focus();
      return;
    }
    const request = { room: this.auth().room, ttl: length };
    if (start !== null) {
      request.not_before = start - EARLY_S;
      request.ttl = length + EARLY_S;
      request.starts_at = start;
    }
    try {
      const made = await this.api("/api/session-links", { method: "POST", body: JSON.stringify(request) });
      keepNote(made.jti, { label: this.dom.label.value.trim(), start });
      this.made = made;
      this.dom.url.value = made.short_url || made.url;
      this.dom.expiry.textContent = start === null
        ? t("therapist.linkExpires", clockTime(made.expires_at))
        : t("schedule.window", when.format(new Date(start * 1000)), clockTime(made.expires_at));
      this.dom.output.hidden = false;
      this.dom.label.value = "";
      this.dom.url.focus();
      this.dom.url.select();
    } catch (err) {
      this.say(t("therapist.linkFailed", failureText(err)));
    }
    await this.refresh();
  }

  async copy(text, done, fallback = null) {
    try {
      await navigator.clipboard.writeText(text);
      this.say(done);
    } catch {
      fallback?.select();
      const ok = fallback && document.execCommand && document.execCommand("copy");
      this.say(ok ? done : t("therapist.copyFailed"));
    }
  }

  /** Read the room's links made since local midnight, and show them. */
  async refresh() {
    const { room } = this.auth();
    if (!room) return;
    try {
      const since = Math.floor(localMidnight());
      const body = await this.api(`/api/rooms/${encodeURIComponent(room)}/links?since=${since}`);
      this.render(body.links);
    } catch (err) {
      this.say(t("schedule.listFailed", failureText(err)));
    }
  }

  render(links) {
    this.dom.empty.hidden = links.length > 0;
    const now = Date.now() / 1000;
    const rows = [...links].sort((a, b) => shownStart(a) - shownStart(b)).map((link) => {
      const label = note(link.jti).label || t("schedule.unlabeled");
      const status = link.withdrawn ? t("schedule.withdrawn")
        : now < link.not_before ? t("schedule.upcoming")
          : now > link.expires_at ? t("schedule.ended") : t("schedule.open");
      const live = !link.withdrawn && now <= link.expires_at;
      return el("li", { className: "today-link", dataset: { testid: `link-${link.jti}`, withdrawn: String(link.withdrawn) } },
        el("span", { className: "who" },
          el("strong", {}, label), " ",
          el("span", { className: "hint" },
            t("schedule.window", clockTime(shownStart(link)), clockTime(link.expires_at))), " ",
          el("span", { className: link.withdrawn ? "badge badge-muted" : "badge", dataset: { testid: "link-state" } }, status)),
        live ? el("span", { className: "item-actions" },
          el("button", { type: "button", className: "button button-small", dataset: { testid: "link-invite" },
            "aria-label": t("schedule.copyInvitationFor", label),
            onclick: () => this.copy(invitation(link), t("schedule.invitationCopied")) },
          t("schedule.copyInvitation")),
          el("button", { type: "button", className: "button button-quiet button-small", dataset: { testid: "link-withdraw" },
            "aria-label": t("schedule.withdrawFor", label), onclick: () => this.withdraw(link, label) },
          t("schedule.withdraw"))) : null);
    });
    this.dom.list.replaceChildren(...rows);
  }

  async withdraw(link, label) {
    if (!(await confirmDialog(t("schedule.withdrawConfirm", label), t("schedule.withdraw")))) return;
    try {
      await this.api("/api/session-links/revoke", {
        method: "POST",
        body: JSON.stringify({ room: this.auth().room, jti: link.jti }),
      });
      this.say(t("schedule.withdrawnDone"));
    } catch (err) {
      this.say(t("schedule.withdrawFailed", failureText(err)));
    }
    await this.refresh();
  }
}
