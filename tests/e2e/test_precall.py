"""The pre-call test against a node's own aiortc peer: the verdict, what is kept and shown,
bad input, the caps, the time limit, and every way a test peer must close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from rapport_sdk.loopback import loopback_only
from rapport_sdk.precall import PrecallFailed, run_precall
from signaling import messages as m
from signaling.samples import CHROME_OFFER
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.media.desk import PrecallDesk
from telehealth.web import keys
from tests.e2e.conftest import Topology, settings_for

pytestmark = pytest.mark.webrtc

ROOM = "precall-room"
DURATION = 2.0  # seconds of pings and echo; enough for figures, kind to a loaded machine


@dataclass
class Node:
    server: TestServer
    minter: TokenMinter
    clients: list[SignalingClient]

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))

    @property
    def desk(self) -> PrecallDesk:
        return self.server.app[keys.PRECALL]

    async def connect(self, role: str = "client", name: str = "Alex") -> SignalingClient:
        client = SignalingClient()
        self.clients.append(client)
        if role == "client":
            token = self.minter.mint_client(ROOM, ttl=600)
        else:
            token = self.minter.mint_therapist("dr", [ROOM], 600)
        await client.connect(ws_url_for(self.url), role, token, ROOM, name=name)
        if role == "client":
            await client.wait_for(m.ClientState, state="waiting")
        return client


NodeFactory = Callable[..., Any]


@pytest.fixture
async def make_node() -> AsyncIterator[NodeFactory]:
    nodes: list[Node] = []

    async def make(**overrides: Any) -> Node:
        settings = settings_for(**overrides)
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        node = Node(server, TokenMinter(settings), [])
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        for client in node.clients:
            await client.close()
        await node.server.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Look again and again (the machine is loaded) until ``condition`` holds."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def test_a_waiting_client_gets_a_verdict_that_the_therapist_sees(
    topology: Topology,
) -> None:
    """On one node, and with the client and the therapist on two nodes sharing Redis (and a
    Cluster): the report is kept in presence and reaches the therapist's node."""
    minter = topology.minter
    async with SignalingClient() as therapist, SignalingClient() as client:
        await therapist.connect(
            ws_url_for(topology.therapist_url),
            "therapist",
            minter.mint_therapist("dr", [ROOM], 600),
            ROOM,
            name="Dr T",
        )
        await client.connect(
            ws_url_for(topology.client_url),
            "client",
            minter.mint_client(ROOM, ttl=600),
            ROOM,
            "Alex",
        )
        await client.wait_for(m.ClientState, state="waiting", timeout=30)
        report = await run_precall(client, loopback=True, duration=DURATION)
        assert report.verdict in ("good", "fair", "poor")
        assert report.advice
        assert report.candidate == "host" and report.transport == "udp"
        assert report.rtt_ms is not None and report.rtt_ms >= 0
        assert report.bitrate_up_kbps > 0 and report.bitrate_down_kbps > 0
        view = await therapist.wait_for(
            m.RoomView,
            timeout=30,
            where=lambda r: bool(r.waiting) and r.waiting[0].precall is not None,
        )
        assert view.waiting[0].precall == report
        desk = topology.servers[0].app[keys.PRECALL]
        await wait_until(lambda: desk.running == 0)


async def test_an_admitted_client_and_a_therapist_may_not_run_it(make_node: NodeFactory) -> None:
    node = await make_node()
    therapist = await node.connect("therapist", "Dr T")
    client = await node.connect()
    await therapist.send(m.Admit(participant_ids=[client.participant_id]))
    await client.wait_for(m.ClientState, state="admitted", timeout=30)
    for who in (client, therapist):
        with pytest.raises(PrecallFailed) as refused:
            await run_precall(who, loopback=True, duration=DURATION)
        assert refused.value.code == "forbidden"
    assert node.desk.running == 0


