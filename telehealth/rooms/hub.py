"""This node's participants: their sockets (outlets) and the latest snapshot of their rooms.

The hub turns each new snapshot into the views every local participant should see, sends only
what changed, and closes sockets whose participant was replaced or whose part has ended. It does
no I/O of its own: outlets queue bytes and their writer tasks send them.

A delivery (an offer, a candidate, a chat line) names the snapshot version its sender checked the
audience against. The hub never decides on an older snapshot than that, and never drops a
delivery because a socket is not here *yet*: a participant's join is committed (and visible to
every node) before its socket is attached here, so an offer can arrive in between. Such
deliveries are held, and handed over when the socket is attached and the room has caught up with
the sender's version (``attach``/``apply``), then checked against that snapshot. What is still
held after ``HOLD_S`` (the socket went away) is dropped and counted.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from signaling.errors import Code
from signaling.messages import encode
from telehealth.rooms.model import Snapshot
from telehealth.rooms.ports import Audience, Outlet
from telehealth.rooms.states import State, terminal_code
from telehealth.rooms.views import views_for

log = logging.getLogger("telehealth.hub")

#: How long a delivery waits for its target's socket or for a newer snapshot, in seconds. A join
#: takes a few Redis round trips between its commit and the attach; 10 s covers a loaded node.
HOLD_S = 10.0
#: Cap on the deliveries held at once on this node (beyond it, new ones are dropped and counted).
HOLD_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Held:
    """A delivery waiting here for its target's socket or for the sender's snapshot version."""

    at: float
    version: int
    pid: str
    audience: Audience
    sender: str
    data: bytes


@dataclass
class LocalRoom:
    snapshot: Snapshot
    outlets: dict[str, Outlet] = field(default_factory=dict)
    last_sent: dict[str, dict[bytes, bytes]] = field(default_factory=dict)


def _type_key(data: bytes) -> bytes:
    # Encoded views all start with {"type":"NAME",...}: the prefix up to the first comma tells
    # which view it is, so "send only what changed" needs no decoding.
    return data[: data.find(b",")]


class Hub:
    def __init__(self, *, show_position: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self._rooms: dict[str, LocalRoom] = {}
        self._show_position = show_position
        self._clock = clock
        self._held: dict[str, deque[Held]] = {}  # room -> deliveries waiting, oldest first
        self._held_count = 0
        #: Deliveries dropped after waiting ``HOLD_S`` or because ``HOLD_MAX`` were held.
        self.expired = 0

    # -- sockets -----------------------------------------------------------------------------

    def attach(self, outlet: Outlet, snapshot: Snapshot) -> None:
        local = self._rooms.get(outlet.room)
        if local is None:
            local = self._rooms[outlet.room] = LocalRoom(snapshot)
        previous = local.outlets.get(outlet.participant_id)
        if previous is not None and previous.conn_id != outlet.conn_id:
            local.outlets.pop(outlet.participant_id)
            previous.close(Code.REPLACED)
        local.outlets[outlet.participant_id] = outlet
        local.last_sent[outlet.conn_id] = {}
        if snapshot.version > local.snapshot.version:
            self.apply(snapshot)
        else:
            self._refresh(local, outlet)
            self._release(outlet.room)

    def detach(self, outlet: Outlet) -> None:
        local = self._rooms.get(outlet.room)
        if local is None:
            return
        if local.outlets.get(outlet.participant_id) is outlet:
            del local.outlets[outlet.participant_id]
        local.last_sent.pop(outlet.conn_id, None)
        if not local.outlets:
            del self._rooms[outlet.room]

    def outlets(self) -> Iterator[Outlet]:
        for local in list(self._rooms.values()):
            yield from list(local.outlets.values())

    def rooms(self) -> list[str]:
        return list(self._rooms)

    def outlet(self, room: str, pid: str) -> Outlet | None:
        local = self._rooms.get(room)
        return local.outlets.get(pid) if local else None

    # -- state -------------------------------------------------------------------------------

    def version(self, room: str) -> int:
        local = self._rooms.get(room)
        return local.snapshot.version if local else -1

    def snapshot(self, room: str) -> Snapshot | None:
        local = self._rooms.get(room)
        return local.snapshot if local else None

    def apply(self, snapshot: Snapshot) -> None:
        """Take a newer snapshot of a room with local participants and update their views."""
        local = self._rooms.get(snapshot.room)
        if local is None or snapshot.version <= local.snapshot.version:
            return
        local.snapshot = snapshot
        for outlet in list(local.outlets.values()):
            self._refresh(local, outlet)
        self._release(snapshot.room)

    def _refresh(self, local: LocalRoom, outlet: Outlet) -> None:
        me = local.snapshot.get(outlet.participant_id)
        if me is None:
            return
        if me.conn and me.conn != outlet.conn_id:
            self.detach(outlet)
            outlet.close(Code.REPLACED)
            return
        if not me.active:
            self.detach(outlet)
            outlet.close(terminal_code(me.state, me.reason))
            return
        sent = local.last_sent.setdefault(outlet.conn_id, {})
        for view in views_for(local.snapshot, me.id, show_position=self._show_position):
            data = encode(view)
            key = _type_key(data)
            if sent.get(key) != data:
                sent[key] = data
                outlet.send(data)

    # -- delivery ----------------------------------------------------------------------------

    @property
    def held(self) -> int:
        """Deliveries waiting for a socket or a newer snapshot."""
        return self._held_count

    def behind(self, room: str, version: int) -> bool:
        """True when this node holds sockets in ``room`` but a snapshot older than ``version``."""
        local = self._rooms.get(room)
        return local is not None and local.snapshot.version < version

    def deliver(
        self,
        room: str,
        to: list[str],
        audience: Audience,
        sender: str,
        data: bytes,
        version: int = 0,
    ) -> int:
        """Hand ``data`` to the local participants ``to`` that the audience rule allows, on a
        snapshot at least as new as ``version`` (the one the sender checked). Targets without a
        socket here yet, or in a room this node has seen only older versions of, wait (see the
        module's docstring). Returns how many were handed over now."""
        local = self._rooms.get(room)
        delivered = 0
        for pid in to:
            outlet = local.outlets.get(pid) if local else None
            if local is None or outlet is None or local.snapshot.version < version:
                self._hold(room, Held(self._clock(), version, pid, audience, sender, data))
            elif _allowed(local.snapshot, pid, audience, sender):
                outlet.send(data)
                delivered += 1
        return delivered

    def _hold(self, room: str, held: Held) -> None:
        self._expire(held.at)
        if self._held_count >= HOLD_MAX:
            self._drop(1, room)
            return
        self._held.setdefault(room, deque()).append(held)
        self._held_count += 1

    def _release(self, room: str) -> None:
        """Hand over the deliveries held for ``room`` that can now be decided."""
        queue = self._held.get(room)
        if not queue:
            return
        local = self._rooms.get(room)
        if local is None:
            return
        keep: deque[Held] = deque()
        for held in queue:
            outlet = local.outlets.get(held.pid)
            if outlet is None or local.snapshot.version < held.version:
                keep.append(held)
            elif _allowed(local.snapshot, held.pid, held.audience, held.sender):
                outlet.send(held.data)
        self._held_count -= len(queue) - len(keep)
        if keep:
            self._held[room] = keep
        else:
            del self._held[room]
        self._expire(self._clock())

    def _expire(self, now: float) -> None:
        """Drop what has waited longer than ``HOLD_S`` (its socket is not coming)."""
        cutoff = now - HOLD_S
        for room in [r for r, q in self._held.items() if q[0].at < cutoff]:
            queue = self._held[room]
            before = len(queue)
            while queue and queue[0].at < cutoff:
                queue.popleft()
            self._drop(before - len(queue), room)
            self._held_count -= before - len(queue)
            if not queue:
                del self._held[room]

    def _drop(self, count: int, room: str) -> None:
        self.expired += count
        log.warning("%d deliveries in room %s dropped undelivered after waiting", count, room)


def _allowed(snapshot: Snapshot, pid: str, audience: Audience, sender: str) -> bool:
    """Whether ``audience`` lets ``sender``'s message reach ``pid`` in ``snapshot``."""
    p = snapshot.get(pid)
    if p is None:
        return False
    if audience is Audience.SESSION:
        members = snapshot.session
        return sender in members and pid in members
    if audience is Audience.WAITING:
        return p.state is State.WAITING
    return True
