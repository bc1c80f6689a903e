"""The signaling WebSocket: one per participant (or admin feed).

The socket authenticates with its first message (never the URL) within a deadline. Then one
reader loop decodes each frame through the codec and dispatches it; everything the participant
is sent goes through its Connection's bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import unicodedata
from typing import assert_never
from urllib.parse import urlsplit

import msgspec
from aiohttp import WSMsgType, web

from signaling import messages as m
from signaling.errors import Code, RapportError
from signaling.sdp import check_sdp
from telehealth.auth.principal import (
    AdminPrincipal,
    Kind,
    TherapistPrincipal,
    ensure_room,
)
from telehealth.ids import client_participant_id, connection_id, therapist_participant_id
from telehealth.rooms.events import Actor, ActorRole, AuditAction, Outcome
from telehealth.rooms.model import Snapshot
from telehealth.rooms.ports import PresenceUnavailable
from telehealth.rooms.roomlinks import VIA_ROOM_LINK
from telehealth.rooms.states import Role
from telehealth.turn import ice_transport_policy
from telehealth.web import keys, precall
from telehealth.web.admin import admin_feed
from telehealth.web.authority import grant, ice_for, reauth, verify_client
from telehealth.web.candidates import CandidateBudget
from telehealth.web.checkin import CheckIn, check_in, record_consent
from telehealth.web.connection import Connection
from telehealth.web.limiting import PendingPlace, admit_socket, limit_reply
from telehealth.web.liveness import HEARTBEAT_S
from telehealth.web.profile import adopt_claimed_name
from telehealth.web.quality import accept_quality
from telehealth.web.ratelimit import TokenBucket
from telehealth.web.roomlinks import check_visit
from telehealth.web.seating import seat_client
from telehealth.web.tasks import spawn

log = logging.getLogger("telehealth.ws")

RETRY_AFTER_S = 2
MAX_SOCKETS_PER_IDENTITY = 3
THERAPIST_ACTIONS = (
    m.Admit,
    m.Deny,
    m.Remove,
    m.SendBack,
    m.EndSession,
    m.Message,
    m.RunningLate,
)


def origin_allowed(request: web.Request) -> bool:
    """Browsers send Origin; only our own pages (and configured extras) may open sockets."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: the probe, a practice's server
    settings = request.app[keys.SETTINGS]
    allowed = {f"{request.scheme}://{request.host}", _origin(settings.base_url)}
    allowed.update(settings.allowed_origins)
    return origin in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def clean_name(raw: str | None) -> str:
    """A display name: trimmed, printable, 1-64 characters."""
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= 64 or any(unicodedata.category(c).startswith("C") for c in name):
        raise RapportError(Code.INVALID_NAME)
    return name


async def signaling(request: web.Request) -> web.StreamResponse:
    app = request.app
    if app[keys.DRAINING][0]:
        raise RapportError(Code.UNAVAILABLE, "This server is restarting.", retry_after=1)
    if not app[keys.PRESENCE].healthy:
        # Refuse before the upgrade: a plain 503 with Retry-After is what load balancers and
        # browsers understand; sockets already open are left alone.
        raise RapportError(Code.UNAVAILABLE, retry_after=RETRY_AFTER_S)
    if not origin_allowed(request):
        raise RapportError(Code.ORIGIN_NOT_ALLOWED)
    pending = await admit_socket(request)  # per-address caps, across nodes (web/limiting.py)
    try:
        return await _upgraded(request, pending)
    finally:
        await pending.release()


async def _upgraded(request: web.Request, pending: PendingPlace) -> web.StreamResponse:
    app = request.app
    settings = app[keys.SETTINGS]
    # No per-socket heartbeat timer and no autoping: one liveness sweep pings silent sockets
    # and cuts off dead ones (telehealth/web/liveness.py), and pongs must reach the reader.
    ws = web.WebSocketResponse(max_msg_size=settings.ws_max_msg, autoping=False, compress=False)
    await ws.prepare(request)
    conn = Connection(ws, connection_id(), settings.out_queue_max, request.transport)
    app[keys.SOCKETS].add(conn)
    try:
        if await _open(app, conn, pending):
            await _serve_participant(app, conn)
    except RapportError as err:
        conn.close(err.code if err.spec.close_code else Code.AUTH_REQUIRED)
    except PresenceUnavailable:
        conn.close(Code.UNAVAILABLE, reconnect=True, retry_after=RETRY_AFTER_S)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("socket %s failed", conn.conn_id)
        conn.close(Code.INTERNAL)
    finally:
        await _finish(app, conn)
    return ws


