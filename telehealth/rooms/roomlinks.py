"""A therapist's personal room link (``/r/<slug>``), pure: the slug rules, the link's record,
and how many visitors who came through it are waiting.

A visitor who opens the link gets a short-lived client token marked ``via: "room_link"``; the
participant record keeps that origin (``Participant.via``), so the therapist's card can say
"came through your room link" and the cap can count them. Nothing here reads a store.
"""

from __future__ import annotations

import re

import msgspec

from signaling.errors import Code, RapportError
from telehealth.rooms.model import Snapshot

# The origin of a client who came through a room link (the token's ``via`` claim).
VIA_ROOM_LINK = "room_link"
VIAS = frozenset({VIA_ROOM_LINK})

SLUG_MIN, SLUG_MAX = 3, 40
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Words a slug may not be: the service's own paths and words a visitor could mistake for the
# practice's official pages.
RESERVED = frozenset(
    {
        "admin", "api", "static", "join", "therapist", "s", "r", "ws", "metrics", "healthz",
        "readyz", "login", "logout", "signin", "sign-in", "signup", "help", "support", "about",
        "account", "settings", "security", "privacy", "terms", "status", "www", "root",
        "rapport", "room", "rooms", "new", "null", "undefined", "favicon-ico", "robots-txt",
        "openapi", "docs", "official", "billing", "password", "reset",
    }
)  # fmt: skip


def slug_problem(slug: object) -> str | None:
    """Why ``slug`` cannot be a room link's name, in plain words; None when it can."""
    if not isinstance(slug, str):
        return "a room link's name must be text"
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        return f"a room link's name is {SLUG_MIN} to {SLUG_MAX} characters"
    if _SLUG.fullmatch(slug) is None:
        return (
            "a room link's name is lowercase letters a-z, digits and single hyphens "
            "inside (no hyphen first, last or twice in a row)"
        )
    if slug in RESERVED:
        return f"{slug!r} is reserved; please choose another name"
    return None


def check_slug(slug: object) -> str:
    """``slug`` itself, or SLUG_INVALID saying why not (state unchanged)."""
    problem = slug_problem(slug)
    if problem is not None:
        raise RapportError(Code.SLUG_INVALID, f"{problem[0].upper()}{problem[1:]}.")
    assert isinstance(slug, str)
    return slug


def is_slug(value: object) -> bool:
    return slug_problem(value) is None


class RoomLink(msgspec.Struct, frozen=True, kw_only=True):
    """A room's published link: its slug, whether it is locked, and who last changed it when
    (the token's subject and ms since the epoch: ids only)."""

    room: str
    slug: str
    locked: bool = False
    by: str = ""
    at: int = 0


def waiting_via_room_link(snapshot: Snapshot) -> int:
    """How many clients who came through the room link are waiting in the room now."""
    return sum(1 for p in snapshot.waiting() if p.via == VIA_ROOM_LINK)


def visitor_seated(snapshot: Snapshot, link: str) -> bool:
    """Does a visit's token (``link``: its jti) already hold an active place in the room? Then
    it may come back (a refresh, a dropped connection) even while the link is locked or full."""
    return any(p.link == link and p.active for p in snapshot.participants.values())
