"""Real WebRTC through the service: aiortc peers on one node, and across two nodes over Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from rapport_sdk.peer import Peer
from signaling import messages as m
from tests.e2e.conftest import Topology

pytestmark = pytest.mark.webrtc

ROOM = "rtc-room"


@pytest.fixture
async def clients() -> AsyncIterator[list[SignalingClient]]:
    made: list[SignalingClient] = []
    yield made
    for client in made:
        await client.close()


async def connect(
    clients: list[SignalingClient],
    url: str,
    role: str,
    token: str,
    name: str | None = None,
    resume: str | None = None,
) -> SignalingClient:
    client = SignalingClient()
    clients.append(client)
    await client.connect(ws_url_for(url), role, token, ROOM, name=name, resume=resume)
    return client


async def exchange(a: Peer, b: Peer) -> None:
    await a.send_data(b.participant_id, "ping from " + a.participant_id)
    assert await b.recv_data(a.participant_id, 10) == "ping from " + a.participant_id
    await b.send_data(a.participant_id, "pong from " + b.participant_id)
    assert await a.recv_data(b.participant_id, 10) == "pong from " + b.participant_id


async def test_client_waits_is_admitted_and_connects(
    topology: Topology, clients: list[SignalingClient]
) -> None:
    minter = topology.minter
    therapist = await connect(
        clients, topology.therapist_url, "therapist", minter.mint_therapist("dr", [ROOM], 600)
    )
    client = await connect(
        clients, topology.client_url, "client", minter.mint_client(ROOM, ttl=600), "Alex"
    )
    await client.wait_for(m.ClientState, state="waiting")
    await therapist.wait_for(m.RoomView, where=lambda r: len(r.waiting) == 1)
    t_peer, c_peer = Peer(therapist, loopback=True), Peer(client, loopback=True)
    try:
        await therapist.send(m.Admit(participant_ids=[client.participant_id]))
        await c_peer.wait_connected(therapist.participant_id, 20)
        await t_peer.wait_connected(client.participant_id, 20)
        await exchange(c_peer, t_peer)
    finally:
        await c_peer.close()
        await t_peer.close()


async def test_admitted_client_drops_and_reconnects_media(
    topology: Topology, clients: list[SignalingClient]
) -> None:
    minter = topology.minter
    therapist = await connect(
        clients, topology.therapist_url, "therapist", minter.mint_therapist("dr", [ROOM], 600)
    )
    token = minter.mint_client(ROOM, ttl=600)
    client = await connect(clients, topology.client_url, "client", token, "Alex")
    t_peer, c_peer = Peer(therapist, loopback=True), Peer(client, loopback=True)
    try:
        await therapist.send(m.Admit(participant_ids=[client.participant_id]))
        await t_peer.wait_connected(client.participant_id, 20)
        await c_peer.close()  # the client's network drops
        await therapist.wait_for(
            m.SessionView, 10, where=lambda s: bool(s.peers) and not s.peers[0].connected
        )
        # The client comes back, on the other node where there are two, and is not re-admitted.
        again = await connect(
            clients, topology.therapist_url, "client", token, "Alex", resume=client.resume
        )
        assert again.welcome is not None and again.welcome.resumed is True
        await again.wait_for(m.ClientState, state="admitted")
        c_peer = Peer(again, loopback=True)
        await c_peer.wait_connected(therapist.participant_id, 20)
        await t_peer.wait_connected(again.participant_id, 20)
        await exchange(c_peer, t_peer)
    finally:
        await c_peer.close()
        await t_peer.close()


async def test_couples_session_forms_a_full_mesh(
    topology: Topology, clients: list[SignalingClient]
) -> None:
    minter = topology.minter
    therapist = await connect(
        clients, topology.therapist_url, "therapist", minter.mint_therapist("dr", [ROOM], 600)
    )
    a = await connect(
        clients, topology.client_url, "client", minter.mint_client(ROOM, ttl=600), "A"
    )
    b = await connect(
        clients, topology.therapist_url, "client", minter.mint_client(ROOM, ttl=600), "B"
    )
    peers = [Peer(x, loopback=True) for x in (therapist, a, b)]
    try:
        await therapist.send(m.Admit(participant_ids=[a.participant_id, b.participant_id]))
        for p in peers:
            for q in peers:
                if p is not q:
                    await p.wait_connected(q.participant_id, 20)
        await exchange(peers[1], peers[2])
    finally:
        for p in peers:
            await p.close()
