"""Participants and room snapshots, and what can be derived from them (pure functions).

A snapshot is the whole state of one room at one version. Presence stores hold snapshots and
commit changes to them atomically; every node derives views from the latest version it has seen.
Times are integer milliseconds since the epoch (they survive a trip through Lua's cjson intact).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property

import msgspec

from signaling.messages import DeviceCheck, Emergency, PrecallReport
from telehealth.rooms.states import ACTIVE, Event, Reason, Role, State


class Participant(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    role: Role
    state: State
    name: str
    queued_at: int = 0  # arrival in the waiting room, for ordering; kept through a send-back
    since: int = 0  # when the current state began
    node: str = ""  # the node holding this participant's socket
    conn: str = ""  # the current socket's id; a newer socket replaces an older one
    connected: bool = False
    dropped_at: int = 0  # when the socket dropped (0 while connected)
    device: DeviceCheck | None = None
    link: str = ""  # a client's session link id (jti); "" for the therapist
    # How a client came: "" with a session link, "room_link" through the therapist's room link
    # (rooms/roomlinks.py), from the token's ``via`` claim at join.
    via: str = ""
    # A hash of the resume secret the client's device (browser tab) was given; only a socket
    # that proves the secret resumes this record. "" for the therapist (and older records).
    secret: str = ""
    # True for a later device of a link whose seat another device held when it came: it waits
    # for the therapist's decision (rooms/seats.py).
    second_device: bool = False
    # The move that put the participant in their current state, and why, where the event alone
    # does not say (rooms/events.py sets both with every move): what the client is told comes
    # from them. Sent back by the therapist, or back because the therapist left or was lost;
    # removed by the therapist, or because the link was withdrawn.
    move: Event | None = None
    reason: Reason = Reason.NONE
    # A client's emergency information from check-in (PHI, like the name): shown to the
    # therapist only, and dropped when the record ends (events.Decision.record).
    emergency: Emergency | None = None
    # The client's last pre-call connection test (figures and verdict, no address): kept as
    # long as the record, shown to the therapist on the waiting card.
    precall: PrecallReport | None = None
    # The therapist's "running late" notice: when they expect to be with the waiting clients
    # (ms since the epoch); 0 for none. Kept on the therapist's record so every node sees it.
    late_until: int = 0
    # When a client's session link expires (ms since the epoch): the end of their appointment,
    # shown on the therapist's session timer. 0 for the therapist (and older records).
    ends_at: int = 0

    def with_(self, **changes: object) -> Participant:
        return msgspec.structs.replace(self, **changes)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class TherapistStatus(StrEnum):
    ABSENT = "absent"  # not here yet (or gone)
    READY = "ready"
    IN_SESSION = "in_session"  # with other clients
    RECONNECTING = "reconnecting"  # dropped, within the grace period
    # Gone since this client arrived: they left, or their connection dropped and the grace
    # period lapsed. Not "absent": the client knows the therapist was here.
    LEFT = "left"
    LOST = "lost"


class Snapshot(msgspec.Struct, frozen=True, dict=True):
    # dict=True: room for the cached_property below (snapshots are immutable, so it never goes
    # stale); it is not a field, so it is neither encoded nor compared.
    room: str
    version: int
    participants: dict[str, Participant]

    def get(self, pid: str) -> Participant | None:
        return self.participants.get(pid)

    @property
    def active(self) -> bool:
        return any(p.active for p in self.participants.values())

    def waiting(self) -> list[Participant]:
        """Waiting clients in arrival order."""
        return sorted(
            (p for p in self.participants.values() if p.state is State.WAITING),
            key=lambda p: (p.queued_at, p.id),
        )

    def admitted(self) -> list[Participant]:
        return sorted(
            (p for p in self.participants.values() if p.state is State.ADMITTED),
            key=lambda p: (p.since, p.id),
        )

    def therapist(self) -> Participant | None:
        for p in self.participants.values():
            if p.role is Role.THERAPIST and p.state is State.PRESENT:
                return p
        return None

    def in_session(self) -> list[Participant]:
        """Everyone in the call: the therapist (when present) and the admitted clients."""
        return list(self.session.values())

    @cached_property
    def session(self) -> dict[str, Participant]:
        """``in_session()`` by id, in the same order; worked out once per snapshot, because the
        relay path asks for every message."""
        therapist = self.therapist()
        admitted = self.admitted()
        return {p.id: p for p in ([therapist] if therapist and admitted else []) + admitted}

    def therapist_status(self, viewer: str) -> TherapistStatus:
        therapist = self.therapist()
        if therapist is None:
            return self._therapist_gone(viewer)
        if not therapist.connected:
            return TherapistStatus.RECONNECTING
        if any(p.id != viewer for p in self.admitted()) and self.participants[viewer].state is not (
            State.ADMITTED
        ):
            return TherapistStatus.IN_SESSION
        return TherapistStatus.READY

    def _therapist_gone(self, viewer: str) -> TherapistStatus:
        """Why no therapist is present, as far as ``viewer`` can tell: one who left or lapsed
        after the viewer arrived is "left" or "lost"; otherwise they have not come yet."""
        me = self.participants.get(viewer)
        last = max(
            (p for p in self.participants.values() if p.role is Role.THERAPIST),
            key=lambda p: (p.since, p.id),
            default=None,
        )
        if me is None or last is None or last.since < me.queued_at:
            return TherapistStatus.ABSENT
        if last.state is State.EXPIRED:
            return TherapistStatus.LOST
        if last.state is State.LEFT:
            return TherapistStatus.LEFT
        return TherapistStatus.ABSENT

    def therapist_eta(self) -> int:
        """When the present therapist, running late, expects to be here (ms); 0 for no notice."""
        therapist = self.therapist()
        return therapist.late_until if therapist is not None else 0

    def position(self, pid: str) -> int | None:
        for i, p in enumerate(self.waiting(), start=1):
            if p.id == pid:
                return i
        return None

    def nodes(self) -> set[str]:
        return {p.node for p in self.participants.values() if p.node and p.active}


def empty(room: str) -> Snapshot:
    return Snapshot(room=room, version=0, participants={})


def merge(snapshot: Snapshot, version: int, changed: Iterable[Participant]) -> Snapshot:
    participants = dict(snapshot.participants)
    for p in changed:
        participants[p.id] = p
    return Snapshot(room=snapshot.room, version=version, participants=participants)


_participant_encoder = msgspec.json.Encoder()
_participant_decoder = msgspec.json.Decoder(Participant)


def encode_participant(p: Participant) -> bytes:
    return _participant_encoder.encode(p)


def decode_participant(raw: bytes | str) -> Participant:
    return _participant_decoder.decode(raw)
