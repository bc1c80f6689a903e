"""Background tasks the app owns: kept referenced, and awaited at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from telehealth.web import keys

log = logging.getLogger("telehealth.tasks")


def spawn(app: web.Application, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    tasks: set[asyncio.Task[None]] = app[keys.TASKS]
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(_done(tasks))
    return task


def _done(tasks: set[asyncio.Task[None]]) -> Any:
    def callback(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    return callback


async def stop(task: asyncio.Task[None], timeout: float = 2.0) -> None:
    """Cancel a long-lived task and wait a bounded time for it: a cancellation that lands inside
    a library's own timeout handling can be absorbed, and shutdown must not hang on it."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("task %s did not stop within %.1f s; leaving it", task.get_name(), timeout)


async def wait_all(app: web.Application, timeout: float = 5.0) -> None:
    pending: set[asyncio.Task[None]] = app[keys.TASKS]
    tasks = set(pending)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
