"""A room's profile as typed by its therapist: the display name is one line of up to 64
characters, the welcome note plain text of up to 500 with its line breaks kept; anything else is
refused with ``invalid_profile`` and a message that says what is wrong."""

from __future__ import annotations

import pytest

from signaling.errors import Code, RapportError
from telehealth.auth.keys import key_source_from_settings
from telehealth.auth.principal import Kind, TherapistPrincipal
from telehealth.auth.tokens import TokenMinter, TokenVerifier
from telehealth.config import from_env
from telehealth.rooms.profile import (
    DISPLAY_NAME_MAX,
    WELCOME_NOTE_MAX,
    RoomProfile,
    check_display_name,
    check_welcome_note,
    checked_profile,
    decode_profile,
    encode_profile,
)


def test_a_note_keeps_its_line_breaks_and_loses_trailing_space() -> None:
    note = check_welcome_note("  Hello!\r\n\r\nThe door code is 12.   \n")
    assert note == "Hello!\n\nThe door code is 12."


def test_limits_are_exact() -> None:
    assert len(check_welcome_note("n" * WELCOME_NOTE_MAX)) == WELCOME_NOTE_MAX
    assert check_display_name("D" * DISPLAY_NAME_MAX) == "D" * DISPLAY_NAME_MAX
    with pytest.raises(RapportError) as err:
        check_welcome_note("n" * (WELCOME_NOTE_MAX + 1))
    assert err.value.code is Code.INVALID_PROFILE
    assert "500" in err.value.message
    with pytest.raises(RapportError, match="64"):
        check_display_name("D" * (DISPLAY_NAME_MAX + 1))


@pytest.mark.parametrize("note", ["bell\x07", "esc\x1b[2J", "nul\x00", "tab\there", "rtl\u202e"])
def test_control_characters_other_than_newlines_are_refused(note: str) -> None:
    with pytest.raises(RapportError, match="plain text"):
        check_welcome_note(note)


def test_too_many_lines_are_refused() -> None:
    with pytest.raises(RapportError, match="lines"):
        check_welcome_note("\n".join("a" * 25))


def test_a_display_name_is_one_line() -> None:
    assert check_display_name("  Dr.   Ada\nLee ") == "Dr. Ada Lee"
    with pytest.raises(RapportError, match="one line"):
        check_display_name("Dr\x00Lee")


def test_an_empty_profile_and_the_round_trip() -> None:
    assert checked_profile("", "   ").empty
    profile = checked_profile("Dr. Lee", "Welcome <b>in</b>\nsee you")
    assert profile.welcome_note == "Welcome <b>in</b>\nsee you"  # text, never HTML: kept as typed
    assert decode_profile(encode_profile(profile)) == profile
    assert RoomProfile().empty


async def test_a_therapist_tokens_display_name_claim() -> None:
    settings = from_env({"TELEHEALTH_JWT_SECRET": "p-secret-" + "x" * 40})
    minter = TokenMinter(settings)
    verifier = TokenVerifier(settings, key_source_from_settings(settings))
    token = minter.mint_therapist("dr-lee", ["r1"], 600, display_name=" Dr.  Ada Lee ")
    principal = await verifier.verify(token, Kind.THERAPIST)
    assert isinstance(principal, TherapistPrincipal)
    assert principal.display_name == "Dr. Ada Lee"
    plain = await verifier.verify(minter.mint_therapist("dr-lee", ["r1"], 600), Kind.THERAPIST)
    assert isinstance(plain, TherapistPrincipal) and plain.display_name == ""
    with pytest.raises(ValueError, match="64"):
        minter.mint_therapist("dr-lee", ["r1"], 600, display_name="x" * 65)
