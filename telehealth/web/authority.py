"""Sessions end when their authority ends: one sweep over the open sockets, once a second.

Each round it
- reads the withdrawals of the last seconds (``PresenceStore.recent_revocations``, written by
  whichever node took the revocation) and closes the sockets of withdrawn tokens, so a socket
  on any node closes within about a second (the node that took it closes its own at once);
- closes sockets whose token has run out (``telehealth.auth.authority`` has the rules), warns
  them ahead of time (``token_expiring``), refreshes a therapist's token where this node can
  mint (``token_refreshed``), and hands out fresh TURN credentials before the old ones expire
  (``ice_servers``).

A socket's token can also be replaced by the page itself (``reauth``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from signaling import messages as m
from signaling.errors import Code, RapportError
from telehealth.auth.authority import Authority
from telehealth.auth.principal import ClientPrincipal, Kind, Principal
from telehealth.auth.tokens import MAX_TTL
from telehealth.ids import client_participant_id
from telehealth.rooms.ports import PresenceUnavailable, Revocation
from telehealth.rooms.states import State
from telehealth.turn import ice_servers, turn_expiry
from telehealth.web import keys
from telehealth.web.connection import Connection
from telehealth.web.tasks import spawn, stop

log = logging.getLogger("telehealth.ws")

SWEEP_S = 1.0
# Withdrawals are re-read for this long: a node that missed a round (or whose clock is a little
# behind the revoking node's) still sees them. Closing an already withdrawn socket is a no-op.
POLL_WINDOW_MS = 15_000


def grant(conn: Connection, principal: Principal) -> None:
    """The socket acts with ``principal``'s authority, until it ends."""
    conn.authority = Authority.of(principal)


async def verify_client(app: web.Application, token: str, room: str) -> ClientPrincipal:
    """A session link for ``room``. One past its ``exp`` still opens while its client is in
    the session and within the overrun: a dropped connection may come back to finish."""
    verifier = app[keys.VERIFIER]
    overrun = app[keys.SETTINGS].session_overrun
    try:
        principal = await verifier.verify(token, Kind.CLIENT)
    except RapportError as err:
        if err.code is not Code.TOKEN_EXPIRED or overrun <= 0:
            raise
        principal = await verifier.verify(token, Kind.CLIENT, check_time=False, check_revoked=True)
        assert isinstance(principal, ClientPrincipal)
        if principal.room != room or time.time() >= principal.expires_at + overrun:
            raise err from None
        me = (await app[keys.PRESENCE].load(room)).get(client_participant_id(room, principal.jti))
        if me is None or me.state is not State.ADMITTED:
            raise err from None
    assert isinstance(principal, ClientPrincipal)
    return principal


def ice_for(app: web.Application, conn: Connection, now: float | None = None) -> list[m.IceServer]:
    """ICE servers for the socket's participant, with TURN credentials that last as long as
    the session may (the token's expiry plus the overrun), capped at ``turn_ttl``."""
    settings = app[keys.SETTINGS]
    auth = conn.authority
    now = time.time() if now is None else now
    ends = None if auth is None else auth.expires_at + settings.session_overrun
    servers = ice_servers(settings, conn.participant_id, now, ends)
    if auth is not None:
        has_turn = any(s.username for s in servers)
        auth.turn_expires = turn_expiry(settings, now, ends) if has_turn else math.inf
    return servers


def close_withdrawn(app: web.Application, revocations: Iterable[Revocation]) -> int:
    """Close this node's sockets whose token one of ``revocations`` withdraws."""
    listed = list(revocations)
    closed = 0
    if not listed:
        return 0
    sockets = app[keys.SOCKETS]
    for conn in list(sockets):
        auth = conn.authority
        if auth is None or conn.closing is not None:
            continue
        if any(auth.withdrawn_by(r) for r in listed):
            log.info("connection %s closed: its token was withdrawn", conn.conn_id)
            conn.close(Code.TOKEN_REVOKED)
            closed += 1
    return closed


async def reauth(app: web.Application, conn: Connection, token: str) -> None:
    """Replace the socket's token with a fresh one of the same kind, subject and room."""
    auth = conn.authority
    if auth is None or auth.kind is Kind.CLIENT:
        raise RapportError(Code.REAUTH_REFUSED, "A session link cannot be renewed here.")
    principal = await app[keys.VERIFIER].verify(token, (Kind.THERAPIST, Kind.ADMIN))
    if not auth.may_renew_with(principal, conn.room):
        raise RapportError(Code.REAUTH_REFUSED)
    auth.renew(principal)
    log.info("connection %s renewed its token", conn.conn_id)
    conn.send(m.encode(m.Reauthed(expires_at=auth.expires_at)))
    if auth.kind is Kind.THERAPIST:
        conn.send(m.encode(m.IceServers(ice_servers=ice_for(app, conn))))


