"""The PresenceStore protocol that the Redis and in-memory stores both implement.

Changes are optimistic: read a snapshot, compute the new records with the state table, then
``commit`` them only if the room is still at the version that was read. The store enforces the
compare-and-set atomically (a Lua script in Redis); the rules stay in Python, in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from telehealth.rooms.model import Participant, Snapshot


class PresenceUnavailable(Exception):
    """The backing store cannot be reached; callers answer "temporarily unavailable"."""


class PresenceStore(Protocol):
    healthy: bool  # False after a call failed because the store was unreachable

    async def load(self, room: str) -> Snapshot:
        """The room's current snapshot (version 0 and no participants if unknown)."""

    async def commit(
        self, room: str, expected_version: int, changed: Mapping[str, Participant]
    ) -> int | None:
        """Write ``changed`` if the room is still at ``expected_version``.

        Returns the new version, or None when another writer got there first (reload, retry).
        """

    async def restore(self, snapshot: Snapshot) -> int | None:
        """Write back a room the store lost, if ``snapshot`` is newer than what it holds.

        Returns the new version, or None when the store already had this version or newer.
        """

    async def rooms(self) -> list[Snapshot]:
        """Snapshots of every room with at least one active participant, on any node."""

    async def heartbeat(self, node_id: str, now_ms: int) -> None:
        """Record that ``node_id`` is alive."""

    async def dead_nodes(self, older_than_ms: int) -> list[str]:
        """Nodes whose last heartbeat is older than the given time."""

    async def live_nodes(self, since_ms: int) -> set[str]:
        """Nodes that heartbeated at or after ``since_ms``."""

    async def forget_node(self, node_id: str) -> None: ...

    async def schedule_expiry(self, room: str, pid: str, due_ms: int) -> None:
        """Ask any node's reaper to look at ``pid`` once ``due_ms`` has passed."""

    async def due_expiries(self, now_ms: int, limit: int = 100) -> list[tuple[str, str]]: ...

    async def clear_expiry(self, room: str, pid: str) -> None: ...

    async def revoke(self, jti: str, until_ms: int) -> None:
        """Withdraw a session link until its own expiry."""

    async def is_revoked(self, jti: str) -> bool: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
