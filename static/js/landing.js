// The landing page: only text, filled from strings.js, in the practice's look when it has one.

import { applyPractice } from "./brand.js";
import { mountPage } from "./page.js";
import { t } from "./strings.js";

mountPage();
document.title = t("landing.title");
fetch("/api/config", { headers: { Accept: "application/json" } })
  .then((response) => (response.ok ? response.json() : {}))
  .then((config) => applyPractice(config.practice))
  .catch(() => {});
