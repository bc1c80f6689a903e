"""In-memory presence for a single node: the embedded default when no Redis is configured."""

from __future__ import annotations

import time
from collections.abc import Mapping

import msgspec

from telehealth.presence.keys import ROOM_RETENTION_MS
from telehealth.rooms.model import Participant, Snapshot, empty


class MemoryPresence:
    def __init__(self) -> None:
        self.healthy = True
        self._rooms: dict[str, Snapshot] = {}
        self._nodes: dict[str, int] = {}
        self._due: dict[tuple[str, str], int] = {}
        self._revoked: dict[str, int] = {}
        self._idle_since: dict[str, int] = {}

    async def load(self, room: str) -> Snapshot:
        return self._rooms.get(room) or empty(room)

    async def commit(
        self, room: str, expected_version: int, changed: Mapping[str, Participant]
    ) -> int | None:
        current = self._rooms.get(room) or empty(room)
        if current.version != expected_version:
            return None
        participants = dict(current.participants)
        participants.update(changed)
        snapshot = Snapshot(room=room, version=expected_version + 1, participants=participants)
        # An ended room keeps its records for a while, so that a denied link stays denied.
        self._rooms[room] = snapshot
        if snapshot.active:
            self._idle_since.pop(room, None)
        else:
            self._idle_since.setdefault(room, int(time.time() * 1000))
        return snapshot.version

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

    async def is_revoked(self, jti: str) -> bool:
        until = self._revoked.get(jti)
        if until is None:
            return False
        if until < time.time() * 1000:
            del self._revoked[jti]
            return False
        return True

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._rooms.clear()
