"""What each participant is shown, derived from a snapshot.

A waiting client learns only their own state, the therapist's status and (when the deployment
allows) their position; never who else is waiting or in session. A client's emergency
information (where they are, a phone number) is in the therapist's view only.
"""

from __future__ import annotations

from signaling.messages import (
    BackReason,
    ClientState,
    Outbound,
    Peer,
    RoomView,
    SessionEntry,
    SessionView,
    WaitingEntry,
)
from signaling.negotiation import polite
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Event, Reason, Role, State


def _seconds(ms: int) -> float:
    return ms / 1000.0


def room_view(snapshot: Snapshot) -> RoomView:
    return RoomView(
        waiting=[
            WaitingEntry(
                participant_id=p.id,
                name=p.name,
                since=_seconds(p.queued_at),
                connected=p.connected,
                device=p.device,
                second_device=p.second_device,
                emergency=p.emergency,
                precall=p.precall,
                via=p.via or None,
            )
            for p in snapshot.waiting()
        ],
        session=[
            SessionEntry(
                participant_id=p.id,
                role=p.role.value,
                name=p.name,
                since=_seconds(p.since),
                connected=p.connected,
                emergency=p.emergency,
                ends_at=_seconds(p.ends_at) if p.ends_at else None,
            )
            for p in snapshot.admitted()
        ],
        version=snapshot.version,
        eta=_eta(snapshot),
    )


def _eta(snapshot: Snapshot) -> float | None:
    eta = snapshot.therapist_eta()
    return _seconds(eta) if eta else None


def session_view(snapshot: Snapshot, me: Participant) -> SessionView:
    return SessionView(
        peers=[
            Peer(
                participant_id=p.id,
                role=p.role.value,
                name=p.name,
                polite=polite(role=me.role, participant_id=me.id, peer_role=p.role, peer_id=p.id),
                connected=p.connected,
            )
            for p in snapshot.in_session()
            if p.id != me.id
        ]
    )


def back_reason(me: Participant) -> BackReason | None:
    """Why a waiting client is back from the session, if they are (else None)."""
    if me.state is not State.WAITING or me.move is not Event.SEND_BACK:
        return None
    if me.reason is Reason.THERAPIST_LOST:
        return "therapist_lost"
    if me.reason is Reason.THERAPIST_LEFT:
        return "therapist_left"
    return "sent_back"


def views_for(snapshot: Snapshot, pid: str, *, show_position: bool) -> list[Outbound]:
    """The messages that describe the room to participant ``pid``, in the order to send them."""
    me = snapshot.get(pid)
    if me is None:
        return []
    if me.role is Role.THERAPIST:
        return [room_view(snapshot), session_view(snapshot, me)]
    state = ClientState(
        state=me.state.value,
        therapist=snapshot.therapist_status(pid).value,
        position=snapshot.position(pid) if show_position and me.state is State.WAITING else None,
        reason=back_reason(me),
        eta=_eta(snapshot) if me.state is State.WAITING else None,
    )
    if me.state is State.ADMITTED:
        return [state, session_view(snapshot, me)]
    return [state]
