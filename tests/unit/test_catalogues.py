"""Every language's catalogue (static/js/strings.XX.js) has exactly the English catalogue's keys,
each of the same kind: a string, a list of strings, or a function of as many parameters; and
the pages have words for every code of the error table.

The catalogues are ES modules, read as the browser reads them: Node imports strings.js (which
imports every other language) and prints each catalogue's shape.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from signaling.errors import Code
from telehealth.auth.tokens import LINK_LANGUAGES
from telehealth.config import DEFAULT_CONSENT

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"

#: Prints {"languages": {code: shape}} where a shape is a dict of shapes, "string", "list"
#: (of strings) or "function/N" (N parameters); anything else is named as it is.
SHAPES_JS = """
const { CATALOGUES } = await import(process.argv[1]);
const { LANGUAGE_NAMES } = await import(process.argv[2]);
const shape = (value) => {
  if (typeof value === "string") return "string";
  if (typeof value === "function") return `function/${value.length}`;
  if (Array.isArray(value)) return value.every((v) => typeof v === "string") ? "list" : "bad list";
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  }
  return `bad ${typeof value}`;
};
const languages = Object.fromEntries(Object.entries(CATALOGUES).map(([c, s]) => [c, shape(s)]));
const consent = CATALOGUES.en.client.defaultConsent;
console.log(JSON.stringify({ languages, names: Object.keys(LANGUAGE_NAMES), consent }));
"""


def flatten(shape: Any, prefix: str = "") -> dict[str, str]:
    """{"client.join": "string", "client.position": "function/1", ...}."""
    if not isinstance(shape, dict):
        return {prefix: shape}
    out: dict[str, str] = {}
    for key, value in shape.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def run_node(script: str) -> Any:
    """Run ``script`` (an ES module, given strings.js and language.js as its arguments) in
    Node; what it printed, as JSON."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run `make deps` (the catalogue test needs it)", pytrace=False)
    modules = [(STATIC / "strings.js").as_uri(), (STATIC / "language.js").as_uri()]
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, *modules],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Any]:
    found: dict[str, Any] = run_node(SHAPES_JS)
    return found


def test_every_language_the_switch_names_has_a_catalogue(catalogues: dict[str, Any]) -> None:
    assert sorted(catalogues["names"]) == sorted(catalogues["languages"])
    assert "es" in catalogues["languages"]
    # ... and a session link's `lang` claim may name exactly those.
    assert sorted(LINK_LANGUAGES) == sorted(catalogues["names"])


def test_every_catalogue_has_the_english_keys_of_the_same_kind(
    catalogues: dict[str, Any],
) -> None:
    english = flatten(catalogues["languages"]["en"])
    assert not [k for k, v in english.items() if v.startswith("bad")], english
    for code, shape in catalogues["languages"].items():
        other = flatten(shape)
        missing = sorted(english.keys() - other.keys())
        extra = sorted(other.keys() - english.keys())
        different = sorted(
            f"{k}: {other[k]}, English {english[k]}"
            for k in english.keys() & other.keys()
            if other[k] != english[k]
        )
        assert not (missing or extra or different), (
            f"strings.{code}.js: missing {missing}, extra {extra}, different kind {different}"
        )


def test_the_pages_default_consent_is_the_services(catalogues: dict[str, Any]) -> None:
    """The page shows its own words (in its language) where /api/config has DEFAULT_CONSENT."""
    assert catalogues["consent"] == DEFAULT_CONSENT


def test_the_pages_have_words_for_every_error_code(catalogues: dict[str, Any]) -> None:
    words = set(catalogues["languages"]["en"]["serverErrors"])
    assert words - {"unknown"} == {code.value for code in Code}


#: A page opened with ?lang=es, as far as language.js can tell in Node.
RUNTIME_JS = """
const store = new Map();
globalThis.window = globalThis;
globalThis.location = { search: "?lang=es", href: "http://x/join?lang=es" };
globalThis.sessionStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, String(v)),
};
const { CATALOGUES, errorText, t } = await import(process.argv[1]);
const { language } = await import(process.argv[2]);
const out = { language: language(), join: t("client.join"), waiting: t("therapist.waitingCount", 2),
  roomFull: errorText("room_full"), unknownCode: errorText("no_such_code"), noCode: errorText() };
delete CATALOGUES.es.client.join;  // a key the language lacks: English at runtime
out.fallback = t("client.join");
console.log(JSON.stringify(out));
"""


def test_t_reads_the_chosen_language_and_falls_back_to_english() -> None:
    assert run_node(RUNTIME_JS) == {
        "language": "es",
        "join": "Entrar en la sala de espera",
        "waiting": "2 personas esperando",
        "roomFull": "La sesión está completa.",
        "unknownCode": "Algo salió mal. Inténtelo de nuevo.",
        "noCode": "Algo salió mal. Inténtelo de nuevo.",
        "fallback": "Join waiting room",
    }
