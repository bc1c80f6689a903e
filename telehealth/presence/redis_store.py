"""Presence in Redis: shared by every node, so several processes act as one service.

Each room is a HASH of participant records plus a version counter, changed only through the
compare-and-set script in lua/commit.lua. Indexes of active rooms, live nodes and pending
expiries are sorted sets (see keys.py); they are hints that the reaper re-checks against the
room itself, so they need not change atomically with it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from telehealth import rediskeys as keys
from telehealth.redisconn import UNREACHABLE
from telehealth.rooms.events import StoredEvent, StreamEntry, chain, decode_entry
from telehealth.rooms.model import Participant, Snapshot, decode_participant, encode_participant
from telehealth.rooms.ports import (
    REVOCATION_FEED_MS,
    IssuedLink,
    PresenceUnavailable,
    Revocation,
)
from telehealth.rooms.profile import RoomProfile, decode_profile, encode_profile
from telehealth.rooms.quality import QualitySample, decode_sample, encode_sample

CHAIN_ATTEMPTS = 10
UNHEALTHY_DEADLINE_S = 0.5  # each call's deadline while Redis is known to be unreachable
HEAD_CACHE = 10_000  # rooms whose chain head this node remembers


# KEYS[1] a subject's cut-off; ARGV cut-off ms, kept-until ms. Keeps the later cut-off.
_CUTOFF_SCRIPT = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = tonumber(ARGV[1])
if old > new then new = old end
redis.call('SET', KEYS[1], new, 'PXAT', ARGV[2])
return new
"""


