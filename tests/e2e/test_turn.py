"""Real TURN: two aiortc peers relayed by coturn, with the credentials Rapport hands out.

The node runs in relay-only privacy mode (``relay_only``, TELEHEALTH_RELAY_ONLY): its
``welcome`` carries the coturn fixture's URLs with time-limited TURN REST credentials and
``ice_transport_policy: "relay"``, and the SDK's peers follow it, so the only candidates either
side has are coturn's relay addresses. coturn checks the credentials against the same secret
(``use-auth-secret``) and refuses expired ones.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from aioice import stun
from aioice.turn import create_turn_endpoint

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from rapport_sdk.peer import Peer
from signaling import messages as m
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from telehealth.turn import turn_credentials
from tests.conftest import REPO_ROOT, free_port
from tests.e2e.conftest import join, settings_for
from tests.turnserver import TurnServer

pytestmark = pytest.mark.webrtc

ROOM = "turn-room"
UNAUTHORIZED = 401


def relay_settings(turn: TurnServer) -> Settings:
    """A node in relay-only mode whose TURN server is the fixture's coturn."""
    return settings_for(
        loopback=False, turn_urls=turn.urls, turn_secret=turn.secret, relay_only=True
    )


@pytest.fixture
async def relay_node(turn_server: TurnServer) -> AsyncIterator[tuple[str, TokenMinter]]:
    settings = relay_settings(turn_server)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/")), TokenMinter(settings)
    finally:
        await server.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[SignalingClient]]:
    made: list[SignalingClient] = []
    yield made
    for client in made:
        await client.close()


async def connect(
    clients: list[SignalingClient], url: str, role: str, token: str, name: str | None = None
) -> SignalingClient:
    client = SignalingClient()
    clients.append(client)
    await client.connect(ws_url_for(url), role, token, ROOM, name=name)
    return client


def only_transport(servers: list[m.IceServer], transport: str) -> list[m.IceServer]:
    """The welcome's TURN entry with only its URL for ``transport`` (aiortc uses the first)."""
    chosen = [
        m.IceServer(
            urls=[u for u in s.urls if u.endswith(f"transport={transport}")],
            username=s.username,
            credential=s.credential,
        )
        for s in servers
        if s.username
    ]
    assert chosen and all(s.urls for s in chosen), servers
    return chosen


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_two_peers_connect_through_coturn_only(
    relay_node: tuple[str, TokenMinter],
    clients: list[SignalingClient],
    turn_server: TurnServer,
    transport: str,
) -> None:
    url, minter = relay_node
    therapist = await connect(clients, url, "therapist", minter.mint_therapist("dr", [ROOM], 600))
    client = await connect(clients, url, "client", minter.mint_client(ROOM, ttl=600), "Alex")
    for welcome in (therapist.welcome, client.welcome):
        assert welcome is not None and welcome.ice_transport_policy == "relay"
        (turn,) = welcome.ice_servers
        assert turn.urls == list(turn_server.urls) and turn.username and turn.credential
    await client.wait_for(m.ClientState, state="waiting")
    t_peer = Peer(therapist, ice_servers=only_transport(therapist.ice_servers, transport))
    c_peer = Peer(client, ice_servers=only_transport(client.ice_servers, transport))
    try:
        await therapist.send(m.Admit(participant_ids=[client.participant_id]))
        await c_peer.wait_connected(therapist.participant_id, 30)
        await t_peer.wait_connected(client.participant_id, 30)
        await c_peer.send_data(therapist.participant_id, "through the relay")
        assert await t_peer.recv_data(client.participant_id, 10) == "through the relay"
        await t_peer.send_data(client.participant_id, "and back")
        assert await c_peer.recv_data(therapist.participant_id, 10) == "and back"
        # Both sides offered only relay candidates, so the selected pair is relay to relay:
        # neither learnt the other's address, only coturn's.
        assert c_peer.candidate_types(therapist.participant_id) == ("relay", "relay")
        assert t_peer.candidate_types(client.participant_id) == ("relay", "relay")
    finally:
        await c_peer.close()
        await t_peer.close()


class _Sink(asyncio.DatagramProtocol):
    """What a relayed socket delivers to: nothing is sent through it here."""


async def test_coturn_refuses_an_expired_credential(
    relay_node: tuple[str, TokenMinter],
    clients: list[SignalingClient],
    turn_server: TurnServer,
) -> None:
    url, minter = relay_node
    client = await connect(clients, url, "client", minter.mint_client(ROOM, ttl=600), "Alex")
    (turn,) = client.ice_servers
    assert turn.username is not None and turn.credential is not None
    # What the node handed out allocates a relay address (so a refusal below is the expiry's).
    transport, _ = await create_turn_endpoint(
        _Sink, turn_server.address, turn.username, turn.credential
    )
    transport.close()
    # The same scheme and secret, for a participant whose credential expired a minute ago.
    username, password = turn_credentials(turn_server.secret, "c-expired", int(time.time()) - 60)
    with pytest.raises(stun.TransactionFailed) as refused:
        await create_turn_endpoint(_Sink, turn_server.address, username, password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == UNAUTHORIZED
    # A credential signed with another secret is refused the same way.
    later = int(time.time()) + 600
    username, password = turn_credentials("not-" + turn_server.secret, "c-1", later)
    with pytest.raises(stun.TransactionFailed) as forged:
        await create_turn_endpoint(_Sink, turn_server.address, username, password)
    assert forged.value.response.attributes["ERROR-CODE"][0] == UNAUTHORIZED


async def test_welcome_carries_the_ice_transport_policy(
    relay_node: tuple[str, TokenMinter], turn_server: TurnServer
) -> None:
    url, minter = relay_node
    ws, welcome = await join(url, "client", minter.mint_client(ROOM, ttl=600), ROOM, "Alex")
    await ws.close()
    assert welcome["ice_transport_policy"] == "relay"
    (turn,) = welcome["ice_servers"]
    assert turn["urls"] == list(turn_server.urls) and turn["username"].endswith(
        ":" + welcome["participant_id"]
    )
    # Off (the default), the welcome says so too: pages and SDK peers use every candidate.
    settings = settings_for()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        token = TokenMinter(settings).mint_client(ROOM, ttl=600)
        ws, welcome = await join(str(server.make_url("/")), "client", token, ROOM, "Alex")
        await ws.close()
    finally:
        await server.close()
    assert welcome["ice_transport_policy"] == "all"


def test_a_relay_only_node_without_turn_refuses_to_start() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")},
        "TELEHEALTH_JWT_SECRET": "r" * 48,
        "TELEHEALTH_RELAY_ONLY": "on",
    }
    # Generous: importing the service alone took 12 s on a loaded 2-core machine.
    done = subprocess.run(
        [sys.executable, "-m", "telehealth", "serve", "--port", str(free_port())],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "TELEHEALTH_RELAY_ONLY is on but no TURN server is configured" in done.stderr
    assert "Traceback" not in done.stderr
