"""One contract for the webhook deliverers' consumer group and dead letters (rooms/ports.py),
run on the in-memory stores and on a real redis-server: a room's entries go to one consumer at a
time, in order, pending until acknowledged; another consumer takes them over only once they
were left idle; the dead-letter list keeps the newest up to its cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from telehealth.config import Settings
from telehealth.presence.groups import MemoryDeadLetters, MemoryEventGroup
from telehealth.rooms.events import Actor, ActorRole, AuditAction, Audited, StreamEntry
from telehealth.rooms.ports import DeadLetters, EventGroup, PresenceStore

ROOM = "room-g"
A, B = "n-a", "n-b"
IDLE_MS = 60_000


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def stores(
    presence: PresenceStore, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[EventGroup, DeadLetters]]:
    group: Any
    dead: Any
    if request.node.callspec.params["presence"] == "memory":
        group, dead = MemoryEventGroup(presence), MemoryDeadLetters(3)
    else:
        from telehealth.presence.redis_groups import RedisDeadLetters, RedisEventGroup
        from telehealth.redisconn import make_client

        server = request.getfixturevalue("redis_server")
        client = make_client(Settings(redis_url=server.url))
        group, dead = RedisEventGroup(client), RedisDeadLetters(client, 3)
    yield group, dead
    await dead.close()
    await group.close()


async def add(presence: PresenceStore, n: int, room: str = ROOM) -> None:
    actor = Actor(role=ActorRole.ADMIN, sub="ops")
    entry = StreamEntry(
        room=room,
        version=0,
        at=now_ms(),
        node="n-x",
        record=Audited(action=AuditAction.ROOM_VIEWED, actor=actor),
    )
    await presence.append(room, [entry] * n)


async def test_entries_go_to_one_consumer_at_a_time_in_order(
    presence: PresenceStore, stores: tuple[EventGroup, DeadLetters]
) -> None:
    group, _ = stores
    start = await group.begin(now_ms())
    assert await group.begin(now_ms() + 5000) == start  # set once, by the first
    assert (await group.claim(ROOM, A, count=2, idle_ms=IDLE_MS, start_ms=start)).entries == []
    await add(presence, 3)

    first = await group.claim(ROOM, A, count=2, idle_ms=IDLE_MS, start_ms=start)
    assert [e.entry.seq for e in first.entries] == [1, 2] and not first.busy
    # While A is at the room, B gets nothing, not even the entry A has not seen.
    assert (await group.claim(ROOM, B, count=2, idle_ms=IDLE_MS, start_ms=start)).busy
    assert await group.pending(ROOM) == 2
    # A's own pending entries come back to A (say, after its delivery task failed).
    again = await group.claim(ROOM, A, count=5, idle_ms=IDLE_MS, start_ms=start)
    assert [e.id for e in again.entries] == [e.id for e in first.entries]

    await group.ack(ROOM, [e.id for e in first.entries])
    assert await group.pending(ROOM) == 0
    rest = await group.claim(ROOM, B, count=2, idle_ms=IDLE_MS, start_ms=start)
    assert [e.entry.seq for e in rest.entries] == [3]
    await group.ack(ROOM, [rest.entries[0].id])
    done = await group.claim(ROOM, A, count=2, idle_ms=IDLE_MS, start_ms=start)
    assert done.entries == [] and not done.busy

    assert await group.previous(ROOM, rest.entries[0].id) == first.entries[1]
    assert await group.previous(ROOM, first.entries[0].id) is None


async def test_entries_left_idle_are_taken_over_and_the_first_consumer_hears_of_it(
    presence: PresenceStore, stores: tuple[EventGroup, DeadLetters]
) -> None:
    group, _ = stores
    start = await group.begin(now_ms())
    await add(presence, 2)
    held = await group.claim(ROOM, A, count=5, idle_ms=100, start_ms=start)
    ids = [e.id for e in held.entries]
    assert await group.keep(ROOM, A, ids)

    # A stops keeping its claim (it died): after 100 ms idle, B takes the same entries over.
    async with asyncio.timeout(10):
        while True:
            taken = await group.claim(ROOM, B, count=5, idle_ms=100, start_ms=start)
            if not taken.busy:
                break
            await asyncio.sleep(0.02)
    assert [e.id for e in taken.entries] == ids
    assert not await group.keep(ROOM, A, ids)
    assert await group.keep(ROOM, B, ids)
    await group.ack(ROOM, ids[:1])
    assert await group.keep(ROOM, B, ids)  # an acknowledged one is no loss
    assert await group.pending(ROOM) == 1


async def test_a_kept_claim_is_not_taken_over(
    presence: PresenceStore, stores: tuple[EventGroup, DeadLetters]
) -> None:
    group, _ = stores
    start = await group.begin(now_ms())
    await add(presence, 1)
    ids = [e.id for e in (await group.claim(ROOM, A, count=5, idle_ms=500, start_ms=start)).entries]
    until = time.monotonic() + 1.1  # longer than the idle time, kept all along
    while time.monotonic() < until:
        assert await group.keep(ROOM, A, ids)
        assert (await group.claim(ROOM, B, count=5, idle_ms=500, start_ms=start)).busy
        await asyncio.sleep(0.05)


async def test_a_room_s_group_starts_where_it_is_told(
    presence: PresenceStore, stores: tuple[EventGroup, DeadLetters]
) -> None:
    group, _ = stores
    await add(presence, 1)  # before delivery began: never handed out
    start = now_ms() + 1
    await asyncio.sleep(0.003)  # at least this long: the next entry is from after ``start``
    assert (await group.claim(ROOM, A, count=5, idle_ms=IDLE_MS, start_ms=start)).entries == []
    await add(presence, 1)
    got = await group.claim(ROOM, A, count=5, idle_ms=IDLE_MS, start_ms=start)
    assert [e.entry.seq for e in got.entries] == [2]


async def test_dead_letters_keep_the_newest_up_to_the_cap(
    stores: tuple[EventGroup, DeadLetters],
) -> None:
    _, dead = stores
    dropped = [await dead.add(f"letter-{n}".encode()) for n in range(5)]
    assert dropped == [False, False, False, True, True]
    assert await dead.count() == 3
    assert await dead.list(10) == [b"letter-4", b"letter-3", b"letter-2"]
    assert await dead.list(1) == [b"letter-4"]
    assert await dead.take(b"letter-3")
    assert not await dead.take(b"letter-3")  # a second taker gets nothing
    assert await dead.list(10) == [b"letter-4", b"letter-2"]