async def _open(app: web.Application, conn: Connection, pending: PendingPlace) -> bool:
    """Authenticate the socket and join its room. True for a participant's socket, False when
    it ended here (refused, or the admin feed ran to its end). The first message and its
    token are dropped on return instead of living as long as the socket."""
    try:
        auth = await _first_message(conn, app[keys.SETTINGS].auth_timeout)
    finally:
        await pending.release()  # no longer a socket waiting to authenticate
    if auth is None:
        conn.close(Code.AUTH_REQUIRED)
        return False
    try:
        return await _authenticate(app, conn, auth)
    except RapportError as err:
        await _audit_refusal(app, conn, auth, err)
        raise


async def _audit_refusal(
    app: web.Application, conn: Connection, auth: m.Auth, err: RapportError
) -> None:
    """Every refused join goes into the audit trail with its code: the room it asked for
    (when that is a room id), and who asked, as far as the token was proved. A missing display
    name is not a refusal of the person: the client page checks its link before anyone types,
    with an `auth` that has no name yet, and that check is not an event."""
    if err.code is Code.INVALID_NAME:
        return
    actor = conn.actor or Actor(role=ActorRole(auth.role), sub="")  # nothing proved
    app[keys.METRICS].joins_refused.labels(err.code.value).inc()
    await app[keys.AUDIT].record(
        AuditAction.JOIN_REFUSED,
        actor,
        room=auth.room,
        outcome=Outcome.FAILURE,
        reason=err.code.value,
        participant=conn.participant_id,
    )


async def _first_message(conn: Connection, timeout: float) -> m.Auth | None:
    ws = conn.ws
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:  # pings and pongs before the first message do not count as it
        remaining = deadline - loop.time()
        if remaining <= 0:  # (aiohttp reads a timeout of 0 as "none")
            raise RapportError(Code.AUTH_TIMEOUT)
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError:
            raise RapportError(Code.AUTH_TIMEOUT) from None
        if not await conn.answer_control(msg):
            break
    if msg.type is WSMsgType.ERROR and ws.close_code == 1009:
        raise RapportError(Code.FRAME_TOO_LARGE)
    if msg.type is not WSMsgType.TEXT:
        return None
    try:
        first = m.decode(msg.data)
    except RapportError:
        return None
    return first if isinstance(first, m.Auth) else None


