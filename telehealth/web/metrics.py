"""``GET /metrics``: the node's Prometheus metrics, behind a bearer token.

Off (404) unless ``TELEHEALTH_METRICS_TOKEN`` is set; 401 without that exact token. The gauges
are read from this node's hub, sockets and router at each scrape; the count of live nodes is
asked of presence then (and kept from the last scrape if presence does not answer).
"""

from __future__ import annotations

import hmac
import time
from collections import Counter

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from signaling.errors import Code, RapportError
from telehealth.metrics import NodeState
from telehealth.rooms.ports import PresenceUnavailable
from telehealth.rooms.states import State
from telehealth.web import keys


def node_state(app: web.Application) -> NodeState:
    settings = app[keys.SETTINGS]
    hub = app[keys.HUB]
    now_ms = time.time() * 1000
    counts: Counter[tuple[str, str]] = Counter()
    rooms = 0
    longest = 0.0
    for room in hub.rooms():
        snapshot = hub.snapshot(room)
        if snapshot is None:
            continue
        mine = [
            p for p in snapshot.participants.values() if p.node == settings.node_id and p.active
        ]
        rooms += bool(mine)
        for p in mine:
            counts[(p.state.value, p.role.value)] += 1
            if p.state is State.WAITING:
                longest = max(longest, (now_ms - p.queued_at) / 1000)
    return NodeState(
        participants=dict(counts),
        rooms_active=rooms,
        ws_connections=len(app[keys.SOCKETS]),
        longest_wait_s=round(longest, 3),
        router_outbox=int(getattr(app[keys.ROUTER], "pending", 0)),
        nodes=app[keys.LIVE_NODES][0],
        draining=app[keys.DRAINING][0],
    )


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    settings = app[keys.SETTINGS]
    if not settings.metrics_token:
        raise RapportError(Code.NOT_FOUND)
    header = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.metrics_token}"
    if not hmac.compare_digest(header.encode(), expected.encode()):
        raise RapportError(Code.TOKEN_INVALID, "Send Authorization: Bearer <metrics token>.")
    try:
        since = int(time.time() * 1000 - settings.node_timeout * 1000)
        app[keys.LIVE_NODES][0] = len(await app[keys.PRESENCE].live_nodes(since))
    except PresenceUnavailable:
        pass  # the last count stands; rapport_redis_failures_total says why
    return web.Response(
        body=app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
