"""The seam: every committed change reaches the listeners once, with the events that explain it,
and the same events land in the room's durable stream. Refused or retried decisions leave
nothing behind. Runs on the in-memory store; tests/contract holds the same for Redis."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pytest

from signaling.errors import Code, RapportError
from signaling.messages import Emergency
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import Actor, ActorRole, Decision, RoomChange, StreamEntry
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Participant
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Event, Reason, Role, State
from telehealth.rooms.translog import TransitionLog
from telehealth.routing.local import LocalRouter

ROOM = "room-seam"
T = Actor(role=ActorRole.THERAPIST, sub="dr-1", participant="t-1")
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")


def client(n: int) -> Actor:
    return Actor(role=ActorRole.CLIENT, sub=f"link-{n}", participant=f"c-{n}")


class Clock:
    def __init__(self) -> None:
        self.ms = 1_764_400_000_000

    def __call__(self) -> int:
        return self.ms


class Recorder:
    def __init__(self) -> None:
        self.changes: list[RoomChange] = []

    def __call__(self, change: RoomChange) -> None:
        self.changes.append(change)

    def moves(self) -> list[tuple[str, Event, State, State]]:
        return [
            (e.participant, e.event, e.from_state, e.to_state)
            for c in self.changes
            for e in c.events
        ]


def make(
    presence: MemoryPresence | None = None, *, max_participants: int = 4, node: str = "n-1"
) -> tuple[RoomService, Recorder, Clock]:
    clock = Clock()
    rules = RoomRules(node_id=node, max_participants=max_participants)
    service = RoomService(
        presence or MemoryPresence(), LocalRouter(), Hub(show_position=False), rules, clock
    )
    recorder = Recorder()
    service.listen(recorder)
    return service, recorder, clock


async def seat(service: RoomService, *clients: int) -> None:
    await service.join(ROOM, T, Role.THERAPIST, "Dr T", conn="ct")
    for n in clients:
        await service.join(ROOM, client(n), Role.CLIENT, f"name {n}", conn=f"cc-{n}")


async def stream_moves(service: RoomService) -> list[tuple[str, Event, State, State]]:
    return [
        (s.event.participant, s.event.event, s.event.from_state, s.event.to_state)
        for s in await service.presence.events(ROOM)
        if s.is_move
    ]


async def test_every_committed_move_reaches_listeners_and_stream_once() -> None:
    service, recorder, _ = make()
    await seat(service, 1, 2)
    await service.admit(ROOM, T, ["c-1"])
    await service.deny(ROOM, T, "c-2")
    await service.send_back(ROOM, T, "c-1")
    expected = [
        ("t-1", Event.JOIN, State.NEW, State.PRESENT),
        ("c-1", Event.JOIN, State.NEW, State.WAITING),
        ("c-2", Event.JOIN, State.NEW, State.WAITING),
        ("c-1", Event.ADMIT, State.WAITING, State.ADMITTED),
        ("c-2", Event.DENY, State.WAITING, State.DENIED),
        ("c-1", Event.SEND_BACK, State.ADMITTED, State.WAITING),
    ]
    assert recorder.moves() == expected
    assert await stream_moves(service) == expected
    # Versions increase by one per change, and the stream records the version committed.
    assert [c.version for c in recorder.changes] == [1, 2, 3, 4, 5, 6]
    stored = await service.presence.events(ROOM)
    assert [s.version for s in stored if s.is_move] == [1, 2, 3, 4, 5, 6]
    # The session began with the admission and ended with the send-back: marked in the stream.
    marks = [(s.version, s.entry.record) for s in stored if not s.is_move]
    assert [(v, getattr(m, "started", None)) for v, m in marks] == [(4, True), (6, False)]
    assert [c.session is not None for c in recorder.changes] == [False] * 3 + [True, False, True]
    assert [s.entry.seq for s in stored] == list(range(1, 9))


async def test_events_name_the_actor_and_carry_no_person() -> None:
    service, recorder, _ = make()
    await seat(service, 1)
    await service.admit(ROOM, T, ["c-1"])
    admit = recorder.changes[-1].events[0]
    assert admit.actor == T
    assert recorder.changes[0].events[0].actor == T  # the therapist joined by themselves
    for stored in await service.presence.events(ROOM):
        encoded = repr(stored)
        assert "Dr T" not in encoded and "name 1" not in encoded


async def test_a_refused_admit_commits_nothing_and_logs_no_transition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, recorder, _ = make(max_participants=2)
    service.listen(TransitionLog())
    await seat(service, 1, 2)
    await service.admit(ROOM, T, ["c-1"])
    before = len(recorder.changes)
    caplog.set_level(logging.INFO, logger="telehealth.rooms")
    caplog.clear()
    with pytest.raises(RapportError) as refused:
        await service.admit(ROOM, T, ["c-2"])
    assert refused.value.code is Code.ROOM_FULL
    assert len(recorder.changes) == before
    assert not [r for r in caplog.records if "c-2" in r.getMessage()]
    assert [m for m in await stream_moves(service) if m[0] == "c-2"] == [
        ("c-2", Event.JOIN, State.NEW, State.WAITING)
    ]


async def test_the_transition_log_writes_committed_moves_with_role_not_subject(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, _, _ = make()
    service.listen(TransitionLog())
    caplog.set_level(logging.INFO, logger="telehealth.rooms")
    await seat(service, 1)
    await service.admit(ROOM, T, ["c-1"])
    lines = [r.getMessage() for r in caplog.records if r.name == "telehealth.rooms"]
    assert any("participant c-1 state waiting -> admitted (admit by therapist)" in x for x in lines)
    assert not any("dr-1" in x for x in lines)


class LosesFirstRace(MemoryPresence):
    """A store where another writer commits just before our first commit (a CAS retry)."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False
        self.interloper: Participant | None = None

    async def commit(
        self,
        room: str,
        expected_version: int,
        changed: Mapping[str, Participant],
        events: Sequence[StreamEntry] = (),
    ) -> int | None:
        if self.interloper is not None and not self.raced:
            self.raced = True
            await super().commit(room, expected_version, {self.interloper.id: self.interloper})
        return await super().commit(room, expected_version, changed, events)