async def _authenticate(app: web.Application, conn: Connection, auth: m.Auth) -> bool:
    """Verify the token, join the room and send the welcome. False for the admin feed."""
    settings = app[keys.SETTINGS]
    verifier = app[keys.VERIFIER]
    service = app[keys.SERVICE]
    if auth.role == "admin":
        principal = await verifier.verify(auth.token, Kind.ADMIN)
        assert isinstance(principal, AdminPrincipal)
        grant(conn, principal)
        log.info("admin feed %s opened", conn.conn_id)
        await app[keys.AUDIT].record(
            AuditAction.ROOM_VIEWED, Actor(role=ActorRole.ADMIN, sub=principal.subject)
        )
        await admin_feed(app, conn)
        return False
    if auth.room is None:
        raise RapportError(Code.WRONG_ROOM, "Say which room to join.")
    room = auth.room
    checked = CheckIn(emergency=None, consent=None)  # a therapist checks in with nothing
    if auth.role == "client":
        client = await verify_client(app, auth.token, room)
        conn.actor = Actor(role=ActorRole.CLIENT, sub=client.subject)  # proved, for the audit
        ensure_room(client, room)  # (the verifier refused a withdrawn link)
        if client.via == VIA_ROOM_LINK:
            await check_visit(app, room, client)  # locked or full since the door let them in?
        grant(conn, client)
        conn.role, conn.participant_id = Role.CLIENT, client_participant_id(room, client.jti)
        name, link, ends_at = clean_name(auth.name), client.jti, int(client.expires_at * 1000)
        checked = check_in(app[keys.SETTINGS], auth)  # before anything is joined
    else:
        therapist = await verifier.verify(auth.token, Kind.THERAPIST)
        assert isinstance(therapist, TherapistPrincipal)
        conn.actor = Actor(role=ActorRole.THERAPIST, sub=therapist.subject)
        ensure_room(therapist, room)
        grant(conn, therapist)
        conn.role = Role.THERAPIST
        conn.participant_id = therapist_participant_id(room, therapist.subject)
        name, link = clean_name(auth.name) if auth.name else "Your therapist", ""
    conn.room = room
    conn.actor = msgspec.structs.replace(conn.actor, participant=conn.participant_id)
    claim_identity(app, conn)
    resume: str | None = None
    if conn.role is Role.CLIENT:  # the seat decides the participant (web/seating.py)
        joined, resume = await seat_client(
            app, conn, name, link, auth, checked.emergency, ends_at, via=client.via
        )
        if checked.consent is not None and not joined.resumed:
            assert conn.actor is not None
            await record_consent(app, conn.actor, room, checked.consent)
    else:
        joined = await service.join(
            room, conn.actor, conn.role, name, conn.conn_id, auth.device, link=link
        )
        assert isinstance(therapist, TherapistPrincipal)
        await adopt_claimed_name(app, room, therapist)
    conn.joined = True  # from here on, a closing socket is a drop to record
    conn.send(
        m.encode(
            m.Welcome(
                participant_id=conn.participant_id,
                role=conn.role.value,
                room=room,
                ice_servers=ice_for(app, conn),
                resumed=joined.resumed,
                grace=settings.grace,
                heartbeat=HEARTBEAT_S,
                resume=resume,
                ice_transport_policy=ice_transport_policy(settings),
                quality_interval=settings.quality_interval,
                replies=conn.role is Role.CLIENT and settings.client_replies,
            )
        )
    )
    app[keys.HUB].attach(conn, joined.snapshot)
    # Another node's snapshot of this room may have arrived between our commit and the attach,
    # when this node had no socket in the room and so ignored it: read the room once more.
    with contextlib.suppress(PresenceUnavailable):  # pub/sub brings the view up to date anyway
        await service.catch_up(room)
    log.info(
        "participant %s (%s) %s room %s on connection %s",
        conn.participant_id,
        conn.role.value,
        "resumed in" if joined.resumed else "joined",
        room,
        conn.conn_id,
    )
    return True


async def _serve_participant(app: web.Application, conn: Connection) -> None:
    ws = conn.ws
    bucket = TokenBucket()
    candidates = CandidateBudget(app[keys.SETTINGS].max_candidates)
    limited = False
    async for msg in ws:
        if conn.closing is not None:
            break
        conn.seen = True  # alive, for the liveness sweep
        if msg.type is not WSMsgType.TEXT and await conn.answer_control(msg):
            continue
        if not bucket.allow():
            if not limited:  # one error per flood, not one per frame
                _error(app, conn, RapportError(Code.RATE_LIMITED, retry_after=1), None)
            limited = True
            continue
        limited = False
        if msg.type is not WSMsgType.TEXT:
            if msg.type is WSMsgType.BINARY:
                _error(app, conn, RapportError(Code.INVALID_JSON, "Send text frames."), None)
            continue
        ref: str | None = None
        try:
            message = m.decode(msg.data)
            ref = type(message).__struct_config__.tag  # type: ignore[assignment]
            candidates.check(message)
            await _dispatch(app, conn, message)
            candidates.relayed(message)
        except RapportError as err:
            _error(app, conn, err, ref)  # one refused message never ends the socket
        except PresenceUnavailable:
            _error(app, conn, RapportError(Code.UNAVAILABLE, retry_after=RETRY_AFTER_S), ref)
    if ws.close_code == 1009:
        log.info("connection %s closed: frame too large", conn.conn_id)


def _error(app: web.Application, conn: Connection, err: RapportError, ref: str | None) -> None:
    app[keys.METRICS].errors.labels(err.code.value).inc()
    conn.send(
        m.encode(
            m.Error(code=err.code.value, message=err.message, ref=ref, retry_after=err.retry_after)
        )
    )


