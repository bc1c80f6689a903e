"""In-memory presence for a single node: the embedded default when no Redis is configured."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence

import msgspec

from telehealth.rediskeys import ROOM_RETENTION_MS
from telehealth.rooms.events import StoredEvent, StreamEntry, chain, decode_entry
from telehealth.rooms.model import Participant, Snapshot, empty
from telehealth.rooms.ports import REVOCATION_FEED_MS, IssuedLink, Revocation
from telehealth.rooms.profile import RoomProfile
from telehealth.rooms.quality import QualitySample


def _now_ms() -> int:
    return int(time.time() * 1000)


class MemoryPresence:
    def __init__(
        self,
        *,
        event_retention_ms: int = 30 * 24 * 3600 * 1000,
        event_stream_max: int = 10_000,
    ) -> None:
        self.healthy = True
        self._event_retention_ms = event_retention_ms
        self._event_stream_max = event_stream_max
        # room -> its stream, oldest first; ids as Redis gives them ("ms-seq").
        self._events: dict[str, deque[StoredEvent]] = {}
        self._heads: dict[str, str] = {}  # room -> "SEQ:HASH" of its newest entry
        self._event_rooms: dict[str, int] = {}  # room -> time of its newest entry
        self._last_id = (0, 0)
        self._rooms: dict[str, Snapshot] = {}
        self._nodes: dict[str, int] = {}
        self._due: dict[tuple[str, str], int] = {}
        self._revoked: dict[str, int] = {}
        self._subjects: dict[str, tuple[int, int]] = {}  # subject -> (cut-off, kept until)
        self._recent: deque[Revocation] = deque()
        self._idle_since: dict[str, int] = {}
        # (room, pid) -> (samples, oldest first; forget at ms)
        self._quality: dict[tuple[str, str], tuple[deque[QualitySample], int]] = {}
        self._profiles: dict[str, RoomProfile] = {}  # room -> how its clients see it
        self._short: dict[str, tuple[str, int]] = {}  # code -> (token, until ms)
        self._links: dict[str, dict[str, tuple[IssuedLink, int]]] = {}  # room -> jti -> (, until)

    async def load(self, room: str) -> Snapshot:
        return self._rooms.get(room) or empty(room)

    async def commit(
        self,
        room: str,
        expected_version: int,
        changed: Mapping[str, Participant],
        events: Sequence[StreamEntry] = (),
    ) -> int | None:
        current = self._rooms.get(room) or empty(room)
        if current.version != expected_version:
            return None
        participants = dict(current.participants)
        participants.update(changed)
        snapshot = Snapshot(room=room, version=expected_version + 1, participants=participants)
        self._append(room, events)
        # An ended room keeps its records for a while, so that a denied link stays denied.
        self._rooms[room] = snapshot
        if snapshot.active:
            self._idle_since.pop(room, None)
        else:
            self._idle_since.setdefault(room, int(time.time() * 1000))
        return snapshot.version

    def _next_id(self) -> str:
        ms, seq = int(time.time() * 1000), 0
        if ms <= self._last_id[0]:
            ms, seq = self._last_id[0], self._last_id[1] + 1
        self._last_id = (ms, seq)
        return f"{ms}-{seq}"

    def _append(self, room: str, entries: Sequence[StreamEntry]) -> None:
        if not entries:
            return
        stream = self._events.setdefault(room, deque(maxlen=self._event_stream_max))
        links, self._heads[room] = chain(self._heads.get(room, ""), list(entries))
        for body, digest in links:
            stored = StoredEvent(
                id=self._next_id(), entry=decode_entry(body), hash=digest, body=body
            )
            stream.append(stored)
        now = int(time.time() * 1000)
        self._event_rooms[room] = now
        while stream and _stream_ms(stream[0].id) < now - self._event_retention_ms:
            stream.popleft()

    async def append(self, room: str, entries: Sequence[StreamEntry]) -> None:
        self._append(room, entries)

    async def events(
        self,
        room: str,
        *,
        after: str = "",
        since_ms: int = 0,
        until_ms: int | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        stream = self._events.get(room, ())
        start = _stream_key(after) if after else (since_ms, -1)
        found = [
            e
            for e in stream
            if _stream_key(e.id) > start and (until_ms is None or _stream_ms(e.id) <= until_ms)
        ]
        return found[:limit]

    async def event_rooms(self, since_ms: int = 0) -> list[str]:
        return sorted(r for r, t in self._event_rooms.items() if t >= since_ms)

    async def restore(self, snapshot: Snapshot) -> int | None:
        current = self._rooms.get(snapshot.room)
        if current is not None and current.version >= snapshot.version:
            return None
        self._rooms[snapshot.room] = msgspec.structs.replace(snapshot, version=snapshot.version + 1)
        return snapshot.version + 1

    async def rooms(self) -> list[Snapshot]:
        return [s for s in self._rooms.values() if s.active]

    async def heartbeat(self, node_id: str, now_ms: int) -> None:
        self._nodes[node_id] = now_ms
        for key in [k for k, (_, until) in self._quality.items() if until <= now_ms]:
            del self._quality[key]
        for room, since in list(self._idle_since.items()):
            if now_ms - since > ROOM_RETENTION_MS:
                del self._idle_since[room]
                self._rooms.pop(room, None)

    async def dead_nodes(self, older_than_ms: int) -> list[str]:
        return [n for n, t in self._nodes.items() if t < older_than_ms]

    async def live_nodes(self, since_ms: int) -> set[str]:
        return {n for n, t in self._nodes.items() if t >= since_ms}

    async def forget_node(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def schedule_expiry(self, room: str, pid: str, due_ms: int) -> None:
        self._due[(room, pid)] = due_ms

    async def due_expiries(self, now_ms: int, limit: int = 100) -> list[tuple[str, str]]:
        return sorted((k for k, t in self._due.items() if t <= now_ms), key=self._due.__getitem__)[
            :limit
        ]

    async def clear_expiry(self, room: str, pid: str) -> None:
        self._due.pop((room, pid), None)

    async def revoke(self, jti: str, until_ms: int) -> None:
        self._revoked[jti] = until_ms

    async def revoke_subject(self, subject: str, cutoff_ms: int, until_ms: int) -> None:
        old = self._subjects.get(subject)
        if old is not None and old[0] > cutoff_ms:  # a later cut-off stays
            cutoff_ms = old[0]
        self._subjects[subject] = (cutoff_ms, max(until_ms, old[1] if old else 0))

    async def subject_cutoff(self, subject: str) -> int | None:
        entry = self._subjects.get(subject)
        if entry is None:
            return None
        if entry[1] < _now_ms():
            del self._subjects[subject]
            return None
        return entry[0]

    async def recent_revocations(self, since_ms: int) -> list[Revocation]:
        return [r for r in self._recent if r.at_ms >= since_ms]

    async def announce_revocation(self, revocation: Revocation) -> None:
        self._recent.append(revocation)
        while self._recent and self._recent[0].at_ms < revocation.at_ms - REVOCATION_FEED_MS:
            self._recent.popleft()

    async def is_revoked(self, jti: str) -> bool:
        until = self._revoked.get(jti)
        if until is None:
            return False
        if until < time.time() * 1000:
            del self._revoked[jti]
            return False
        return True

    async def ping(self, budget: float | None = None) -> bool:
        return True

    async def put_short_link(self, code: str, token: str, until_ms: int) -> bool:
        if await self.short_link(code) is not None:
            return False
        self._short[code] = (token, until_ms)
        return True

    async def short_link(self, code: str) -> str | None:
        entry = self._short.get(code)
        if entry is None:
            return None
        if entry[1] <= _now_ms():
            del self._short[code]
            return None
        return entry[0]

    async def drop_short_link(self, code: str) -> None:
        self._short.pop(code, None)

    def _kept_links(self, room: str) -> dict[str, tuple[IssuedLink, int]]:
        links = self._links.get(room, {})
        now = _now_ms()
        for jti in [j for j, (_, until) in links.items() if until <= now]:
            del links[jti]
        return links

    async def add_room_link(self, room: str, link: IssuedLink, until_ms: int) -> None:
        self._kept_links(room)
        self._links.setdefault(room, {})[link.jti] = (link, until_ms)

    async def room_links(self, room: str) -> list[IssuedLink]:
        return sorted((link for link, _ in self._kept_links(room).values()), key=_created)

    async def withdraw_room_link(self, room: str, jti: str, at_ms: int) -> IssuedLink | None:
        entry = self._kept_links(room).get(jti)
        if entry is None:
            return None
        link, until = entry
        if not link.withdrawn_at:
            link = msgspec.structs.replace(link, withdrawn_at=at_ms)
            self._links[room][jti] = (link, until)
        return link

    async def add_quality(
        self, room: str, pid: str, sample: QualitySample, *, keep: int, ttl_ms: int
    ) -> None:
        found = self._quality.get((room, pid))
        samples = deque(found[0] if found else (), maxlen=keep)
        samples.append(sample)
        self._quality[(room, pid)] = (samples, _now_ms() + ttl_ms)

    async def quality(self, room: str, pids: Sequence[str]) -> dict[str, list[QualitySample]]:
        now, found = _now_ms(), {}
        for pid in pids:
            entry = self._quality.get((room, pid))
            if entry is not None and entry[1] > now:
                found[pid] = list(entry[0])
        return found

    async def forget_quality(self, room: str, pids: Sequence[str]) -> None:
        for pid in pids:
            self._quality.pop((room, pid), None)

    async def room_profile(self, room: str) -> RoomProfile:
        return self._profiles.get(room) or RoomProfile()

    async def set_room_profile(self, room: str, profile: RoomProfile) -> None:
        if profile.empty:
            self._profiles.pop(room, None)
        else:
            self._profiles[room] = profile

    async def close(self) -> None:
        self._rooms.clear()


def _created(link: IssuedLink) -> tuple[int, str]:
    return link.created_at, link.jti


def _stream_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _stream_ms(stream_id: str) -> int:
    return _stream_key(stream_id)[0]