# KEYS[1] a participant's quality list; ARGV sample JSON, samples kept, TTL ms.
_QUALITY_ADD_SCRIPT = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# KEYS the quality lists of some participants of one room (one hash slot): each list, in order.
_QUALITY_READ_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('LRANGE', key, 0, -1) end
return out
"""


# KEYS a room's links HASH and its keep-until ZSET; ARGV jti, IssuedLink JSON, until ms, now ms.
# Lists the link, forgets entries past their time, and keeps both keys as long as the longest.
_LINK_ADD_SCRIPT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, jti in ipairs(old) do redis.call('HDEL', KEYS[1], jti, jti .. '\\nw') end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], last[2])
  redis.call('PEXPIREAT', KEYS[2], last[2])
else
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""
# KEYS as above; ARGV jti, withdrawn-at ms, now ms. Marks a listed link withdrawn (the first time
# only) in its own field "jti\nw"; returns {link JSON, withdrawn-at}, or nil for a link not
# listed (or past its keep time).
_LINK_WITHDRAW_SCRIPT = """
local kept = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not kept or tonumber(kept) <= tonumber(ARGV[3]) then return nil end
local link = redis.call('HGET', KEYS[1], ARGV[1])
if not link then return nil end
redis.call('HSETNX', KEYS[1], ARGV[1] .. '\\nw', ARGV[2])
return {link, redis.call('HGET', KEYS[1], ARGV[1] .. '\\nw')}
"""


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
        deadline: float = 1.0,
    ) -> None:
        self._redis = client
        self._deadline = deadline
        self._deadline_unhealthy = min(deadline, UNHEALTHY_DEADLINE_S)
        self._event_retention_ms = event_retention_ms
        self._event_stream_max = event_stream_max
        self._commit = client.register_script(_script("commit.lua"))
        self._append = client.register_script(_script("append.lua"))
        # room -> the head of its hash chain as last seen here; a stale one costs a retry.
        self._heads: OrderedDict[str, str] = OrderedDict()
        self._load = client.register_script(_script("load.lua"))
        self._restore = client.register_script(_script("restore.lua"))
        self._cutoff = client.register_script(_CUTOFF_SCRIPT)
        self._quality_add = client.register_script(_QUALITY_ADD_SCRIPT)
        self._quality_read = client.register_script(_QUALITY_READ_SCRIPT)
        self._link_add = client.register_script(_LINK_ADD_SCRIPT)
        self._link_withdraw = client.register_script(_LINK_WITHDRAW_SCRIPT)
        self.healthy = True

    async def _call(self, fn: Callable[[], Awaitable[Any]], budget: float | None = None) -> Any:
        """Run one call under an overall deadline. A frozen Redis (process stopped, TCP still
        open) answers nothing: without the deadline, socket timeout x retries x pool wait add
        up to many seconds. While Redis is known to be down, calls get a shorter one, so every
        request fails fast until one gets through again."""
        deadline = budget or (self._deadline if self.healthy else self._deadline_unhealthy)
        try:
            async with asyncio.timeout(deadline):
                result = await fn()
        except UNREACHABLE as exc:  # asyncio's TimeoutError is an OSError, so it is here too
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
        records: list[Any] = []
        for pid, p in changed.items():
            records += [pid, encode_participant(p)]
        room_keys = [
            keys.room_participants(room),
            keys.room_version(room),
            keys.room_events(room),
            keys.room_chain_head(room),
        ]
        head = self._heads.get(room, "")
        for _ in range(CHAIN_ATTEMPTS):
            links, new_head = chain(head, list(events))
            args: list[Any] = [
                expected_version,
                keys.ROOM_RETENTION_MS,
                self._event_stream_max,
                self._event_retention_ms,
                head,
                new_head,
                len(links),
            ]
            for body, digest in links:
                args += [body, digest]
            reply: list[Any] = await self._call(
                partial(self._commit, keys=room_keys, args=args + records)
            )
            status, value = reply
            if int(status) == -2:  # an audited action moved the head: re-link and retry
                head = value.decode() if isinstance(value, bytes) else str(value)
                continue
            if int(status) < 0:
                return None
            if links:
                self._remember_head(room, new_head)
            # The indexes are hints (readers re-check the room); a different slot on a
            # cluster, so they are not part of the script.
            await self._index(room, keys.ACTIVE_ROOMS, *([keys.EVENT_ROOMS] if links else []))
            return int(value)
        raise PresenceUnavailable("the room's event chain kept moving")

    async def append(self, room: str, entries: Sequence[StreamEntry]) -> None:
        stream_keys = [keys.room_events(room), keys.room_chain_head(room)]
        head = self._heads.get(room, "")
        for _ in range(CHAIN_ATTEMPTS):
            links, new_head = chain(head, list(entries))
            args: list[Any] = [self._event_stream_max, self._event_retention_ms, head, new_head]
            for body, digest in links:
                args += [body, digest]
            reply: list[Any] = await self._call(partial(self._append, keys=stream_keys, args=args))
            status, value = reply
            if int(status) == -2:
                head = value.decode() if isinstance(value, bytes) else str(value)
                continue
            self._remember_head(room, new_head)
            await self._index(room, keys.EVENT_ROOMS)
            return
        raise PresenceUnavailable("the room's event chain kept moving")

    async def _index(self, room: str, *indexes: str) -> None:
        """Mark ``room`` in each index, in one round trip (the indexes are hints)."""
        now = now_ms()
        if len(indexes) == 1:
            await self._call(lambda: self._redis.zadd(indexes[0], {room: now}))
            return

        async def both() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for key in indexes:
                pipe.zadd(key, {room: now})
            await pipe.execute()

        await self._call(both)

    def _remember_head(self, room: str, head: str) -> None:
        self._heads[room] = head
        self._heads.move_to_end(room)
        while len(self._heads) > HEAD_CACHE:
            self._heads.popitem(last=False)

    async def events(
        self,
        room: str,
        *,
        after: str = "",
        since_ms: int = 0,
        until_ms: int | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        low = f"({after}" if after else (str(since_ms) if since_ms else "-")
        high = "+" if until_ms is None else str(until_ms)
        raw: list[tuple[bytes, dict[bytes, bytes]]] = await self._call(
            lambda: self._redis.xrange(keys.room_events(room), min=low, max=high, count=limit)
        )
        return [
            StoredEvent(
                id=sid.decode(), entry=decode_entry(f[b"e"]), hash=f[b"h"].decode(), body=f[b"e"]
            )
            for sid, f in raw
        ]

    async def event_rooms(self, since_ms: int = 0) -> list[str]:
        raw: list[bytes] = await self._call(
            lambda: self._redis.zrangebyscore(keys.EVENT_ROOMS, since_ms, "+inf")
        )
        return sorted(r.decode() for r in raw)

    async def restore(self, snapshot: Snapshot) -> int | None:
        room = snapshot.room
        self._heads.pop(room, None)  # the store lost the room: its chain starts again
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

    async def revoke_subject(self, subject: str, cutoff_ms: int, until_ms: int) -> None:
        key = keys.revoked_subject(subject)
        # The script keeps the later of two cut-offs, atomically.
        await self._call(lambda: self._cutoff(keys=[key], args=[cutoff_ms, until_ms]))

    async def subject_cutoff(self, subject: str) -> int | None:
        raw = await self._call(lambda: self._redis.get(keys.revoked_subject(subject)))
        return None if raw is None else int(raw)

    async def recent_revocations(self, since_ms: int) -> list[Revocation]:
        raw: list[bytes] = await self._call(
            lambda: self._redis.zrangebyscore(keys.RECENT_REVOCATIONS, since_ms, "+inf")
        )
        return [msgspec.json.decode(r, type=Revocation) for r in raw]

    async def announce_revocation(self, revocation: Revocation) -> None:
        member = msgspec.json.encode(revocation)
        oldest = revocation.at_ms - REVOCATION_FEED_MS

        async def write() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(keys.RECENT_REVOCATIONS, {member: revocation.at_ms})
                pipe.zremrangebyscore(keys.RECENT_REVOCATIONS, "-inf", f"({oldest}")
                await pipe.execute()

        await self._call(write)

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self._call(lambda: self._redis.exists(keys.revoked(jti))))

    async def put_short_link(self, code: str, token: str, until_ms: int) -> bool:
        key = keys.short_link(code)
        return bool(await self._call(lambda: self._redis.set(key, token, pxat=until_ms, nx=True)))

    async def short_link(self, code: str) -> str | None:
        raw = await self._call(lambda: self._redis.get(keys.short_link(code)))
        return None if raw is None else bytes(raw).decode()

    async def drop_short_link(self, code: str) -> None:
        await self._call(lambda: self._redis.delete(keys.short_link(code)))

    async def add_room_link(self, room: str, link: IssuedLink, until_ms: int) -> None:
        room_keys = [keys.room_links(room), keys.room_links_until(room)]
        args: list[Any] = [link.jti, msgspec.json.encode(link), until_ms, now_ms()]
        await self._call(lambda: self._link_add(keys=room_keys, args=args))

    async def room_links(self, room: str) -> list[IssuedLink]:
        async def read() -> tuple[list[bytes], dict[bytes, bytes]]:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrangebyscore(keys.room_links_until(room), f"({now_ms()}", "+inf")
                pipe.hgetall(keys.room_links(room))
                kept, fields = await pipe.execute()
            return kept, fields

        kept, fields = await self._call(read)
        links = []
        for raw_jti in kept:
            body = fields.get(raw_jti)
            if body is None:
                continue
            link = msgspec.json.decode(body, type=IssuedLink)
            withdrawn = fields.get(raw_jti + b"\nw")
            if withdrawn is not None:
                link = msgspec.structs.replace(link, withdrawn_at=int(withdrawn))
            links.append(link)
        return sorted(links, key=lambda link: (link.created_at, link.jti))

    async def withdraw_room_link(self, room: str, jti: str, at_ms: int) -> IssuedLink | None:
        room_keys = [keys.room_links(room), keys.room_links_until(room)]
        args: list[str | int] = [jti, at_ms, now_ms()]
        reply = await self._call(lambda: self._link_withdraw(keys=room_keys, args=args))
        if reply is None:
            return None
        link = msgspec.json.decode(reply[0], type=IssuedLink)
        return msgspec.structs.replace(link, withdrawn_at=int(reply[1]))

    async def ping(self, budget: float | None = None) -> bool:
        try:
            return bool(await self._call(self._redis.ping, budget))
        except PresenceUnavailable:
            return False

    async def add_quality(
        self, room: str, pid: str, sample: QualitySample, *, keep: int, ttl_ms: int
    ) -> None:
        key = keys.room_quality(room, pid)
        args: list[bytes | int] = [encode_sample(sample), keep, ttl_ms]
        await self._call(lambda: self._quality_add(keys=[key], args=args))

    async def quality(self, room: str, pids: Sequence[str]) -> dict[str, list[QualitySample]]:
        if not pids:
            return {}
        room_keys = [keys.room_quality(room, pid) for pid in pids]
        lists: list[list[bytes]] = await self._call(lambda: self._quality_read(keys=room_keys))
        return {
            pid: [decode_sample(raw) for raw in raw_list]
            for pid, raw_list in zip(pids, lists, strict=True)
            if raw_list
        }

    async def forget_quality(self, room: str, pids: Sequence[str]) -> None:
        if pids:  # one slot (the room's hash tag), so one DEL even on a cluster
            room_keys = [keys.room_quality(room, pid) for pid in pids]
            await self._call(lambda: self._redis.delete(*room_keys))

    async def room_profile(self, room: str) -> RoomProfile:
        raw = await self._call(lambda: self._redis.get(keys.room_profile(room)))
        return RoomProfile() if raw is None else decode_profile(raw)

    async def set_room_profile(self, room: str, profile: RoomProfile) -> None:
        key = keys.room_profile(room)
        if profile.empty:
            await self._call(lambda: self._redis.delete(key))
        else:
            await self._call(lambda: self._redis.set(key, encode_profile(profile)))

    async def close(self) -> None:
        await self._redis.aclose()
