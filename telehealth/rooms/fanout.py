"""The first listener of every committed change: this node's sockets, then the other nodes.

Deliver locally first (the hub turns the new snapshot into views), then send the snapshot to
every other node that holds, or held, a participant of the room.
"""

from __future__ import annotations

from telehealth.rooms.events import RoomChange
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Snapshot
from telehealth.rooms.ports import Envelope, Kind, Router


class Fanout:
    def __init__(self, hub: Hub, router: Router, node_id: str) -> None:
        self.hub = hub
        self.router = router
        self.node_id = node_id

    def __call__(self, change: RoomChange) -> None:
        self.publish(change.before, change.after)

    def publish(self, before: Snapshot, after: Snapshot) -> None:
        """Show ``after`` to local sockets and to the other nodes concerned. Also used on its
        own by recovery, which republishes the room without a change (and so without events)."""
        self.hub.apply(after)
        nodes = (before.nodes() | after.nodes() | _nodes_of_changed(before, after)) - {self.node_id}
        if nodes:
            self.router.send(
                nodes,
                Envelope(
                    node=self.node_id,
                    kind=Kind.SNAPSHOT,
                    room=after.room,
                    version=after.version,
                    records=list(after.participants.values()),
                ),
            )

    def __repr__(self) -> str:
        return "Fanout()"


def _nodes_of_changed(before: Snapshot, after: Snapshot) -> set[str]:
    """Nodes that held a changed participant before the change (a replaced or ended socket)."""
    nodes = set()
    for pid, p in after.participants.items():
        old = before.participants.get(pid)
        if old is not None and old.node and old != p:
            nodes.add(old.node)
    return nodes
