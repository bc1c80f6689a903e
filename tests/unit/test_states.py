"""The participant state table: every listed move, and named refusals for everything else."""

from __future__ import annotations

import itertools

import pytest

from signaling.errors import Code, RapportError
from telehealth.rooms.states import (
    ACTIVE,
    TERMINAL_CODES,
    TRANSITIONS,
    Event,
    Reason,
    Role,
    State,
    can,
    terminal_code,
    transition,
)


@pytest.mark.parametrize(
    ("role", "event", "start", "end"),
    [
        (role, event, start, end)
        for (role, event), moves in TRANSITIONS.items()
        for start, end in moves.items()
    ],
)
def test_every_listed_move(role: Role, event: Event, start: State, end: State) -> None:
    assert transition(role, event, start) is end
    assert can(role, event, start)


def test_everything_else_is_refused_with_a_named_error() -> None:
    refused = 0
    for role, event, state in itertools.product(Role, Event, State):
        if state in TRANSITIONS.get((role, event), {}):
            continue
        with pytest.raises(RapportError) as info:
            transition(role, event, state)
        assert info.value.code is Code.INVALID_TRANSITION
        refused += 1
    assert refused > 50


def test_refusal_says_what_and_why() -> None:
    with pytest.raises(RapportError, match='cannot admit a participant who is "admitted"'):
        transition(Role.CLIENT, Event.ADMIT, State.ADMITTED)
    with pytest.raises(RapportError, match="a therapist cannot admit"):
        transition(Role.THERAPIST, Event.ADMIT, State.PRESENT)


def test_terminal_client_states_cannot_rejoin_but_lapsed_ones_can() -> None:
    for state in (State.DENIED, State.REMOVED, State.ENDED, State.CLOSED):
        assert not can(Role.CLIENT, Event.JOIN, state)
    for state in (State.LEFT, State.EXPIRED):
        assert transition(Role.CLIENT, Event.JOIN, state) is State.WAITING


def test_resume_keeps_the_state() -> None:
    assert transition(Role.CLIENT, Event.JOIN, State.WAITING) is State.WAITING
    assert transition(Role.CLIENT, Event.JOIN, State.ADMITTED) is State.ADMITTED
    assert transition(Role.THERAPIST, Event.JOIN, State.PRESENT) is State.PRESENT


def test_send_back_and_admit_round_trip() -> None:
    admitted = transition(Role.CLIENT, Event.ADMIT, State.WAITING)
    assert transition(Role.CLIENT, Event.SEND_BACK, admitted) is State.WAITING


def test_active_states() -> None:
    assert {State.WAITING, State.ADMITTED, State.PRESENT} == ACTIVE


@pytest.mark.parametrize("state", list(TERMINAL_CODES))
def test_a_part_that_ended_closes_with_its_state_s_code(state: State) -> None:
    assert terminal_code(state) is TERMINAL_CODES[state]


def test_a_withdrawn_link_closes_as_withdrawn_not_removed() -> None:
    assert terminal_code(State.REMOVED, Reason.LINK_WITHDRAWN) is Code.TOKEN_REVOKED
    assert terminal_code(State.REMOVED, Reason.OTHER_DEVICE) is Code.REMOVED
    assert terminal_code(State.REMOVED) is Code.REMOVED
