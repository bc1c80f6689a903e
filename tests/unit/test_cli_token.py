"""``telehealth token``: therapist and admin tokens name their subject, whom revocation names."""

from __future__ import annotations

import json

import pytest

from telehealth.cli import main

SECRET = "cli-secret-" + "x" * 40


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEHEALTH_JWT_SECRET", SECRET)


@pytest.mark.parametrize("argv", [["--kind", "therapist", "--room", "room-1"], ["--kind", "admin"]])
def test_staff_tokens_need_a_subject(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", *argv]) == 2
    assert "--subject" in capsys.readouterr().err


def test_a_therapist_token_carries_its_subject(capsys: pytest.CaptureFixture[str]) -> None:
    import jwt

    argv = ["token", "--kind", "therapist", "--room", "room-1", "--subject", "dr-lee", "--json"]
    assert main(argv) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "dr-lee"


def test_a_session_link_needs_no_subject(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--kind", "client", "--room", "room-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["url"]


def test_a_session_link_can_name_its_pages_language(capsys: pytest.CaptureFixture[str]) -> None:
    import jwt

    argv = ["token", "--kind", "client", "--room", "room-1", "--lang", "es", "--json"]
    assert main(argv) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert jwt.decode(token, options={"verify_signature": False})["lang"] == "es"
    assert main(["token", "--kind", "client", "--room", "room-1", "--json"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert "lang" not in jwt.decode(token, options={"verify_signature": False})


def test_a_language_the_pages_do_not_speak_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["token", "--kind", "client", "--room", "room-1", "--lang", "fr"])
    assert refused.value.code == 2
    assert "--lang" in capsys.readouterr().err
