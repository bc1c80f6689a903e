"""Snapshots and what is derived from them (telehealth/rooms/model.py): pure functions of one
room at one version."""

from __future__ import annotations

import pytest

from telehealth.rooms.model import (
    Participant,
    Snapshot,
    TherapistStatus,
    decode_participant,
    empty,
    encode_participant,
    merge,
)
from telehealth.rooms.states import Role, State

ROOM = "room-model"


def client(
    pid: str,
    state: State = State.WAITING,
    *,
    queued_at: int = 0,
    since: int = 0,
    node: str = "n-1",
    connected: bool = True,
) -> Participant:
    return Participant(
        id=pid,
        role=Role.CLIENT,
        state=state,
        name=f"name of {pid}",
        queued_at=queued_at,
        since=since,
        node=node,
        connected=connected,
    )


def therapist(
    pid: str = "t-1", state: State = State.PRESENT, *, connected: bool = True, node: str = "n-1"
) -> Participant:
    return Participant(
        id=pid, role=Role.THERAPIST, state=state, name="Dr T", node=node, connected=connected
    )


def room(*people: Participant, version: int = 1) -> Snapshot:
    return Snapshot(room=ROOM, version=version, participants={p.id: p for p in people})


def ids(people: list[Participant]) -> list[str]:
    return [p.id for p in people]


# -- waiting, admitted, therapist ---------------------------------------------------------------


def test_waiting_is_in_arrival_order_then_by_id() -> None:
    s = room(
        client("c-late", queued_at=300),
        client("c-b", queued_at=100),
        client("c-a", queued_at=100),  # same arrival as c-b: the id decides
        client("c-first", queued_at=50),
        client("c-in", State.ADMITTED, queued_at=10),
        client("c-gone", State.LEFT, queued_at=20),
        therapist(),
    )
    assert ids(s.waiting()) == ["c-first", "c-a", "c-b", "c-late"]


def test_a_client_sent_back_keeps_their_place_by_queued_at() -> None:
    # since moves with every state change; queued_at is kept through a send-back.
    s = room(
        client("c-1", queued_at=100, since=900),  # sent back just now
        client("c-2", queued_at=200, since=200),
    )
    assert ids(s.waiting()) == ["c-1", "c-2"]


def test_admitted_is_in_order_of_admission_then_by_id() -> None:
    s = room(
        client("c-3", State.ADMITTED, since=30),
        client("c-2", State.ADMITTED, since=10),
        client("c-1", State.ADMITTED, since=30),
        client("c-w", State.WAITING, since=1),
        client("c-d", State.DENIED, since=2),
        therapist(),
    )
    assert ids(s.admitted()) == ["c-2", "c-1", "c-3"]


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        ((), None),
        ((client("c-1"),), None),
        ((therapist(),), "t-1"),
        ((therapist(state=State.LEFT), client("c-1")), None),
        ((therapist(state=State.EXPIRED),), None),
        ((therapist(state=State.CLOSED),), None),
        ((therapist(connected=False), client("c-1")), "t-1"),  # dropped, still present
    ],
    ids=["empty", "clients-only", "present", "left", "expired", "closed", "dropped"],
)
def test_therapist_is_the_present_one(
    people: tuple[Participant, ...], expected: str | None
) -> None:
    found = room(*people).therapist()
    assert (found.id if found else None) == expected


def test_a_client_is_never_the_therapist() -> None:
    # Only the role counts: a client record in an unexpected state is not taken for one.
    assert room(client("c-1", State.PRESENT)).therapist() is None


# -- the session --------------------------------------------------------------------------------


def test_no_session_when_nobody_is_admitted() -> None:
    s = room(therapist(), client("c-1"), client("c-2"))
    assert s.session == {}
    assert s.in_session() == []


def test_session_is_the_therapist_then_the_admitted_clients() -> None:
    s = room(
        client("c-2", State.ADMITTED, since=20),
        client("c-w"),
        therapist(),
        client("c-1", State.ADMITTED, since=10),
    )
    assert ids(s.in_session()) == ["t-1", "c-1", "c-2"]
    assert list(s.session) == ["t-1", "c-1", "c-2"]
    assert s.session["c-1"] is s.participants["c-1"]
    assert "c-w" not in s.session


def test_session_without_a_present_therapist_is_the_admitted_clients() -> None:
    s = room(therapist(state=State.LEFT), client("c-1", State.ADMITTED))
    assert ids(s.in_session()) == ["c-1"]


# -- what a client is told about the therapist -------------------------------------------------


