"""create_app(settings): wiring only. Every long-lived resource is a cleanup_ctx entry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from telehealth.auth.keys import key_source_from_settings
from telehealth.auth.tokens import TokenMinter, TokenVerifier
from telehealth.config import ConfigError, Settings
from telehealth.errors import Code
from telehealth.presence.base import PresenceUnavailable
from telehealth.presence.factory import create_presence
from telehealth.rooms.hub import Hub
from telehealth.rooms.reaper import Reaper
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.routing.base import Router
from telehealth.routing.local import LocalRouter
from telehealth.web import api, keys, pages, ws
from telehealth.web.errors import error_middleware
from telehealth.web.liveness import liveness_ctx
from telehealth.web.tasks import stop, wait_all

log = logging.getLogger("telehealth.app")


def _router(settings: Settings) -> Router:
    if not settings.redis_url:
        log.info("using single-node routing")
        return LocalRouter()
    from telehealth.redisconn import make_client
    from telehealth.routing.redis_pubsub import RedisRouter

    client = make_client(settings)
    return RedisRouter(client, settings.node_id, settings.redis_timeout)


async def _presence_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    presence = create_presence(settings)
    router = _router(settings)
    hub = Hub(show_position=settings.show_queue_position)
    rules = RoomRules(
        node_id=settings.node_id,
        grace_ms=int(settings.grace * 1000),
        waiting_grace_ms=int(settings.waiting_grace * 1000),
        max_participants=settings.max_participants,
    )
    service = RoomService(presence, router, hub, rules)
    app[keys.PRESENCE] = presence
    app[keys.ROUTER] = router
    app[keys.HUB] = hub
    app[keys.SERVICE] = service
    await router.start(service.on_envelope, service.recover)
    reaper = Reaper(
        service, presence, interval=settings.node_heartbeat, node_timeout=settings.node_timeout
    )
    with contextlib.suppress(Exception):
        await reaper.claim_own_leftovers()
    task = asyncio.create_task(reaper.run(), name="reaper")
    log.info("node %s ready", settings.node_id)
    yield
    await wait_all(app)
    await stop(task)
    with contextlib.suppress(PresenceUnavailable):
        await presence.forget_node(settings.node_id)  # drained: nobody need reap us
    await router.close()
    await presence.close()


async def _auth_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.VERIFIER] = TokenVerifier(settings, key_source_from_settings(settings))
    try:
        app[keys.MINTER] = TokenMinter(settings)
    except ConfigError:
        app[keys.MINTER] = None
        log.info("no signing key: this node verifies tokens but does not mint session links")
    yield


async def _close_sockets(app: web.Application) -> None:
    """On shutdown: stop taking sockets and tell everyone to reconnect (1001, going away)."""
    app[keys.DRAINING][0] = True
    sockets = app[keys.SOCKETS]
    conns = list(sockets)
    for conn in conns:
        conn.close(Code.GOING_AWAY, reconnect=True)
    if conns:
        await asyncio.sleep(0.2)


def create_app(settings: Settings) -> web.Application:
    settings.validate()
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app.on_response_prepare.append(pages.security_headers)
    app[keys.SETTINGS] = settings
    app[keys.SOCKETS] = set()
    app[keys.DRAINING] = [False]
    app[keys.TASKS] = set()
    app[keys.IDENTITIES] = {}
    app.cleanup_ctx.append(_auth_ctx)
    app.cleanup_ctx.append(_presence_ctx)
    app.cleanup_ctx.append(liveness_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/ws", ws.signaling)
    api.add_routes(app)
    pages.add_routes(app)
    return app
