"""A property of the audit trail on two nodes sharing a real Redis: whatever mix of concurrent
admits, denials, send-backs and leaves two therapists and their clients throw at one room, the
room's stream holds exactly one event per committed move. Each participant's events form an
unbroken path through the state table (every event starts where the one before ended) that ends
in the state presence holds, versions are never reused by two changes, and the listeners of both
nodes together heard exactly what the stream holds."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.errors import RapportError
from telehealth.app import create_app
from telehealth.rooms.events import Actor, ActorRole, RoomChange
from telehealth.rooms.model import Snapshot
from telehealth.rooms.service import RoomService
from telehealth.rooms.states import TRANSITIONS, Role, State
from telehealth.web import keys
from tests.conftest import RedisServer
from tests.e2e.conftest import settings_for

pytestmark = pytest.mark.redis

CLIENTS = [f"c-{n}" for n in range(4)]
THERAPISTS = [
    Actor(role=ActorRole.THERAPIST, sub=f"dr-{n}", participant=f"t-{n}") for n in range(2)
]
ROOMS = itertools.count()

Action = tuple[str, int, str]  # (verb, node, client)
actions = st.lists(
    st.tuples(
        st.sampled_from(["admit", "deny", "send_back", "remove", "leave", "rejoin"]),
        st.integers(0, 1),
        st.sampled_from(CLIENTS),
    ),
    min_size=4,
    max_size=16,
)


class Heard:
    def __init__(self) -> None:
        self.moves: Counter[tuple[str, int, str, str, str]] = Counter()

    def __call__(self, change: RoomChange) -> None:
        for e in change.events:
            key = (change.room, change.version, e.participant, e.event.value, e.to_state.value)
            self.moves[key] += 1


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[list[RoomService], Heard]]:
    settings = settings_for(redis_url=redis_server.url, max_participants=3)
    servers = [
        TestServer(create_app(settings.with_(node_id=f"n-{n}")), host="127.0.0.1") for n in range(2)
    ]
    heard = Heard()
    for server in servers:
        await server.start_server()
        server.app[keys.SERVICE].listen(heard)
    yield [s.app[keys.SERVICE] for s in servers], heard
    for server in servers:
        await server.close()


def client(pid: str) -> Actor:
    return Actor(role=ActorRole.CLIENT, sub=f"link-{pid}", participant=pid)


async def act(service: RoomService, room: str, verb: str, therapist: Actor, pid: str) -> None:
    """One action; a refusal (a named error) is a legal outcome, anything else fails."""
    with contextlib.suppress(RapportError):
        if verb == "admit":
            await service.admit(room, therapist, [pid])
        elif verb == "deny":
            await service.deny(room, therapist, pid)
        elif verb == "send_back":
            await service.send_back(room, therapist, pid)
        elif verb == "remove":
            await service.remove(room, therapist, pid)
        elif verb == "leave":
            await service.leave(room, client(pid), f"conn-{pid}")
        else:
            await service.join(room, client(pid), Role.CLIENT, "x", f"conn-{pid}")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=actions)
async def test_one_audit_event_per_committed_move(
    nodes: tuple[list[RoomService], Heard], plan: list[Action]
) -> None:
    services, heard = nodes
    room = f"prop-{next(ROOMS)}"
    for n, therapist in enumerate(THERAPISTS):
        await services[n].join(room, therapist, Role.THERAPIST, "T", f"conn-t-{n}")
    for pid in CLIENTS:
        await services[0].join(room, client(pid), Role.CLIENT, "x", f"conn-{pid}")
    # Everything at once, half through each node.
    await asyncio.gather(
        *(act(services[n], room, verb, THERAPISTS[n], pid) for verb, n, pid in plan)
    )

    stored = [s for s in await services[0].presence.events(room) if s.is_move]
    snapshot: Snapshot = await services[0].presence.load(room)
    # One stream event per committed move: a path per participant through the table, ending
    # where presence stands.
    for pid, record in snapshot.participants.items():
        path = [s.event for s in stored if s.event.participant == pid]
        assert path[0].from_state is State.NEW
        for before, after in itertools.pairwise(path):
            assert after.from_state is before.to_state, (pid, before, after)
        for e in path:
            if e.from_state is not e.to_state:
                assert TRANSITIONS[(record.role, e.event)][e.from_state] is e.to_state
        assert path[-1].to_state is record.state
    # Versions: each belongs to one change (its entries are contiguous, in version order).
    versions = [s.version for s in stored]
    assert versions == sorted(versions)
    assert len(set(versions)) == len({(s.version, s.node) for s in stored})

    # The listeners of both nodes together heard each stream event once, and nothing else.
    async def caught_up() -> None:
        want = Counter(
            (room, s.version, s.event.participant, s.event.event.value, s.event.to_state.value)
            for s in stored
        )
        while True:
            if Counter({k: v for k, v in heard.moves.items() if k[0] == room}) == want:
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(caught_up(), 10)
