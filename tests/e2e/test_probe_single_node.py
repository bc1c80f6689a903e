"""The probe and our aiortc Peer against the service in-process, on one node, loopback only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCPeerConnection

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import rtc_configuration, ws_url_for
from rapport_sdk.loopback import loopback_only
from rapport_sdk.peer import Peer
from rapport_sdk.probe import STEPS, ProbeOptions, run_probe
from signaling import messages as m
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings, from_env

pytestmark = pytest.mark.webrtc

ROOM = "probe-room"
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def settings() -> Settings:
    return from_env({}, dev=True, loopback=True)


@pytest.fixture
async def base_url(aiohttp_server: ServerFactory, settings: Settings) -> str:
    server = await aiohttp_server(create_app(settings))
    return str(server.make_url("/"))


@pytest.fixture
async def clients() -> AsyncIterator[Callable[[], SignalingClient]]:
    made: list[SignalingClient] = []

    def make() -> SignalingClient:
        client = SignalingClient()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_probe_passes_on_one_node(settings: Settings, base_url: str) -> None:
    report = await run_probe(
        settings,
        ProbeOptions(client_url=base_url, therapist_url=base_url, loopback=True, timeout=20),
    )
    assert report["ok"], report
    assert [s["name"] for s in report["steps"]] == list(STEPS)
    assert all(s["ok"] and "error" not in s for s in report["steps"]), report
    assert all(isinstance(s["ms"], float) and s["ms"] >= 0 for s in report["steps"])
    assert report["room"] == "probe"
    assert report["client_node_url"] == report["therapist_node_url"] == base_url
    text = json.dumps(report)
    assert "v=0" not in text and "eyJ" not in text  # no SDP, no JWT


async def test_probe_passes_where_consent_is_required(aiohttp_server: ServerFactory) -> None:
    settings = from_env({}, dev=True, loopback=True, consent_text="The practice's consent.")
    server = await aiohttp_server(create_app(settings))
    url = str(server.make_url("/"))
    report = await run_probe(
        settings, ProbeOptions(client_url=url, therapist_url=url, loopback=True, timeout=20)
    )
    assert report["ok"], report


async def test_probe_reports_the_first_failure(settings: Settings, base_url: str) -> None:
    other = settings.with_(jwt_secret="another-secret-" + "y" * 40)  # tokens the node refuses
    report = await run_probe(
        other, ProbeOptions(client_url=base_url, therapist_url=base_url, loopback=True, timeout=5)
    )
    assert report["ok"] is False
    assert [s["name"] for s in report["steps"]] == ["therapist_connect"]
    step = report["steps"][0]
    assert step["ok"] is False and "token_invalid" in step["error"] and "4003" in step["error"]
    assert "eyJ" not in json.dumps(report)


async def _therapist_and_client(
    base_url: str,
    minter: TokenMinter,
    clients: Callable[[], SignalingClient],
    name: str = "Alex",
) -> tuple[SignalingClient, SignalingClient]:
    therapist = clients()
    await therapist.connect(
        ws_url_for(base_url), "therapist", minter.mint_therapist("dr-p", [ROOM], 600), ROOM
    )
    client = await _client(base_url, minter, clients, name)
    await client.wait_for(m.ClientState, state="waiting")
    pid = client.participant_id
    await therapist.wait_for(
        m.RoomView, where=lambda r: any(w.participant_id == pid for w in r.waiting)
    )
    return therapist, client


async def _client(
    base_url: str, minter: TokenMinter, clients: Callable[[], SignalingClient], name: str
) -> SignalingClient:
    client = clients()
    await client.connect(
        ws_url_for(base_url), "client", minter.mint_client(ROOM, ttl=600), ROOM, name=name
    )
    return client


async def test_denied_client_gets_bye_and_4011(
    settings: Settings, base_url: str, clients: Callable[[], SignalingClient]
) -> None:
    minter = TokenMinter(settings)
    therapist, client = await _therapist_and_client(base_url, minter, clients)
    peer = Peer(client, loopback=True, close_signaling=False)
    try:
        await therapist.send(m.Deny(participant_id=client.participant_id))
        bye = await client.wait_for(m.Bye)
        assert bye.code == "denied" and bye.reconnect is False
        assert await client.wait_closed() == 4011
        assert client.last_state is not None and client.last_state.state == "waiting"
        assert peer.peer_ids == []  # never admitted: no RTCPeerConnection was made
        assert not any(isinstance(msg, m.SessionView | m.OfferOut) for msg in client.pending())
    finally:
        await peer.close()


async def _real_offer() -> str:
    with loopback_only():
        pc = RTCPeerConnection(configuration=rtc_configuration([], loopback=True))
        try:
            pc.createDataChannel("rapport", negotiated=True, id=0)
            await pc.setLocalDescription(await pc.createOffer())
            sdp: str = pc.localDescription.sdp
            return sdp
        finally:
            await pc.close()


def _is_error(code: str, ref: str) -> Callable[[m.Outbound], bool]:
    return lambda msg: isinstance(msg, m.Error) and msg.code == code and msg.ref == ref


async def test_waiting_client_never_gets_signaling(
    settings: Settings, base_url: str, clients: Callable[[], SignalingClient]
) -> None:
    minter = TokenMinter(settings)
    therapist, waiting = await _therapist_and_client(base_url, minter, clients, "Wendy")
    sdp = await _real_offer()
    candidate = m.IceCandidate(
        candidate="candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        sdpMid="0",
        sdpMLineIndex=0,
    )
    target = waiting.participant_id

    # Nobody admitted yet: the therapist is not in a session either.
    await therapist.send(m.Offer(to=target, sdp=sdp))
    await therapist.wait_for(_is_error("not_admitted", "offer"))
    await therapist.send(m.Candidate(to=target, candidate=candidate))
    await therapist.wait_for(_is_error("not_admitted", "candidate"))

    # With another client admitted, the therapist is in a session, but Wendy still is not.
    admitted = await _client(base_url, minter, clients, "Sam")
    await admitted.wait_for(m.ClientState, state="waiting")
    await therapist.send(m.Admit(participant_ids=[admitted.participant_id]))
    await admitted.wait_for(m.ClientState, state="admitted")
    await therapist.send(m.Offer(to=target, sdp=sdp))
    await therapist.wait_for(_is_error("not_admitted", "offer"))
    await therapist.send(m.Candidate(to=target, candidate=candidate))
    await therapist.wait_for(_is_error("not_admitted", "candidate"))
    # ...while the same offer does reach the admitted client.
    await therapist.send(m.Offer(to=admitted.participant_id, sdp=sdp))
    offer = await admitted.wait_for(m.OfferOut)
    assert offer.sender == therapist.participant_id

    # Nor can the waiting client signal the therapist.
    await waiting.send(m.Offer(to=therapist.participant_id, sdp=sdp))
    await waiting.wait_for(_is_error("not_admitted", "offer"))

    # A ping round trip: anything relayed to Wendy would have arrived before the pong.
    await waiting.send(m.Ping(id=7))
    await waiting.wait_for(m.Pong, id=7)
    assert not [msg for msg in waiting.pending() if isinstance(msg, m.OfferOut | m.CandidateOut)]
    assert waiting.last_session is None


async def test_two_peers_connect_and_exchange_data(
    settings: Settings, base_url: str, clients: Callable[[], SignalingClient]
) -> None:
    minter = TokenMinter(settings)
    therapist, client = await _therapist_and_client(base_url, minter, clients)
    t_peer = Peer(therapist, loopback=True)
    c_peer = Peer(client, loopback=True)
    try:
        await therapist.send(m.Admit(participant_ids=[client.participant_id]))
        await c_peer.wait_connected(therapist.participant_id, 15)
        await t_peer.wait_connected(client.participant_id, 15)
        await c_peer.send_data(therapist.participant_id, "hello")
        assert await t_peer.recv_data(client.participant_id) == "hello"
        await t_peer.send_data(client.participant_id, "hi")
        assert await c_peer.recv_data(therapist.participant_id) == "hi"

        # Sending the client back closes the pair's connection on both sides.
        await therapist.send(m.SendBack(participant_id=client.participant_id))
        await client.wait_for(m.ClientState, state="waiting")
        await therapist.wait_for(m.SessionView, where=lambda s: not s.peers)
    finally:
        await c_peer.close()
        await t_peer.close()


async def test_reconnecting_therapist_gets_a_new_connection(
    settings: Settings, base_url: str, clients: Callable[[], SignalingClient]
) -> None:
    minter = TokenMinter(settings)
    token = minter.mint_therapist("dr-r", [ROOM], 600)
    therapist = clients()
    await therapist.connect(ws_url_for(base_url), "therapist", token, ROOM)
    client = await _client(base_url, minter, clients, "Alex")
    c_peer = Peer(client, loopback=True)
    t_peer = Peer(therapist, loopback=True)
    t_pid, c_pid = therapist.participant_id, client.participant_id
    try:
        await client.wait_for(m.ClientState, state="waiting")
        await therapist.send(m.Admit(participant_ids=[c_pid]))
        await c_peer.wait_connected(t_pid, 15)
        first_pc = c_peer._links[t_pid].pc

        await t_peer.close()  # the therapist's page drops: socket and connection gone
        await client.wait_for(m.SessionView, 10, where=lambda s: not s.peers[0].connected)

        again = clients()
        welcome = await again.connect(ws_url_for(base_url), "therapist", token, ROOM)
        assert welcome.resumed is True and welcome.participant_id == t_pid
        t_peer = Peer(again, loopback=True)
        await t_peer.wait_connected(c_pid, 15)
        await c_peer.wait_connected(t_pid, 15)
        assert c_peer._links[t_pid].pc is not first_pc  # the client rebuilt its side
        await t_peer.send_data(c_pid, "back")
        assert await c_peer.recv_data(t_pid) == "back"
    finally:
        await c_peer.close()
        await t_peer.close()
