"""How clients see a room (rooms/profile.py) over REST, and the practice's logo.

``GET /api/rooms/{room}/profile`` answers a client of the room (their session-link token) or
its therapist; ``PUT`` is the therapist's. A therapist token's ``display_name`` claim becomes
the room's display name when the room has none (``adopt_claimed_name``, on the therapist's
join). The text is typed by a person: it goes into presence and back to the room's pages,
never into a log line, an audit entry (``room_profile_changed`` holds ids only), a metric or
a webhook.
"""

from __future__ import annotations

import logging
from typing import Annotated

import msgspec
from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.auth.principal import Kind, TherapistPrincipal, ensure_room, is_room_id
from telehealth.brand import Logo
from telehealth.rooms.events import AuditAction
from telehealth.rooms.profile import (
    DISPLAY_NAME_MAX,
    WELCOME_NOTE_MAX,
    RoomProfile,
    checked_profile,
)
from telehealth.web import keys
from telehealth.web.api import LOGO_PATH, actor_of, json_response, principal_of, read_body

log = logging.getLogger("telehealth.profile")

LOGO_CACHE = "public, max-age=3600"
# Generous caps on what is read at all, before the checks that say what is wrong (a note's
# line breaks as CRLF, white space trimmed later).
_RAW_NAME = Annotated[str, msgspec.Meta(max_length=DISPLAY_NAME_MAX * 4)]
_RAW_NOTE = Annotated[str, msgspec.Meta(max_length=WELCOME_NOTE_MAX * 4)]


class ProfileRequest(msgspec.Struct, forbid_unknown_fields=True):
    display_name: _RAW_NAME = ""
    welcome_note: _RAW_NOTE = ""


def _room(request: web.Request) -> str:
    room = request.match_info["room"]
    if not is_room_id(room):
        raise RapportError(Code.NOT_FOUND, "No room by that id.")
    return room


def _answer(room: str, profile: RoomProfile) -> web.Response:
    response = json_response(
        {
            "room": room,
            "display_name": profile.display_name,
            "welcome_note": profile.welcome_note,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def get_profile(request: web.Request) -> web.Response:
    room = _room(request)
    principal = await principal_of(request, Kind.CLIENT, Kind.THERAPIST)
    ensure_room(principal, room)
    return _answer(room, await request.app[keys.PRESENCE].room_profile(room))


async def put_profile(request: web.Request) -> web.Response:
    room = _room(request)
    principal = await principal_of(request, Kind.THERAPIST)
    ensure_room(principal, room)
    body: ProfileRequest = await read_body(request, ProfileRequest)
    try:
        profile = checked_profile(body.display_name, body.welcome_note)
    except msgspec.ValidationError:  # pragma: no cover - the struct caps lengths first
        raise RapportError(Code.INVALID_PROFILE) from None
    await request.app[keys.PRESENCE].set_room_profile(room, profile)
    await request.app[keys.AUDIT].record(
        AuditAction.ROOM_PROFILE_CHANGED, actor_of(principal), room=room
    )
    log.info("room %s profile changed", room)
    return _answer(room, profile)


async def adopt_claimed_name(
    app: web.Application, room: str, therapist: TherapistPrincipal
) -> None:
    """A therapist's ``display_name`` claim names the room when nothing else does yet."""
    if not therapist.display_name:
        return
    presence = app[keys.PRESENCE]
    profile = await presence.room_profile(room)
    if profile.display_name:
        return
    await presence.set_room_profile(
        room, msgspec.structs.replace(profile, display_name=therapist.display_name)
    )


def add_routes(app: web.Application, logo: Logo | None) -> None:
    app.router.add_get("/api/rooms/{room}/profile", get_profile)
    app.router.add_put("/api/rooms/{room}/profile", put_profile)
    if logo is None:
        return
    # With the pages' headers (pages.security_headers): nosniff, and a CSP under which an SVG
    # opened on its own runs no inline script; the pages show it only as an <img>.
    headers = {"Content-Type": logo.content_type, "Cache-Control": LOGO_CACHE}

    async def serve_logo(request: web.Request) -> web.Response:
        return web.Response(body=logo.body, headers=headers)

    app.router.add_get(LOGO_PATH, serve_logo)
