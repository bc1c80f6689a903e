"""What a client is told is true: each reason for being back in the waiting room, or out of the
room, reaches the client as its own message or close code, and a link's status says which
before anyone types (issue 12, defects 2 to 4).

Over real sockets, on one node with in-memory presence and on two nodes sharing a redis-server
(the client on one node, the therapist on the other).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.e2e.conftest import join, settings_for

ROOM = "room-truth"
TOKEN_REVOKED, REMOVED = 4006, 4012


@dataclass
class Nodes:
    client_url: str
    therapist_url: str
    settings: Settings
    minter: TokenMinter

    async def therapist(self) -> tuple[RawSocket, str]:
        token = self.minter.mint_therapist("dr-t", [ROOM], 600)
        ws, _ = await join(self.therapist_url, "therapist", token, ROOM)
        return ws, token

    async def client(self, name: str = "Alex") -> tuple[RawSocket, str, str]:
        """A client waiting with a fresh link: the socket, the link and the participant id."""
        token = self.minter.mint_client(ROOM, ttl=600)
        ws, welcome = await join(self.client_url, "client", token, ROOM, name)
        return ws, token, welcome["participant_id"]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    # A short grace, so that a therapist whose connection is gone lapses within a second.
    overrides: dict[str, object] = {"grace": 0.6, "waiting_grace": 30, "node_heartbeat": 0.1}
    servers: list[TestServer] = []
    if request.param == "redis":
        overrides["redis_url"] = request.getfixturevalue("redis_server").url
    settings = settings_for(**overrides)
    names = ["n-a", "n-b"] if request.param == "redis" else ["n-a"]
    for node_id in names:
        server = TestServer(create_app(settings.with_(node_id=node_id)), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    urls = [str(s.make_url("/")) for s in servers]
    yield Nodes(urls[0], urls[-1], settings, TokenMinter(settings))
    for server in servers:
        await server.close()


@dataclass
class InSession:
    therapist: RawSocket
    bearer: str  # the therapist's token
    client: RawSocket
    link: str
    pid: str


async def admitted(nodes: Nodes) -> InSession:
    """The therapist and one client in session."""
    therapist, bearer = await nodes.therapist()
    client, link, pid = await nodes.client()
    await therapist.until("room", lambda r: len(r["waiting"]) == 1, timeout=10)
    await therapist.send(type="admit", participant_ids=[pid])
    await client.until("state", lambda s: s["state"] == "admitted", timeout=10)
    return InSession(therapist, bearer, client, link, pid)


def back_in_waiting(state: dict[str, Any]) -> bool:
    return bool(state["state"] == "waiting")


# -- back in the waiting room: three reasons, three messages ------------------------------------


async def test_sent_back_and_therapist_lost_reach_the_client_as_different_messages(
    nodes: Nodes,
) -> None:
    visit = await admitted(nodes)
    therapist, client, pid = visit.therapist, visit.client, visit.pid
    await therapist.send(type="send_back", participant_id=pid)
    sent_back = await client.until("state", back_in_waiting, timeout=10)
    assert sent_back["reason"] == "sent_back"
    assert sent_back["therapist"] == "ready"  # the therapist is still there

    await therapist.send(type="admit", participant_ids=[pid])
    await client.until("state", lambda s: s["state"] == "admitted", timeout=10)
    await therapist.close()  # the therapist's browser closes: no leave
    reconnecting = await client.until("state", lambda s: s["therapist"] == "reconnecting", 10)
    assert reconnecting["state"] == "admitted"  # within the grace period nothing moves
    lost = await client.until("state", back_in_waiting, timeout=15)
    assert lost["reason"] == "therapist_lost"
    assert lost["therapist"] == "lost"  # not "absent": they were here
    assert (lost["reason"], lost["therapist"]) != (sent_back["reason"], sent_back["therapist"])


async def test_a_therapist_who_leaves_sends_clients_back_saying_so(nodes: Nodes) -> None:
    visit = await admitted(nodes)
    therapist, client = visit.therapist, visit.client
    waiting, _, _ = await nodes.client("Blake")
    await waiting.until("state", lambda s: s["therapist"] == "in_session", timeout=10)
    await therapist.send(type="leave")
    left = await client.until("state", back_in_waiting, timeout=10)
    assert (left["reason"], left["therapist"]) == ("therapist_left", "left")
    # A client who was waiting all along is not "back": only the therapist's status changes.
    still = await waiting.until("state", lambda s: s["therapist"] == "left", timeout=10)
    assert still["state"] == "waiting" and still["reason"] is None


async def test_a_waiting_client_is_told_the_therapist_was_lost_not_that_they_never_came(
    nodes: Nodes,
) -> None:
    therapist, _ = await nodes.therapist()
    client, _, _ = await nodes.client()
    await client.until("state", lambda s: s["therapist"] == "ready", timeout=10)
    await therapist.close()
    lost = await client.until("state", lambda s: s["therapist"] == "lost", timeout=15)
    assert lost["state"] == "waiting" and lost["reason"] is None
    # Back within the room: ready again.
    await nodes.therapist()
    await client.until("state", lambda s: s["therapist"] == "ready", timeout=10)


# -- out of the room: withdrawn is not removed --------------------------------------------------


async def withdraw(
    http: aiohttp.ClientSession, nodes: Nodes, bearer: str, link: str, *, in_room: bool = True
) -> None:
    async with http.post(
        nodes.therapist_url + "api/session-links/revoke",
        headers={"Authorization": f"Bearer {bearer}"},
        json={"token": link},
    ) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["removed"] is in_room


async def test_a_link_withdrawn_while_its_client_waits_closes_as_withdrawn(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    therapist, bearer = await nodes.therapist()
    client, link, _ = await nodes.client()
    await therapist.until("room", lambda r: len(r["waiting"]) == 1, timeout=10)
    await withdraw(http, nodes, bearer, link)
    code = await client.closed(timeout=10)
    assert code == TOKEN_REVOKED and code != REMOVED
    bye = next(m for m in client.seen if m["type"] == "bye")
    assert bye["code"] == "token_revoked" and bye["reconnect"] is False
    # The room view loses them; the link opens nothing any more, and says why.
    await therapist.until("room", lambda r: not r["waiting"], timeout=10)
    assert await link_state(http, nodes, link) == "withdrawn"


async def test_a_link_withdrawn_in_session_closes_as_withdrawn_and_a_removal_as_removed(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    visit = await admitted(nodes)
    other, other_link, other_pid = await nodes.client("Blake")
    await visit.therapist.until("room", lambda r: len(r["waiting"]) == 1, timeout=10)
    await visit.therapist.send(type="remove", participant_id=other_pid)
    assert await other.closed(timeout=10) == REMOVED  # the therapist removed them: so it says
    assert await link_state(http, nodes, other_link) == "removed"
    await withdraw(http, nodes, visit.bearer, visit.link)
    assert await visit.client.closed(timeout=10) == TOKEN_REVOKED


# -- the link's status ---------------------------------------------------------------------------


async def status(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, Any]:
    async with http.post(url + "api/session-links/status", json=body) as resp:
        return resp.status, await resp.json()


async def link_state(http: aiohttp.ClientSession, nodes: Nodes, link: str) -> str:
    code, body = await status(http, nodes.client_url, {"token": link})
    assert code == 200, body
    assert set(body) == {"state"}  # the state, and nothing else
    state: str = body["state"]
    return state


async def test_the_status_of_a_link_in_each_state(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    minter = nodes.minter
    therapist, bearer = await nodes.therapist()

    fresh = minter.mint_client(ROOM, ttl=600)
    assert await link_state(http, nodes, fresh) == "open"
    waiting, link, pid = await nodes.client()
    assert await link_state(http, nodes, link) == "open"

    denied_ws, denied, denied_pid = await nodes.client("Dana")
    await therapist.until("room", lambda r: len(r["waiting"]) == 2, timeout=10)
    await therapist.send(type="deny", participant_id=denied_pid)
    await denied_ws.closed(timeout=10)
    assert await link_state(http, nodes, denied) == "denied"

    await therapist.send(type="admit", participant_ids=[pid])
    await waiting.until("state", lambda s: s["state"] == "admitted", timeout=10)
    await therapist.send(type="end_session")
    await waiting.closed(timeout=10)
    assert await link_state(http, nodes, link) == "ended"

    in_room, closed_link, _ = await nodes.client("Eli")
    async with http.post(
        nodes.therapist_url + f"api/rooms/{ROOM}/end", headers={"Authorization": f"Bearer {bearer}"}
    ) as resp:
        assert resp.status == 200
    await in_room.closed(timeout=10)
    assert await link_state(http, nodes, closed_link) == "room_ended"

    withdrawn = minter.mint_client(ROOM, ttl=600)
    await withdraw(http, nodes, bearer, withdrawn, in_room=False)
    assert await link_state(http, nodes, withdrawn) == "withdrawn"

    earlier = TokenMinter(nodes.settings, clock=lambda: time.time() - 3600)
    assert await link_state(http, nodes, earlier.mint_client(ROOM, ttl=60)) == "expired"
    later = minter.mint_client(ROOM, ttl=600, not_before=time.time() + 3600)
    assert await link_state(http, nodes, later) == "not_yet_valid"
    assert await link_state(http, nodes, "not-a-token") == "invalid"
    assert await link_state(http, nodes, bearer) == "invalid"  # a therapist's token
    other_service = TokenMinter(settings_for(jwt_secret="another-" + "y" * 40))
    assert await link_state(http, nodes, other_service.mint_client(ROOM, ttl=600)) == "invalid"


async def test_the_status_check_refuses_bad_input_clearly(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    for body, code in [
        ({}, "invalid_message"),
        ({"token": 5}, "invalid_message"),
        ({"token": "x", "room": ROOM}, "unknown_field"),
        ({"token": "x" * 9000}, "invalid_message"),
    ]:
        got, answer = await status(http, nodes.client_url, body)
        assert (got, answer["error"]["code"]) == (400, code), answer
    async with http.post(nodes.client_url + "api/session-links/status", data=b"{") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    # The token never goes in a URL: there is no GET.
    async with http.get(nodes.client_url + "api/session-links/status") as resp:
        assert resp.status == 405


async def test_the_status_check_is_limited_per_address(http: aiohttp.ClientSession) -> None:
    settings = settings_for(address_max_attempts=3)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/"))
        answers = [(await status(http, url, {"token": "x"}))[0] for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        async with http.post(url + "api/session-links/status", json={"token": "x"}) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["error"]["code"] == "too_many_attempts"
    finally:
        await server.close()
