"""A frozen Redis (the process stopped with SIGSTOP, its TCP connections still open) gets fast,
clear answers instead of slow ones: /readyz says 503 within its budget, REST answers 503 with
Retry-After, a therapist's action gets `unavailable`, and all recover once Redis runs again.

The bounds asserted here are generous (this machine is shared and noisy); the budgets they
guard are 0.8 s for /readyz and 1 s per presence call (TELEHEALTH_PRESENCE_DEADLINE). Before
the deadline existed, the same requests took 6 to 18.5 s."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket, WSError
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.conftest import RedisServer
from tests.e2e.conftest import join, settings_for

ROOM = "room-frozen"
BOUND_S = 3.0  # far under the 6-18.5 s a frozen Redis used to cost; budgets are 0.8-1 s

pytestmark = pytest.mark.redis
T = TypeVar("T")


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[tuple[TestServer, Settings]]:
    settings = settings_for(redis_url=redis_server.url, presence_deadline=1.0)  # the default
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    yield server, settings
    await server.close()


class Freezer:
    """SIGSTOP / SIGCONT for the test's own redis-server; never left stopped."""

    def __init__(self, server: RedisServer) -> None:
        assert server.pid is not None
        self.pid = server.pid
        self.frozen = False

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True

    def cont(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.frozen = False


@pytest.fixture
def freezer(redis_server: RedisServer) -> Iterator[Freezer]:
    freezer = Freezer(redis_server)
    yield freezer
    if freezer.frozen:
        freezer.cont()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def timed(coro: Awaitable[T]) -> tuple[T, float]:
    start = time.monotonic()
    result = await coro
    return result, time.monotonic() - start


async def joined(
    url: str, role: str, token: str, name: str | None = None
) -> tuple[RawSocket, dict[str, Any]]:
    """Join before the freeze. On a badly overloaded machine a Redis call can outlast the
    deadline even with Redis running, and the join is then refused with 503: the pages retry,
    and so does this setup (the assertions after the freeze are what the test is about)."""
    for attempt in range(20):
        try:
            return await join(url, role, token, ROOM, name)
        except (WSError, AssertionError, OSError):
            if attempt == 19:
                raise
            await asyncio.sleep(0.25)
    raise AssertionError("unreachable")


async def test_a_frozen_redis_gets_fast_clear_answers(
    node: tuple[TestServer, Settings],
    http: aiohttp.ClientSession,
    freezer: Freezer,
) -> None:
    server, settings = node
    minter = TokenMinter(settings)
    admin = {"Authorization": f"Bearer {minter.mint_admin('admin-f')}"}
    url = str(server.make_url("/"))
    therapist, _ = await joined(url, "therapist", minter.mint_therapist("dr-f", [ROOM]))
    client, welcome = await joined(url, "client", minter.mint_client(ROOM), name="Client")
    await therapist.until("room", lambda m: len(m["waiting"]) == 1)

    freezer.stop()

    async def readyz() -> tuple[int, str | None]:
        async with http.get(server.make_url("/readyz")) as resp:
            return resp.status, resp.headers.get("Retry-After")

    async def rooms() -> tuple[int, str | None, str]:
        async with http.get(server.make_url("/api/rooms"), headers=admin) as resp:
            return (
                resp.status,
                resp.headers.get("Retry-After"),
                (await resp.json())["error"]["code"],
            )

    for _ in range(2):  # the first call finds Redis frozen, the next one already knows
        (status, retry), took = await timed(readyz())
        assert (status, retry) == (503, "2"), status
        assert took < BOUND_S, f"/readyz took {took:.2f} s"
        (status, retry, code), took = await timed(rooms())
        assert (status, code) == (503, "unavailable") and retry is not None
        assert took < BOUND_S, f"GET /api/rooms took {took:.2f} s"
        start = time.monotonic()
        await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
        error = await therapist.expect("error", timeout=10)
        assert error["code"] == "unavailable" and error["retry_after"]
        assert time.monotonic() - start < BOUND_S, "the admit's answer was slow"

    freezer.cont()

    async def ready_again() -> None:
        while True:
            if (await readyz())[0] == 200:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(ready_again(), 20)
    await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
    await client.expect("state", timeout=10, state="admitted")
