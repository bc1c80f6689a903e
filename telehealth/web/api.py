"""REST endpoints: health, page config, session links, and admin room monitoring."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

import msgspec
from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth import brand, links
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
from telehealth.auth.tokens import MAX_TTL, session_link_url
from telehealth.config import DEFAULT_CONSENT, Settings
from telehealth.ids import client_participant_id
from telehealth.rooms.events import Actor, ActorRole, AuditAction
from telehealth.rooms.ports import Revocation
from telehealth.web import keys, pages, shortlinks
from telehealth.web.admin import room_summaries, room_summary
from telehealth.web.authority import close_withdrawn
from telehealth.web.checkin import checkin_info
from telehealth.web.limiting import count_attempt, limit_api
from telehealth.web.linkstatus import link_state
from telehealth.webhooks.feed import read_feed
from telehealth.webhooks.worker import WebhookWorker

LOGO_PATH = "/brand/logo"  # where the node serves the practice's logo (web/profile.py)
MAX_LINK_TTL_S = 30 * 24 * 3600
READY_BUDGET_S = 0.8  # /readyz answers within a second, whatever Redis does
MAX_BODY = 16 * 1024
DEAD_LETTER_PAGE = 1000
REPLAY_MAX = 100  # dead letters replayed by one request


class SessionLinkRequest(msgspec.Struct, forbid_unknown_fields=True):
    room: str
    ttl: int = 3600
    not_before: float | None = None
    lang: str | None = None  # the page's language (tokens.LINK_LANGUAGES); else the browser's
    # The appointment's start (epoch s), within the link's window: kept on the room's list, so
    # the console's invitation names the start, not the time the link opens.
    starts_at: float | None = None


class RevokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Withdraw a session link: by its ``token``, or by ``room`` and ``jti`` (from the room's
    list of links, GET /api/rooms/{room}/links)."""

    token: Annotated[str, msgspec.Meta(max_length=8192)] | None = None
    room: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    jti: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None


class LinkStatusRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=8192)]


TokenId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RevocationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Withdraw one token (``jti``) or every token of ``subject`` issued until now."""

    jti: TokenId | None = None
    subject: Subject | None = None


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    ids: list[str] | None = None  # which dead letters; all of them (oldest first) if absent
    limit: int = REPLAY_MAX


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


async def read_body(request: web.Request, kind: type[Any]) -> Any:
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


async def principal_of(request: web.Request, *kinds: Kind) -> Principal:
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
    return json_response({"status": "ok", "node": request.app[keys.SETTINGS].node_id})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    if app[keys.DRAINING][0]:
        raise RapportError(Code.UNAVAILABLE, "This node is draining.", retry_after=1)
    if not await app[keys.PRESENCE].ping(READY_BUDGET_S):
        raise RapportError(Code.UNAVAILABLE, "Presence store unreachable.", retry_after=2)
    return json_response({"status": "ready", "node": app[keys.SETTINGS].node_id})


def practice_config(settings: Settings) -> dict[str, Any]:
    """The practice's look for the pages (telehealth/brand.py); nulls for the neutral look."""
    accent = brand.palette(settings.accent_color) if settings.accent_color else None
    return {
        "name": settings.practice_name,
        "logo_url": LOGO_PATH if settings.practice_logo else None,
        "accent": dataclasses.asdict(accent) if accent else None,
        "support_contact": settings.support_contact,
    }


