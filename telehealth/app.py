"""create_app(settings): wiring only. Every long-lived resource is a cleanup_ctx entry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from signaling.errors import Code
from telehealth import logs
from telehealth.audit.trail import AuditTrail
from telehealth.auth.keys import key_source_from_settings
from telehealth.auth.tokens import TokenMinter, TokenVerifier
from telehealth.brand import BrandError, Logo, load_logo
from telehealth.config import ConfigError, Settings
from telehealth.media.desk import DeskRules, PrecallDesk
from telehealth.media.echo import EchoPeer, configuration
from telehealth.metrics import Metrics
from telehealth.presence.factory import create_presence, create_webhook_stores
from telehealth.presence.limits import create_limits
from telehealth.presence.roomlinks import create_room_links
from telehealth.presence.timed import timed
from telehealth.rooms.hub import Hub
from telehealth.rooms.ports import PresenceUnavailable, Router
from telehealth.rooms.reaper import Reaper
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.translog import TransitionLog
from telehealth.routing.local import LocalRouter
from telehealth.web import api, keys, pages, ws
from telehealth.web import metrics as metrics_http
from telehealth.web import monitor as monitor_http
from telehealth.web import profile as profile_http
from telehealth.web import roomlinks as roomlinks_http
from telehealth.web.authority import authority_ctx
from telehealth.web.clientaddr import address_key, trusted_networks
from telehealth.web.errors import error_middleware
from telehealth.web.liveness import liveness_ctx
from telehealth.web.metrics import node_state
from telehealth.web.quality import ForgetOnLeave
from telehealth.web.tasks import stop, wait_all
from telehealth.webhooks.delivery import Deliverer
from telehealth.webhooks.sender import Sender
from telehealth.webhooks.worker import WebhookWorker

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
    if settings.redis_url:  # the in-memory store answers in microseconds: nothing to watch
        presence = timed(presence, app[keys.METRICS].redis_call)
    app[keys.PRESENCE] = presence
    yield
    try:
        await presence.forget_node(settings.node_id)  # drained: nobody need reap us
    except PresenceUnavailable as exc:
        log.warning("could not remove this node from presence at shutdown (%s)", exc)
    await presence.close()


async def _limits_ctx(app: web.Application) -> AsyncIterator[None]:
    """Counters for per-address and per-principal limits (one node's, or the deployment's)."""
    settings = app[keys.SETTINGS]
    app[keys.LIMITS] = limits = create_limits(settings)
    app[keys.ADDRESS_KEY] = address_key(settings)
    app[keys.TRUSTED_PROXIES] = trusted_networks(settings)
    yield
    await limits.close()


async def _router_ctx(app: web.Application) -> AsyncIterator[None]:
    router = app[keys.ROUTER] = _router(app[keys.SETTINGS])
    yield
    await router.close()


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    """The room service and its listeners: the fan-out (built in), then the transition log.
    Receiving from other nodes starts here, once there is a service to hand envelopes to."""
    settings = app[keys.SETTINGS]
    router = app[keys.ROUTER]
    hub = app[keys.HUB] = Hub(show_position=settings.show_queue_position)
    rules = RoomRules(
        node_id=settings.node_id,
        grace_ms=int(settings.grace * 1000),
        waiting_grace_ms=int(settings.waiting_grace * 1000),
        max_participants=settings.max_participants,
    )
    service = app[keys.SERVICE] = RoomService(app[keys.PRESENCE], router, hub, rules)
    service.listen(TransitionLog())
    service.listen(app[keys.METRICS].on_change)
    service.listen(ForgetOnLeave(app))  # a participant's quality timeline ends with their session
    app[keys.AUDIT] = AuditTrail(app[keys.PRESENCE], settings.node_id)
    await router.start(service.on_envelope, service.recover)
    yield
    await wait_all(app)  # drops still being recorded


async def _reaper_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    reaper = Reaper(
        app[keys.SERVICE],
        app[keys.PRESENCE],
        interval=settings.node_heartbeat,
        node_timeout=settings.node_timeout,
    )
    try:
        await reaper.claim_own_leftovers()
    except Exception as exc:  # the reaper's first tick tries again
        log.warning("could not claim this node's leftovers at start (%s)", type(exc).__name__)
    task = asyncio.create_task(reaper.run(), name="reaper")
    log.info("node %s ready", settings.node_id)
    yield
    await stop(task)


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The webhook delivery worker, when TELEHEALTH_WEBHOOK_URL is set: it reads the rooms'
    streams through a consumer group; committed changes only ring its bell."""
    settings = app[keys.SETTINGS]
    if not settings.webhook_url or not settings.webhook_secret:
        app[keys.WEBHOOKS] = None
        yield
        return
    group, dead = create_webhook_stores(settings, app[keys.PRESENCE])
    sender = Sender(settings.webhook_url, settings.webhook_secret, settings.webhook_timeout)
    retry_for_ms = int(settings.webhook_retry_for * 1000)
    deliverer = Deliverer(
        sender, dead, retry_for_ms=retry_for_ms, backoff_s=settings.webhook_backoff
    )
    worker = app[keys.WEBHOOKS] = WebhookWorker(
        app[keys.PRESENCE],
        group,
        deliverer,
        node_id=settings.node_id,
        retry_for_ms=retry_for_ms,
        takeover_ms=int(settings.webhook_takeover * 1000),
    )
    app[keys.SERVICE].listen(worker.nudge)
    task = asyncio.create_task(worker.run(), name="webhooks")
    log.info("webhooks on: retried for %d s, then dead-lettered", settings.webhook_retry_for)
    yield
    worker.stop()
    await stop(task)
    await sender.close()
    await dead.close()
    await group.close()


