"""Which seat a client's socket takes: a seat belongs to a device, not to a link.

The first device to open a session link gets the link's participant and a resume secret (the
store keeps only its hash). A socket that proves the secret takes its seat back, as a reconnect
or a reload of the same tab does. The same link opened on another device, without the secret,
does not inherit the seat: it becomes a participant of its own (an id derived from the link and
its own secret), marked ``second_device``, and waits for the therapist, who admits one device of
the link (the others are turned away) or denies it. Deployments with single-device links refuse
the second device instead.

Pure: ids and hashes come in from the caller (the domain derives no ids of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from signaling.errors import Code, RapportError
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Role

MAX_DEVICES_PER_LINK = 3  # active devices of one link in a room, the seated one included


@dataclass(frozen=True)
class SeatClaim:
    """What a client's socket brings: the link's own participant id, how to derive a second
    device's id from a secret hash, the hash of the secret it presented ("" for none), and the
    hash of a fresh secret to use when it proves none."""

    link: str
    primary: str
    device_id: Callable[[str], str]
    presented: str
    fresh: str
    single_device: bool = False
    ends_at: int = 0  # when the link expires (ms): the appointment's end


@dataclass(frozen=True)
class Seat:
    participant: str
    secret: str  # the hash the record keeps
    second_device: bool
    proved: bool  # the socket proved the secret of an existing seat


def choose(s: Snapshot, claim: SeatClaim) -> Seat:
    """The seat ``claim`` takes in room ``s`` (or LINK_IN_USE with single-device links)."""
    primary = s.get(claim.primary)
    if claim.presented:
        if primary is not None and primary.secret == claim.presented:
            return Seat(claim.primary, claim.presented, second_device=False, proved=True)
        own = s.get(claim.device_id(claim.presented))
        if own is not None and own.secret == claim.presented and own.link == claim.link:
            return Seat(own.id, claim.presented, second_device=True, proved=True)
    if primary is None or not primary.active or not primary.secret:
        # Nobody holds the seat (or a record from before seats had secrets): take it. A link
        # whose part has ended (denied, removed...) is refused later by the state table.
        return Seat(claim.primary, claim.fresh, second_device=False, proved=False)
    if claim.single_device:
        raise RapportError(Code.LINK_IN_USE)
    if len(other_devices(s, primary)) + 1 >= MAX_DEVICES_PER_LINK:
        # One link must not fill the waiting room with devices of its own.
        raise RapportError(Code.LINK_IN_USE, "This link is already open on too many devices.")
    return Seat(claim.device_id(claim.fresh), claim.fresh, second_device=True, proved=False)


def other_devices(s: Snapshot, p: Participant) -> list[Participant]:
    """The link's other active devices, besides ``p``."""
    return [
        q
        for q in s.participants.values()
        if q.role is Role.CLIENT and q.link and q.link == p.link and q.id != p.id and q.active
    ]