async def page_config(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    return json_response(
        {
            "practice": practice_config(settings),
            "consent_text": settings.consent_text or DEFAULT_CONSENT,
            "emergency_info": settings.emergency_info,
            "show_queue_position": settings.show_queue_position,
            "grace": settings.grace,
            "max_participants": settings.max_participants,
            "console_idle_logoff": settings.console_idle_logoff,
            "blur_available": pages.blur_available(),
            "blur_frame_budget_ms": settings.blur_frame_budget_ms,
            "room_links": settings.room_links,  # the console shows its room link panel
        }
    )


async def create_session_link(request: web.Request) -> web.Response:
    principal = await principal_of(request, Kind.THERAPIST)
    body: SessionLinkRequest = await read_body(request, SessionLinkRequest)
    ensure_room(principal, body.room)
    if not 60 <= body.ttl <= MAX_LINK_TTL_S:
        raise RapportError(Code.INVALID_MESSAGE, f"ttl must be 60 to {MAX_LINK_TTL_S} seconds.")
    settings = request.app[keys.SETTINGS]
    minter = request.app[keys.MINTER]
    if minter is None:
        raise RapportError(Code.NOT_CONFIGURED, "This deployment mints session links elsewhere.")
    try:
        token = minter.mint_client(
            body.room, ttl=body.ttl, not_before=body.not_before, lang=body.lang
        )
    except ValueError as exc:
        raise RapportError(Code.INVALID_MESSAGE, str(exc)) from None
    client = await request.app[keys.VERIFIER].verify(token, Kind.CLIENT, check_time=False)
    assert isinstance(client, ClientPrincipal)
    starts_at_ms = 0
    if body.starts_at is not None:
        if not client.not_before - 1 <= body.starts_at < client.expires_at:
            raise RapportError(
                Code.INVALID_MESSAGE, "starts_at must fall within the link's window."
            )
        starts_at_ms = int(body.starts_at * 1000)
    issued = await links.register(request.app[keys.PRESENCE], token, client, starts_at_ms)
    await request.app[keys.AUDIT].record(
        AuditAction.LINK_ISSUED, actor_of(principal), room=body.room, link=client.jti
    )
    return json_response(
        {
            "url": session_link_url(settings, token),
            "short_url": links.short_url(settings, issued.code),
            "token": token,
            "room": body.room,
            "jti": client.jti,
            "not_before": client.not_before,
            "expires_at": client.expires_at,
            "starts_at": body.starts_at,
        },
        status=201,
    )


async def revoke_session_link(request: web.Request) -> web.Response:
    principal = await principal_of(request, Kind.THERAPIST, Kind.ADMIN)
    body: RevokeRequest = await read_body(request, RevokeRequest)
    presence = request.app[keys.PRESENCE]
    now_ms = int(time.time() * 1000)
    if body.token is not None and body.room is None and body.jti is None:
        client = await request.app[keys.VERIFIER].verify(body.token, Kind.CLIENT, check_time=False)
        assert isinstance(client, ClientPrincipal)
        room, jti, until_ms = client.room, client.jti, int(client.expires_at * 1000)
        if isinstance(principal, TherapistPrincipal):
            ensure_room(principal, room)
        listed = await presence.withdraw_room_link(room, jti, now_ms)
    elif body.token is None and body.room is not None and body.jti is not None:
        room, jti = body.room, body.jti
        if not is_room_id(room):
            raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
        ensure_admin_or_therapist_of(principal, room)
        listed = await presence.withdraw_room_link(room, jti, now_ms)
        if listed is None:
            raise RapportError(Code.NOT_FOUND, "The room lists no session link by that jti.")
        until_ms = listed.expires_at
    else:
        raise RapportError(Code.INVALID_MESSAGE, "Give either token, or room and jti.")
    await presence.revoke(jti, until_ms + 60_000)
    if listed is not None and listed.code:
        await presence.drop_short_link(listed.code)
    pid = client_participant_id(room, jti)
    await request.app[keys.AUDIT].record(
        AuditAction.LINK_WITHDRAWN,
        actor_of(principal),
        room=room,
        participant=pid,
        link=jti,
    )
    removed = await request.app[keys.SERVICE].withdraw(room, pid, actor_of(principal))
    return json_response({"revoked": jti, "removed": removed})


async def session_link_status(request: web.Request) -> web.Response:
    """A session link's state, for its page before anyone types: public (the token is the
    credential, sent in the body), counted as a connection attempt of the address, and
    answering with the state only (web/linkstatus.py)."""
    await count_attempt(request)
    body: LinkStatusRequest = await read_body(request, LinkStatusRequest)
    state = await link_state(request.app, body.token)
    response = json_response({"state": state})
    response.headers["Cache-Control"] = "no-store"
    return response


class ResolveRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(max_length=64)]


