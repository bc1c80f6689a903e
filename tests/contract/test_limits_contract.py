"""The limit counters' contract, against both backends: in memory and a real redis-server
(where two clients stand for two nodes). tests/e2e/test_limits.py uses them at the doors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from telehealth.config import Settings
from telehealth.presence.limits import Limits, MemoryLimits


@pytest.fixture(params=["memory", "redis"])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Limits, Limits]]:
    """Two nodes' counters: one shared store in memory, two clients of one Redis."""
    if request.param == "memory":
        shared = MemoryLimits()
        yield shared, shared
        return
    from telehealth.presence.limits import RedisLimits
    from telehealth.redisconn import make_client

    settings = Settings(redis_url=request.getfixturevalue("redis_server").url)
    a, b = (RedisLimits(make_client(settings), deadline=1.0) for _ in range(2))
    yield a, b
    await a.close()
    await b.close()


async def test_hits_count_across_nodes_within_a_window(nodes: tuple[Limits, Limits]) -> None:
    a, b = nodes
    assert await a.hit("attempt:k", 3, 60) == 0
    assert await b.hit("attempt:k", 3, 60) == 0
    assert await a.hit("attempt:k", 3, 60) == 0
    wait = await b.hit("attempt:k", 3, 60)
    assert 50 < wait <= 60
    assert await a.hit("attempt:other", 3, 60) == 0


async def test_a_window_ends(nodes: tuple[Limits, Limits]) -> None:
    a, b = nodes
    assert await a.hit("attempt:w", 1, 0.05) == 0
    assert await b.hit("attempt:w", 1, 0.05) > 0
    for _ in range(250):  # up to 5 s: a new window lets one hit through again
        if await a.hit("attempt:w", 1, 0.05) == 0:
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the window never ended")


async def test_places_are_shared_and_given_back(nodes: tuple[Limits, Limits]) -> None:
    a, b = nodes
    assert await a.acquire("pending:p", 2, 30)
    assert await b.acquire("pending:p", 2, 30)
    assert not await a.acquire("pending:p", 2, 30)
    assert not await b.acquire("pending:p", 2, 30)  # a refusal takes nothing
    await a.release("pending:p")
    assert await b.acquire("pending:p", 2, 30)
    for _ in range(2):
        await b.release("pending:p")
    await b.release("pending:p")  # one too many: nothing goes below zero
    assert await a.acquire("pending:p", 1, 30)
    assert not await a.acquire("pending:p", 1, 30)
