"""A therapist's personal room link over HTTP: its REST for the room's therapist (or an admin),
the public door a visitor knocks at (``POST /api/room-links/{slug}/enter``), and the check at
a visitor's join.

Off unless ``TELEHEALTH_ROOM_LINKS`` is on (then every route answers not_configured). The door
counts as a connection attempt of the visitor's address, looks a slug up only when it has the
slug's shape, and mints a short-lived client token for the room marked ``via: "room_link"``;
from there the visitor's page goes on as a session link's would.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.auth.principal import (
    ClientPrincipal,
    Kind,
    ensure_admin_or_therapist_of,
    is_room_id,
)
from telehealth.rooms.events import Actor, ActorRole, AuditAction
from telehealth.rooms.ports import RoomLinkStore
from telehealth.rooms.roomlinks import (
    VIA_ROOM_LINK,
    RoomLink,
    check_slug,
    is_slug,
    visitor_seated,
    waiting_via_room_link,
)
from telehealth.web import keys
from telehealth.web.api import actor_of, json_response, principal_of, read_body
from telehealth.web.limiting import count_attempt

FULL_RETRY_AFTER_S = 120  # "try again in a few minutes"


class PublishRequest(msgspec.Struct, forbid_unknown_fields=True):
    slug: str


class LockRequest(msgspec.Struct, forbid_unknown_fields=True):
    locked: bool


def room_link_url(base_url: str, slug: str) -> str:
    return f"{base_url}/r/{slug}"


def _store(app: web.Application) -> RoomLinkStore:
    store = app[keys.ROOM_LINKS]
    if store is None:
        raise RapportError(
            Code.NOT_CONFIGURED, "Room links are off here (TELEHEALTH_ROOM_LINKS is not on)."
        )
    return store


def _state(app: web.Application, room: str, link: RoomLink | None) -> dict[str, Any]:
    settings = app[keys.SETTINGS]
    return {
        "room": room,
        "slug": link.slug if link else None,
        "url": room_link_url(settings.base_url, link.slug) if link else None,
        "locked": link.locked if link else False,
        "max_waiting": settings.room_link_max_waiting,
    }


async def _staff(request: web.Request) -> tuple[RoomLinkStore, str, Actor]:
    """The store, the room and who acts: the room's therapist, or an admin."""
    store = _store(request.app)
    principal = await principal_of(request, Kind.THERAPIST, Kind.ADMIN)
    room = request.match_info["room"]
    if not is_room_id(room):  # an admin may name any room: only room ids get a link
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    ensure_admin_or_therapist_of(principal, room)
    return store, room, actor_of(principal)


async def get_room_link(request: web.Request) -> web.Response:
    store, room, _ = await _staff(request)
    return json_response(_state(request.app, room, await store.room_link(room)))


async def publish_room_link(request: web.Request) -> web.Response:
    """Publish the room's link under a slug of the therapist's choosing, or change its slug."""
    store, room, actor = await _staff(request)
    body: PublishRequest = await read_body(request, PublishRequest)
    slug = check_slug(body.slug)
    link, old = await store.publish(room, slug, actor.sub, int(time.time() * 1000))
    if old != slug:
        action = AuditAction.ROOM_LINK_CHANGED if old else AuditAction.ROOM_LINK_PUBLISHED
        await request.app[keys.AUDIT].record(action, actor, room=room)
    return json_response(_state(request.app, room, link))


async def remove_room_link(request: web.Request) -> web.Response:
    store, room, actor = await _staff(request)
    removed = await store.remove(room)
    if removed is None:
        raise RapportError(Code.ROOM_LINK_NOT_FOUND, "This room has no room link.")
    await request.app[keys.AUDIT].record(AuditAction.ROOM_LINK_REMOVED, actor, room=room)
    return json_response(_state(request.app, room, None))


async def lock_room_link(request: web.Request) -> web.Response:
    """Lock the room link (new visitors see "not open right now"; those waiting stay) or
    unlock it."""
    store, room, actor = await _staff(request)
    body: LockRequest = await read_body(request, LockRequest)
    before = await store.room_link(room)
    link = await store.set_locked(room, body.locked, actor.sub, int(time.time() * 1000))
    if link is None:
        raise RapportError(Code.ROOM_LINK_NOT_FOUND, "This room has no room link.")
    if before is None or before.locked != link.locked:
        action = AuditAction.ROOM_LINK_LOCKED if link.locked else AuditAction.ROOM_LINK_UNLOCKED
        await request.app[keys.AUDIT].record(action, actor, room=room)
    return json_response(_state(request.app, room, link))


async def enter(request: web.Request) -> web.Response:
    """A visitor at the room link's door: a client token for the room, or a kind refusal
    (not found, locked, full). Public, so counted as a connection attempt of the address."""
    await count_attempt(request)
    app = request.app
    store = _store(app)
    minter = app[keys.MINTER]
    if minter is None:
        raise RapportError(Code.NOT_CONFIGURED, "This node cannot let room-link visitors in.")
    slug = request.match_info["slug"]
    link = await store.resolve(slug) if is_slug(slug) else None  # only slugs are looked up
    if link is None or not is_room_id(link.room):
        raise RapportError(Code.ROOM_LINK_NOT_FOUND)
    if link.locked:
        raise RapportError(Code.ROOM_LINK_LOCKED)
    settings = app[keys.SETTINGS]
    snapshot = await app[keys.PRESENCE].load(link.room)
    if waiting_via_room_link(snapshot) >= settings.room_link_max_waiting:
        raise RapportError(Code.ROOM_LINK_FULL, retry_after=FULL_RETRY_AFTER_S)
    token = minter.mint_client(link.room, ttl=settings.room_link_visit_ttl, via=VIA_ROOM_LINK)
    visitor = await app[keys.VERIFIER].verify(token, Kind.CLIENT, check_time=False)
    assert isinstance(visitor, ClientPrincipal)
    await app[keys.AUDIT].record(
        AuditAction.ROOM_LINK_VISIT,
        Actor(role=ActorRole.CLIENT, sub=visitor.subject),
        room=link.room,
        link=visitor.jti,
    )
    response = json_response(
        {"token": token, "room": link.room, "expires_at": visitor.expires_at}, status=201
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def check_visit(app: web.Application, room: str, visitor: ClientPrincipal) -> None:
    """At a room-link visitor's join: one already seated comes back whatever the link's state
    (a refresh, a lost connection); a new one only while the link is published, unlocked and
    has room. The door checked the same a moment ago; this closes the gap after it (a lock in
    between, a token kept for later). The cap is a soft one: the waiting room's own cap
    (rooms/service.py) is the hard limit."""
    presence = app[keys.PRESENCE]
    snapshot = await presence.load(room)
    if visitor_seated(snapshot, visitor.jti):
        return
    store = app[keys.ROOM_LINKS]
    link = await store.room_link(room) if store is not None else None
    if link is None or link.locked:
        raise RapportError(Code.ROOM_LINK_LOCKED)
    if waiting_via_room_link(snapshot) >= app[keys.SETTINGS].room_link_max_waiting:
        raise RapportError(Code.ROOM_LINK_FULL, retry_after=FULL_RETRY_AFTER_S)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/rooms/{room}/room-link", get_room_link)
    app.router.add_put("/api/rooms/{room}/room-link", publish_room_link)
    app.router.add_delete("/api/rooms/{room}/room-link", remove_room_link)
    app.router.add_post("/api/rooms/{room}/room-link/lock", lock_room_link)
    app.router.add_post("/api/room-links/{slug}/enter", enter)
