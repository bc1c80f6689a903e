// The frame every page shares, built once here rather than repeated in each HTML file: the skip
// link, the header, the connection banner, the screen-reader announcer, and the "loading" and
// kind-error views inside <main>. The HTML files hold only what is their own.

import { t } from "./strings.js";
import { el, localize } from "./ui.js";

/**
 * Build the shared frame around <main id="main">, then fill every data-i18n text.
 * `tagline` is a strings.js path; `extra` are nodes for the right of the header.
 * Returns the header's extra slot.
 */
export function mountPage({ tagline = "app.tagline", extra = [] } = {}) {
  const main = document.getElementById("main");
  const slot = el("span", { className: "header-extra" }, ...extra);
  document.body.prepend(
    el("a", { className: "skip-link", href: "#main" }, t("app.skip")),
    el("header", { className: "site-header" },
      el("span", { className: "brand" }, t("app.name")),
      el("span", { className: "tagline" }, t(tagline)),
      slot),
    el("p", { className: "banner", id: "connection-banner", role: "status",
      dataset: { testid: "connection-banner" }, hidden: true }),
    el("p", { className: "visually-hidden", id: "announcer", "aria-live": "polite",
      dataset: { testid: "announcer" } }),
  );
  if (main.dataset.views !== "none") {
    main.prepend(el("section", { className: "card narrow", dataset: { view: "loading" } },
      el("h1", { className: "visually-hidden" }, t("common.loading")),
      el("p", { className: "status-line", role: "status" }, t("common.loading"))));
    main.append(el("section", {
      className: "card narrow center", dataset: { view: "error", testid: "error-page" }, hidden: true,
    }, el("h1", { id: "error-title" }), el("p", { id: "error-text" }),
    el("div", { id: "error-actions", className: "actions" })));
  }
  localize();
  return slot;
}