async def test_a_retried_decision_emits_its_events_once(monkeypatch: pytest.MonkeyPatch) -> None:
    store = LosesFirstRace()
    service, recorder, _ = make(store)
    await seat(service, 1)
    snapshot = await store.load(ROOM)
    other = snapshot.participants["c-1"].with_(device=None)  # an unrelated concurrent write
    store.interloper = other
    decided = 0

    original = service._move

    def counting_move(
        decision: Decision, p: Participant, event: Event, actor: Actor, reason: Reason = Reason.NONE
    ) -> None:
        nonlocal decided
        decided += 1
        original(decision, p, event, actor, reason)

    monkeypatch.setattr(service, "_move", counting_move)
    await service.admit(ROOM, T, ["c-1"])
    assert store.raced and decided == 2  # decided twice: once refused by the CAS
    admits = [m for m in recorder.moves() if m[1] is Event.ADMIT]
    assert admits == [("c-1", Event.ADMIT, State.WAITING, State.ADMITTED)]
    assert [m for m in await stream_moves(service) if m[1] is Event.ADMIT] == admits


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    service, _, _ = make()

    def broken(change: RoomChange) -> None:
        raise RuntimeError("listener bug")

    after = Recorder()
    service.listen(broken)
    service.listen(after)
    await seat(service, 1)
    assert len(after.changes) == 2


async def test_drop_resume_and_lapse_are_events_with_reasons() -> None:
    service, recorder, clock = make()
    await seat(service, 1)
    await service.admit(ROOM, T, ["c-1"])
    await service.dropped(ROOM, "t-1", "ct")
    clock.ms += service.rules.grace_ms + 1
    assert await service.expire(ROOM, "t-1")
    events = [e for c in recorder.changes[-2:] for e in c.events]
    assert [(e.participant, e.event, e.reason) for e in events] == [
        ("t-1", Event.DROP, Reason.CONNECTION_LOST),
        ("t-1", Event.EXPIRE, Reason.NONE),
        ("c-1", Event.SEND_BACK, Reason.THERAPIST_LOST),
    ]
    assert all(e.actor.role is ActorRole.SYSTEM and e.actor.sub == "n-1" for e in events)
    await service.join(ROOM, T, Role.THERAPIST, "Dr T", conn="ct2")
    await service.dropped(ROOM, "c-1", "cc-1")
    await service.join(ROOM, client(1), Role.CLIENT, "name 1", conn="cc-1b")
    last = recorder.changes[-1].events[0]
    assert (last.event, last.from_state, last.to_state) == (
        Event.RESUME,
        State.WAITING,
        State.WAITING,
    )