async def test_bad_input_is_refused_and_leaves_nothing(make_node: NodeFactory) -> None:
    node = await make_node()
    therapist = await node.connect("therapist", "Dr T")
    client = await node.connect()
    for bad, code in [
        ({"type": "precall_offer", "sdp": "hello world"}, "invalid_sdp"),
        ({"type": "precall_offer", "sdp": CHROME_OFFER.replace("a=ice-pwd", "a=x")}, "invalid_sdp"),
        ({"type": "precall_offer", "sdp": "v=0\r\n" * 8000}, "sdp_too_large"),
    ]:
        await client.send(bad)
        err = await client.wait_for(m.Error, timeout=30)
        assert err.code == code, err
    result: dict[str, object] = {
        "type": "precall_result",
        "candidate": "host",
        "transport": "udp",
        "duration_s": 5,
        "pings_sent": 10,
        "pings_answered": 10,
        "rtt_ms": 20,
    }
    cases: list[tuple[dict[str, object], str]] = [
        ({"loss_down_pct": -1}, "invalid_message"),
        ({"bitrate_down_kbps": 80_000_000}, "invalid_message"),  # 10 GB/s
        ({"rtt_ms": 1e9}, "invalid_message"),
        ({"candidate": "10.0.0.1"}, "invalid_message"),
        ({"address": "10.0.0.1"}, "unknown_field"),
        ({"pings_answered": 11}, "invalid_message"),
        ({}, "precall_not_running"),
    ]
    for changes, code in cases:
        await client.send({**result, **changes})
        err = await client.wait_for(m.Error, timeout=30)
        assert err.code == code, (changes, err)
    await client.send({"type": "precall_stop"})
    await client.send({"type": "ping", "id": 9})
    await client.wait_for(m.Pong, id=9, timeout=30)
    assert all(w.precall is None for w in (therapist.last_room or m.RoomView([], [], 0)).waiting)
    assert node.desk.running == 0


async def test_beyond_the_cap_and_queue_a_client_hears_busy_with_a_time(
    make_node: NodeFactory,
) -> None:
    node = await make_node(precall_max=1, precall_queue=1, precall_queue_wait=0.5)
    await node.connect("therapist", "Dr T")
    first, queued, third = [await node.connect(name=f"C{i}") for i in range(3)]
    running = asyncio.create_task(run_precall(first, loopback=True, duration=4.0))
    await wait_until(lambda: node.desk.running == 1)
    waits = asyncio.create_task(run_precall(queued, loopback=True, duration=DURATION))
    await wait_until(lambda: node.desk.queued == 1)
    with pytest.raises(PrecallFailed) as busy:
        await run_precall(third, loopback=True, duration=DURATION)
    assert busy.value.code == "precall_busy"
    assert busy.value.retry_after is not None and busy.value.retry_after >= 1
    with pytest.raises(PrecallFailed) as timed_out:  # its queue wait (0.5 s) ran out
        await waits
    assert timed_out.value.code == "precall_busy"
    assert (await running).verdict in ("good", "fair", "poor")
    await wait_until(lambda: node.desk.running == 0 and node.desk.queued == 0)


async def test_the_time_limit_closes_the_peer(make_node: NodeFactory) -> None:
    node = await make_node(precall_time_limit=5.0)
    client = await node.connect()
    with pytest.raises(PrecallFailed) as late:  # pings for longer than the limit
        await run_precall(client, loopback=True, duration=8.0)
    assert late.value.code == "precall_time_up"
    assert node.desk.running == 0


async def test_a_dropped_socket_and_a_draining_node_close_the_peers(
    make_node: NodeFactory,
) -> None:
    node = await make_node()
    dropping, staying = await node.connect(name="A"), await node.connect(name="B")
    tests = [
        asyncio.create_task(run_precall(c, loopback=True, duration=30.0))
        for c in (dropping, staying)
    ]
    await wait_until(lambda: node.desk.running == 2)
    peers = [t.peer for t in node.desk._tests.values()]
    await dropping.close()
    await wait_until(lambda: node.desk.running == 1)
    await node.server.close()  # drain: on_shutdown closes every test peer
    assert all(p.pc.connectionState == "closed" for p in peers)
    for t in tests:
        t.cancel()
    await asyncio.gather(*tests, return_exceptions=True)


async def test_a_flood_of_offers_meets_the_limits_and_signaling_still_answers(
    make_node: NodeFactory,
) -> None:
    node = await make_node(precall_max=1, precall_queue=0)
    flooder, other = await node.connect(name="F"), await node.connect(name="O")
    with loopback_only():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            pc.addTransceiver("audio")
            await pc.setLocalDescription(await pc.createOffer())
            offer = pc.localDescription.sdp
        finally:
            await pc.close()
    for _ in range(20):
        await flooder.send(m.PrecallOffer(sdp=offer))
    await flooder.wait_for(m.PrecallAnswer, timeout=30)
    refusals = [await flooder.wait_for(m.Error, timeout=30) for _ in range(19)]
    assert {e.code for e in refusals} == {"rate_limited"}
    assert node.desk.running == 1
    with pytest.raises(PrecallFailed) as busy:  # the cap (1) is taken, and no queue
        await run_precall(other, loopback=True, duration=DURATION)
    assert busy.value.code == "precall_busy"
    await other.send(m.Ping(id=5))
    await other.wait_for(m.Pong, id=5, timeout=30)
    await flooder.send(m.PrecallStop())
    await wait_until(lambda: node.desk.running == 0)
