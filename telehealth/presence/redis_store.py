"""Presence in Redis: shared by every node, so several processes act as one service.

Each room is a HASH of participant records plus a version counter, changed only through the
compare-and-set script in lua/commit.lua. Indexes of active rooms, live nodes and pending
expiries are sorted sets (see keys.py); they are hints that the reaper re-checks against the
room itself, so they need not change atomically with it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from telehealth import rediskeys as keys
from telehealth.redisconn import UNREACHABLE
from telehealth.rooms.events import StoredEvent, StreamEntry, decode_entry, encode_entry
from telehealth.rooms.model import Participant, Snapshot, decode_participant, encode_participant
from telehealth.rooms.ports import PresenceUnavailable


def now_ms() -> int:
    return int(time.time() * 1000)


def _script(name: str) -> str:
    return resources.files("telehealth.presence").joinpath("lua", name).read_text()


class RedisPresence:
    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        event_retention_ms: int = 30 * 24 * 3600 * 1000,
        event_stream_max: int = 10_000,
    ) -> None:
        self._redis = client
        self._event_retention_ms = event_retention_ms
        self._event_stream_max = event_stream_max
        self._commit = client.register_script(_script("commit.lua"))
        self._load = client.register_script(_script("load.lua"))
        self._restore = client.register_script(_script("restore.lua"))
        self.healthy = True

    async def _call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await fn()
        except UNREACHABLE as exc:
            self.healthy = False
            raise PresenceUnavailable(type(exc).__name__) from exc
        self.healthy = True
        return result

    async def load(self, room: str) -> Snapshot:
        result: list[Any] = await self._call(
            lambda: self._load(keys=[keys.room_participants(room), keys.room_version(room)])
        )
        version, flat = int(result[0]), result[1]
        participants = {}
        for i in range(0, len(flat), 2):
            p = decode_participant(flat[i + 1])
            participants[p.id] = p
        return Snapshot(room=room, version=version, participants=participants)

    async def commit(
        self,
        room: str,
        expected_version: int,
        changed: Mapping[str, Participant],
        events: Sequence[StreamEntry] = (),
    ) -> int | None:
        args: list[Any] = [
            expected_version,
            keys.ROOM_RETENTION_MS,
            self._event_stream_max,
            self._event_retention_ms,
            len(events),
        ]
        args += [encode_entry(e) for e in events]
        for pid, p in changed.items():
            args += [pid, encode_participant(p)]
        room_keys = [keys.room_participants(room), keys.room_version(room), keys.room_events(room)]
        version = int(await self._call(lambda: self._commit(keys=room_keys, args=args)))
        if version < 0:
            return None
        # The index is a hint (rooms() drops rooms that turn out idle); a different slot on a
        # cluster, so it is not part of the script.
        await self._call(lambda: self._redis.zadd(keys.ACTIVE_ROOMS, {room: now_ms()}))
        return version

    async def events(self, room: str, after: str = "", limit: int = 1000) -> list[StoredEvent]:
        raw: list[tuple[bytes, dict[bytes, bytes]]] = await self._call(
            lambda: self._redis.xrange(
                keys.room_events(room), min=f"({after}" if after else "-", count=limit
            )
        )
        return [decode_entry(sid.decode(), int(f[b"v"]), f[b"e"]) for sid, f in raw]

    async def restore(self, snapshot: Snapshot) -> int | None:
        room = snapshot.room
        args: list[Any] = [snapshot.version, keys.ROOM_RETENTION_MS]
        for pid, p in snapshot.participants.items():
            args += [pid, encode_participant(p)]
        version = int(
            await self._call(
                lambda: self._restore(
                    keys=[keys.room_participants(room), keys.room_version(room)], args=args
                )
            )
        )
        if version < 0:
            return None
        await self._call(lambda: self._redis.zadd(keys.ACTIVE_ROOMS, {room: now_ms()}))
        return version

    async def rooms(self) -> list[Snapshot]:
        names: list[bytes] = await self._call(lambda: self._redis.zrange(keys.ACTIVE_ROOMS, 0, -1))
        snapshots = []
        for raw in names:
            snapshot = await self.load(raw.decode())
            if snapshot.active:
                snapshots.append(snapshot)
            else:
                await self._call(partial(self._redis.zrem, keys.ACTIVE_ROOMS, raw))
        return snapshots

    async def heartbeat(self, node_id: str, now_ms: int) -> None:
        await self._call(lambda: self._redis.zadd(keys.NODES, {node_id: now_ms}))

    async def dead_nodes(self, older_than_ms: int) -> list[str]:
        raw: list[bytes] = await self._call(
            lambda: self._redis.zrangebyscore(keys.NODES, "-inf", f"({older_than_ms}")
        )
        return [r.decode() for r in raw]

    async def live_nodes(self, since_ms: int) -> set[str]:
        raw: list[bytes] = await self._call(
            lambda: self._redis.zrangebyscore(keys.NODES, since_ms, "+inf")
        )
        return {r.decode() for r in raw}

    async def forget_node(self, node_id: str) -> None:
        await self._call(lambda: self._redis.zrem(keys.NODES, node_id))

    async def schedule_expiry(self, room: str, pid: str, due_ms: int) -> None:
        await self._call(lambda: self._redis.zadd(keys.EXPIRIES, {f"{room}\n{pid}": due_ms}))

    async def due_expiries(self, now_ms: int, limit: int = 100) -> list[tuple[str, str]]:
        raw: list[bytes] = await self._call(
            lambda: self._redis.zrangebyscore(keys.EXPIRIES, "-inf", now_ms, start=0, num=limit)
        )
        pairs = []
        for member in raw:
            room, _, pid = member.decode().partition("\n")
            pairs.append((room, pid))
        return pairs

    async def clear_expiry(self, room: str, pid: str) -> None:
        await self._call(lambda: self._redis.zrem(keys.EXPIRIES, f"{room}\n{pid}"))

    async def revoke(self, jti: str, until_ms: int) -> None:
        await self._call(lambda: self._redis.set(keys.revoked(jti), b"1", pxat=until_ms))

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self._call(lambda: self._redis.exists(keys.revoked(jti))))

    async def ping(self) -> bool:
        try:
            return bool(await self._call(self._redis.ping))
        except PresenceUnavailable:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
