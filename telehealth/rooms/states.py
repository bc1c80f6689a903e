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
