"""The pages' table of close codes (static/js/signaling.js) says what the error table says."""

from __future__ import annotations

import re
from pathlib import Path

from signaling.errors import ERRORS

SIGNALING_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "signaling.js"


def js_close_table() -> dict[str, int]:
    """The entries of ``export const CLOSE = { NAME: 4003, ... };``."""
    text = SIGNALING_JS.read_text()
    found = re.search(r"export const CLOSE = \{(?P<body>.*?)\};", text, re.DOTALL)
    assert found, "no `export const CLOSE = {...};` in signaling.js"
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", found["body"], flags=re.DOTALL)
    entries = [e.strip() for e in body.split(",") if e.strip()]
    table: dict[str, int] = {}
    for entry in entries:
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)\s*:\s*(\d+)", entry)
        assert match, f"an entry of CLOSE this test cannot read: {entry!r}"
        assert match[1] not in table, f"{match[1]} appears twice in CLOSE"
        table[match[1]] = int(match[2])
    return table


def python_close_codes() -> dict[str, int]:
    return {code.name: spec.close_code for code, spec in ERRORS.items() if spec.close_code}


def test_every_close_code_of_the_error_table_is_in_the_pages_table() -> None:
    js = js_close_table()
    wrong = {
        name: (code, js.get(name))
        for name, code in python_close_codes().items()
        if js.get(name) != code
    }
    assert not wrong, f"name: (errors.py, signaling.js): {wrong}"


def test_the_pages_table_names_no_code_the_error_table_does_not_know() -> None:
    unknown = set(js_close_table()) - set(python_close_codes())
    assert not unknown, f"in signaling.js CLOSE but not in signaling/errors.py: {sorted(unknown)}"