async def _dispatch(app: web.Application, conn: Connection, message: m.Inbound) -> None:
    service = app[keys.SERVICE]
    settings = app[keys.SETTINGS]
    room, me, actor = conn.room, conn.participant_id, conn.actor
    assert actor is not None  # set when the socket joined
    if isinstance(message, THERAPIST_ACTIONS) and conn.role is not Role.THERAPIST:
        raise RapportError(Code.FORBIDDEN, "Only the room's therapist can do that.")
    match message:
        case m.Offer() | m.Answer():
            started = time.perf_counter()
            check_sdp(
                message.sdp, "offer" if isinstance(message, m.Offer) else "answer", settings.sdp_max
            )
            await service.relay(room, me, message)
            app[keys.METRICS].relay.observe(time.perf_counter() - started)
        case m.Candidate() | m.Hangup():
            started = time.perf_counter()
            await service.relay(room, me, message)
            app[keys.METRICS].relay.observe(time.perf_counter() - started)
        case m.Admit(participant_ids=pids):
            await service.admit(room, actor, pids)
        case m.Deny(participant_id=pid):
            await service.deny(room, actor, pid)
        case m.Remove(participant_id=pid):
            await service.remove(room, actor, pid)
        case m.SendBack(participant_id=pid):
            await service.send_back(room, actor, pid)
        case m.EndSession():
            await service.end_session(room, actor)
        case m.Message(text=text, to=to):
            await service.message(room, actor, text, to)
        case m.RunningLate(minutes=minutes):
            await service.running_late(room, actor, minutes)
            await app[keys.AUDIT].record(
                AuditAction.RUNNING_LATE, actor, room=room, participant=me, minutes=minutes
            )
        case m.Reply(text=text):
            await limit_reply(app, conn)
            await service.reply(room, me, text)
        case m.Chat(text=text):
            await service.chat(room, me, text)
        case m.Media(audio=audio, video=video, screen=screen):
            await service.media(room, me, audio, video, screen)
        case m.Leave():
            await service.leave(room, actor, conn.conn_id)
        case m.Ping(id=ping_id):
            conn.send(m.encode(m.Pong(id=ping_id)))
        case m.Auth():
            raise RapportError(Code.INVALID_MESSAGE, "This socket is already authenticated.")
        case m.Reauth(token=token):
            await reauth(app, conn, token)
        case m.PrecallOffer():
            await precall.offer(app, conn, message)
        case m.PrecallResult():
            await precall.result(app, conn, message)
        case m.PrecallStop():
            await precall.stop(app, conn)
        case m.Quality():
            await accept_quality(app, conn, message)
        case _:  # every inbound type has a case: mypy fails here on a new one left out
            assert_never(message)


def claim_identity(app: web.Application, conn: Connection) -> None:
    """At most a few sockets per participant on a node: a new tab takes over from the old one,
    so more than that at once is a client gone wrong (or a token being abused)."""
    sockets = app[keys.IDENTITIES]
    key = (conn.room, conn.participant_id)
    if sockets.get(key, 0) >= MAX_SOCKETS_PER_IDENTITY:
        raise RapportError(Code.TOO_MANY_SOCKETS)
    sockets[key] = sockets.get(key, 0) + 1
    conn.identity = key


def release_identity(app: web.Application, conn: Connection) -> None:
    if conn.identity is None:
        return
    sockets = app[keys.IDENTITIES]
    key, conn.identity = conn.identity, None
    sockets[key] -= 1
    if sockets[key] <= 0:
        del sockets[key]


async def _finish(app: web.Application, conn: Connection) -> None:
    app[keys.SOCKETS].discard(conn)
    # The socket's pre-call test peer goes with it, as its own task: it closes even when
    # aiohttp cancelled this handler, and nothing below waits for it.
    spawn(app, precall.socket_closed(app, conn))
    app[keys.METRICS].closes.labels(conn.closing.value if conn.closing else "peer_closed").inc()
    release_identity(app, conn)
    seen = app[keys.HUB].snapshot(conn.room)
    app[keys.HUB].detach(conn)
    try:
        if conn.joined and conn.closing not in (Code.REPLACED, Code.LEFT):
            # aiohttp cancels the handler of a peer that has gone; the drop must still be
            # recorded, so it runs as its own task.
            await asyncio.shield(spawn(app, _dropped(app, conn, seen)))
    finally:
        if conn.closing is None and not conn.ws.closed:
            conn.close(Code.GOING_AWAY)
        await conn.aclose()
        try:
            await conn.ws.close()
        except Exception as exc:  # the peer is gone already; nothing is owed to it
            log.debug("connection %s: close failed (%s)", conn.conn_id, type(exc).__name__)


async def _dropped(app: web.Application, conn: Connection, seen: Snapshot | None) -> None:
    try:
        await app[keys.SERVICE].dropped(conn.room, conn.participant_id, conn.conn_id, seen)
        log.info("participant %s dropped from connection %s", conn.participant_id, conn.conn_id)
    except PresenceUnavailable as exc:
        log.warning(
            "participant %s dropped while presence was unavailable (%s)", conn.participant_id, exc
        )
