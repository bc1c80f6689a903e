// The console's "Your room link" panel: publish a permanent address for the room (/r/<slug>),
// change or remove it, copy it, and lock or unlock it (REST: /api/rooms/<room>/room-link).
// The console mounts it only where the deployment offers room links (/api/config room_links).

import { errorText, t } from "./strings.js";
import { confirmDialog, el } from "./ui.js";

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

let panel = null; // one panel per page, re-pointed at the room the console is in

/** Show the panel for `room` (after the session links' panel), acting with `token()`. */
export async function mountRoomLink(room, token) {
  panel = panel || buildPanel();
  panel.room = room;
  panel.token = token;
  panel.root.hidden = true;
  panel.slug.value = ""; // another room's choice is not this room's
  panel.status.textContent = "";
  showSlugError("");
  const answer = await request("GET");
  if (!answer.ok) return; // off here, or not ours: nothing to show
  render(answer.body);
  panel.root.hidden = false;
}

function buildPanel() {
  const slug = el("input", { id: "roomlink-slug", className: "grow", type: "text", maxLength: 40,
    autocomplete: "off", spellcheck: false, autocapitalize: "none",
    "aria-describedby": "roomlink-hint roomlink-error", dataset: { testid: "roomlink-slug" } });
  const submit = el("button", { type: "submit", className: "button button-primary",
    dataset: { testid: "roomlink-publish" } }, t("roomLink.publish"));
  const error = el("p", { className: "field-error", id: "roomlink-error", hidden: true,
    dataset: { testid: "roomlink-error" } });
  const form = el("form", { className: "inline-form", novalidate: true },
    el("label", { htmlFor: "roomlink-slug" }, t("roomLink.slugLabel")),
    el("div", { className: "row" }, slug, submit),
    el("p", { className: "hint", id: "roomlink-hint" }, t("roomLink.slugHint")),
    error);
  const url = el("input", { id: "roomlink-url", className: "grow", type: "text", readOnly: true,
    dataset: { testid: "roomlink-url" } });
  const copy = el("button", { type: "button", className: "button", dataset: { testid: "roomlink-copy" } },
    t("roomLink.copy"));
  const lock = el("input", { id: "roomlink-lock", type: "checkbox", role: "switch",
    "aria-describedby": "roomlink-lock-state", dataset: { testid: "roomlink-lock" } });
  const lockState = el("p", { className: "hint", id: "roomlink-lock-state", dataset: { testid: "roomlink-lock-state" } });
  const cap = el("p", { className: "hint" });
  const remove = el("button", { type: "button", className: "button button-quiet button-small",
    dataset: { testid: "roomlink-remove" } }, t("roomLink.remove"));
  const output = el("div", { className: "link-output", hidden: true },
    el("label", { htmlFor: "roomlink-url" }, t("roomLink.addressLabel")),
    el("div", { className: "row" }, url, copy),
    el("div", { className: "checkbox roomlink-lock" }, lock,
      el("label", { htmlFor: "roomlink-lock" }, t("roomLink.lockLabel"))),
    lockState, cap, remove);
  const status = el("p", { className: "status-line", role: "status", dataset: { testid: "roomlink-status" } });
  const root = el("section", { className: "card", "aria-labelledby": "roomlink-heading",
    dataset: { testid: "roomlink-panel" }, hidden: true },
  el("h2", { id: "roomlink-heading" }, t("roomLink.heading")),
  el("p", { className: "hint" }, t("roomLink.intro")),
  form, output, status);
  const links = document.querySelector('[data-testid="link-panel"]');
  links.after(root);

  const made = { root, slug, submit, error, url, copy, lock, lockState, cap, remove, output, status,
    room: null, token: null, current: null };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    publish(made);
  });
  copy.addEventListener("click", () => copyAddress(made));
  lock.addEventListener("change", () => setLocked(made, lock.checked));
  remove.addEventListener("click", () => removeLink(made));
  return made;
}

async function request(method, path = "", body = undefined) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${panel.token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(panel.room)}/room-link${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body: parsed };
  } catch {
    return { ok: false, status: 0, body: {} };
  }
}

function render(link) {
  panel.current = link;
  const published = Boolean(link.slug);
  panel.output.hidden = !published;
  panel.submit.textContent = published ? t("roomLink.change") : t("roomLink.publish");
  if (published) {
    panel.slug.value = link.slug;
    panel.url.value = link.url;
    panel.lock.checked = link.locked;
    panel.lockState.textContent = link.locked ? t("roomLink.lockedState") : t("roomLink.openState");
    panel.cap.textContent = t("roomLink.cap", link.max_waiting);
  }
}

function showSlugError(message) {
  panel.error.textContent = message || "";
  panel.error.hidden = !message;
  if (message) panel.slug.setAttribute("aria-invalid", "true");
  else panel.slug.removeAttribute("aria-invalid");
}

async function publish(made) {
  const slug = made.slug.value.trim().toLowerCase();
  made.slug.value = slug;
  if (slug.length < 3 || slug.length > 40 || !SLUG.test(slug)) {
    showSlugError(t("roomLink.slugHint"));
    made.slug.focus();
    return;
  }
  made.submit.disabled = true;
  const answer = await request("PUT", "", { slug });
  made.submit.disabled = false;
  if (!answer.ok) {
    // What is wrong (the rules, or taken) in the page's own words; the state is unchanged.
    const code = answer.body.error ? answer.body.error.code : "";
    showSlugError(code === "slug_invalid" || code === "slug_taken" ? errorText(code) : t("roomLink.failed"));
    made.slug.focus();
    return;
  }
  showSlugError("");
  render(answer.body);
  made.status.textContent = t("roomLink.published", answer.body.url);
}

async function copyAddress(made) {
  try {
    await navigator.clipboard.writeText(made.url.value);
    made.status.textContent = t("roomLink.copied");
  } catch {
    made.url.select();
    made.status.textContent = t("roomLink.copyFailed");
  }
}

async function setLocked(made, locked) {
  made.lock.disabled = true;
  const answer = await request("POST", "/lock", { locked });
  made.lock.disabled = false;
  if (!answer.ok) {
    made.lock.checked = !locked;
    made.status.textContent = t("roomLink.failed");
    return;
  }
  render(answer.body);
  made.status.textContent = locked ? t("roomLink.locked") : t("roomLink.unlocked");
}

async function removeLink(made) {
  if (!(await confirmDialog(t("roomLink.removeConfirm"), t("roomLink.remove")))) return;
  const answer = await request("DELETE");
  if (!answer.ok) {
    made.status.textContent = t("roomLink.failed");
    return;
  }
  made.slug.value = "";
  render(answer.body);
  made.status.textContent = t("roomLink.removed");
  made.slug.focus();
}
