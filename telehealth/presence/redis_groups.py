"""The webhook deliverers' consumer group and dead letters in Redis, shared by every node.

The group is a Redis consumer group (``rediskeys.WEBHOOK_GROUP``) on each room's event stream;
each node is one consumer. lua/claim.lua hands a room's entries to one consumer at a time
(XPENDING, XAUTOCLAIM from a consumer that left them idle, else XREADGROUP), lua/keep.lua
keeps a consumer's claim fresh while it retries, XACK ends an entry. Dead letters are one
capped LIST (lua/dead_letter.lua pushes and trims in one step).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from telehealth import rediskeys as keys
from telehealth.presence.groups import id_before
from telehealth.redisconn import UNREACHABLE
from telehealth.rooms.events import StoredEvent, decode_entry
from telehealth.rooms.ports import Claimed, PresenceUnavailable

NOTHING, BUSY, ENTRIES = 0, 1, 2  # claim.lua's answers


def _script(name: str) -> str:
    return resources.files("telehealth.presence").joinpath("lua", name).read_text()


class _Adapter:
    def __init__(self, client: Redis | RedisCluster, deadline: float) -> None:
        self._redis = client
        self._deadline = deadline

    async def _call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """One call under an overall deadline, as RedisPresence does: a frozen Redis must not
        hold a delivery (or an admin's request) for socket timeout x retries."""
        try:
            async with asyncio.timeout(self._deadline):
                return await fn()
        except UNREACHABLE as exc:  # asyncio's TimeoutError is an OSError, so it is here too
            raise PresenceUnavailable(type(exc).__name__) from exc


def _stored(sid: bytes, fields: Mapping[bytes, bytes]) -> StoredEvent:
    body = fields[b"e"]
    return StoredEvent(
        id=sid.decode(), entry=decode_entry(body), hash=fields[b"h"].decode(), body=body
    )


def _from_script(raw: Sequence[Any]) -> StoredEvent:
    """An entry as XREADGROUP and XAUTOCLAIM give it to a script: [id, [field, value, ...]]."""
    sid, flat = raw
    return _stored(sid, dict(zip(flat[::2], flat[1::2], strict=True)))


class RedisEventGroup(_Adapter):
    def __init__(self, client: Redis | RedisCluster, *, deadline: float = 1.0) -> None:
        super().__init__(client, deadline)
        self._claim = client.register_script(_script("claim.lua"))
        self._keep = client.register_script(_script("keep.lua"))

    async def begin(self, now_ms: int) -> int:
        # The first node ever sets it; every node reads what the first one set. (Not SET NX
        # GET in one: that needs Redis 7, and the rest of this works from 6.2 on.)
        await self._call(lambda: self._redis.set(keys.WEBHOOKS_SINCE, now_ms, nx=True))
        began = await self._call(lambda: self._redis.get(keys.WEBHOOKS_SINCE))
        return now_ms if began is None else int(began)

    async def claim(
        self, room: str, consumer: str, *, count: int, idle_ms: int, start_ms: int
    ) -> Claimed:
        args: list[str | int] = [keys.WEBHOOK_GROUP, consumer, idle_ms, count, id_before(start_ms)]
        reply: list[Any] = await self._call(
            partial(self._claim, keys=[keys.room_events(room)], args=args)
        )
        status = int(reply[0])
        if status == BUSY:
            return Claimed([], busy=True)
        if status == ENTRIES:
            return Claimed([_from_script(raw) for raw in reply[1]])
        return Claimed([])

    async def keep(self, room: str, consumer: str, ids: Sequence[str]) -> bool:
        if not ids:
            return True
        args = [keys.WEBHOOK_GROUP, consumer, *ids]
        try:
            taken = await self._call(partial(self._keep, keys=[keys.room_events(room)], args=args))
        except ResponseError:  # the stream is gone (Redis lost it): nobody else can have it
            return True
        return int(taken) == 0

    async def ack(self, room: str, ids: Sequence[str]) -> None:
        if ids:  # a stream or group that is gone answers 0: nothing was pending there either
            await self._call(
                partial(self._redis.xack, keys.room_events(room), keys.WEBHOOK_GROUP, *ids)
            )

    async def pending(self, room: str) -> int:
        try:
            summary: dict[str, Any] = await self._call(
                partial(self._redis.xpending, keys.room_events(room), keys.WEBHOOK_GROUP)
            )
        except ResponseError:  # no such stream or group
            return 0
        return int(summary["pending"])

    async def previous(self, room: str, stream_id: str) -> StoredEvent | None:
        raw: list[tuple[bytes, dict[bytes, bytes]]] = await self._call(
            partial(
                self._redis.xrevrange, keys.room_events(room), max=f"({stream_id}", min="-", count=1
            )
        )
        return _stored(*raw[0]) if raw else None

    async def close(self) -> None:
        # The group owns the client it shares with the dead letters (see factory.py).
        if isinstance(self._redis, Redis):
            await self._redis.aclose(close_connection_pool=True)
        else:
            await self._redis.aclose()


class RedisDeadLetters(_Adapter):
    def __init__(self, client: Redis | RedisCluster, cap: int, *, deadline: float = 1.0) -> None:
        super().__init__(client, deadline)
        self._cap = cap
        self._add = client.register_script(_script("dead_letter.lua"))

    async def add(self, letter: bytes) -> bool:
        args: list[bytes | int] = [letter, self._cap]
        dropped = await self._call(partial(self._add, keys=[keys.WEBHOOK_DEAD_LETTERS], args=args))
        return bool(int(dropped))

    async def list(self, limit: int) -> list[bytes]:
        raw: list[bytes] = await self._call(
            partial(self._redis.lrange, keys.WEBHOOK_DEAD_LETTERS, 0, limit - 1)
        )
        return raw

    async def take(self, letter: bytes) -> bool:
        removed = await self._call(
            partial(self._redis.lrem, keys.WEBHOOK_DEAD_LETTERS, 1, letter)  # type: ignore[arg-type]
        )
        return int(removed) > 0

    async def count(self) -> int:
        return int(await self._call(partial(self._redis.llen, keys.WEBHOOK_DEAD_LETTERS)))

    async def close(self) -> None:
        pass  # the client is the group's, closed with it
