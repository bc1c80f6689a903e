"""One sweep that finds silent sockets, instead of a heartbeat timer per socket.

aiohttp's ``heartbeat=`` gives every socket its own timer, rescheduled on every message, and a
ping task and a pong timer each round: with 10,000 clients sitting in waiting rooms that was
most of an idle node's CPU and ~2 KB per socket. Here every socket only raises a flag when a
frame arrives (``Connection.seen``); every ``SWEEP_S`` one task walks all sockets:

- a socket that sent anything since the last sweep is alive (pages send an app-level ``ping``
  every heartbeat, so they are never pinged by us);
- after ``PING_AFTER`` silent sweeps it gets a WebSocket ping (its pong counts as a frame);
- after ``DEAD_AFTER`` silent sweeps its transport is aborted, and the socket's handler records
  the drop as for any lost connection.

So a peer that vanished without closing is noticed after 30 s of silence, as with aiohttp's
20 s heartbeat and its 10 s pong timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from telehealth.web import keys
from telehealth.web.tasks import stop

log = logging.getLogger("telehealth.ws")

HEARTBEAT_S = 20.0  # also what the welcome tells pages to ping at
SWEEP_S = HEARTBEAT_S / 2
PING_AFTER = 2  # silent sweeps (20 s) before a ping
DEAD_AFTER = 3  # silent sweeps (30 s) before the socket counts as gone


def sweep(app: web.Application) -> int:
    """One round over every open socket; returns how many were found dead."""
    dead = 0
    sockets = app[keys.SOCKETS]
    for conn in list(sockets):
        try:
            if not conn.check_alive(PING_AFTER, DEAD_AFTER):
                dead += 1
        except Exception:  # one socket must not stop the round for the others
            log.exception("liveness check of connection %s failed", conn.conn_id)
    return dead


async def _run(app: web.Application, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            dead = sweep(app)
        except Exception:  # one bad round must not end liveness checks for good
            log.exception("liveness sweep failed")
            continue
        if dead:
            log.info("liveness: %d silent socket(s) closed", dead)


async def liveness_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_run(app, SWEEP_S), name="liveness")
    yield
    await stop(task)
