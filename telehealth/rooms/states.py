"""The participant state machine, kept in one table.

A participant is a client (from a session link) or the room's therapist. Every move between
states is an (role, event) entry in ``TRANSITIONS``; ``transition()`` is the only way to change
state, and it raises a named error that says what was refused and why. It logs nothing: a
decision may be refused or retried, so only a committed change is logged (rooms/translog.py).

Connection (connected / dropped and in grace) is tracked beside the state, not as a state: a
client who drops while waiting is still waiting and keeps their place.
"""

from __future__ import annotations

from enum import StrEnum

from signaling.errors import Code, RapportError


class Role(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"


class State(StrEnum):
    NEW = "new"  # no record yet
    WAITING = "waiting"  # client in the waiting room
    ADMITTED = "admitted"  # client in the session
    PRESENT = "present"  # therapist in their room
    DENIED = "denied"
    REMOVED = "removed"
    LEFT = "left"
    ENDED = "ended"
    EXPIRED = "expired"  # away for longer than the grace period
    CLOSED = "closed"  # the whole room was closed (by an admin or the therapist)


class Event(StrEnum):
    JOIN = "join"
    ADMIT = "admit"
    DENY = "deny"
    REMOVE = "remove"
    SEND_BACK = "send_back"
    LEAVE = "leave"
    END_SESSION = "end_session"
    END_ROOM = "end_room"
    EXPIRE = "expire"
    # Not moves between states: the socket went away (the place is kept for a grace period),
    # or came back. They are events all the same, for the listeners and the audit trail.
    DROP = "drop"
    RESUME = "resume"


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
    SECOND_DEVICE = "second_device"  # a link already seated elsewhere opened on another device
    OTHER_DEVICE = "other_device"  # another device of the same link was admitted instead


C, T = Role.CLIENT, Role.THERAPIST
S = State

# (role, event) -> {from state: to state}. Anything not listed is refused.
TRANSITIONS: dict[tuple[Role, Event], dict[State, State]] = {
    # A client knocks; one who left or lapsed knocks again; one already here resumes in place.
    (C, Event.JOIN): {
        S.NEW: S.WAITING,
        S.LEFT: S.WAITING,
        S.EXPIRED: S.WAITING,
        S.WAITING: S.WAITING,
        S.ADMITTED: S.ADMITTED,
    },
    (C, Event.ADMIT): {S.WAITING: S.ADMITTED},
    (C, Event.DENY): {S.WAITING: S.DENIED},
    (C, Event.REMOVE): {S.WAITING: S.REMOVED, S.ADMITTED: S.REMOVED},
    (C, Event.SEND_BACK): {S.ADMITTED: S.WAITING},
    (C, Event.LEAVE): {S.WAITING: S.LEFT, S.ADMITTED: S.LEFT},
    (C, Event.END_SESSION): {S.ADMITTED: S.ENDED},
    (C, Event.END_ROOM): {S.WAITING: S.CLOSED, S.ADMITTED: S.CLOSED},
    (C, Event.EXPIRE): {S.WAITING: S.EXPIRED, S.ADMITTED: S.EXPIRED},
    # The therapist can always come back to their room.
    (T, Event.JOIN): {
        S.NEW: S.PRESENT,
        S.PRESENT: S.PRESENT,
        S.LEFT: S.PRESENT,
        S.EXPIRED: S.PRESENT,
        S.ENDED: S.PRESENT,
        S.CLOSED: S.PRESENT,
    },
    (T, Event.LEAVE): {S.PRESENT: S.LEFT},
    (T, Event.END_ROOM): {S.PRESENT: S.CLOSED},
    (T, Event.EXPIRE): {S.PRESENT: S.EXPIRED},
}

# States in which a participant still takes part in the room.
ACTIVE: frozenset[State] = frozenset({S.WAITING, S.ADMITTED, S.PRESENT})

# The code a client is told when their state ends their connection.
TERMINAL_CODES: dict[State, Code] = {
    S.DENIED: Code.DENIED,
    S.REMOVED: Code.REMOVED,
    S.ENDED: Code.SESSION_ENDED,
    S.LEFT: Code.LEFT,
    S.EXPIRED: Code.EXPIRED,
    S.CLOSED: Code.ROOM_ENDED,
}


def terminal_code(state: State, reason: Reason = Reason.NONE) -> Code:
    """The close code for a participant whose part ended in ``state`` after a move for
    ``reason``. A withdrawn link says so (``token_revoked``), never "removed": its client may
    never have been in a session."""
    if reason is Reason.LINK_WITHDRAWN:
        return Code.TOKEN_REVOKED
    return TERMINAL_CODES.get(state, Code.SESSION_ENDED)


def can(role: Role, event: Event, state: State) -> bool:
    return state in TRANSITIONS.get((role, event), {})


def transition(role: Role, event: Event, state: State) -> State:
    """The state after ``event``, or a named error saying why the move is refused."""
    moves = TRANSITIONS.get((role, event))
    if moves is None:
        raise RapportError(
            Code.INVALID_TRANSITION, f"a {role.value} cannot {event.value.replace('_', ' ')}"
        )
    target = moves.get(state)
    if target is None:
        raise RapportError(
            Code.INVALID_TRANSITION,
            f'cannot {event.value.replace("_", " ")} a participant who is "{state.value}"',
        )
    return target
