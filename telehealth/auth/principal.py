"""Who is acting: one typed principal per token kind, and the ``ensure_*`` checks at each action.

The verifier (``tokens.py``) turns a token into a principal; handlers call ``ensure_*`` before
acting. Nothing here reads tokens, configuration or the clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeGuard

from signaling.errors import Code, RapportError

_ROOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_room_id(value: object) -> TypeGuard[str]:
    """A room id is 1-64 characters of ``[A-Za-z0-9_-]``: safe in URLs, logs and Redis keys."""
    return isinstance(value, str) and _ROOM_ID.fullmatch(value) is not None


class Kind(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    ADMIN = "admin"


@dataclass(frozen=True)
class ClientPrincipal:
    """A client holding a session link for one room; ``jti`` identifies the link."""

    kind: ClassVar[Kind] = Kind.CLIENT
    subject: str
    room: str
    jti: str
    not_before: float
    expires_at: float
    issued_at: float = 0.0
    # How the link was handed out: "" for a session link, "room_link" for a visit through a
    # therapist's room link (the node minted it at the door, telehealth/web/roomlinks.py).
    via: str = ""


@dataclass(frozen=True)
class TherapistPrincipal:
    """A therapist for ``rooms``; ``jti``, ``issued_at`` and ``expires_at`` bound the sign-in
    (a socket closes when it ends, and a revocation names the jti or the subject)."""

    kind: ClassVar[Kind] = Kind.THERAPIST
    subject: str
    rooms: frozenset[str]
    jti: str = ""
    issued_at: float = 0.0
    expires_at: float = math.inf
    # The token's display_name claim (the name clients see on the room's pages), checked by
    # rooms/profile.py; "" when absent or not usable.
    display_name: str = ""


@dataclass(frozen=True)
class AdminPrincipal:
    kind: ClassVar[Kind] = Kind.ADMIN
    subject: str
    jti: str = ""
    issued_at: float = 0.0
    expires_at: float = math.inf


Principal = ClientPrincipal | TherapistPrincipal | AdminPrincipal


def ensure_room(principal: Principal, room: str) -> None:
    """May ``principal`` join ``room``? Admins join no room: they see summaries, not sessions."""
    if isinstance(principal, ClientPrincipal) and principal.room == room:
        return
    if isinstance(principal, TherapistPrincipal) and room in principal.rooms:
        return
    raise RapportError(Code.WRONG_ROOM)


def ensure_therapist_of(principal: Principal, room: str) -> None:
    if not (isinstance(principal, TherapistPrincipal) and room in principal.rooms):
        raise RapportError(Code.FORBIDDEN)


def ensure_admin(principal: Principal) -> None:
    if not isinstance(principal, AdminPrincipal):
        raise RapportError(Code.FORBIDDEN)


def ensure_admin_or_therapist_of(principal: Principal, room: str) -> None:
    if isinstance(principal, AdminPrincipal):
        return
    ensure_therapist_of(principal, room)
