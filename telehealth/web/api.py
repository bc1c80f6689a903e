"""REST endpoints: health, page config, session links, and admin room monitoring."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.audit import export as audit_export
from telehealth.audit.ecs import to_ecs
from telehealth.auth.principal import (
    AdminPrincipal,
    ClientPrincipal,
    Kind,
    Principal,
    TherapistPrincipal,
    ensure_admin_or_therapist_of,
    ensure_room,
    is_room_id,
)
from telehealth.auth.tokens import session_link_url
from telehealth.ids import client_participant_id
from telehealth.rooms.events import Actor, ActorRole, AuditAction
from telehealth.web import keys
from telehealth.web.admin import room_summaries, summarize
from telehealth.web.limiting import limit_api

MAX_LINK_TTL_S = 30 * 24 * 3600
READY_BUDGET_S = 0.8  # /readyz answers within a second, whatever Redis does
MAX_BODY = 16 * 1024


class SessionLinkRequest(msgspec.Struct, forbid_unknown_fields=True):
    room: str
    ttl: int = 3600
    not_before: float | None = None


class RevokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: str


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


async def _body(request: web.Request, kind: type[Any]) -> Any:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise RapportError(Code.FRAME_TOO_LARGE, "The request body is too large.")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        # Only msgspec's own opening words are matched: the rest can quote the input.
        code = (
            Code.UNKNOWN_FIELD
            if str(exc).startswith("Object contains unknown field")
            else Code.INVALID_MESSAGE
        )
        raise RapportError(code, str(exc)) from None
    except msgspec.DecodeError:
        raise RapportError(Code.INVALID_JSON, "The request body is not valid JSON.") from None


async def _principal(request: web.Request, *kinds: Kind) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise RapportError(Code.TOKEN_INVALID, "Send Authorization: Bearer <token>.")
    verifier = request.app[keys.VERIFIER]
    last: RapportError | None = None
    for kind in kinds:
        try:
            principal = await verifier.verify(token, kind)  # byte-exact, as over the WebSocket
        except RapportError as err:
            if err.code is not Code.WRONG_TOKEN_KIND:
                raise
            last = err
        else:
            await limit_api(request, principal)  # per principal, across nodes
            return principal
    assert last is not None
    raise last


def actor_of(principal: Principal) -> Actor:
    """Who acts over REST, for the room's events: the token's kind and subject."""
    return Actor(role=ActorRole(principal.kind.value), sub=principal.subject)


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok", "node": request.app[keys.SETTINGS].node_id})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    if app[keys.DRAINING][0]:
        raise RapportError(Code.UNAVAILABLE, "This node is draining.", retry_after=1)
    if not await app[keys.PRESENCE].ping(READY_BUDGET_S):
        raise RapportError(Code.UNAVAILABLE, "Presence store unreachable.", retry_after=2)
    return _json({"status": "ready", "node": app[keys.SETTINGS].node_id})


async def page_config(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    return _json(
        {
            "consent_text": settings.consent_text,
            "show_queue_position": settings.show_queue_position,
            "grace": settings.grace,
            "max_participants": settings.max_participants,
        }
    )


async def create_session_link(request: web.Request) -> web.Response:
    principal = await _principal(request, Kind.THERAPIST)
    body: SessionLinkRequest = await _body(request, SessionLinkRequest)
    ensure_room(principal, body.room)
    if not 60 <= body.ttl <= MAX_LINK_TTL_S:
        raise RapportError(Code.INVALID_MESSAGE, f"ttl must be 60 to {MAX_LINK_TTL_S} seconds.")
    settings = request.app[keys.SETTINGS]
    minter = request.app[keys.MINTER]
    if minter is None:
        raise RapportError(Code.NOT_CONFIGURED, "This deployment mints session links elsewhere.")
    try:
        token = minter.mint_client(body.room, ttl=body.ttl, not_before=body.not_before)
    except ValueError as exc:
        raise RapportError(Code.INVALID_MESSAGE, str(exc)) from None
    client = await request.app[keys.VERIFIER].verify(token, Kind.CLIENT, check_time=False)
    assert isinstance(client, ClientPrincipal)
    await request.app[keys.AUDIT].record(
        AuditAction.LINK_ISSUED, actor_of(principal), room=body.room, link=client.jti
    )
    return _json(
        {
            "url": session_link_url(settings, token),
            "token": token,
            "room": body.room,
            "jti": client.jti,
            "not_before": client.not_before,
            "expires_at": client.expires_at,
        },
        status=201,
    )


async def revoke_session_link(request: web.Request) -> web.Response:
    principal = await _principal(request, Kind.THERAPIST, Kind.ADMIN)
    body: RevokeRequest = await _body(request, RevokeRequest)
    client = await request.app[keys.VERIFIER].verify(body.token, Kind.CLIENT, check_time=False)
    assert isinstance(client, ClientPrincipal)
    if isinstance(principal, TherapistPrincipal):
        ensure_room(principal, client.room)
    await request.app[keys.PRESENCE].revoke(client.jti, int(client.expires_at * 1000) + 60_000)
    pid = client_participant_id(client.room, client.jti)
    await request.app[keys.AUDIT].record(
        AuditAction.LINK_WITHDRAWN,
        actor_of(principal),
        room=client.room,
        participant=pid,
        link=client.jti,
    )
    removed = await request.app[keys.SERVICE].withdraw(client.room, pid, actor_of(principal))
    return _json({"revoked": client.jti, "removed": removed})


async def list_rooms(request: web.Request) -> web.Response:
    principal = await _principal(request, Kind.ADMIN)
    assert isinstance(principal, AdminPrincipal)
    await request.app[keys.AUDIT].record(AuditAction.ROOM_VIEWED, actor_of(principal))
    return _json({"rooms": await room_summaries(request.app), "at": round(time.time(), 3)})


async def get_room(request: web.Request) -> web.Response:
    principal = await _principal(request, Kind.ADMIN, Kind.THERAPIST)
    room = request.match_info["room"]
    ensure_admin_or_therapist_of(principal, room)
    snapshot = await request.app[keys.PRESENCE].load(room)
    if isinstance(principal, AdminPrincipal):
        await request.app[keys.AUDIT].record(
            AuditAction.ROOM_VIEWED, actor_of(principal), room=room
        )
    if not snapshot.active:
        raise RapportError(Code.NOT_FOUND, "No active room by that id.")
    return _json(summarize(snapshot, time.time()))


async def end_room(request: web.Request) -> web.Response:
    principal = await _principal(request, Kind.ADMIN, Kind.THERAPIST)
    room = request.match_info["room"]
    ensure_admin_or_therapist_of(principal, room)
    before = await request.app[keys.PRESENCE].load(room)
    if not before.active:
        raise RapportError(Code.NOT_FOUND, "No active room by that id.")
    await request.app[keys.SERVICE].end_room(room, actor_of(principal))
    ended = sum(1 for p in before.participants.values() if p.active)
    return _json({"room": room, "ended": ended})


async def export_audit(request: web.Request) -> web.StreamResponse:
    """The audit trail as JSON Lines of ECS documents, a page at a time (admin only)."""
    principal = await _principal(request, Kind.ADMIN)
    query = request.query
    unknown = set(query) - {"room", "since", "until", "cursor", "limit"}
    if unknown:
        raise RapportError(Code.UNKNOWN_FIELD, f"Unknown parameter: {sorted(unknown)[0]}.")
    room = query.get("room") or None
    if room is not None and not is_room_id(room):
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    limit = _int_param(query.get("limit"), "limit", 1, audit_export.PAGE, audit_export.PAGE)
    now = int(time.time() * 1000)
    until = audit_export.parse_time(query["until"]) if "until" in query else now
    since = (
        audit_export.parse_time(query["since"])
        if "since" in query
        else until - audit_export.DEFAULT_SPAN_MS
    )
    cursor = audit_export.decode_cursor(query["cursor"]) if query.get("cursor") else None
    page = await audit_export.read_page(
        request.app[keys.PRESENCE],
        room=room,
        since_ms=since,
        until_ms=until,
        cursor=cursor,
        limit=limit,
    )
    await request.app[keys.AUDIT].record(AuditAction.AUDIT_EXPORTED, actor_of(principal), room=room)
    body = b"".join(msgspec.json.encode(to_ecs(e)) + b"\n" for e in page.entries)
    headers = {"Rapport-Next-Cursor": page.cursor} if page.cursor else {}
    return web.Response(body=body, content_type="application/x-ndjson", headers=headers)


def _int_param(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RapportError(Code.INVALID_MESSAGE, f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise RapportError(Code.INVALID_MESSAGE, f"{name} must be {low} to {high}.")
    return value


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/config", page_config)
    app.router.add_post("/api/session-links", create_session_link)
    app.router.add_post("/api/session-links/revoke", revoke_session_link)
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_get("/api/rooms/{room}", get_room)
    app.router.add_post("/api/rooms/{room}/end", end_room)
    app.router.add_get("/api/audit", export_audit)
