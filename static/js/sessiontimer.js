// The therapist's session timer: how long the session has run, and when the appointment ends.
//
// With several clients, the session began when the first of them was admitted (the earliest
// `since`), and the appointment ends when the last of their links expires (the latest `ends_at`,
// from the room view): couples usually share one window, and the later end is the one that
// matters for finishing. Five minutes before the end, and once it has passed, a calm line says so
// (to the therapist only: clients see nothing of it), each once per appointment end.

import { t } from "./strings.js";
import { byId, clockTime } from "./ui.js";

const TICK_MS = 1000;
const WARN_S = 300;

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class SessionTimer {
  constructor() {
    this.root = byId("session-timer");
    this.elapsed = byId("timer-elapsed");
    this.end = byId("timer-end");
    this.notice = byId("timer-notice");
    this.since = null; // epoch s
    this.endsAt = null; // epoch s, or null when no client's link says
    this.said = new Set(); // "warn:<end>" / "over:<end>" already said
    this.interval = null;
  }

  /** The clients now in session (room view `session` entries, clients only). */
  update(clients) {
    if (!clients.length) {
      this.stop();
      return;
    }
    this.since = Math.min(...clients.map((p) => p.since));
    const ends = clients.map((p) => p.ends_at).filter((x) => typeof x === "number");
    this.endsAt = ends.length ? Math.max(...ends) : null;
    this.root.hidden = false;
    this.tick();
    this.interval ??= setInterval(() => this.tick(), TICK_MS);
  }

  tick() {
    const now = Date.now() / 1000;
    this.elapsed.textContent = t("timer.elapsed", clock(now - this.since));
    this.end.textContent = this.endsAt ? t("timer.endsAt", clockTime(this.endsAt)) : "";
    if (!this.endsAt) return;
    const left = this.endsAt - now;
    if (left <= 0) this.sayOnce(`over:${this.endsAt}`, t("timer.over", clockTime(this.endsAt)));
    else if (left <= WARN_S) this.sayOnce(`warn:${this.endsAt}`, t("timer.fiveLeft"));
  }

  sayOnce(key, text) {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.notice.textContent = text;
  }

  stop() {
    clearInterval(this.interval);
    this.interval = null;
    this.root.hidden = true;
    this.notice.textContent = "";
  }
}