async def resolve_short_link(request: web.Request) -> web.Response:
    """A short link's session link token: public (the code is the credential, in the body),
    counted as a connection attempt of the address, like a link's status (web/shortlinks.py)."""
    await count_attempt(request)
    body: ResolveRequest = await read_body(request, ResolveRequest)
    response = json_response({"token": await shortlinks.resolve(request.app, body.code)})
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_room_links(request: web.Request) -> web.Response:
    """The room's session links made since ``?since=`` (default a day ago): the console passes
    the therapist's local midnight, for the links made today."""
    principal = await principal_of(request, Kind.ADMIN, Kind.THERAPIST)
    room = request.match_info["room"]
    if not is_room_id(room):
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    ensure_admin_or_therapist_of(principal, room)
    since = shortlinks.since_param(request.query)
    if isinstance(principal, AdminPrincipal):
        await request.app[keys.AUDIT].record(
            AuditAction.ROOM_VIEWED, actor_of(principal), room=room
        )
    response = json_response(
        {"room": room, "links": await shortlinks.room_links(request.app, room, since)}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_tokens(request: web.Request) -> web.Response:
    """An admin withdraws a token by jti, or every token of a subject issued until now. Live
    sockets of those tokens close on every node within a couple of seconds."""
    principal = await principal_of(request, Kind.ADMIN)
    body: RevocationRequest = await read_body(request, RevocationRequest)
    if (body.jti is None) == (body.subject is None):
        raise RapportError(Code.INVALID_MESSAGE, "Give exactly one of jti and subject.")
    app = request.app
    presence = app[keys.PRESENCE]
    now_ms = int(time.time() * 1000)
    # Any token withdrawn here was issued at most MAX_TTL ago, so it is expired by then.
    until_ms = now_ms + (MAX_TTL + app[keys.SETTINGS].jwt_leeway) * 1000
    if body.jti is not None:
        await presence.revoke(body.jti, until_ms)
        revocation = Revocation(at_ms=now_ms, jti=body.jti)
    else:
        assert body.subject is not None
        await presence.revoke_subject(body.subject, now_ms, until_ms)
        revocation = Revocation(at_ms=now_ms, subject=body.subject, cutoff_ms=now_ms)
    await app[keys.AUDIT].record(
        AuditAction.TOKEN_REVOKED,
        actor_of(principal),
        link=body.jti or "",
        reason="jti" if body.subject is None else f"subject:{body.subject}",
    )
    await presence.announce_revocation(revocation)
    closed = close_withdrawn(app, [revocation])
    return json_response(
        {"jti": body.jti, "subject": body.subject, "cutoff": now_ms / 1000, "closed_here": closed}
    )


async def list_rooms(request: web.Request) -> web.Response:
    principal = await principal_of(request, Kind.ADMIN)
    assert isinstance(principal, AdminPrincipal)
    await request.app[keys.AUDIT].record(AuditAction.ROOM_VIEWED, actor_of(principal))
    rooms = await room_summaries(request.app)
    wait_alert_s = request.app[keys.SETTINGS].wait_alert
    return json_response(
        {"rooms": rooms, "at": round(time.time(), 3), "wait_alert_s": wait_alert_s}
    )


async def get_room(request: web.Request) -> web.Response:
    principal = await principal_of(request, Kind.ADMIN, Kind.THERAPIST)
    room = request.match_info["room"]
    ensure_admin_or_therapist_of(principal, room)
    snapshot = await request.app[keys.PRESENCE].load(room)
    if isinstance(principal, AdminPrincipal):
        await request.app[keys.AUDIT].record(
            AuditAction.ROOM_VIEWED, actor_of(principal), room=room
        )
    if not snapshot.active:
        raise RapportError(Code.NOT_FOUND, "No active room by that id.")
    return json_response(await room_summary(request.app, snapshot, time.time()))


async def end_room(request: web.Request) -> web.Response:
    principal = await principal_of(request, Kind.ADMIN, Kind.THERAPIST)
    room = request.match_info["room"]
    ensure_admin_or_therapist_of(principal, room)
    before = await request.app[keys.PRESENCE].load(room)
    if not before.active:
        raise RapportError(Code.NOT_FOUND, "No active room by that id.")
    await request.app[keys.SERVICE].end_room(room, actor_of(principal))
    ended = sum(1 for p in before.participants.values() if p.active)
    return json_response({"room": room, "ended": ended})


@dataclass(frozen=True)
class RangeQuery:
    """A time range over one room or every room, or where a cursor left off."""

    room: str | None
    since: int
    until: int
    cursor: audit_export.Cursor | None
    limit: int


def _range_query(request: web.Request, cursor_param: str) -> RangeQuery:
    query = request.query
    unknown = set(query) - {"room", "since", "until", cursor_param, "limit"}
    if unknown:
        raise RapportError(Code.UNKNOWN_FIELD, f"Unknown parameter: {sorted(unknown)[0]}.")
    room = query.get("room") or None
    if room is not None and not is_room_id(room):
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    limit = int_param(query.get("limit"), "limit", 1, audit_export.PAGE, audit_export.PAGE)
    now = int(time.time() * 1000)
    since, until = audit_export.query_range(query.get("since"), query.get("until"), now)
    raw = query.get(cursor_param)
    cursor = audit_export.decode_cursor(raw) if raw else None
    return RangeQuery(room, since, until, cursor, limit)


async def export_audit(request: web.Request) -> web.StreamResponse:
    """The audit trail as JSON Lines of ECS documents, a page at a time (admin only)."""
    principal = await principal_of(request, Kind.ADMIN)
    q = _range_query(request, "cursor")
    page = await audit_export.read_page(
        request.app[keys.PRESENCE],
        room=q.room,
        since_ms=q.since,
        until_ms=q.until,
        cursor=q.cursor,
        limit=q.limit,
    )
    await request.app[keys.AUDIT].record(
        AuditAction.AUDIT_EXPORTED, actor_of(principal), room=q.room
    )
    body = b"".join(msgspec.json.encode(to_ecs(e)) + b"\n" for e in page.entries)
    headers = {"Rapport-Next-Cursor": page.cursor} if page.cursor else {}
    return web.Response(body=body, content_type="application/x-ndjson", headers=headers)


async def webhook_events(request: web.Request) -> web.Response:
    """The webhook events of a time range, delivered or not, for a receiver that missed some:
    the same ids and payloads, a page at a time (admin only)."""
    await principal_of(request, Kind.ADMIN)
    q = _range_query(request, "after")
    page = await read_feed(
        request.app[keys.PRESENCE],
        room=q.room,
        since_ms=q.since,
        until_ms=q.until,
        cursor=q.cursor,
        limit=q.limit,
    )
    events = [{"webhook_id": e.id, "payload": msgspec.Raw(e.body)} for e in page.events]
    return json_response({"events": events, "next": page.cursor})


def _webhooks(request: web.Request) -> WebhookWorker:
    worker = request.app[keys.WEBHOOKS]
    if worker is None:
        raise RapportError(Code.NOT_CONFIGURED, "Webhooks are off (no TELEHEALTH_WEBHOOK_URL).")
    return worker


async def list_dead_letters(request: web.Request) -> web.Response:
    await principal_of(request, Kind.ADMIN)
    unknown = set(request.query) - {"limit"}
    if unknown:
        raise RapportError(Code.UNKNOWN_FIELD, f"Unknown parameter: {sorted(unknown)[0]}.")
    limit = int_param(request.query.get("limit"), "limit", 1, DEAD_LETTER_PAGE, 100)
    deliverer = _webhooks(request).deliverer
    letters = await deliverer.dead_letters(limit)
    total = await deliverer.dead.count()
    return json_response({"dead_letters": [letter for _, letter in letters], "total": total})


async def replay_dead_letters(request: web.Request) -> web.Response:
    await principal_of(request, Kind.ADMIN)
    body: ReplayRequest = await read_body(request, ReplayRequest)
    if not 1 <= body.limit <= REPLAY_MAX:
        raise RapportError(Code.INVALID_MESSAGE, f"limit must be 1 to {REPLAY_MAX}.")
    if body.ids is not None and len(body.ids) > REPLAY_MAX:
        raise RapportError(Code.INVALID_MESSAGE, f"Give at most {REPLAY_MAX} ids at a time.")
    done = await _webhooks(request).deliverer.replay(body.ids, body.limit)
    remaining = await _webhooks(request).deliverer.dead.count()
    return json_response(
        {"replayed": done.delivered, "failed": done.failed, "remaining": remaining}
    )


def int_param(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RapportError(Code.INVALID_MESSAGE, f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise RapportError(Code.INVALID_MESSAGE, f"{name} must be {low} to {high}.")
    return value


def openapi_document() -> bytes:
    """The hand-written OpenAPI 3.1 document of this API (telehealth/web/openapi.json)."""
    return resources.files("telehealth.web").joinpath("openapi.json").read_bytes()


def add_routes(app: web.Application) -> None:
    document = openapi_document()  # read once, at wiring

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/config", page_config)
    app.router.add_get("/api/checkin", checkin_info)
    app.router.add_post("/api/session-links", create_session_link)
    app.router.add_post("/api/session-links/revoke", revoke_session_link)
    app.router.add_post("/api/session-links/status", session_link_status)
    app.router.add_post("/api/revocations", revoke_tokens)
    app.router.add_post("/api/short-links/resolve", resolve_short_link)
    app.router.add_get("/api/rooms/{room}/links", list_room_links)
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_get("/api/rooms/{room}", get_room)
    app.router.add_post("/api/rooms/{room}/end", end_room)
    app.router.add_get("/api/audit", export_audit)
    app.router.add_get("/api/events", webhook_events)
    app.router.add_get("/api/webhooks/dead-letters", list_dead_letters)
    app.router.add_post("/api/webhooks/dead-letters/replay", replay_dead_letters)
