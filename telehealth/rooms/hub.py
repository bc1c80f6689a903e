"""This node's participants: their sockets (outlets) and the latest snapshot of their rooms.

The hub turns each new snapshot into the views every local participant should see, sends only
what changed, and closes sockets whose participant was replaced or whose part has ended. It does
no I/O of its own: outlets queue bytes and their writer tasks send them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from signaling.errors import Code
from signaling.messages import encode
from telehealth.rooms.model import Snapshot
from telehealth.rooms.ports import Audience, Outlet
from telehealth.rooms.states import State, terminal_code
from telehealth.rooms.views import views_for

log = logging.getLogger("telehealth.hub")


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
    def __init__(self, *, show_position: bool) -> None:
        self._rooms: dict[str, LocalRoom] = {}
        self._show_position = show_position

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

    def deliver(
        self, room: str, to: list[str], audience: Audience, sender: str, data: bytes
    ) -> int:
        """Hand ``data`` to the local participants ``to`` that the audience rule allows."""
        local = self._rooms.get(room)
        if local is None:
            return 0
        snapshot = local.snapshot
        if audience is Audience.SESSION:
            members = snapshot.session
            if sender not in members:
                return 0
        delivered = 0
        for pid in to:
            outlet = local.outlets.get(pid)
            if outlet is None:
                continue
            p = snapshot.get(pid)
            if p is None:
                continue
            if audience is Audience.SESSION and pid not in members:
                continue
            if audience is Audience.WAITING and p.state is not State.WAITING:
                continue
            outlet.send(data)
            delivered += 1
        return delivered
