"""What happened in a room, and who did it: the events a decision returns beside its records.

A ``decide`` function (rooms/service.py) returns a :class:`Decision`: the changed participant
records and one :class:`RoomEvent` per move that explains them. Only a commit that succeeded
turns a decision into a :class:`RoomChange` for the listeners, and the same commit appends its
events to the room's durable stream (presence), so both hold exactly the committed moves.

Events carry opaque ids, states and codes only: never a name, a text, a token or an address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import msgspec

from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Event, Reason, State


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


class RoomEvent(msgspec.Struct, frozen=True, kw_only=True, tag="move"):
    """One participant's move (or drop, or resume), as committed."""

    participant: str
    event: Event
    from_state: State
    to_state: State
    actor: Actor
    reason: Reason = Reason.NONE
    wait_ms: int | None = None  # time in the waiting room, for a move out of it
    link: str = ""  # the client's session link (its jti), an id the practice's system knows
    via: str = ""  # how the client came: "" (a session link) or "room_link"


class SessionMark(msgspec.Struct, frozen=True, kw_only=True, tag="session"):
    """The room's session began (the first client admitted) or ended (the last one gone)."""

    started: bool
    actor: Actor
    participants: int  # in the session after the change, therapist included


class AuditAction(StrEnum):
    """Audited actions that are not a committed move of a participant."""

    JOIN_REFUSED = "join_refused"
    LINK_ISSUED = "link_issued"
    LINK_WITHDRAWN = "link_withdrawn"
    TOKEN_REVOKED = "token_revoked"
    ROOM_VIEWED = "room_viewed"
    AUDIT_EXPORTED = "audit_exported"
    CONSENT_GIVEN = "consent_given"  # a client joined having accepted the consent text
    RUNNING_LATE = "running_late"  # the therapist's notice to the waiting room (minutes only)
    ROOM_PROFILE_CHANGED = "room_profile_changed"  # display name / welcome note set (ids only)
    # The room's personal room link (rooms/roomlinks.py); never its slug, which may hold a name.
    ROOM_LINK_PUBLISHED = "room_link_published"
    ROOM_LINK_CHANGED = "room_link_changed"
    ROOM_LINK_REMOVED = "room_link_removed"
    ROOM_LINK_LOCKED = "room_link_locked"
    ROOM_LINK_UNLOCKED = "room_link_unlocked"
    # A visitor was let in at the room link's door: ``link`` is the jti of the token minted
    # for them, which their join (a move with ``via`` "room_link") carries too.
    ROOM_LINK_VISIT = "room_link_visit"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


class Audited(msgspec.Struct, frozen=True, kw_only=True, tag="action"):
    """An audited action beside the room's moves: who did what, and how it ended. ``reason``
    is an error code for a failure; ``link`` a session link's jti (an id, never the token);
    ``consent`` the version of the consent text accepted (``consent_given``), never the text."""

    action: AuditAction
    actor: Actor
    outcome: Outcome = Outcome.SUCCESS
    reason: str = ""
    participant: str = ""
    link: str = ""
    consent: str = ""
    minutes: int | None = None  # a running-late notice's minutes (0: cleared)


Record = RoomEvent | SessionMark | Audited


class StreamEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a room's durable stream. The store sets ``seq`` (the room's sequence
    number, without gaps) and ``prev`` (the hash of the room's entry before it) as it appends,
    so the entries form a hash chain (see ``digest``)."""

    room: str
    version: int  # the room version a move committed (0 for an audited action)
    at: int  # ms since the epoch
    node: str  # the node that wrote it
    record: Record
    seq: int = 0  # 1, 2, 3... per room, set by the store as it appends
    prev: str = ""


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An entry as read back from the stream, with its id and the hash it was stored with."""

    id: str  # the stream's id: increasing within the room
    entry: StreamEntry
    hash: str
    body: bytes  # the entry as stored, which ``hash`` is the digest of

    @property
    def room(self) -> str:
        return self.entry.room

    @property
    def version(self) -> int:
        return self.entry.version

    @property
    def at(self) -> int:
        return self.entry.at

    @property
    def node(self) -> str:
        return self.entry.node

    @property
    def is_move(self) -> bool:
        return isinstance(self.entry.record, RoomEvent)

    @property
    def event(self) -> RoomEvent:
        """The move this entry records (a TypeError for a session mark or an audited action)."""
        if not isinstance(self.entry.record, RoomEvent):
            raise TypeError(f"stream entry {self.id} is not a participant's move")
        return self.entry.record


_entry_encoder = msgspec.json.Encoder()
_entry_decoder = msgspec.json.Decoder(StreamEntry)


def encode_entry(entry: StreamEntry) -> bytes:
    return _entry_encoder.encode(entry)


def decode_entry(raw: bytes | str) -> StreamEntry:
    return _entry_decoder.decode(raw)


def digest(body: bytes) -> str:
    """The hash an entry is stored with: SHA-256 of its encoded body, which holds ``prev``."""
    return hashlib.sha256(body).hexdigest()


def chain(head: str, entries: list[StreamEntry]) -> tuple[list[tuple[bytes, str]], str]:
    """Encode ``entries`` as links after ``head`` (``"SEQ:HASH"`` of the room's newest entry,
    or "" for none): (body, hash) pairs, each body with the next sequence number and the hash
    before it; and the new head."""
    seq_text, _, prev = head.partition(":")
    seq = int(seq_text or 0)
    links = []
    for entry in entries:
        seq += 1
        body = encode_entry(msgspec.structs.replace(entry, seq=seq, prev=prev))
        prev = digest(body)
        links.append((body, prev))
    return links, f"{seq}:{prev}"


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
        """Set ``after`` as the participant's new record, explained by ``event``; a move (not
        a drop or resume) is remembered on the record with its reason. A record that ends
        (leaves the active states) forgets the client's emergency information: it is kept only
        while the therapist may need it."""
        if event not in (Event.DROP, Event.RESUME):
            after = after.with_(move=event, reason=reason)
        if after.emergency is not None and not after.active:
            after = after.with_(emergency=None)
        self.changes[after.id] = after
        from_state = before.state if before else State.NEW
        leaves_waiting = from_state is State.WAITING and after.state is not State.WAITING
        self.events.append(
            RoomEvent(
                participant=after.id,
                event=event,
                from_state=from_state,
                to_state=after.state,
                actor=actor,
                reason=reason,
                wait_ms=max(0, after.since - before.queued_at)
                if before and leaves_waiting
                else None,
                link=after.link,
                via=after.via,
            )
        )
        return after

    def amend(self, after: Participant) -> Participant:
        """Set ``after`` as the participant's new record for a change that is not a move
        (the therapist's running-late notice): it reaches every view, and explains no event."""
        self.changes[after.id] = after
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
    session: SessionMark | None  # set when this change began or ended the session
    at: int  # ms since the epoch
    node: str


class ChangeListener(Protocol):
    """Told of every committed change, in order, on the node that committed it. Must not block:
    anything slow is queued and done elsewhere."""

    def __call__(self, change: RoomChange) -> None: ...
