"""Limits that hold across nodes (counted in presence/limits.py), applied at the doors:

- a WebSocket upgrade counts as one connection attempt of its address (a fixed window), and
  holds one of the address's places for sockets not yet authenticated until its first message;
- a REST request with a verified token counts against its principal's rate;
- a public lookup that takes a token as its credential (a session link's status) counts as a
  connection attempt of its address, so guessing links costs what opening sockets costs.
- a waiting client's reply counts against the participant's few replies a minute.

Each refusal has its own code: too_many_attempts, too_many_connections, rate_limited,
too_many_replies.
"""

from __future__ import annotations

import math

from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.auth.principal import Principal
from telehealth.web import keys
from telehealth.web.clientaddr import client_address, opaque
from telehealth.web.connection import Connection

ATTEMPT_WINDOW_S = 60.0
API_WINDOW_S = 60.0
REPLY_WINDOW_S = 60.0
REPLIES_PER_WINDOW = 5  # a few answers a minute; more is a stuck key or a flood


class PendingPlace:
    """A place among an address's unauthenticated sockets, given back once (idempotent)."""

    def __init__(self, app: web.Application, key: str) -> None:
        self._app = app
        self._key: str | None = key

    async def release(self) -> None:
        key, self._key = self._key, None
        if key is not None:
            await self._app[keys.LIMITS].release(key)


async def count_attempt(request: web.Request) -> str:
    """Count one attempt of the request's address, or refuse with too_many_attempts (429,
    Retry-After). Returns the address, for further limits."""
    app = request.app
    address = client_address(request, app[keys.TRUSTED_PROXIES])
    wait = await app[keys.LIMITS].hit(
        opaque(app[keys.ADDRESS_KEY], "attempt", address),
        app[keys.SETTINGS].address_max_attempts,
        ATTEMPT_WINDOW_S,
    )
    if wait > 0:
        raise RapportError(Code.TOO_MANY_ATTEMPTS, retry_after=max(1, math.ceil(wait)))
    return address


async def admit_socket(request: web.Request) -> PendingPlace:
    """Count the attempt and take a pending place for its address, or refuse (before the
    upgrade, as a plain 429 with Retry-After)."""
    app = request.app
    settings = app[keys.SETTINGS]
    limits = app[keys.LIMITS]
    address = await count_attempt(request)
    key = opaque(app[keys.ADDRESS_KEY], "pending", address)
    # A place outlives a crashed node by a few auth timeouts at most.
    if not await limits.acquire(key, settings.address_max_pending, settings.auth_timeout * 4):
        raise RapportError(
            Code.TOO_MANY_CONNECTIONS, retry_after=max(1, math.ceil(settings.auth_timeout))
        )
    return PendingPlace(app, key)


async def limit_api(request: web.Request, principal: Principal) -> None:
    """Count one REST request of ``principal`` (by token kind and subject)."""
    app = request.app
    key = opaque(app[keys.ADDRESS_KEY], "api", f"{principal.kind.value}\x00{principal.subject}")
    wait = await app[keys.LIMITS].hit(key, app[keys.SETTINGS].api_rate, API_WINDOW_S)
    if wait > 0:
        raise RapportError(Code.RATE_LIMITED, retry_after=max(1, math.ceil(wait)))


async def limit_reply(app: web.Application, conn: Connection) -> None:
    """Refuse a reply when the deployment turned replies off, or the participant (on any
    node) has sent their replies for this minute."""
    if not app[keys.SETTINGS].client_replies:
        raise RapportError(Code.REPLIES_OFF)
    key = opaque(app[keys.ADDRESS_KEY], "reply", f"{conn.room}\x00{conn.participant_id}")
    wait = await app[keys.LIMITS].hit(key, REPLIES_PER_WINDOW, REPLY_WINDOW_S)
    if wait > 0:
        raise RapportError(Code.TOO_MANY_REPLIES, retry_after=max(1, math.ceil(wait)))
