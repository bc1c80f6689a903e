"""Personal room links end to end, on one in-memory node, on two nodes sharing a redis-server,
and on two nodes over a Redis Cluster (where the slug's key and the room's key live in
different slots): publish, change, remove, lock; slugs unique across rooms, also when two
rooms race for one; a visit through the link (its origin on the therapist's card and in the
audit trail); the lock and the cap at the door and at the join; the door's rate limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import pytest
import redis
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from telehealth import rediskeys
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.conftest import RedisServer
from tests.e2e.conftest import join, open_ws, settings_for

ROOM_A, ROOM_B = "room-link-a", "room-link-b"
NAME = "Ottoline Visitor"  # never in the audit trail


@dataclass
class Nodes:
    a: str  # base URLs, ending in "/"
    b: str
    settings: Settings
    minter: TokenMinter

    def staff(self, room: str) -> str:
        return self.minter.mint_therapist(f"dr-{room}", [room])


async def _start(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


TOPOLOGIES = [
    "one-node",
    pytest.param("two-nodes", marks=pytest.mark.redis),
    pytest.param("cluster", marks=pytest.mark.redis),
]


async def _nodes(request: pytest.FixtureRequest, **overrides: Any) -> AsyncIterator[Nodes]:
    overrides = {"room_links": True, "room_link_max_waiting": 2, **overrides}
    servers: list[TestServer] = []
    if request.param == "one-node":
        settings = settings_for(**overrides)
        servers.append(await _start(settings))
    else:
        if request.param == "cluster":
            url = request.getfixturevalue("redis_cluster").url
            settings = settings_for(redis_url=url, redis_cluster=True, **overrides)
        else:
            url = request.getfixturevalue("redis_server").url
            settings = settings_for(redis_url=url, **overrides)
        servers.append(await _start(settings.with_(node_id="n-a")))
        servers.append(await _start(settings.with_(node_id="n-b")))
    a, b = servers[0], servers[-1]
    yield Nodes(str(a.make_url("/")), str(b.make_url("/")), settings, TokenMinter(settings))
    for server in servers:
        await server.close()


@pytest.fixture(params=TOPOLOGIES)
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    async for made in _nodes(request):
        yield made


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = json.dumps(body) if body is not None else None
    async with http.request(method, url, headers=headers, data=data) as resp:
        raw = await resp.read()
        return resp.status, json.loads(raw) if raw else {}, dict(resp.headers)


async def publish(
    http: aiohttp.ClientSession, base: str, token: str, room: str, slug: Any
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await call(
        http, "PUT", f"{base}api/rooms/{room}/room-link", token, {"slug": slug}
    )
    return status, body


async def enter(http: aiohttp.ClientSession, base: str, slug: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = await call(http, "POST", f"{base}api/room-links/{slug}/enter")
    return status, body


def code(body: dict[str, Any]) -> str:
    return str(body["error"]["code"])


async def test_publish_change_lock_and_remove(nodes: Nodes, http: aiohttp.ClientSession) -> None:
    staff = nodes.staff(ROOM_A)
    assert (await call(http, "GET", f"{nodes.a}api/config"))[1]["room_links"] is True
    state_url = f"{nodes.b}api/rooms/{ROOM_A}/room-link"
    status, body, _ = await call(http, "GET", state_url, staff)
    assert (status, body["slug"], body["url"], body["locked"]) == (200, None, None, False)

    status, body = await publish(http, nodes.a, staff, ROOM_A, "dr-rivera")
    assert status == 200, body
    assert body["url"] == f"{nodes.settings.base_url}/r/dr-rivera"
    status, body, _ = await call(http, "GET", state_url, staff)  # the other node sees it
    assert (body["slug"], body["locked"]) == ("dr-rivera", False)

    # Bad slugs: a clear error, and the published link is unchanged.
    for bad in ["ab", "Dr-Rivera", "dr--rivera", "-dr", "admin", "x" * 41, "dr rivera", 7]:
        status, body = await publish(http, nodes.b, staff, ROOM_A, bad)
        assert status == 400, bad
        assert code(body) in ("slug_invalid", "invalid_message"), body
    status, body, _ = await call(http, "GET", state_url, staff)
    assert body["slug"] == "dr-rivera"

    status, body = await enter(http, nodes.b, "dr-rivera")
    assert status == 201 and body["room"] == ROOM_A

    status, body = await publish(http, nodes.b, staff, ROOM_A, "rivera-practice")
    assert (status, body["slug"]) == (200, "rivera-practice")
    assert code((await enter(http, nodes.a, "dr-rivera"))[1]) == "room_link_not_found"
    assert (await enter(http, nodes.a, "rivera-practice"))[0] == 201

    lock_url = f"{nodes.a}api/rooms/{ROOM_A}/room-link/lock"
    status, body, _ = await call(http, "POST", lock_url, staff, {"locked": True})
    assert (status, body["locked"]) == (200, True)
    status, body = await enter(http, nodes.b, "rivera-practice")
    assert (status, code(body)) == (403, "room_link_locked")
    # A changed slug keeps the lock.
    status, body = await publish(http, nodes.a, staff, ROOM_A, "rivera-room")
    assert (status, body["locked"]) == (200, True)
    await call(http, "POST", lock_url, staff, {"locked": False})
    assert (await enter(http, nodes.b, "rivera-room"))[0] == 201

    status, body, _ = await call(http, "DELETE", f"{nodes.b}api/rooms/{ROOM_A}/room-link", staff)
    assert (status, body["slug"]) == (200, None)
    assert code((await enter(http, nodes.a, "rivera-room"))[1]) == "room_link_not_found"
    status, body, _ = await call(http, "DELETE", f"{nodes.b}api/rooms/{ROOM_A}/room-link", staff)
    assert (status, code(body)) == (404, "room_link_not_found")
    status, body, _ = await call(http, "POST", lock_url, staff, {"locked": True})
    assert (status, code(body)) == (404, "room_link_not_found")

    # Only the room's therapist (or an admin) may touch it.
    other = nodes.staff(ROOM_B)
    status, body = await publish(http, nodes.a, other, ROOM_A, "not-mine")
    assert (status, code(body)) == (403, "forbidden")
    admin = nodes.minter.mint_admin("admin-links")
    assert (await publish(http, nodes.a, admin, ROOM_A, "by-the-admin"))[0] == 200
    # An admin may name any room, but only a room id gets a link (the door could not let a
    # visitor into anything else): refused, and nothing changes.
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "room-link", {"slug": "odd-room"}),
        ("GET", "room-link", None),
        ("DELETE", "room-link", None),
        ("POST", "room-link/lock", {"locked": True}),
    ]
    for method, path, sent in attempts:
        url = f"{nodes.a}api/rooms/not%20a%20room/{path}"
        status, answer, _ = await call(http, method, url, admin, sent)
        assert (status, code(answer)) == (400, "invalid_message"), (method, path, answer)
    assert code((await enter(http, nodes.b, "odd-room"))[1]) == "room_link_not_found"

    # Audited, with ids only: never the slug.
    actions, text = await audit(http, nodes.a, admin, ROOM_A)
    for action in ("published", "changed", "locked", "unlocked", "removed", "visit"):
        assert f"rapport.room_link_{action}" in actions, actions
    assert "rivera" not in text and "by-the-admin" not in text


async def audit(
    http: aiohttp.ClientSession, base: str, admin: str, room: str
) -> tuple[list[str], str]:
    headers = {"Authorization": f"Bearer {admin}"}
    async with http.get(f"{base}api/audit", params={"room": room}, headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [d["event"]["action"] for d in docs], text


async def test_a_slug_names_one_room_even_when_two_rooms_race_for_it(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    a_staff, b_staff = nodes.staff(ROOM_A), nodes.staff(ROOM_B)
    for i in range(8):
        slug = f"contested-{i}"
        results = await asyncio.gather(
            publish(http, nodes.a, a_staff, ROOM_A, slug),
            publish(http, nodes.b, b_staff, ROOM_B, slug),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409], results
        winner = ROOM_A if results[0][0] == 200 else ROOM_B
        loser_body = results[1][1] if winner == ROOM_A else results[0][1]
        assert code(loser_body) == "slug_taken"
        status, body = await enter(http, nodes.b, slug)
        assert (status, body["room"]) == (201, winner)
        # The loser keeps what it had; the winner holds the slug until it lets go.
        loser, loser_staff = (ROOM_B, b_staff) if winner == ROOM_A else (ROOM_A, a_staff)
        state_url = f"{nodes.a}api/rooms/{loser}/room-link"
        assert (await call(http, "GET", state_url, loser_staff))[1]["slug"] != slug
        winner_staff = a_staff if winner == ROOM_A else b_staff
        await call(http, "DELETE", f"{nodes.a}api/rooms/{winner}/room-link", winner_staff)
        # Freed: now the loser can have it.
        assert (await publish(http, nodes.b, loser_staff, loser, slug))[0] == 200
        await call(http, "DELETE", f"{nodes.b}api/rooms/{loser}/room-link", loser_staff)


async def test_one_room_changing_its_slug_twice_at_once_keeps_one(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    staff = nodes.staff(ROOM_A)
    await asyncio.gather(
        publish(http, nodes.a, staff, ROOM_A, "first-name"),
        publish(http, nodes.b, staff, ROOM_A, "second-name"),
    )
    held = (await call(http, "GET", f"{nodes.a}api/rooms/{ROOM_A}/room-link", staff))[1]["slug"]
    assert held in ("first-name", "second-name")
    other = "second-name" if held == "first-name" else "first-name"
    assert (await enter(http, nodes.b, held))[1]["room"] == ROOM_A
    assert code((await enter(http, nodes.b, other))[1]) == "room_link_not_found"
    # The slug the room does not hold is free for another room.
    assert (await publish(http, nodes.b, nodes.staff(ROOM_B), ROOM_B, other))[0] == 200


async def visitor(
    http: aiohttp.ClientSession, base: str, slug: str, name: str = NAME
) -> tuple[RawSocket, dict[str, Any], str]:
    status, body = await enter(http, base, slug)
    assert status == 201, body
    ws, welcome = await join(base, "client", body["token"], body["room"], name=name)
    return ws, welcome, body["token"]


async def test_a_visit_through_the_room_link_is_marked_on_the_card_and_in_the_trail(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    staff = nodes.staff(ROOM_A)
    assert (await publish(http, nodes.a, staff, ROOM_A, "visit-me"))[0] == 200
    therapist, _ = await join(nodes.b, "therapist", staff, ROOM_A)
    status, body, headers = await call(http, "POST", f"{nodes.a}api/room-links/visit-me/enter")
    assert status == 201 and headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert (claims["via"], claims["room"], claims["typ"]) == ("room_link", ROOM_A, "session_link")
    visit, welcome = await join(nodes.a, "client", body["token"], ROOM_A, name=NAME)
    pid = welcome["participant_id"]
    session_client, plain = await join(
        nodes.a, "client", nodes.minter.mint_client(ROOM_A), ROOM_A, name="Plain Client"
    )
    room = await therapist.until("room", lambda m: len(m["waiting"]) == 2)
    via = {w["participant_id"]: w.get("via") for w in room["waiting"]}
    assert via == {pid: "room_link", plain["participant_id"]: None}

    # From here the visitor is a client like any other.
    await therapist.send(type="admit", participant_ids=[pid])
    await visit.expect("state", state="admitted")
    for ws in (visit, session_client, therapist):
        await ws.close()

    admin = nodes.minter.mint_admin("admin-visit")
    headers_admin = {"Authorization": f"Bearer {admin}"}
    async with http.get(
        f"{nodes.b}api/audit", params={"room": ROOM_A}, headers=headers_admin
    ) as resp:
        text = await resp.text()
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    door = [d for d in docs if d["event"]["action"] == "rapport.room_link_visit"]
    assert len(door) == 1 and door[0]["rapport"]["link"] == claims["jti"]
    joined = [
        d
        for d in docs
        if d.get("entity", {}).get("target", {}).get("id") == pid
        and d["rapport"].get("from_state") == "new"
    ]
    assert joined and joined[0]["rapport"]["via"] == "room_link"
    assert joined[0]["rapport"]["link"] == claims["jti"]
    assert NAME not in text and body["token"] not in text


async def test_the_lock_refuses_new_visitors_and_keeps_those_waiting(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    staff = nodes.staff(ROOM_A)
    assert (await publish(http, nodes.a, staff, ROOM_A, "lock-me"))[0] == 200
    therapist, _ = await join(nodes.a, "therapist", staff, ROOM_A)
    first, welcome, first_token = await visitor(http, nodes.b, "lock-me")
    pid = welcome["participant_id"]
    late_body = (await enter(http, nodes.a, "lock-me"))[1]  # let in at the door, not yet joined

    lock_url = f"{nodes.b}api/rooms/{ROOM_A}/room-link/lock"
    assert (await call(http, "POST", lock_url, staff, {"locked": True}))[0] == 200
    status, body = await enter(http, nodes.a, "lock-me")
    assert (status, code(body)) == (403, "room_link_locked")
    # A token taken at the door before the lock does not get in after it.
    late = await open_ws(nodes.a)
    await late.send(type="auth", role="client", token=late_body["token"], room=ROOM_A, name="L")
    assert await late.closed() == 4050

    # The visitor already waiting stays, and comes back after a lost connection.
    await first.close()
    back, again = await join(
        nodes.b, "client", first_token, ROOM_A, name=NAME, resume=welcome["resume"]
    )
    assert again["participant_id"] == pid and again["resumed"] is True
    room = await therapist.until("room", lambda m: any(w["connected"] for w in m["waiting"]))
    assert [w["participant_id"] for w in room["waiting"]] == [pid]

    await call(http, "POST", lock_url, staff, {"locked": False})
    assert (await enter(http, nodes.a, "lock-me"))[0] == 201
    for ws in (back, therapist):
        await ws.close()


async def test_visitors_through_the_link_are_capped_per_room(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    staff = nodes.staff(ROOM_A)
    assert (await publish(http, nodes.a, staff, ROOM_A, "cap-me"))[0] == 200
    early = (await enter(http, nodes.a, "cap-me"))[1]  # the door lets them in: 0 waiting
    sockets = [(await visitor(http, nodes.a if i else nodes.b, "cap-me"))[0] for i in range(2)]
    status, body, headers = await call(http, "POST", f"{nodes.b}api/room-links/cap-me/enter")
    assert (status, code(body)) == (503, "room_link_full")
    assert int(headers["Retry-After"]) > 0
    # The early token finds the room full at the join.
    late = await open_ws(nodes.b)
    await late.send(type="auth", role="client", token=early["token"], room=ROOM_A, name="E")
    assert await late.closed() == 4051
    # Session links are not counted against the room link's cap.
    plain, _ = await join(nodes.a, "client", nodes.minter.mint_client(ROOM_A), ROOM_A, name="P")
    # One visitor leaves: there is room again.
    await sockets[0].send(type="leave")
    await sockets[0].closed()
    status, body = await enter(http, nodes.b, "cap-me")
    assert status == 201, body
    for ws in (sockets[1], plain):
        await ws.close()


@pytest.fixture(params=["one-node"])
async def strict_door(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    async for made in _nodes(request, address_max_attempts=4):
        yield made


async def test_the_door_is_rate_limited_per_address(
    strict_door: Nodes, http: aiohttp.ClientSession
) -> None:
    staff = strict_door.staff(ROOM_A)
    assert (await publish(http, strict_door.a, staff, ROOM_A, "busy-door"))[0] == 200
    answers = [
        (await enter(http, strict_door.a, slug))[0]
        for slug in ["busy-door", "no-such-door", "BAD", "busy-door", "busy-door"]
    ]
    assert answers[:4] == [201, 404, 404, 201]
    assert answers[4] == 429
    status, body, headers = await call(
        http, "POST", f"{strict_door.a}api/room-links/busy-door/enter"
    )
    assert (status, code(body)) == (429, "too_many_attempts") and "Retry-After" in headers


async def test_room_links_are_off_unless_turned_on(http: aiohttp.ClientSession) -> None:
    settings = settings_for()
    server = await _start(settings)
    try:
        base = str(server.make_url("/"))
        staff = TokenMinter(settings).mint_therapist("dr-off", [ROOM_A])
        assert (await call(http, "GET", f"{base}api/config"))[1]["room_links"] is False
        status, body = await publish(http, base, staff, ROOM_A, "dr-off")
        assert (status, code(body)) == (501, "not_configured")
        status, body = await enter(http, base, "dr-off")
        assert (status, code(body)) == (501, "not_configured")
        # A token that claims a room-link visit gets no seat while the feature is off.
        token = TokenMinter(settings).mint_client(ROOM_A, via="room_link")
        ws = await open_ws(base)
        await ws.send(type="auth", role="client", token=token, room=ROOM_A, name="V")
        assert await ws.closed() == 4050
    finally:
        await server.close()


@pytest.mark.redis
async def test_an_orphaned_slug_is_taken_over_and_a_claim_in_flight_is_not(
    redis_server: RedisServer, http: aiohttp.ClientSession
) -> None:
    """A node that died between claiming a slug and pointing its room at it leaves a pointer
    that no room names: the next claimant takes it over, unless the pointer has a TTL (a claim
    in flight)."""
    settings = settings_for(redis_url=redis_server.url, room_links=True)
    server = await _start(settings)
    direct = redis.Redis.from_url(redis_server.url)
    try:
        base = str(server.make_url("/"))
        staff = TokenMinter(settings).mint_therapist("dr-orphan", [ROOM_A])
        direct.set(rediskeys.room_link_slug("orphaned"), "ghost-room")
        assert (await enter(http, base, "orphaned"))[0] == 404  # not published by anyone
        status, body = await publish(http, base, staff, ROOM_A, "orphaned")
        assert status == 200, body
        assert direct.get(rediskeys.room_link_slug("orphaned")) == ROOM_A.encode()
        assert direct.pttl(rediskeys.room_link_slug("orphaned")) == -1  # kept for good

        direct.set(rediskeys.room_link_slug("in-flight"), "other-room", px=30_000)
        status, body = await publish(http, base, staff, ROOM_A, "in-flight")
        assert (status, code(body)) == (409, "slug_taken")
        # Unchanged: the room still holds its slug, and its old one is still its own.
        assert (await enter(http, base, "orphaned"))[1]["room"] == ROOM_A
    finally:
        direct.close()
        await server.close()
