"""How clients see a room: the therapist's display name and a welcome note, set by the therapist.

Both are plain text a person typed (PHI-adjacent): they are kept in presence for the room's
pages and go nowhere else: no log line, audit detail, metric label or webhook. The checks here
are the one place their limits live; the pages mirror them.
"""

from __future__ import annotations

import unicodedata

import msgspec

from signaling.errors import Code, RapportError

DISPLAY_NAME_MAX = 64
WELCOME_NOTE_MAX = 500
NOTE_LINES_MAX = 20  # newlines are kept (shown with white-space: pre-line); not without end


class RoomProfile(msgspec.Struct, frozen=True, kw_only=True):
    """What a room's clients are shown on the welcome and waiting pages; "" is unset."""

    display_name: str = ""
    welcome_note: str = ""

    @property
    def empty(self) -> bool:
        return not (self.display_name or self.welcome_note)


def _control(c: str) -> bool:
    return unicodedata.category(c).startswith("C")


def check_display_name(raw: str) -> str:
    """One line: runs of white space made one space, trimmed, 0 to 64 characters."""
    name = " ".join(raw.split())
    if len(name) > DISPLAY_NAME_MAX or any(_control(c) for c in name):
        raise RapportError(
            Code.INVALID_PROFILE,
            f"The display name must be one line of up to {DISPLAY_NAME_MAX} characters.",
        )
    return name


def check_welcome_note(raw: str) -> str:
    """Plain text of up to 500 characters; line breaks kept (CRLF made LF), other control
    characters refused, trailing white space of each line and of the note trimmed."""
    text = raw.replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    note = "\n".join(lines).strip()
    if any(_control(c) and c != "\n" for c in note):
        raise RapportError(
            Code.INVALID_PROFILE,
            "The welcome note must be plain text: line breaks are kept, other control "
            "characters are not allowed.",
        )
    if len(note) > WELCOME_NOTE_MAX or note.count("\n") >= NOTE_LINES_MAX:
        raise RapportError(
            Code.INVALID_PROFILE,
            f"The welcome note must be at most {WELCOME_NOTE_MAX} characters "
            f"in at most {NOTE_LINES_MAX} lines.",
        )
    return note


def checked_profile(display_name: str, welcome_note: str) -> RoomProfile:
    return RoomProfile(
        display_name=check_display_name(display_name),
        welcome_note=check_welcome_note(welcome_note),
    )


def encode_profile(profile: RoomProfile) -> bytes:
    return msgspec.json.encode(profile)


def decode_profile(raw: bytes | str) -> RoomProfile:
    return msgspec.json.decode(raw, type=RoomProfile)
