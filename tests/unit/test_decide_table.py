"""The room service's decisions as one table (telehealth/rooms/service.py on MemoryPresence).

Each row: a room built by earlier actions, one action, and what must come of it: the committed
events as (participant, event, from, to, reason), all by the expected actor, or the named error
and nothing committed. tests/unit/test_seam.py holds how changes reach listeners and the stream;
this table holds what each action decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from signaling.errors import Code, RapportError
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import Actor, ActorRole, RoomChange, system
from telehealth.rooms.hub import Hub
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Event, Reason, Role, State
from telehealth.routing.local import LocalRouter

E, S, R = Event, State, Reason

ROOM = "room-table"
NODE = "n-1"
GRACE_MS = 60_000
WAITING_GRACE_MS = 300_000
RULES = RoomRules(
    node_id=NODE,
    grace_ms=GRACE_MS,
    waiting_grace_ms=WAITING_GRACE_MS,
    max_participants=3,  # the therapist and two clients
    max_waiting=3,
)

T = Actor(role=ActorRole.THERAPIST, sub="dr-1", participant="t-1")
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")
SYSTEM = system(NODE)


def client(pid: str) -> Actor:
    return Actor(role=ActorRole.CLIENT, sub=f"link-{pid}", participant=pid)


def conn_of(pid: str) -> str:
    return f"conn-{pid}"


class Clock:
    def __init__(self) -> None:
        self.ms = 1_764_400_000_000

    def __call__(self) -> int:
        return self.ms


@dataclass
class Room:
    service: RoomService
    clock: Clock


Step = Callable[[Room], Awaitable[object]]
Move = tuple[str, Event, State, State, Reason]


# -- the actions ---------------------------------------------------------------------------------


def therapist_joins(conn: str = conn_of("t-1")) -> Step:
    return lambda r: r.service.join(ROOM, T, Role.THERAPIST, "Dr T", conn)


def joins(pid: str, conn: str | None = None) -> Step:
    return lambda r: r.service.join(
        ROOM, client(pid), Role.CLIENT, f"name {pid}", conn or conn_of(pid)
    )


def admit(*pids: str, by: Actor = T) -> Step:
    return lambda r: r.service.admit(ROOM, by, pids)


def deny(pid: str, by: Actor = T) -> Step:
    return lambda r: r.service.deny(ROOM, by, pid)


def remove(pid: str, by: Actor = T) -> Step:
    return lambda r: r.service.remove(ROOM, by, pid)


def send_back(pid: str, by: Actor = T) -> Step:
    return lambda r: r.service.send_back(ROOM, by, pid)


def end_session(by: Actor = T) -> Step:
    return lambda r: r.service.end_session(ROOM, by)


def end_room(by: Actor = T) -> Step:
    return lambda r: r.service.end_room(ROOM, by)


def withdraw(pid: str, by: Actor = ADMIN) -> Step:
    return lambda r: r.service.withdraw(ROOM, pid, by)


def leaves(pid: str, conn: str | None = None) -> Step:
    actor = T if pid == "t-1" else client(pid)
    return lambda r: r.service.leave(ROOM, actor, conn or conn_of(pid))


def drops(pid: str, conn: str | None = None) -> Step:
    return lambda r: r.service.dropped(ROOM, pid, conn or conn_of(pid))


def node_lost(node: str = NODE) -> Step:
    return lambda r: r.service.node_lost(ROOM, node)


def expires(pid: str) -> Step:
    return lambda r: r.service.expire(ROOM, pid)


def later(ms: int) -> Step:
    async def wait(r: Room) -> None:
        r.clock.ms += ms

    return wait


# -- rooms to start from -------------------------------------------------------------------------

SEATED = (therapist_joins(), joins("c-1"), joins("c-2"))  # c-1 and c-2 waiting
IN_SESSION = (*SEATED, admit("c-1"))  # c-1 admitted, c-2 waiting
TWO_IN_SESSION = (*SEATED, joins("c-3"), admit("c-1", "c-2"))  # c-3 waiting


@dataclass(frozen=True)
class Case:
    name: str
    setup: tuple[Step, ...]  # the room before: earlier actions, in order
    action: Step
    expected: list[Move] | Code  # the committed events, or the named refusal
    by: Actor | None = None  # the actor every expected event names


CASES = [
    # -- joining and resuming
    Case(
        "therapist-opens-room",
        (),
        therapist_joins(),
        [("t-1", E.JOIN, S.NEW, S.PRESENT, R.NONE)],
        T,
    ),
    Case(
        "client-knocks-first",
        (),
        joins("c-1"),
        [("c-1", E.JOIN, S.NEW, S.WAITING, R.NONE)],
        client("c-1"),
    ),
    Case(
        "client-knocks",
        SEATED,
        joins("c-3"),
        [("c-3", E.JOIN, S.NEW, S.WAITING, R.NONE)],
        client("c-3"),
    ),
    Case(
        "client-second-tab",
        SEATED,
        joins("c-1", "tab-2"),
        [("c-1", E.RESUME, S.WAITING, S.WAITING, R.REPLACED)],
        client("c-1"),
    ),
    Case(
        "client-back-after-drop",
        (*SEATED, drops("c-1")),
        joins("c-1", "tab-2"),
        [("c-1", E.RESUME, S.WAITING, S.WAITING, R.NONE)],
        client("c-1"),
    ),
    Case(
        "admitted-client-back-after-drop",
        (*IN_SESSION, drops("c-1")),
        joins("c-1", "tab-2"),
        [("c-1", E.RESUME, S.ADMITTED, S.ADMITTED, R.NONE)],
        client("c-1"),
    ),
    Case(
        "client-who-left-knocks-again",
        (*SEATED, leaves("c-1")),
        joins("c-1", "tab-2"),
        [("c-1", E.JOIN, S.LEFT, S.WAITING, R.NONE)],
        client("c-1"),
    ),
    Case(
        "lapsed-client-knocks-again",
        (*SEATED, drops("c-1"), later(WAITING_GRACE_MS), expires("c-1")),
        joins("c-1", "tab-2"),
        [("c-1", E.JOIN, S.EXPIRED, S.WAITING, R.NONE)],
        client("c-1"),
    ),
    Case("denied-client-stays-out", (*SEATED, deny("c-1")), joins("c-1", "tab-2"), Code.DENIED),
    Case("removed-client-stays-out", (*SEATED, remove("c-1")), joins("c-1", "tab-2"), Code.REMOVED),
    # A withdrawn link says so again, not "removed" (its client may never have been in session).
    Case(
        "withdrawn-client-stays-out",
        (*SEATED, withdraw("c-1")),
        joins("c-1", "tab-2"),
        Code.TOKEN_REVOKED,
    ),
    Case(
        "ended-client-stays-out",
        (*IN_SESSION, end_session()),
        joins("c-1", "tab-2"),
        Code.SESSION_ENDED,
    ),
    Case("closed-room-stays-closed", (*SEATED, end_room()), joins("c-1", "tab-2"), Code.ROOM_ENDED),
    Case("waiting-room-full", (*SEATED, joins("c-3")), joins("c-4"), Code.WAITING_ROOM_FULL),
    Case(
        "full-waiting-room-lets-its-own-back",
        (*SEATED, joins("c-3"), drops("c-3")),
        joins("c-3", "tab-2"),
        [("c-3", E.RESUME, S.WAITING, S.WAITING, R.NONE)],
        client("c-3"),
    ),
    Case(
        "therapist-second-tab",
        SEATED,
        therapist_joins("tab-2"),
        [("t-1", E.RESUME, S.PRESENT, S.PRESENT, R.REPLACED)],
        T,
    ),
    Case(
        "therapist-back-after-leaving",
        (*SEATED, leaves("t-1")),
        therapist_joins("tab-2"),
        [("t-1", E.JOIN, S.LEFT, S.PRESENT, R.NONE)],
        T,
    ),
    Case(
        "therapist-reopens-closed-room",
        (*SEATED, end_room()),
        therapist_joins("tab-2"),
        [("t-1", E.JOIN, S.CLOSED, S.PRESENT, R.NONE)],
        T,
    ),
    # -- admit
    Case("admit", SEATED, admit("c-1"), [("c-1", E.ADMIT, S.WAITING, S.ADMITTED, R.NONE)], T),
    Case(
        "admit-two",
        SEATED,
        admit("c-1", "c-2"),
        [
            ("c-1", E.ADMIT, S.WAITING, S.ADMITTED, R.NONE),
            ("c-2", E.ADMIT, S.WAITING, S.ADMITTED, R.NONE),
        ],
        T,
    ),
    Case(
        "admit-the-same-client-twice-at-once",
        SEATED,
        admit("c-1", "c-1"),
        [("c-1", E.ADMIT, S.WAITING, S.ADMITTED, R.NONE)],
        T,
    ),
    Case(
        "admit-past-the-seats",
        (*SEATED, joins("c-3"), admit("c-1", "c-2")),
        admit("c-3"),
        Code.ROOM_FULL,
    ),
    Case(
        "admit-three-at-once-past-the-seats",
        (*SEATED, joins("c-3")),
        admit("c-1", "c-2", "c-3"),
        Code.ROOM_FULL,
    ),
    Case("client-cannot-admit", SEATED, admit("c-2", by=client("c-1")), Code.FORBIDDEN),
    Case("admin-cannot-admit", SEATED, admit("c-1", by=ADMIN), Code.FORBIDDEN),
    Case("absent-therapist-cannot-admit", (*SEATED, leaves("t-1")), admit("c-1"), Code.FORBIDDEN),
    Case("admit-unknown", SEATED, admit("c-9"), Code.UNKNOWN_PARTICIPANT),
    Case("admit-the-therapist", SEATED, admit("t-1"), Code.UNKNOWN_PARTICIPANT),
    Case("admit-admitted", IN_SESSION, admit("c-1"), Code.INVALID_TRANSITION),
    Case("admit-denied", (*SEATED, deny("c-1")), admit("c-1"), Code.INVALID_TRANSITION),
    # -- deny, remove, send back
    Case("deny", SEATED, deny("c-1"), [("c-1", E.DENY, S.WAITING, S.DENIED, R.NONE)], T),
    Case("deny-admitted", IN_SESSION, deny("c-1"), Code.INVALID_TRANSITION),
    Case("client-cannot-deny", SEATED, deny("c-2", by=client("c-1")), Code.FORBIDDEN),
    Case(
        "remove-waiting",
        SEATED,
        remove("c-1"),
        [("c-1", E.REMOVE, S.WAITING, S.REMOVED, R.NONE)],
        T,
    ),
    Case(
        "remove-admitted",
        IN_SESSION,
        remove("c-1"),
        [("c-1", E.REMOVE, S.ADMITTED, S.REMOVED, R.NONE)],
        T,
    ),
    Case("remove-gone", (*SEATED, leaves("c-1")), remove("c-1"), Code.INVALID_TRANSITION),
    Case("client-cannot-remove", IN_SESSION, remove("c-1", by=client("c-2")), Code.FORBIDDEN),
    Case(
        "send-back",
        IN_SESSION,
        send_back("c-1"),
        [("c-1", E.SEND_BACK, S.ADMITTED, S.WAITING, R.NONE)],
        T,
    ),
    Case("send-back-waiting", SEATED, send_back("c-1"), Code.INVALID_TRANSITION),
    Case("client-cannot-send-back", IN_SESSION, send_back("c-1", by=client("c-1")), Code.FORBIDDEN),
    # -- ending
    Case(
        "end-session-ends-admitted-only",
        TWO_IN_SESSION,
        end_session(),
        [
            ("c-1", E.END_SESSION, S.ADMITTED, S.ENDED, R.NONE),
            ("c-2", E.END_SESSION, S.ADMITTED, S.ENDED, R.NONE),
        ],
        T,
    ),
    Case("end-session-with-nobody-admitted", SEATED, end_session(), []),
    Case("client-cannot-end-session", IN_SESSION, end_session(by=client("c-1")), Code.FORBIDDEN),
    Case(
        "end-room-closes-every-active-participant",
        (*SEATED, joins("c-3"), admit("c-1"), deny("c-3")),
        end_room(),
        [
            ("t-1", E.END_ROOM, S.PRESENT, S.CLOSED, R.NONE),
            ("c-1", E.END_ROOM, S.ADMITTED, S.CLOSED, R.NONE),
            ("c-2", E.END_ROOM, S.WAITING, S.CLOSED, R.NONE),
        ],
        T,
    ),
    Case("end-empty-room", (), end_room(by=ADMIN), []),
    # -- a withdrawn session link
    Case(
        "withdraw-waiting",
        SEATED,
        withdraw("c-1"),
        [("c-1", E.REMOVE, S.WAITING, S.REMOVED, R.LINK_WITHDRAWN)],
        ADMIN,
    ),
    Case(
        "withdraw-admitted-by-therapist",
        IN_SESSION,
        withdraw("c-1", by=T),
        [("c-1", E.REMOVE, S.ADMITTED, S.REMOVED, R.LINK_WITHDRAWN)],
        T,
    ),
    Case("withdraw-denied", (*SEATED, deny("c-1")), withdraw("c-1"), []),
    Case("withdraw-therapist", SEATED, withdraw("t-1"), []),
    Case("withdraw-unknown", SEATED, withdraw("c-9"), []),
    # -- leaving
    Case(
        "client-leaves-waiting",
        SEATED,
        leaves("c-1"),
        [("c-1", E.LEAVE, S.WAITING, S.LEFT, R.NONE)],
        client("c-1"),
    ),
    Case(
        "client-leaves-session",
        IN_SESSION,
        leaves("c-1"),
        [("c-1", E.LEAVE, S.ADMITTED, S.LEFT, R.NONE)],
        client("c-1"),
    ),
    Case(
        "therapist-leaves-and-session-goes-back-to-waiting",
        TWO_IN_SESSION,
        leaves("t-1"),
        [
            ("t-1", E.LEAVE, S.PRESENT, S.LEFT, R.NONE),
            ("c-1", E.SEND_BACK, S.ADMITTED, S.WAITING, R.THERAPIST_LEFT),
            ("c-2", E.SEND_BACK, S.ADMITTED, S.WAITING, R.THERAPIST_LEFT),
        ],
        T,
    ),
    Case("leave-from-a-replaced-socket", SEATED, leaves("c-1", "old-tab"), []),
    Case("leave-twice", (*SEATED, leaves("c-1")), leaves("c-1"), []),
    # -- dropped sockets
    Case(
        "client-drops",
        SEATED,
        drops("c-1"),
        [("c-1", E.DROP, S.WAITING, S.WAITING, R.CONNECTION_LOST)],
        SYSTEM,
    ),
    Case(
        "therapist-drops-session-stays",
        IN_SESSION,
        drops("t-1"),
        [("t-1", E.DROP, S.PRESENT, S.PRESENT, R.CONNECTION_LOST)],
        SYSTEM,
    ),
    Case("drop-of-a-replaced-socket", SEATED, drops("c-1", "old-tab"), []),
    Case("drop-twice", (*SEATED, drops("c-1")), drops("c-1"), []),
    Case(
        "node-lost",
        IN_SESSION,
        node_lost(),
        [
            ("t-1", E.DROP, S.PRESENT, S.PRESENT, R.NODE_LOST),
            ("c-1", E.DROP, S.ADMITTED, S.ADMITTED, R.NODE_LOST),
            ("c-2", E.DROP, S.WAITING, S.WAITING, R.NODE_LOST),
        ],
        SYSTEM,
    ),
    Case("another-node-lost", IN_SESSION, node_lost("n-2"), []),
    # -- expiry
    Case(
        "waiting-client-lapses",
        (*SEATED, drops("c-1"), later(WAITING_GRACE_MS)),
        expires("c-1"),
        [("c-1", E.EXPIRE, S.WAITING, S.EXPIRED, R.NONE)],
        SYSTEM,
    ),
    Case(
        "waiting-client-within-grace",
        (*SEATED, drops("c-1"), later(WAITING_GRACE_MS - 1)),
        expires("c-1"),
        [],
    ),
    Case(
        "admitted-client-has-the-shorter-grace",
        (*IN_SESSION, drops("c-1"), later(GRACE_MS)),
        expires("c-1"),
        [("c-1", E.EXPIRE, S.ADMITTED, S.EXPIRED, R.NONE)],
        SYSTEM,
    ),
    Case(
        "connected-client-never-lapses", (*SEATED, later(10 * WAITING_GRACE_MS)), expires("c-1"), []
    ),
    Case(
        "client-who-came-back-does-not-lapse",
        (*SEATED, drops("c-1"), joins("c-1", "tab-2"), later(WAITING_GRACE_MS)),
        expires("c-1"),
        [],
    ),
    Case(
        "therapist-lapses-and-session-goes-back-to-waiting",
        (*IN_SESSION, drops("t-1"), later(GRACE_MS)),
        expires("t-1"),
        [
            ("t-1", E.EXPIRE, S.PRESENT, S.EXPIRED, R.NONE),
            ("c-1", E.SEND_BACK, S.ADMITTED, S.WAITING, R.THERAPIST_LOST),
        ],
        SYSTEM,
    ),
]


@pytest.mark.parametrize("row", CASES, ids=lambda row: row.name)
async def test_decision(row: Case) -> None:
    setup, action, expected, by = row.setup, row.action, row.expected, row.by
    clock = Clock()
    service = RoomService(MemoryPresence(), LocalRouter(), Hub(show_position=False), RULES, clock)
    room = Room(service, clock)
    for step in setup:
        await step(room)
    changes: list[RoomChange] = []

    def record(change: RoomChange) -> None:
        changes.append(change)

    service.listen(record)
    before = await service.presence.load(ROOM)

    if isinstance(expected, Code):
        with pytest.raises(RapportError) as refused:
            await action(room)
        assert refused.value.code is expected, refused.value.message
        assert changes == []  # a refused decision commits nothing
        assert await service.presence.load(ROOM) == before
        return

    await action(room)
    moves = [
        (e.participant, e.event, e.from_state, e.to_state, e.reason)
        for c in changes
        for e in c.events
    ]
    assert moves == expected
    assert len(changes) == (1 if expected else 0)  # one decision, one commit
    after = await service.presence.load(ROOM)
    if not expected:
        assert after == before
        return
    assert all(e.actor == by for e in changes[0].events)
    # The records say what the events say, and nobody else's record changed.
    assert {pid: after.participants[pid].state for pid, *_ in expected} == {
        pid: to for pid, _, _, to, _ in expected
    }
    for pid, p in before.participants.items():
        if pid not in {m[0] for m in expected}:
            assert after.participants[pid] == p
    # Each moved record remembers its move and why: what the client is told comes from them.
    for pid, event, _, _, reason in expected:
        if event not in (Event.DROP, Event.RESUME):
            assert (after.participants[pid].move, after.participants[pid].reason) == (event, reason)


def test_the_table_covers_every_event_and_refusal() -> None:
    events = {m[1] for row in CASES if not isinstance(row.expected, Code) for m in row.expected}
    assert events == set(Event)
    refusals = {row.expected for row in CASES if isinstance(row.expected, Code)}
    assert {Code.FORBIDDEN, Code.ROOM_FULL, Code.INVALID_TRANSITION} <= refusals
