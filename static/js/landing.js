// The landing page: only text, filled from strings.js.

import { t } from "./strings.js";
import { localize } from "./ui.js";

localize();
document.title = t("landing.title");
