"""The seam across nodes: two therapists of one room, on two nodes sharing a real Redis, admit
at the same moment. Exactly one admission commits; the listeners of both nodes together, and
the room's durable stream, hold exactly one event per committed move and none for the refused."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.rooms.events import RoomChange
from telehealth.web import keys
from tests.conftest import RedisServer
from tests.e2e.conftest import join, settings_for

ROOM = "room-seam"

pytestmark = pytest.mark.redis

Move = tuple[int, str, str, str, str]  # version, participant, event, from, to


class Recorder:
    def __init__(self) -> None:
        self.moves: list[Move] = []

    def __call__(self, change: RoomChange) -> None:
        for e in change.events:
            self.moves.append(
                (change.version, e.participant, e.event.value, e.from_state, e.to_state)
            )


async def test_racing_admits_on_two_nodes_commit_one_event_per_move(
    redis_server: RedisServer, http: aiohttp.ClientSession
) -> None:
    settings = settings_for(redis_url=redis_server.url, max_participants=2)
    servers = [
        TestServer(create_app(settings.with_(node_id=node)), host="127.0.0.1")
        for node in ("n-a", "n-b")
    ]
    for server in servers:
        await server.start_server()
    try:
        recorders = [Recorder(), Recorder()]
        for server, recorder in zip(servers, recorders, strict=True):
            server.app[keys.SERVICE].listen(recorder)
        urls = [str(s.make_url("/")) for s in servers]
        minter = TokenMinter(settings)
        t1, _ = await join(urls[0], "therapist", minter.mint_therapist("dr-a", [ROOM]), ROOM)
        t2, _ = await join(urls[1], "therapist", minter.mint_therapist("dr-b", [ROOM]), ROOM)
        clients = []
        for n in range(3):
            ws, welcome = await join(
                urls[n % 2], "client", minter.mint_client(ROOM), ROOM, name=f"Client {n}"
            )
            clients.append((ws, welcome["participant_id"]))
        await t1.until("room", lambda m: len(m["waiting"]) == 3)
        await t2.until("room", lambda m: len(m["waiting"]) == 3)

        # Both therapists try to admit every client at once: one seat, so one admission wins.
        for _, pid in clients:
            await t1.send(type="admit", participant_ids=[pid])
            await t2.send(type="admit", participant_ids=[pid])
        # A socket's messages are handled in order: its pong comes after its admits' answers.
        for ws in (t1, t2):
            await ws.send(type="ping", id=77)
            await ws.expect("pong", id=77)
        refusals = [m for ws in (t1, t2) for m in ws.seen if m["type"] == "error"]
        assert len(refusals) == 5
        assert {r["code"] for r in refusals} <= {"room_full", "invalid_transition"}
        snapshot = await servers[0].app[keys.PRESENCE].load(ROOM)
        assert len(snapshot.admitted()) == 1 and len(snapshot.waiting()) == 2

        stored = await servers[0].app[keys.PRESENCE].events(ROOM)
        in_stream = Counter(
            (
                s.version,
                s.event.participant,
                s.event.event.value,
                s.event.from_state,
                s.event.to_state,
            )
            for s in stored
            if s.is_move
        )
        # The one admission began the session: one mark, in the same commit.
        assert [s.version for s in stored if not s.is_move] == [
            s.version for s in stored if s.is_move and s.event.event.value == "admit"
        ]

        # Every change committed on either node reached that node's listeners exactly once.
        async def listeners_caught_up() -> Counter[Move]:
            while True:
                heard = Counter(recorders[0].moves + recorders[1].moves)
                if heard == in_stream:
                    return heard
                await asyncio.sleep(0.02)

        heard = await asyncio.wait_for(listeners_caught_up(), 10)
        assert max(heard.values()) == 1
        admits = [m for m in heard if m[2] == "admit"]
        assert len(admits) == 1
        assert sum(1 for m in heard if m[2] == "join") == 5  # two therapists, three clients
        versions = sorted(m[0] for m in heard)
        assert versions == list(range(1, len(versions) + 1))  # one change per version
        for ws, _ in clients:
            await ws.close()
        await t1.close()
        await t2.close()
    finally:
        for server in servers:
            await server.close()


async def test_a_refused_admit_leaves_no_transition_line(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(max_participants=2)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/"))
        minter = TokenMinter(settings)
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr", [ROOM]), ROOM)
        pids = []
        for n in range(2):
            _, welcome = await join(url, "client", minter.mint_client(ROOM), ROOM, f"C {n}")
            pids.append(welcome["participant_id"])
        await therapist.until("room", lambda m: len(m["waiting"]) == 2)
        caplog.set_level(logging.INFO, logger="telehealth.rooms")
        await therapist.send(type="admit", participant_ids=[pids[0]])
        await therapist.until("room", lambda m: len(m["session"]) == 1)
        await therapist.send(type="admit", participant_ids=[pids[1]])
        assert (await therapist.expect("error"))["code"] == "room_full"
        lines = [r.getMessage() for r in caplog.records]
        assert any(f"participant {pids[0]} state waiting -> admitted" in x for x in lines)
        assert not any(f"participant {pids[1]} state" in x for x in lines)
    finally:
        await server.close()
