"""Limits that hold across nodes: per-address caps on unauthenticated sockets and on connection
attempts (two in-process nodes sharing a real redis-server), X-Forwarded-For believed only from
a trusted proxy, a REST rate per principal, and a cap on ICE candidates per negotiation. Each
refusal has its named code and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.samples import CHROME_OFFER
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.conftest import RedisServer
from tests.e2e.conftest import join, settings_for

ROOM = "room-limits"
Start = Callable[..., Awaitable[tuple[list[str], Settings]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start nodes with the given settings: two sharing ``redis`` when given, else one."""
    servers: list[TestServer] = []

    async def make(
        redis: RedisServer | None = None, **overrides: Any
    ) -> tuple[list[str], Settings]:
        settings = settings_for(redis_url=redis.url if redis else None, **overrides)
        nodes = (
            [settings.with_(node_id="n-a"), settings.with_(node_id="n-b")] if redis else [settings]
        )
        for node in nodes:
            server = TestServer(create_app(node), host="127.0.0.1")
            await server.start_server()
            servers.append(server)
        return [str(s.make_url("/")) for s in servers], settings

    yield make
    for server in servers:
        await server.close()


def session_from(address: str) -> aiohttp.ClientSession:
    """A client whose connections come from ``address`` (any 127.x.y.z reaches the nodes)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def door(session: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str]:
    """Knock on /ws without upgrading: the status and the error code (the door's refusals come
    before the upgrade; a request let through is then refused as not a WebSocket upgrade,
    invalid_message)."""
    async with session.get(url + "ws", headers=headers) as r:
        body = await r.text()
        code = json.loads(body)["error"]["code"] if body.startswith("{") else ""
        return r.status, code


@pytest.mark.redis
async def test_unauthenticated_sockets_per_address_hold_across_nodes(
    start: Start, redis_server: RedisServer
) -> None:
    (a, b), settings = await start(redis_server, address_max_pending=2)
    async with session_from("127.0.0.2") as one, session_from("127.0.0.3") as other:
        idle = [await one.ws_connect(a + "ws"), await one.ws_connect(b + "ws")]
        assert await door(one, a) == (429, "too_many_connections")
        assert await door(one, b) == (429, "too_many_connections")
        held = await other.ws_connect(b + "ws")  # another address is not affected
        # A socket that authenticates gives its place back.
        token = TokenMinter(settings).mint_therapist("dr-limits", [ROOM])
        await idle[0].send_str(
            json.dumps({"type": "auth", "role": "therapist", "token": token, "room": ROOM})
        )
        assert json.loads((await idle[0].receive(timeout=5)).data)["type"] == "welcome"
        again = await one.ws_connect(b + "ws")
        for ws in [*idle, held, again]:
            await ws.close()
        # Closed sockets give theirs back too.
        assert (await door(one, a))[1] != "too_many_connections"


@pytest.mark.redis
async def test_connection_attempts_per_address_hold_across_nodes(
    start: Start, redis_server: RedisServer
) -> None:
    (a, b), _ = await start(redis_server, address_max_attempts=3)
    async with session_from("127.0.0.4") as one, session_from("127.0.0.5") as other:
        for url in (a, b, a):
            await (await one.ws_connect(url + "ws")).close()
        async with one.get(b + "ws") as r:
            assert r.status == 429 and (await r.json())["error"]["code"] == "too_many_attempts"
            assert 1 <= int(r.headers["Retry-After"]) <= 60
        await (await other.ws_connect(b + "ws")).close()


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(start: Start) -> None:
    (url,), _ = await start(address_max_attempts=2, trusted_proxies=("127.0.0.6",))
    async with session_from("127.0.0.6") as proxy, session_from("127.0.0.7") as stranger:
        alice = {"X-Forwarded-For": "203.0.113.9"}
        for _ in range(2):
            assert (await door(proxy, url, **alice))[1] == "invalid_message"  # let in
        assert await door(proxy, url, **alice) == (429, "too_many_attempts")
        # Another client behind the same proxy has attempts of its own; the rightmost
        # untrusted hop is the client (what it claims to its left is not believed).
        bob = {"X-Forwarded-For": "203.0.113.9, 198.51.100.20"}
        assert (await door(proxy, url, **bob))[1] == "invalid_message"  # let in
        # Unreadable: counted as the proxy itself, and no error beyond the limit's.
        assert (await door(proxy, url, **{"X-Forwarded-For": "not-an-address"}))[
            1
        ] == "invalid_message"  # let in
        # Not a trusted proxy: its X-Forwarded-For is ignored, whatever it says.
        for i in range(2):
            headers = {"X-Forwarded-For": f"192.0.2.{i}"}
            assert (await door(stranger, url, **headers))[1] == "invalid_message"  # let in
        assert await door(stranger, url, **{"X-Forwarded-For": "192.0.2.99"}) == (
            429,
            "too_many_attempts",
        )


@pytest.mark.redis
async def test_rest_rate_per_principal_holds_across_nodes(
    start: Start, redis_server: RedisServer
) -> None:
    (a, b), settings = await start(redis_server, api_rate=3)
    minter = TokenMinter(settings)
    busy = {"Authorization": f"Bearer {minter.mint_admin('admin-busy')}"}
    calm = {"Authorization": f"Bearer {minter.mint_admin('admin-calm')}"}
    async with aiohttp.ClientSession() as http:
        for url in (a, b, a):
            async with http.get(url + "api/rooms", headers=busy) as r:
                assert r.status == 200
        async with http.get(b + "api/rooms", headers=busy) as r:
            assert r.status == 429 and (await r.json())["error"]["code"] == "rate_limited"
            assert "Retry-After" in r.headers
        async with http.get(b + "api/rooms", headers=calm) as r:
            assert r.status == 200


async def test_ice_candidates_per_negotiation_are_capped(start: Start) -> None:
    (url,), settings = await start()
    minter = TokenMinter(settings)
    therapist, t_welcome = await join(url, "therapist", minter.mint_therapist("dr", [ROOM]), ROOM)
    client, c_welcome = await join(url, "client", minter.mint_client(ROOM), ROOM, "A")
    await therapist.send(type="admit", participant_ids=[c_welcome["participant_id"]])
    await client.expect("session")
    to = t_welcome["participant_id"]
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}
    for _ in range(settings.max_candidates):
        await client.send(type="candidate", to=to, candidate=candidate)
    await client.send(type="candidate", to=to, candidate=candidate)
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("too_many_candidates", "candidate")
    relayed = 0
    while relayed < settings.max_candidates:
        await therapist.expect("candidate")
        relayed += 1
    # A new offer starts a new budget.
    await client.send(type="offer", to=to, sdp=CHROME_OFFER)
    await therapist.expect("offer")
    await client.send(type="candidate", to=to, candidate=candidate)
    await therapist.expect("candidate")
    await client.send(type="ping", id=1)
    await client.expect("pong", id=1)
    assert "error" not in [m["type"] for m in client.seen[client.seen.index(error) + 1 :]]
    # The therapist saw exactly the budget's worth before the offer: nothing over it.
    kinds = [m["type"] for m in therapist.seen if m["type"] in ("candidate", "offer")]
    assert kinds.index("offer") == settings.max_candidates
