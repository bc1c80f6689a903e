// The console's "How clients see your room": the therapist's display name and welcome note for
// the current room, read and saved over REST (GET / PUT /api/rooms/ROOM/profile). The limits are
// the server's (telehealth/rooms/profile.py); it has the final word and says what is wrong.

import { failureText, requestError, t } from "./strings.js";
import { byId } from "./ui.js";

const NAME_MAX = 64;
const NOTE_MAX = 500;

export class RoomProfileForm {
  /** `auth()` returns the therapist's current token (it is refreshed while the console runs). */
  constructor(auth) {
    this.auth = auth;
    this.room = null;
    this.form = byId("profile-form");
    this.name = byId("profile-name");
    this.note = byId("profile-note");
    this.count = byId("profile-note-count");
    this.status = byId("profile-status");
    this.error = byId("profile-error");
    this.save = byId("profile-save");
    this.name.maxLength = NAME_MAX;
    this.note.maxLength = NOTE_MAX;
    this.note.addEventListener("input", () => this.showCount());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.showCount();
  }

  /** Fill the form with what the room's clients see now. */
  async load(room) {
    this.room = room;
    this.status.textContent = "";
    this.setError("");
    try {
      const body = await this.request("GET");
      this.name.value = body.display_name;
      this.note.value = body.welcome_note;
    } catch (err) {
      this.status.textContent = t("brand.console.loadFailed", failureText(err));
    }
    this.showCount();
  }

  async submit() {
    const room = this.room;
    this.status.textContent = "";
    this.status.removeAttribute("data-ok");
    this.setError("");
    this.save.disabled = true;
    try {
      const body = await this.request("PUT", {
        display_name: this.name.value,
        welcome_note: this.note.value,
      });
      if (room !== this.room) return;
      this.name.value = body.display_name;
      this.note.value = body.welcome_note;
      this.status.dataset.ok = "true";
      this.status.textContent = t("brand.console.saved");
    } catch (err) {
      this.setError(t("brand.console.failed", failureText(err)));
      this.note.focus();
    } finally {
      this.save.disabled = false;
      this.showCount();
    }
  }

  async request(method, payload) {
    const response = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/profile`, {
      method,
      headers: {
        Authorization: `Bearer ${this.auth()}`,
        Accept: "application/json",
        ...(payload ? { "Content-Type": "application/json" } : {}),
      },
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw requestError(response, body);
    return body;
  }

  setError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
    if (message) this.note.setAttribute("aria-invalid", "true");
    else this.note.removeAttribute("aria-invalid");
  }

  showCount() {
    this.count.textContent = t("brand.console.count", this.note.value.length, NOTE_MAX);
  }
}
