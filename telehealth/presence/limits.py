"""Counters for limits that must hold across nodes: hits in a fixed window, and places held.

``Limits`` is the port; ``MemoryLimits`` holds for one node, ``RedisLimits`` for every node
sharing a Redis (one Lua call per operation, on keys that expire). Keys are opaque: callers
pass hashes (web/clientaddr.py), never an address or a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from telehealth import rediskeys
from telehealth.config import Settings
from telehealth.redisconn import UNREACHABLE

log = logging.getLogger("telehealth.limits")


class Limits(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> float:
        """Count one hit of ``key``: 0 when it is within ``limit`` hits in the current window
        of ``window_s`` seconds, else the seconds until the window ends."""
        ...

    async def acquire(self, key: str, limit: int, lifetime_s: float) -> bool:
        """Take one of ``limit`` places of ``key``; False when all are taken. Places not
        given back are forgotten ``lifetime_s`` after the latest take."""
        ...

    async def release(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryLimits:
    """One node's counters. Expired entries are swept as new ones come."""

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, int]] = {}  # key -> (window end, hits)
        self._held: dict[str, tuple[float, int]] = {}  # key -> (forget at, places)
        self._clock = time.monotonic
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        for table in (self._hits, self._held):
            for key in [k for k, (until, _) in table.items() if until <= now]:
                del table[key]

    async def hit(self, key: str, limit: int, window_s: float) -> float:
        now = self._clock()
        self._sweep(now)
        until, n = self._hits.get(key, (0.0, 0))
        if until <= now:
            until, n = now + window_s, 0
        self._hits[key] = (until, n + 1)
        return 0.0 if n + 1 <= limit else until - now

    async def acquire(self, key: str, limit: int, lifetime_s: float) -> bool:
        now = self._clock()
        self._sweep(now)
        until, n = self._held.get(key, (0.0, 0))
        if until <= now:
            n = 0
        if n >= limit:
            return False
        self._held[key] = (now + lifetime_s, n + 1)
        return True

    async def release(self, key: str) -> None:
        until, n = self._held.get(key, (0.0, 0))
        if n <= 1:
            self._held.pop(key, None)
        else:
            self._held[key] = (until, n - 1)

    async def close(self) -> None:
        return None


def _script(name: str) -> str:
    return (Path(__file__).parent / "lua" / name).read_text()


class RedisLimits:
    """The deployment's counters in Redis. A Redis that does not answer within ``deadline``
    lets the request through: these limits guard against abuse, and presence's own health
    check refuses sockets while Redis is away."""

    def __init__(self, client: Redis | RedisCluster, deadline: float) -> None:
        self._redis = client
        self._deadline = deadline
        self._hit = client.register_script(_script("limit_hit.lua"))
        self._acquire = client.register_script(_script("limit_acquire.lua"))
        self._release = client.register_script(_script("limit_release.lua"))

    async def _call(self, script: object, key: str, *args: int) -> int | None:
        try:
            async with asyncio.timeout(self._deadline):
                return int(await script(keys=[key], args=list(args)))  # type: ignore[operator]
        except (*UNREACHABLE, TimeoutError) as exc:
            log.warning("limit counter unavailable (%s): let through", type(exc).__name__)
            return None

    async def hit(self, key: str, limit: int, window_s: float) -> float:
        wait = await self._call(self._hit, rediskeys.LIMIT.format(key=key), limit, _ms(window_s))
        return (wait or 0) / 1000

    async def acquire(self, key: str, limit: int, lifetime_s: float) -> bool:
        got = await self._call(
            self._acquire, rediskeys.LIMIT.format(key=key), limit, _ms(lifetime_s)
        )
        return got != 0

    async def release(self, key: str) -> None:
        await self._call(self._release, rediskeys.LIMIT.format(key=key))

    async def close(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def create_limits(settings: Settings) -> Limits:
    """In memory on a single node; in Redis when nodes share one."""
    if not settings.redis_url:
        return MemoryLimits()
    from telehealth.redisconn import make_client

    return RedisLimits(make_client(settings), deadline=settings.presence_deadline)