async def _precall_ctx(app: web.Application) -> AsyncIterator[None]:
    """The pre-call test peers: closed at drain (on_shutdown) and, again, here at cleanup."""
    settings = app[keys.SETTINGS]
    rules = DeskRules(
        running=settings.precall_max,
        queued=settings.precall_queue,
        queue_wait=settings.precall_queue_wait,
        time_limit=settings.precall_time_limit,
    )
    # On loopback (tests) the peer offers 127.0.0.1, for its own connection only.
    hosts = ["127.0.0.1"] if settings.loopback else []
    stun = () if settings.loopback else settings.stun_urls
    desk = app[keys.PRECALL] = PrecallDesk(rules, lambda: EchoPeer(configuration(stun), hosts))
    yield
    await desk.close_all()


async def _auth_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.VERIFIER] = TokenVerifier(
        settings, key_source_from_settings(settings), app[keys.PRESENCE]
    )
    try:
        app[keys.MINTER] = TokenMinter(settings)
    except ConfigError:
        app[keys.MINTER] = None
        log.info("no signing key: this node verifies tokens but does not mint session links")
    yield


async def _room_links_ctx(app: web.Application) -> AsyncIterator[None]:
    """Personal room links, when the deployment turns them on (one node's, or the Redis's)."""
    settings = app[keys.SETTINGS]
    if not settings.room_links:
        app[keys.ROOM_LINKS] = None
        yield
        return
    app[keys.ROOM_LINKS] = store = create_room_links(settings)
    log.info("room links on: at most %d visitors waiting per room", settings.room_link_max_waiting)
    yield
    await store.close()


async def _close_sockets(app: web.Application) -> None:
    """On shutdown: stop taking sockets and tell everyone to reconnect (1001, going away)."""
    app[keys.DRAINING][0] = True
    await app[keys.PRECALL].close_all()  # every pre-call test peer, before the sockets go
    sockets = app[keys.SOCKETS]
    conns = list(sockets)
    for conn in conns:
        conn.close(Code.GOING_AWAY, reconnect=True)
    if conns:
        await asyncio.sleep(0.2)


def create_app(settings: Settings) -> web.Application:
    settings.validate()
    logs.quiet_aiohttp_server_log()
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app.on_response_prepare.append(pages.security_headers)
    app[keys.SETTINGS] = settings
    app[keys.SOCKETS] = set()
    app[keys.DRAINING] = [False]
    app[keys.TASKS] = set()
    app[keys.IDENTITIES] = {}
    app[keys.METRICS] = Metrics()
    app[keys.LIVE_NODES] = [1]
    app[keys.METRICS].watch(lambda: node_state(app))
    # One entry per long-lived resource; they unwind in reverse order.
    app.cleanup_ctx.append(_presence_ctx)
    app.cleanup_ctx.append(_auth_ctx)  # the verifier reads withdrawals from presence
    app.cleanup_ctx.append(_limits_ctx)
    app.cleanup_ctx.append(_router_ctx)
    app.cleanup_ctx.append(_rooms_ctx)
    app.cleanup_ctx.append(_reaper_ctx)
    app.cleanup_ctx.append(_webhooks_ctx)
    app.cleanup_ctx.append(liveness_ctx)
    app.cleanup_ctx.append(authority_ctx)
    app.cleanup_ctx.append(_precall_ctx)
    app.cleanup_ctx.append(_room_links_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/ws", ws.signaling)
    api.add_routes(app)
    metrics_http.add_routes(app)
    monitor_http.add_routes(app)
    profile_http.add_routes(app, _logo(settings))
    pages.add_routes(app)
    roomlinks_http.add_routes(app)
    return app


def _logo(settings: Settings) -> Logo | None:
    """The practice's logo, read once (validate() has checked it; it may have changed since)."""
    if settings.practice_logo is None:
        return None
    try:
        return load_logo(settings.practice_logo)
    except BrandError as exc:
        raise ConfigError(str(exc)) from None
