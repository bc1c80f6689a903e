"""What happened in a room, and who did it: the events a decision returns beside its records.

A ``decide`` function (rooms/service.py) returns a :class:`Decision`: the changed participant
records and one :class:`RoomEvent` per move that explains them. Only a commit that succeeded
turns a decision into a :class:`RoomChange` for the listeners, and the same commit appends its
events to the room's durable stream (presence), so both hold exactly the committed moves.

Events carry opaque ids, states and codes only: never a name, a text, a token or an address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import msgspec

from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Event, State


class ActorRole(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    ADMIN = "admin"
    SYSTEM = "system"  # the reaper, recovery: nobody in particular


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who made a change: the role and the token's subject (the node id for the system).

    ``participant`` is the acting participant's id in the room, when the actor is one."""

    role: ActorRole
    sub: str
    participant: str = ""


def system(node_id: str) -> Actor:
    return Actor(role=ActorRole.SYSTEM, sub=node_id)


class Reason(StrEnum):
    """Why a move happened, where the event alone does not say."""

    NONE = ""
    THERAPIST_LEFT = "therapist_left"  # clients go back to waiting when their therapist leaves
    THERAPIST_LOST = "therapist_lost"  # ... or when the therapist's grace period lapsed
    LINK_WITHDRAWN = "link_withdrawn"  # the session link was withdrawn
    CONNECTION_LOST = "connection_lost"  # the socket closed without a leave
    NODE_LOST = "node_lost"  # the node holding the socket stopped heartbeating
    RECONCILED = "reconciled"  # after an outage, records made to match the live sockets
    REPLACED = "replaced"  # a newer socket of the same participant took over


class RoomEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One participant's move (or drop, or resume), as committed."""

    participant: str
    event: Event
    from_state: State
    to_state: State
    actor: Actor
    reason: Reason = Reason.NONE


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the room's durable stream holds it."""

    id: str  # the stream's id: increasing within the room
    room: str
    version: int  # the room version the change committed
    at: int  # ms since the epoch
    node: str  # the node that committed it
    event: RoomEvent


class StreamEntry(msgspec.Struct, frozen=True, kw_only=True):
    """The body of one stream entry; the store adds the id and the version it committed."""

    room: str
    at: int
    node: str
    event: RoomEvent


_entry_encoder = msgspec.json.Encoder()
_entry_decoder = msgspec.json.Decoder(StreamEntry)


def encode_entry(entry: StreamEntry) -> bytes:
    return _entry_encoder.encode(entry)


def decode_entry(stream_id: str, version: int, raw: bytes | str) -> StoredEvent:
    e = _entry_decoder.decode(raw)
    return StoredEvent(
        id=stream_id, room=e.room, version=version, at=e.at, node=e.node, event=e.event
    )


@dataclass
class Decision:
    """What a ``decide`` function returns: the changed records and the events behind them."""

    changes: dict[str, Participant] = field(default_factory=dict)
    events: list[RoomEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def record(
        self,
        before: Participant | None,
        after: Participant,
        event: Event,
        actor: Actor,
        reason: Reason = Reason.NONE,
    ) -> Participant:
        """Set ``after`` as the participant's new record, explained by ``event``."""
        self.changes[after.id] = after
        self.events.append(
            RoomEvent(
                participant=after.id,
                event=event,
                from_state=before.state if before else State.NEW,
                to_state=after.state,
                actor=actor,
                reason=reason,
            )
        )
        return after

    def merge(self, other: Decision) -> None:
        self.changes.update(other.changes)
        self.events.extend(other.events)


@dataclass(frozen=True)
class RoomChange:
    """One committed change of one room, handed to every listener exactly once."""

    room: str
    version: int
    before: Snapshot
    after: Snapshot
    events: tuple[RoomEvent, ...]
    at: int  # ms since the epoch
    node: str


class ChangeListener(Protocol):
    """Told of every committed change, in order, on the node that committed it. Must not block:
    anything slow is queued and done elsewhere."""

    def __call__(self, change: RoomChange) -> None: ...
