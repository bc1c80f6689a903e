"""The pre-call page's error table (static/js/precall.js) names the error table's precall codes,
and every advice code the verdict can give has words in strings.js."""

from __future__ import annotations

import re
from pathlib import Path

from signaling.errors import Code
from telehealth.media.verdict import ADVICE_CODES

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"


def js_table() -> dict[str, str]:
    text = (STATIC / "precall.js").read_text()
    found = re.search(r"export const PRECALL_ERRORS = \{(?P<body>.*?)\};", text, re.DOTALL)
    assert found, "no `export const PRECALL_ERRORS = {...};` in precall.js"
    return dict(re.findall(r"([A-Z][A-Z0-9_]*)\s*:\s*\"([a-z_]+)\"", found["body"]))


def test_the_pages_precall_errors_are_the_error_tables() -> None:
    python = {code.name: code.value for code in Code if code.name.startswith("PRECALL_")}
    assert python, "no PRECALL_ codes in signaling/errors.py"
    assert js_table() == python


def test_every_advice_code_has_words_for_the_pages() -> None:
    """Words for the client (``advice``) and for the therapist's card (``therapistAdvice``)."""
    text = (STATIC / "strings.js").read_text()
    for block in ("advice", "therapistAdvice"):
        found = re.search(rf"\n    {block}: \{{(?P<body>.*?)\n    \}},", text, re.DOTALL)
        assert found, f"no precall.{block} block in strings.js"
        keys = set(re.findall(r"\n      ([a-z_]+):", found["body"]))
        assert set(ADVICE_CODES) <= keys, (block, set(ADVICE_CODES) - keys)