async def test_a_therapist_leaving_sends_clients_back_with_that_reason() -> None:
    service, recorder, _ = make()
    await seat(service, 1)
    await service.admit(ROOM, T, ["c-1"])
    await service.leave(ROOM, T, "ct")
    events = recorder.changes[-1].events
    assert [(e.participant, e.event, e.reason) for e in events] == [
        ("t-1", Event.LEAVE, Reason.NONE),
        ("c-1", Event.SEND_BACK, Reason.THERAPIST_LEFT),
    ]


async def test_withdrawal_and_end_room_carry_the_acting_principal() -> None:
    service, recorder, _ = make()
    await seat(service, 1, 2)
    assert await service.withdraw(ROOM, "c-1", ADMIN)
    withdrawn = recorder.changes[-1].events[0]
    assert (withdrawn.event, withdrawn.reason, withdrawn.actor) == (
        Event.REMOVE,
        Reason.LINK_WITHDRAWN,
        ADMIN,
    )
    assert not await service.withdraw(ROOM, "c-1", ADMIN)  # nothing left to withdraw
    await service.end_room(ROOM, ADMIN)
    ended = recorder.changes[-1].events
    assert {(e.participant, e.event) for e in ended} == {
        ("t-1", Event.END_ROOM),
        ("c-2", Event.END_ROOM),
    }


async def test_recovery_republishes_without_events() -> None:
    service, recorder, _ = make()
    await seat(service, 1)

    class Outlet:
        conn_id = "cc-1"
        participant_id = "c-1"
        room = ROOM
        role = Role.CLIENT

        def send(self, data: bytes) -> None:
            pass

        def close(self, code: Code, **_: object) -> None:
            pass

    service.hub.attach(Outlet(), await service.presence.load(ROOM))
    before = len(recorder.changes)
    stream_before = len(await service.presence.events(ROOM))
    await service.recover()
    # The therapist's socket is not on this hub: reconciling records that drop, and nothing
    # else; the republish itself adds no change.
    added = [e for c in recorder.changes[before:] for e in c.events]
    assert [(e.participant, e.event, e.reason) for e in added] == [
        ("t-1", Event.DROP, Reason.RECONCILED)
    ]
    assert len(await service.presence.events(ROOM)) == stream_before + 1


async def test_the_stream_is_bounded() -> None:
    store = MemoryPresence(event_stream_max=5)
    service, _, _ = make(store)
    await seat(service, 1, 2, 3, 4, 5, 6)
    assert len(await store.events(ROOM)) == 5


async def test_reading_the_stream_after_an_id_pages_through_it() -> None:
    service, _, _ = make()
    await seat(service, 1, 2, 3)
    first = await service.presence.events(ROOM, limit=2)
    rest = await service.presence.events(ROOM, after=first[-1].id)
    assert [e.event.participant for e in first + rest] == ["t-1", "c-1", "c-2", "c-3"]


@pytest.mark.parametrize(
    ("to_state", "kept"),
    [
        (State.WAITING, True),
        (State.ADMITTED, True),
        (State.LEFT, False),
        (State.DENIED, False),
        (State.REMOVED, False),
        (State.ENDED, False),
        (State.CLOSED, False),
    ],
)
def test_a_record_that_ends_forgets_the_emergency_information(to_state: State, kept: bool) -> None:
    given = Emergency(location="At home", phone="0113 496 0000")
    before = Participant(
        id="c-1", role=Role.CLIENT, state=State.WAITING, name="Alex", emergency=given
    )
    decision = Decision()
    returned = decision.record(before, before.with_(state=to_state), Event.LEAVE, client(1))
    assert decision.changes["c-1"] is returned
    assert returned.emergency == (given if kept else None)
    assert returned.name == "Alex" and returned.state is to_state
