"""One contract for both presence stores, exercised through the room service.

Each test runs twice: on the in-memory store and on a real redis-server started by the fixture.
Two RoomService instances on one store stand for two nodes (or two therapist tabs) racing.
"""

from __future__ import annotations

import asyncio

import pytest

from signaling.errors import Code, RapportError
from telehealth.audit.export import check_chain
from telehealth.rooms.events import Actor, ActorRole, AuditAction, Audited, StreamEntry
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Participant
from telehealth.rooms.ports import REVOCATION_FEED_MS, PresenceStore, Revocation
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Reason, Role, State
from telehealth.routing.local import LocalRouter

ROOM = "room-a"
T = "t-therapist"
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")


def who(pid: str) -> Actor:
    """The actor behind participant ``pid`` (t-... a therapist, anyone else a client)."""
    role = ActorRole.THERAPIST if pid.startswith("t-") else ActorRole.CLIENT
    return Actor(role=role, sub=f"sub-{pid}", participant=pid)


class Clock:
    def __init__(self) -> None:
        self.ms = 1_764_400_000_000

    def __call__(self) -> int:
        return self.ms


def make_service(presence: PresenceStore, clock: Clock, node: str = "n-1") -> RoomService:
    rules = RoomRules(node_id=node, grace_ms=60_000, waiting_grace_ms=300_000)
    return RoomService(presence, LocalRouter(), Hub(show_position=False), rules, clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(presence: PresenceStore, clock: Clock) -> RoomService:
    return make_service(presence, clock)


async def with_therapist(service: RoomService) -> None:
    await service.join(ROOM, who(T), Role.THERAPIST, "Dr T", conn="ct")


async def client(service: RoomService, pid: str, clock: Clock) -> Participant:
    clock.ms += 1000
    joined = await service.join(ROOM, who(pid), Role.CLIENT, f"name {pid}", conn=f"conn-{pid}")
    return joined.participant


async def state(presence: PresenceStore, pid: str) -> State:
    p = (await presence.load(ROOM)).get(pid)
    assert p is not None
    return p.state


async def test_clients_wait_in_arrival_order(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    for pid in ("c-3", "c-1", "c-2"):
        await client(service, pid, clock)
    snapshot = await presence.load(ROOM)
    assert [p.id for p in snapshot.waiting()] == ["c-3", "c-1", "c-2"]
    assert snapshot.position("c-2") == 3
    assert snapshot.version == 3


async def test_rejoin_resumes_in_place(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    first = await client(service, "c-1", clock)
    await client(service, "c-2", clock)
    await service.dropped(ROOM, "c-1", "conn-c-1")
    assert not (await presence.load(ROOM)).participants["c-1"].connected
    clock.ms += 30_000
    again = await service.join(ROOM, who("c-1"), Role.CLIENT, "name c-1", conn="conn-new")
    assert again.resumed
    assert again.participant.queued_at == first.queued_at
    assert again.participant.connected and again.participant.conn == "conn-new"
    assert [p.id for p in (await presence.load(ROOM)).waiting()] == ["c-1", "c-2"]


async def test_admit_and_the_double_admit_race(presence: PresenceStore, clock: Clock) -> None:
    tab1, tab2 = make_service(presence, clock, "n-1"), make_service(presence, clock, "n-2")
    await with_therapist(tab1)
    await client(tab1, "c-1", clock)
    results = await asyncio.gather(
        tab1.admit(ROOM, who(T), ["c-1"]), tab2.admit(ROOM, who(T), ["c-1"]), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert isinstance(errors[0], RapportError) and errors[0].code is Code.INVALID_TRANSITION
    assert await state(presence, "c-1") is State.ADMITTED


async def test_admit_racing_leave_ends_consistent(presence: PresenceStore, clock: Clock) -> None:
    a, b = make_service(presence, clock, "n-1"), make_service(presence, clock, "n-2")
    await with_therapist(a)
    await client(a, "c-1", clock)
    await asyncio.gather(
        a.admit(ROOM, who(T), ["c-1"]),
        b.leave(ROOM, who("c-1"), "conn-c-1"),
        return_exceptions=True,
    )
    # Whichever came first, the client has left and is not in the session.
    assert await state(presence, "c-1") is State.LEFT
    assert (await presence.load(ROOM)).admitted() == []


async def test_session_capacity(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    for pid in ("c-1", "c-2", "c-3", "c-4"):
        await client(service, pid, clock)
    await service.admit(ROOM, who(T), ["c-1", "c-2"])
    before = await presence.load(ROOM)
    with pytest.raises(RapportError) as info:
        await service.admit(ROOM, who(T), ["c-3", "c-4"])
    assert info.value.code is Code.ROOM_FULL
    after = await presence.load(ROOM)
    assert after == before  # nothing changed
    await service.admit(ROOM, who(T), ["c-3"])
    assert len((await presence.load(ROOM)).in_session()) == 4


async def test_only_the_therapist_acts(service: RoomService, clock: Clock) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await client(service, "c-2", clock)
    for action in (
        service.admit(ROOM, who("c-1"), ["c-2"]),
        service.deny(ROOM, who("c-1"), "c-2"),
        service.end_session(ROOM, who("c-2")),
        service.message(ROOM, who("c-1"), "hi", None),
    ):
        with pytest.raises(RapportError) as info:
            await action
        assert info.value.code is Code.FORBIDDEN


async def test_unknown_participant(service: RoomService) -> None:
    await with_therapist(service)
    with pytest.raises(RapportError) as info:
        await service.admit(ROOM, who(T), ["c-nobody"])
    assert info.value.code is Code.UNKNOWN_PARTICIPANT


async def test_deny_is_final_for_that_link(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await service.deny(ROOM, who(T), "c-1")
    assert await state(presence, "c-1") is State.DENIED
    with pytest.raises(RapportError) as info:
        await service.join(ROOM, who("c-1"), Role.CLIENT, "again", conn="x")
    assert info.value.code is Code.DENIED


async def test_send_back_returns_to_original_place(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    for pid in ("c-1", "c-2", "c-3"):
        await client(service, pid, clock)
    await service.admit(ROOM, who(T), ["c-1"])
    await service.send_back(ROOM, who(T), "c-1")
    assert [p.id for p in (await presence.load(ROOM)).waiting()] == ["c-1", "c-2", "c-3"]


async def test_end_session_leaves_the_waiting_room_alone(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await client(service, "c-2", clock)
    await service.admit(ROOM, who(T), ["c-1"])
    await service.end_session(ROOM, who(T))
    assert await state(presence, "c-1") is State.ENDED
    assert await state(presence, "c-2") is State.WAITING


async def test_end_room_ends_everyone(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await service.end_room(ROOM, ADMIN)
    snapshot = await presence.load(ROOM)
    assert not snapshot.active
    assert all(p.state is State.CLOSED for p in snapshot.participants.values())
    assert ROOM not in [s.room for s in await presence.rooms()]


async def test_grace_period_for_an_admitted_client(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await service.admit(ROOM, who(T), ["c-1"])
    await service.dropped(ROOM, "c-1", "conn-c-1")
    assert await presence.due_expiries(clock.ms) == []
    clock.ms += 59_000
    assert not await service.expire(ROOM, "c-1")
    assert await state(presence, "c-1") is State.ADMITTED
    clock.ms += 2_000
    assert await presence.due_expiries(clock.ms) == [(ROOM, "c-1")]
    assert await service.expire(ROOM, "c-1")
    assert await state(presence, "c-1") is State.EXPIRED


async def test_a_waiting_client_keeps_their_place_longer(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await client(service, "c-1", clock)
    await service.dropped(ROOM, "c-1", "conn-c-1")
    clock.ms += 120_000
    assert not await service.expire(ROOM, "c-1")
    assert await state(presence, "c-1") is State.WAITING


async def test_therapist_drop_keeps_the_session(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await service.admit(ROOM, who(T), ["c-1"])
    await service.dropped(ROOM, T, "ct")
    snapshot = await presence.load(ROOM)
    assert snapshot.therapist_status("c-1").value == "reconnecting"
    assert snapshot.participants["c-1"].state is State.ADMITTED
    clock.ms += 61_000
    assert await service.expire(ROOM, T)
    snapshot = await presence.load(ROOM)
    # After the grace period the client goes back to the waiting room, not out of the door.
    assert snapshot.participants["c-1"].state is State.WAITING
    # ... and is told the truth: the therapist was lost (not "not arrived yet"), and that is why.
    assert snapshot.therapist_status("c-1").value == "lost"
    assert snapshot.participants["c-1"].reason is Reason.THERAPIST_LOST


async def test_stale_socket_cannot_drop_a_resumed_participant(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await client(service, "c-1", clock)
    await service.join(ROOM, who("c-1"), Role.CLIENT, "n", conn="conn-2")
    await service.dropped(ROOM, "c-1", "conn-c-1")  # the old socket closing late
    assert (await presence.load(ROOM)).participants["c-1"].connected


async def test_node_lost_marks_its_participants_dropped(
    presence: PresenceStore, clock: Clock
) -> None:
    a, b = make_service(presence, clock, "n-a"), make_service(presence, clock, "n-b")
    await client(a, "c-1", clock)
    await client(b, "c-2", clock)
    await b.node_lost(ROOM, "n-a")
    snapshot = await presence.load(ROOM)
    assert not snapshot.participants["c-1"].connected
    assert snapshot.participants["c-2"].connected
    assert await presence.due_expiries(clock.ms + 300_000) == [(ROOM, "c-1")]


async def test_commit_is_compare_and_set(presence: PresenceStore) -> None:
    p = Participant(id="c-9", role=Role.CLIENT, state=State.WAITING, name="x")
    assert await presence.commit(ROOM, 0, {"c-9": p}) == 1
    assert await presence.commit(ROOM, 0, {"c-9": p}) is None
    assert (await presence.load(ROOM)).version == 1


async def test_nodes_heartbeat_and_expire(presence: PresenceStore) -> None:
    await presence.heartbeat("n-1", 1000)
    await presence.heartbeat("n-2", 5000)
    assert await presence.dead_nodes(4000) == ["n-1"]
    await presence.forget_node("n-1")
    assert await presence.dead_nodes(10_000) == ["n-2"]


async def test_revocation(presence: PresenceStore) -> None:
    import time

    assert not await presence.is_revoked("jti-1")
    await presence.revoke("jti-1", int(time.time() * 1000) + 60_000)
    assert await presence.is_revoked("jti-1")
    assert not await presence.is_revoked("jti-2")


async def test_subject_revocation_keeps_the_later_cutoff(presence: PresenceStore) -> None:
    import time

    now = int(time.time() * 1000)
    assert await presence.subject_cutoff("dr-1") is None
    await presence.revoke_subject("dr-1", now, now + 60_000)
    assert await presence.subject_cutoff("dr-1") == now
    await presence.revoke_subject("dr-1", now - 5_000, now + 60_000)  # an older one loses
    assert await presence.subject_cutoff("dr-1") == now
    await presence.revoke_subject("dr-1", now + 1, now + 60_000)
    assert await presence.subject_cutoff("dr-1") == now + 1
    assert await presence.subject_cutoff("dr-2") is None
    # Any text is a subject: it never becomes part of a key as it is.
    await presence.revoke_subject("{r:x}:p *\n", now, now + 60_000)
    assert await presence.subject_cutoff("{r:x}:p *\n") == now


async def test_recent_revocations(presence: PresenceStore) -> None:
    import time

    now = int(time.time() * 1000)
    old = Revocation(at_ms=now - REVOCATION_FEED_MS - 1, jti="old")
    by_jti = Revocation(at_ms=now - 10, jti="jti-1")
    by_subject = Revocation(at_ms=now, subject="dr-1", cutoff_ms=now)
    for revocation in (old, by_jti, by_subject):
        await presence.announce_revocation(revocation)
    assert await presence.recent_revocations(now - 5) == [by_subject]
    assert await presence.recent_revocations(now - 1000) == [by_jti, by_subject]
    assert old not in await presence.recent_revocations(0)  # trimmed


async def test_rooms_lists_active_rooms(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await client(service, "c-1", clock)
    rooms = await presence.rooms()
    assert [s.room for s in rooms] == [ROOM]
    assert rooms[0].participants["c-1"].name == "name c-1"


async def test_waiting_room_cap(presence: PresenceStore, clock: Clock) -> None:
    rules = RoomRules(node_id="n-1", max_waiting=2)
    service = RoomService(presence, LocalRouter(), Hub(show_position=False), rules, clock)
    await client(service, "c-1", clock)
    await client(service, "c-2", clock)
    with pytest.raises(RapportError) as info:
        await client(service, "c-3", clock)
    assert info.value.code is Code.WAITING_ROOM_FULL and info.value.spec.close_code == 4030
    await client(service, "c-1", clock)  # someone already waiting can always come back
    assert [p.id for p in (await presence.load(ROOM)).waiting()] == ["c-1", "c-2"]


async def test_committed_events_land_in_the_room_stream(
    service: RoomService, presence: PresenceStore, clock: Clock
) -> None:
    await with_therapist(service)
    await client(service, "c-1", clock)
    await client(service, "c-2", clock)
    await service.admit(ROOM, who(T), ["c-1"])
    with pytest.raises(RapportError):
        await service.admit(ROOM, who(T), ["c-1"])  # refused: already admitted
    stored = await presence.events(ROOM)
    assert [(s.event.participant, s.event.event.value, s.version) for s in stored[:4]] == [
        (T, "join", 1),
        ("c-1", "join", 2),
        ("c-2", "join", 3),
        ("c-1", "admit", 4),
    ]
    assert not stored[4].is_move  # the session began: marked in the same commit
    assert [s.version for s in stored] == [1, 2, 3, 4, 4]
    assert stored[3].event.actor == who(T)
    assert all(s.room == ROOM and s.node == "n-1" for s in stored)
    ids = [s.id for s in stored]
    assert len(set(ids)) == len(ids)
    assert [s.id for s in await presence.events(ROOM, after=ids[1])] == ids[2:]
    # One hash chain through the moves and an audited action appended between them.
    await presence.append(
        ROOM,
        [
            StreamEntry(
                room=ROOM,
                version=0,
                at=clock.ms,
                node="n-1",
                record=Audited(action=AuditAction.ROOM_VIEWED, actor=who(T)),
            )
        ],
    )
    await service.deny(ROOM, who(T), "c-2")
    chained = await presence.events(ROOM)
    assert check_chain(ROOM, chained).problems == []
    assert [s.entry.prev for s in chained[1:]] == [s.hash for s in chained[:-1]]


async def test_a_race_commits_one_event_per_move(presence: PresenceStore, clock: Clock) -> None:
    tab1, tab2 = make_service(presence, clock, "n-1"), make_service(presence, clock, "n-2")
    await with_therapist(tab1)
    for n in range(1, 4):
        await client(tab1, f"c-{n}", clock)
    await asyncio.gather(
        *(tab.admit(ROOM, who(T), [f"c-{n}"]) for tab in (tab1, tab2) for n in range(1, 4)),
        *(tab.deny(ROOM, who(T), f"c-{n}") for tab in (tab1, tab2) for n in range(1, 4)),
        return_exceptions=True,
    )
    stored = [s for s in await presence.events(ROOM) if s.is_move]
    snapshot = await presence.load(ROOM)
    for n in range(1, 4):
        moves = [s.event for s in stored if s.event.participant == f"c-{n}"]
        assert moves[0].event.value == "join"
        assert len(moves) == 2  # joined, then exactly one of admit / deny won
        assert moves[-1].to_state is snapshot.participants[f"c-{n}"].state
    assert [s.version for s in stored] == sorted(s.version for s in stored)
