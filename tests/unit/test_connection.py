"""Connection's send path: a frame written at once, or finished by a task when the transport
pushes back (the coroutine-driving helper, with real asyncio futures)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from telehealth.web.connection import _resume


async def _send_frame(drained: asyncio.Future[None], log: list[str]) -> None:
    """Stands in for aiohttp's send_frame when the transport is paused: waits for the drain."""
    try:
        log.append("written")
        await asyncio.shield(drained)
        log.append("drained")
    finally:
        log.append("cleaned up")


def _start(
    drained: asyncio.Future[None], log: list[str]
) -> tuple[Coroutine[Any, Any, None], object]:
    coro = _send_frame(drained, log)
    waiting = coro.send(None)  # stepped outside any task, as Connection._send_now does
    return coro, waiting


async def test_a_suspended_send_finishes_once_the_transport_drains() -> None:
    drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    log: list[str] = []
    coro, waiting = _start(drained, log)
    assert log == ["written"] and asyncio.isfuture(waiting)
    task = asyncio.create_task(_resume(coro, waiting))
    await asyncio.sleep(0.01)
    assert not task.done()  # still waiting for the drain
    drained.set_result(None)
    await asyncio.wait_for(task, 1)
    assert log == ["written", "drained", "cleaned up"]


async def test_the_drain_failing_reaches_the_send() -> None:
    drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    log: list[str] = []
    coro, waiting = _start(drained, log)
    task = asyncio.create_task(_resume(coro, waiting))
    await asyncio.sleep(0)
    drained.set_exception(ConnectionResetError("peer gone"))
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(task, 1)
    assert log == ["written", "cleaned up"]


async def test_cancelling_the_writer_closes_the_send() -> None:
    drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    log: list[str] = []
    coro, waiting = _start(drained, log)
    task = asyncio.create_task(_resume(coro, waiting))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["written", "cleaned up"]
