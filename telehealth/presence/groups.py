"""The webhook deliverers' consumer group and dead letters in memory: the embedded default.

One node holds everything, but the rules are those of the Redis adapter (redis_groups.py), so
the same delivery code runs over either: a room's entries are handed to one consumer at a time,
pending until acknowledged, and taken over only from a consumer that left them idle.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from telehealth.rooms.events import StoredEvent
from telehealth.rooms.ports import Claimed, PresenceStore

MAX_SEQ = 2**64 - 1  # the largest sequence part of a stream id


def id_before(ms: int) -> str:
    """The stream id just before the first one of millisecond ``ms``."""
    return f"{ms - 1}-{MAX_SEQ}"


def stream_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


@dataclass
class _Held:
    consumer: str
    since: int  # monotonic ms of the last claim or keep
    entry: StoredEvent


@dataclass
class _Group:
    last: str  # the newest id handed out
    pending: dict[str, _Held] = field(default_factory=dict)  # in stream order


class MemoryEventGroup:
    def __init__(self, presence: PresenceStore) -> None:
        self._presence = presence
        self._begun: int | None = None
        self._groups: dict[str, _Group] = {}

    async def begin(self, now_ms: int) -> int:
        if self._begun is None:
            self._begun = now_ms
        return self._begun

    async def claim(
        self, room: str, consumer: str, *, count: int, idle_ms: int, start_ms: int
    ) -> Claimed:
        group = self._groups.setdefault(room, _Group(last=id_before(start_ms)))
        now = _now_ms()
        if group.pending:
            oldest = next(iter(group.pending.values()))
            if oldest.consumer != consumer and now - oldest.since < idle_ms:
                return Claimed([], busy=True)
            taken = list(group.pending.values())[:count]
            for held in taken:
                held.consumer, held.since = consumer, now
            return Claimed([h.entry for h in taken])
        entries = await self._presence.events(room, after=group.last, limit=count)
        for entry in entries:
            group.pending[entry.id] = _Held(consumer, now, entry)
        if entries:
            group.last = entries[-1].id
        return Claimed(entries)

    async def keep(self, room: str, consumer: str, ids: Sequence[str]) -> bool:
        group = self._groups.get(room)
        now = _now_ms()
        intact = True
        for sid in ids:
            held = group.pending.get(sid) if group else None
            if held is None:
                continue  # acknowledged meanwhile
            if held.consumer != consumer:
                intact = False
            else:
                held.since = now
        return intact

    async def ack(self, room: str, ids: Sequence[str]) -> None:
        group = self._groups.get(room)
        if group is not None:
            for sid in ids:
                group.pending.pop(sid, None)

    async def pending(self, room: str) -> int:
        group = self._groups.get(room)
        return len(group.pending) if group else 0

    async def previous(self, room: str, stream_id: str) -> StoredEvent | None:
        # The in-memory stream holds at most TELEHEALTH_EVENT_STREAM_MAX entries: a scan will do.
        before = None
        after = ""
        limit = 1000
        while True:
            page = await self._presence.events(room, after=after, limit=limit)
            for entry in page:
                if stream_key(entry.id) >= stream_key(stream_id):
                    return before
                before = entry
            if len(page) < limit:
                return before
            after = page[-1].id

    async def close(self) -> None:
        self._groups.clear()


class MemoryDeadLetters:
    def __init__(self, cap: int) -> None:
        self._letters: deque[bytes] = deque(maxlen=cap)

    async def add(self, letter: bytes) -> bool:
        full = len(self._letters) == self._letters.maxlen
        self._letters.appendleft(letter)
        return full

    async def list(self, limit: int) -> list[bytes]:
        return list(self._letters)[:limit]

    async def take(self, letter: bytes) -> bool:
        try:
            self._letters.remove(letter)
        except ValueError:
            return False
        return True

    async def count(self) -> int:
        return len(self._letters)

    async def close(self) -> None:
        self._letters.clear()