@pytest.mark.parametrize(
    ("people", "viewer", "status"),
    [
        ((client("c-1"),), "c-1", TherapistStatus.ABSENT),
        # Gone before this client arrived: not here yet, as far as the client can tell.
        ((therapist(state=State.LEFT), client("c-1", queued_at=5)), "c-1", TherapistStatus.ABSENT),
        (
            (therapist(state=State.EXPIRED), client("c-1", queued_at=5)),
            "c-1",
            TherapistStatus.ABSENT,
        ),
        # Gone since the client arrived: the client is told they left, or were lost.
        ((therapist(state=State.LEFT), client("c-1")), "c-1", TherapistStatus.LEFT),
        ((therapist(state=State.EXPIRED), client("c-1")), "c-1", TherapistStatus.LOST),
        ((therapist(connected=False), client("c-1")), "c-1", TherapistStatus.RECONNECTING),
        # Reconnecting wins over in session: the waiting client is told the therapist is away.
        (
            (therapist(connected=False), client("c-1"), client("c-2", State.ADMITTED)),
            "c-1",
            TherapistStatus.RECONNECTING,
        ),
        (
            (therapist(), client("c-1"), client("c-2", State.ADMITTED)),
            "c-1",
            TherapistStatus.IN_SESSION,
        ),
        ((therapist(), client("c-1")), "c-1", TherapistStatus.READY),
        # An admitted client is with the therapist: ready, even with others in the session.
        (
            (therapist(), client("c-1", State.ADMITTED), client("c-2", State.ADMITTED)),
            "c-1",
            TherapistStatus.READY,
        ),
        ((therapist(), client("c-1", State.ADMITTED)), "c-1", TherapistStatus.READY),
    ],
    ids=[
        "no-therapist",
        "therapist-left-before",
        "therapist-expired-before",
        "therapist-left-since",
        "therapist-lost-since",
        "reconnecting",
        "reconnecting-over-in-session",
        "in-session-with-another",
        "ready",
        "admitted-with-another",
        "admitted-alone",
    ],
)
def test_therapist_status(
    people: tuple[Participant, ...], viewer: str, status: TherapistStatus
) -> None:
    assert room(*people).therapist_status(viewer) is status


# -- position, nodes, activity ------------------------------------------------------------------


def test_position_counts_from_one_in_waiting_order() -> None:
    s = room(
        therapist(),
        client("c-3", queued_at=30),
        client("c-1", queued_at=10),
        client("c-2", queued_at=20),
        client("c-in", State.ADMITTED),
    )
    assert [s.position(pid) for pid in ("c-1", "c-2", "c-3")] == [1, 2, 3]
    assert s.position("c-in") is None
    assert s.position("t-1") is None
    assert s.position("nobody") is None


def test_nodes_are_those_of_active_participants() -> None:
    s = room(
        therapist(node="n-a"),
        client("c-1", node="n-b"),
        client("c-2", State.ADMITTED, node="n-b", connected=False),  # dropped, still here
        client("c-3", State.LEFT, node="n-c"),
        client("c-4", State.DENIED, node="n-d"),
        client("c-5", node=""),
    )
    assert s.nodes() == {"n-a", "n-b"}


def test_a_room_is_active_while_someone_takes_part() -> None:
    assert not empty(ROOM).active
    assert not room(client("c-1", State.LEFT), therapist(state=State.CLOSED)).active
    assert room(client("c-1", State.LEFT), client("c-2", State.ADMITTED)).active
    assert room(therapist()).active


def test_empty_room() -> None:
    s = empty(ROOM)
    assert (s.room, s.version, s.participants) == (ROOM, 0, {})
    assert s.waiting() == [] and s.admitted() == [] and s.therapist() is None


# -- merge ---------------------------------------------------------------------------------------


def test_merge_replaces_and_adds_records_at_the_new_version() -> None:
    before = room(therapist(), client("c-1"), version=4)
    admitted = client("c-1", State.ADMITTED, since=50)
    newcomer = client("c-2", queued_at=60)
    after = merge(before, 5, [admitted, newcomer])
    assert (after.room, after.version) == (ROOM, 5)
    assert after.participants == {"t-1": therapist(), "c-1": admitted, "c-2": newcomer}
    # The snapshot merged into is left as it was.
    assert before.version == 4
    assert before.participants["c-1"].state is State.WAITING
    assert "c-2" not in before.participants


def test_merge_of_nothing_only_moves_the_version() -> None:
    before = room(therapist(), version=2)
    after = merge(before, 3, [])
    assert after.version == 3 and after.participants == before.participants


def test_a_merged_snapshot_works_out_its_own_session() -> None:
    before = room(therapist(), client("c-1"))
    assert before.session == {}  # worked out (and cached) before the merge
    after = merge(before, 2, [client("c-1", State.ADMITTED)])
    assert list(after.session) == ["t-1", "c-1"]
    assert before.session == {}


# -- records on the wire -------------------------------------------------------------------------


def test_a_participant_survives_encoding() -> None:
    p = client("c-1", State.ADMITTED, queued_at=1_764_400_000_123, since=1_764_400_000_456)
    assert decode_participant(encode_participant(p)) == p
    assert decode_participant(encode_participant(p).decode()) == p


def test_with_changes_only_what_is_named() -> None:
    p = client("c-1", queued_at=7)
    q = p.with_(state=State.ADMITTED, since=9)
    assert (q.state, q.since, q.queued_at, q.name) == (State.ADMITTED, 9, 7, p.name)
    assert p.state is State.WAITING
