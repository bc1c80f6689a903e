// The landing page: only text, filled from strings.js.

import { mountPage } from "./page.js";
import { t } from "./strings.js";

mountPage();
document.title = t("landing.title");
