"""What each participant is shown (telehealth/rooms/views.py). Above all: a waiting client learns
their own state, the therapist's status and perhaps their position, and nothing about anyone
else: no id, no name, no session peer. The checks read the encoded bytes, as sent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.messages import ClientState, Outbound, Peer, RoomView, SessionView, encode
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Event, Reason, Role, State
from telehealth.rooms.views import back_reason, views_for

ROOM = "room-views"


def person(
    pid: str,
    name: str,
    state: State,
    *,
    role: Role = Role.CLIENT,
    queued_at: int = 0,
    since: int = 0,
    connected: bool = True,
) -> Participant:
    return Participant(
        id=pid,
        role=role,
        state=state,
        name=name,
        queued_at=queued_at,
        since=since,
        node="n-1",
        connected=connected,
    )


# Ids and names chosen so that none is part of another: a leak cannot hide behind a substring.
THERAPIST = person("th-8f2a", "Dr Quill", State.PRESENT, role=Role.THERAPIST)
WAITING = [
    person("wa-31c0", "Wren Ashby", State.WAITING, queued_at=1_000, since=1_000),
    person("wa-77d4", "Ines Morrow", State.WAITING, queued_at=2_000, since=2_000),
    person("wa-05be", "Otto Lindqvist", State.WAITING, queued_at=3_000, since=3_000),
]
ADMITTED = [
    person("ad-9e61", "Priya Castell", State.ADMITTED, queued_at=500, since=4_000),
    person("ad-14fa", "Jonah Vey", State.ADMITTED, queued_at=600, since=5_000),
]
GONE = [
    person("dn-6b3e", "Dana Holt", State.DENIED, queued_at=700),
    person("lf-2c9d", "Luca Fenn", State.LEFT, queued_at=800),
]
EVERYONE = [THERAPIST, *WAITING, *ADMITTED, *GONE]


def snapshot(people: list[Participant], version: int = 12) -> Snapshot:
    return Snapshot(room=ROOM, version=version, participants={p.id: p for p in people})


ROOM_NOW = snapshot(EVERYONE)


def wire(views: list[Outbound]) -> bytes:
    return b"".join(encode(v) for v in views)


def others(me: Participant, people: list[Participant]) -> list[Participant]:
    return [p for p in people if p.id != me.id]


# -- waiting clients -----------------------------------------------------------------------------


@pytest.mark.parametrize("show_position", [False, True])
@pytest.mark.parametrize("me", WAITING, ids=lambda p: p.id)
def test_a_waiting_client_sees_nobody_else(me: Participant, show_position: bool) -> None:
    views = views_for(ROOM_NOW, me.id, show_position=show_position)
    assert [type(v) for v in views] == [ClientState]  # no session view, no room view
    sent = wire(views)
    for other in others(me, EVERYONE):
        assert other.id.encode() not in sent
        assert other.name.encode() not in sent
    assert b"peers" not in sent and b"participant_id" not in sent


@pytest.mark.parametrize("me", WAITING, ids=lambda p: p.id)
def test_a_waiting_client_learns_their_state_and_the_therapists(me: Participant) -> None:
    (state,) = views_for(ROOM_NOW, me.id, show_position=False)
    assert state == ClientState(state="waiting", therapist="in_session", position=None)


def test_a_waiting_client_learns_their_position_only_when_the_deployment_shows_it() -> None:
    shown = [views_for(ROOM_NOW, p.id, show_position=True)[0] for p in WAITING]
    hidden = [views_for(ROOM_NOW, p.id, show_position=False)[0] for p in WAITING]
    assert [v.position for v in shown if isinstance(v, ClientState)] == [1, 2, 3]
    assert [v.position for v in hidden if isinstance(v, ClientState)] == [None, None, None]


def test_the_therapist_status_a_waiting_client_sees_follows_the_room() -> None:
    me = WAITING[0]
    alone = snapshot([THERAPIST, me])
    dropped = snapshot([THERAPIST.with_(connected=False), me, *ADMITTED])
    absent = snapshot([me, *ADMITTED])
    for room, status in ((alone, "ready"), (dropped, "reconnecting"), (absent, "absent")):
        assert views_for(room, me.id, show_position=False) == [
            ClientState(state="waiting", therapist=status)
        ]


# -- admitted clients ----------------------------------------------------------------------------


@pytest.mark.parametrize("show_position", [False, True])
@pytest.mark.parametrize("me", ADMITTED, ids=lambda p: p.id)
def test_an_admitted_client_sees_only_session_peers(me: Participant, show_position: bool) -> None:
    views = views_for(ROOM_NOW, me.id, show_position=show_position)
    assert views[0] == ClientState(state="admitted", therapist="ready", position=None)
    assert isinstance(views[1], SessionView) and len(views) == 2
    peers = views[1].peers
    assert [p.participant_id for p in peers] == [THERAPIST.id] + [
        p.id for p in ADMITTED if p is not me
    ]
    sent = wire(views)
    for outsider in [*WAITING, *GONE]:
        assert outsider.id.encode() not in sent
        assert outsider.name.encode() not in sent
    assert me.id.encode() not in sent  # not listed as their own peer


def test_session_peers_carry_the_negotiation_role() -> None:
    a, b = ADMITTED
    (_, view_a) = views_for(ROOM_NOW, a.id, show_position=False)
    (_, view_b) = views_for(ROOM_NOW, b.id, show_position=False)
    assert isinstance(view_a, SessionView) and isinstance(view_b, SessionView)
    assert view_a.peers[0] == Peer(
        participant_id=THERAPIST.id, role="therapist", name="Dr Quill", polite=True, connected=True
    )
    # Between two clients exactly one is polite, and both pages agree which.
    polite_a = {p.participant_id: p.polite for p in view_a.peers}[b.id]
    polite_b = {p.participant_id: p.polite for p in view_b.peers}[a.id]
    assert polite_a != polite_b


def test_a_dropped_peer_is_shown_as_not_connected() -> None:
    a, b = ADMITTED
    room = snapshot([THERAPIST, a, b.with_(connected=False)])
    (_, view) = views_for(room, a.id, show_position=False)
    assert isinstance(view, SessionView)
    assert {p.participant_id: p.connected for p in view.peers} == {THERAPIST.id: True, b.id: False}


# -- the therapist -------------------------------------------------------------------------------


def test_the_therapist_sees_the_room_and_the_session() -> None:
    room_view, session_view = views_for(ROOM_NOW, THERAPIST.id, show_position=False)
    assert isinstance(room_view, RoomView) and isinstance(session_view, SessionView)
    assert [w.participant_id for w in room_view.waiting] == [p.id for p in WAITING]
    assert [w.name for w in room_view.waiting] == [p.name for p in WAITING]
    assert [w.since for w in room_view.waiting] == [1.0, 2.0, 3.0]  # queued_at, in seconds
    assert [s.participant_id for s in room_view.session] == [p.id for p in ADMITTED]
    assert room_view.version == ROOM_NOW.version
    assert [p.participant_id for p in session_view.peers] == [p.id for p in ADMITTED]
    assert not any(p.polite for p in session_view.peers)  # the therapist is never polite
    # Denied and departed clients are in neither list.
    sent = wire([room_view, session_view])
    for p in GONE:
        assert p.id.encode() not in sent


def test_the_therapist_alone_has_no_session_peers() -> None:
    room = snapshot([THERAPIST, *WAITING])
    room_view, session_view = views_for(room, THERAPIST.id, show_position=True)
    assert isinstance(room_view, RoomView) and len(room_view.waiting) == 3
    assert session_view == SessionView(peers=[])


def test_an_unknown_participant_is_shown_nothing() -> None:
    assert views_for(ROOM_NOW, "nobody", show_position=True) == []


@pytest.mark.parametrize("me", GONE, ids=lambda p: p.id)
def test_a_client_whose_part_ended_sees_only_their_state(me: Participant) -> None:
    views = views_for(ROOM_NOW, me.id, show_position=True)
    assert views == [ClientState(state=me.state.value, therapist="in_session", position=None)]


# -- any room ------------------------------------------------------------------------------------

STATES = st.sampled_from([State.WAITING, State.ADMITTED, State.LEFT, State.DENIED, State.EXPIRED])


@settings(max_examples=200, deadline=None, database=None)
@given(
    clients=st.lists(st.tuples(STATES, st.integers(0, 5), st.booleans()), min_size=1, max_size=8),
    therapist_state=st.sampled_from([State.PRESENT, State.LEFT, State.NEW]),
    therapist_connected=st.booleans(),
    show_position=st.booleans(),
)
def test_in_any_room_a_waiting_client_sees_nobody_else(
    clients: list[tuple[State, int, bool]],
    therapist_state: State,
    therapist_connected: bool,
    show_position: bool,
) -> None:
    people = [
        person(f"id-{i:02d}x", f"Name{i:02d}x", state, queued_at=queued, connected=connected)
        for i, (state, queued, connected) in enumerate(clients)
    ]
    if therapist_state is not State.NEW:
        people.append(THERAPIST.with_(state=therapist_state, connected=therapist_connected))
    room = snapshot(people)
    for me in room.waiting():
        views = views_for(room, me.id, show_position=show_position)
        assert [type(v) for v in views] == [ClientState]
        sent = wire(views)
        for other in others(me, people):
            assert other.id.encode() not in sent and other.name.encode() not in sent
        state = views[0]
        assert isinstance(state, ClientState)
        assert state.position == (room.position(me.id) if show_position else None)


# -- why a client is back in the waiting room ----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "move", "reason", "told"),
    [
        (State.WAITING, Event.SEND_BACK, Reason.NONE, "sent_back"),
        (State.WAITING, Event.SEND_BACK, Reason.THERAPIST_LEFT, "therapist_left"),
        (State.WAITING, Event.SEND_BACK, Reason.THERAPIST_LOST, "therapist_lost"),
        (State.WAITING, Event.JOIN, Reason.NONE, None),  # knocked: not back from anywhere
        (State.WAITING, None, Reason.NONE, None),  # a record from before moves were kept
        (State.ADMITTED, Event.ADMIT, Reason.NONE, None),
    ],
)
def test_a_client_back_in_the_waiting_room_is_told_why(
    state: State, move: Event | None, reason: Reason, told: str | None
) -> None:
    me = person("ba-1d3f", "Mara Quist", state, queued_at=100, since=900).with_(
        move=move, reason=reason
    )
    assert back_reason(me) == told
    views = views_for(snapshot([THERAPIST, me]), me.id, show_position=False)
    first = views[0]
    assert isinstance(first, ClientState) and first.reason == told