def sweep(app: web.Application, now: float) -> None:
    """One round of expiry checks over every socket."""
    sockets = app[keys.SOCKETS]
    for conn in list(sockets):
        auth = conn.authority
        if auth is None or conn.closing is not None:
            continue
        if auth.kind is Kind.CLIENT and not conn.joined:
            continue  # still joining: whether they are in the session is not known yet
        try:
            _check(app, conn, auth, now)
        except Exception:  # one socket must not stop the round for the others
            log.exception("authority check of connection %s failed", conn.conn_id)


def _in_session(app: web.Application, conn: Connection) -> bool:
    snapshot = app[keys.HUB].snapshot(conn.room)
    me = snapshot.get(conn.participant_id) if snapshot is not None else None
    return me is not None and me.state is State.ADMITTED


def _check(app: web.Application, conn: Connection, auth: Authority, now: float) -> None:
    settings = app[keys.SETTINGS]
    in_session = auth.kind is Kind.CLIENT and _in_session(app, conn)
    closes = auth.closes_at(
        leeway=settings.jwt_leeway, overrun=settings.session_overrun, in_session=in_session
    )
    if now >= closes:
        _expire(app, conn, auth, in_session)
        return
    if settings.token_refresh and app[keys.MINTER] is not None and auth.refresh_due(now):
        auth.refreshed_for = auth.expires_at
        spawn(app, _refresh(app, conn, auth))
    elif auth.warn_due(now, closes) and (auth.kind is not Kind.CLIENT or in_session):
        auth.warned_for = closes
        code = _closing_code(auth, in_session)
        conn.send(
            m.encode(m.TokenExpiring(expires_at=auth.expires_at, closes_at=closes, code=code))
        )
    if auth.kind is not Kind.ADMIN and auth.turn_due(now, closes, settings.turn_ttl):
        conn.send(m.encode(m.IceServers(ice_servers=ice_for(app, conn, now))))


def _closing_code(auth: Authority, in_session: bool) -> str:
    if auth.kind is not Kind.CLIENT:
        return Code.SESSION_EXPIRED.value
    return (Code.TIME_UP if in_session else Code.TOKEN_EXPIRED).value


def _expire(app: web.Application, conn: Connection, auth: Authority, in_session: bool) -> None:
    code = Code(_closing_code(auth, in_session))
    log.info("connection %s closed: its authority ended (%s)", conn.conn_id, code.value)
    conn.close(code)
    if auth.kind is Kind.CLIENT and conn.joined and conn.actor is not None:
        # The client's part is over: they leave the room rather than keep a place for a
        # reconnect that their link no longer allows.
        spawn(app, _leave(app, conn))


async def _leave(app: web.Application, conn: Connection) -> None:
    assert conn.actor is not None
    try:
        await app[keys.SERVICE].leave(conn.room, conn.actor, conn.conn_id)
    except PresenceUnavailable as exc:  # the grace period lapses the place instead
        log.warning("participant %s could not leave at expiry (%s)", conn.participant_id, exc)


async def _refresh(app: web.Application, conn: Connection, auth: Authority) -> None:
    """Mint a fresh therapist token like the socket's, unless its subject or token has been
    withdrawn; the page is handed it and the socket's expiry moves."""
    minter = app[keys.MINTER]
    verifier = app[keys.VERIFIER]
    assert minter is not None
    try:
        await verifier.ensure_not_revoked(auth.jti, auth.subject, auth.issued_at)
        ttl = min(MAX_TTL, max(60.0, auth.lifetime))
        token = minter.mint_therapist(auth.subject, sorted(auth.rooms), ttl=ttl)
        principal = await verifier.verify(token, Kind.THERAPIST)
    except RapportError as err:
        log.info("connection %s: no token refresh (%s)", conn.conn_id, err.code.value)
        return
    except PresenceUnavailable:
        log.info("connection %s: no token refresh (presence unavailable)", conn.conn_id)
        auth.refreshed_for = 0.0  # try again next round
        return
    if conn.closing is not None:
        return
    auth.renew(principal)
    log.info("connection %s: token refreshed", conn.conn_id)
    conn.send(m.encode(m.TokenRefreshed(token=token, expires_at=auth.expires_at)))
    conn.send(m.encode(m.IceServers(ice_servers=ice_for(app, conn))))


async def _run(app: web.Application, every: float) -> None:
    presence = app[keys.PRESENCE]
    while True:
        await asyncio.sleep(every)
        try:
            since = int(time.time() * 1000) - POLL_WINDOW_MS
            close_withdrawn(app, await presence.recent_revocations(since))
        except PresenceUnavailable:
            pass  # the next round reads the same window again
        except Exception:
            log.exception("reading withdrawals failed")
        try:
            sweep(app, time.time())
        except Exception:  # one bad round must not end the checks for good
            log.exception("authority sweep failed")


async def authority_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_run(app, SWEEP_S), name="authority")
    yield
    await stop(task)
