// A room's audit timeline in the monitor: opened from a room's row, it lists what the room's
// stream recorded (when, what, to which participant, by which role, how it ended), oldest first,
// a page at a time. Every page asked for is an audited view of the room, so nothing here
// refreshes by itself: the admin asks.

import { failureText, hasString, t } from "./strings.js";
import { byId, clockTime, duration, el } from "./ui.js";

const PAGE = 100;

const dom = {
  panel: byId("timeline"),
  heading: byId("timeline-heading"),
  caption: byId("timeline-caption"),
  status: byId("timeline-status"),
  wrap: byId("timeline-wrap"),
  rows: byId("timeline-rows"),
  more: byId("timeline-more"),
  close: byId("timeline-close"),
};

const state = { getJson: null, room: null, next: null, count: 0, opener: null, loading: false };

/** Wire the panel once: `getJson(path)` fetches an admin API path as JSON (or throws). */
export function setUpTimeline(getJson) {
  state.getJson = getJson;
  dom.close.addEventListener("click", closeTimeline);
  dom.more.addEventListener("click", () => load());
}

/** Show `room`'s timeline; focus goes to its heading, and back to `opener` on closing. */
export async function openTimeline(room, opener) {
  state.room = room;
  state.next = null;
  state.count = 0;
  state.opener = opener;
  dom.rows.replaceChildren();
  dom.wrap.hidden = true;
  dom.more.hidden = true;
  dom.heading.textContent = t("admin.timeline.heading", room);
  dom.panel.hidden = false;
  dom.heading.setAttribute("tabindex", "-1");
  dom.heading.focus();
  await load();
}

export function closeTimeline() {
  dom.panel.hidden = true;
  state.room = null;
  if (state.opener && state.opener.isConnected) state.opener.focus();
  else document.querySelector("h1")?.focus();
}

async function load() {
  if (state.loading || !state.room) return;
  const room = state.room;
  state.loading = true;
  dom.status.textContent = t("admin.timeline.loading");
  try {
    const after = state.next ? `&after=${encodeURIComponent(state.next)}` : "";
    const page = await state.getJson(`/api/rooms/${encodeURIComponent(room)}/timeline?limit=${PAGE}${after}`);
    if (state.room !== room) return; // closed or switched meanwhile
    dom.rows.append(...page.entries.map(row));
    state.count += page.entries.length;
    state.next = page.next;
    dom.more.hidden = !page.next;
    dom.wrap.hidden = state.count === 0;
    dom.caption.textContent = t("admin.timeline.caption", room, state.count);
    dom.status.textContent = state.count ? "" : t("admin.timeline.empty");
  } catch (err) {
    if (state.room === room) dom.status.textContent = t("admin.timeline.failed", failureText(err));
  } finally {
    state.loading = false;
  }
}

/** The words for an action ("participant.admitted"), or the action itself for one this page
 *  does not know yet. */
function actionText(action) {
  return hasString(`admin.action.${action}`) ? t(`admin.action.${action}`) : action;
}

function row(entry) {
  const label = (key) => ({ dataset: { label: t(`admin.timeline.col.${key}`) } });
  const today = new Date().toDateString() === new Date(entry.at * 1000).toDateString();
  const what = entry.wait_s === null
    ? actionText(entry.action)
    : t("admin.timeline.waited", actionText(entry.action), duration(entry.wait_s));
  const outcome = [t(`admin.timeline.outcome.${entry.outcome}`)];
  if (entry.reason) outcome.push(" ", el("code", {}, entry.reason));
  return el("tr", { dataset: { testid: "timeline-entry", action: entry.action } },
    el("td", { className: "num", ...label("time") },
      el("time", { dateTime: new Date(entry.at * 1000).toISOString() },
        today ? clockTime(entry.at, { seconds: true }) : clockTime(entry.at))),
    el("td", label("action"), what),
    el("td", label("participant"), entry.participant ? el("code", {}, entry.participant) : t("admin.noOne")),
    el("td", label("actor"), t(`admin.role.${entry.actor_role}`)),
    el("td", label("outcome"), ...outcome));
}
