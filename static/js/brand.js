// The practice's look (GET /api/config `practice`) and a room's profile (GET
// /api/rooms/ROOM/profile) on the pages. Everything here is optional: with nothing set, the pages
// keep Rapport's neutral look. The accent comes as a palette the server checked for WCAG AA at
// startup, set on the stylesheet's own variables through the CSSOM (the CSP allows no inline
// style); names, the note and the support contact are text, never HTML.

import { t } from "./strings.js";
import { el } from "./ui.js";

const PALETTE = { primary: "--primary", primary_dark: "--primary-dark", primary_soft: "--primary-soft" };

/** Dress the page in the practice's look: accent, logo and name in the header, and the support
 *  contact on the error and closing pages. */
export function applyPractice(practice) {
  if (!practice) return;
  if (practice.accent) {
    for (const [key, variable] of Object.entries(PALETTE)) {
      document.documentElement.style.setProperty(variable, practice.accent[key]);
    }
  }
  const brand = document.querySelector(".site-header .brand");
  if (brand && (practice.name || practice.logo_url)) {
    brand.replaceChildren(
      practice.logo_url ? el("img", {
        className: "brand-logo",
        src: practice.logo_url,
        // Beside the practice's name the logo says nothing more; alone, it names the practice.
        alt: practice.name ? "" : t("brand.logoAlt"),
        dataset: { testid: "practice-logo" },
      }) : null,
      practice.name ? el("span", { dataset: { testid: "practice-name" } }, practice.name) : null,
    );
    document.body.dataset.practice = "branded";
  }
  if (practice.support_contact) {
    for (const view of document.querySelectorAll('main [data-view="error"], main [data-view="closing"]')) {
      view.append(el("p", { className: "support-contact", dataset: { testid: "support-contact" } },
        el("strong", {}, t("brand.supportHeading")), " ", practice.support_contact));
    }
  }
}

/** The room's profile with this token (a client's or the room's therapist's), or null. */
export async function loadRoomProfile(token, room) {
  try {
    const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/profile`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    });
    if (response.ok) return await response.json();
  } catch {
    // the pages read well without it
  }
  return null;
}

/** The therapist's name and welcome note, under the heading of each of the given views. */
export function showRoomIntro(profile, views) {
  if (!profile || (!profile.display_name && !profile.welcome_note)) return;
  for (const view of views) {
    const section = document.querySelector(`main [data-view="${view}"]`);
    if (!section) continue;
    section.querySelector(".room-intro")?.remove();
    const intro = el("div", { className: "room-intro", dataset: { testid: `room-intro-${view}` } },
      profile.display_name
        ? el("p", { className: "room-host", dataset: { testid: "room-host" } },
          t("brand.sessionWith", profile.display_name))
        : null,
      profile.welcome_note
        ? el("p", { className: "welcome-note", dataset: { testid: "welcome-note" },
          "aria-label": t("brand.noteFrom", profile.display_name) }, profile.welcome_note)
        : null);
    section.querySelector("h1").after(intro);
  }
}
