"""Short links end to end, on one in-memory node and on a node with Redis presence: the short
URL beside the long one, trading a code for its token, the room's list of links, withdrawal by
jti, the appointment's end on the therapist's session view, and bad input."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth import links
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from telehealth.presence.redis_store import RedisPresence
from telehealth.redisconn import make_client
from tests.e2e.conftest import join, settings_for

ROOM = "room-short"


@dataclass
class Node:
    url: str
    minter: TokenMinter
    bearer: str  # the room's therapist

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}


@pytest.fixture(params=["memory", "redis"])
async def node(request: pytest.FixtureRequest) -> AsyncIterator[Node]:
    redis = {"redis_url": request.getfixturevalue("redis_server").url}
    settings = settings_for(**(redis if request.param == "redis" else {}))
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    minter = TokenMinter(settings)
    yield Node(str(server.make_url("/")), minter, minter.mint_therapist("dr-s", [ROOM], 600))
    await server.close()


async def post(
    http: aiohttp.ClientSession, url: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.post(url, json=body, headers=headers or {}) as resp:
        return resp.status, await resp.json(), resp


async def create(http: aiohttp.ClientSession, node: Node, **fields: Any) -> dict[str, Any]:
    got, body, _ = await post(
        http, node.url + "api/session-links", {"room": ROOM, **fields}, node.auth
    )
    assert got == 201, body
    made: dict[str, Any] = body
    return made


async def resolve(http: aiohttp.ClientSession, node: Node, code: object) -> tuple[int, Any]:
    got, body, resp = await post(http, node.url + "api/short-links/resolve", {"code": code})
    assert got != 200 or resp.headers["Cache-Control"] == "no-store"
    return got, body


def code_of(short_url: str) -> str:
    path = urlsplit(short_url).path
    assert len(path) <= 16 and path.startswith("/s/"), short_url
    return path.removeprefix("/s/")


async def listed(http: aiohttp.ClientSession, node: Node, query: str = "") -> list[Any]:
    async with http.get(node.url + f"api/rooms/{ROOM}/links{query}", headers=node.auth) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["room"] == ROOM
        result: list[Any] = body["links"]
        return result


async def test_a_session_link_has_a_short_url_that_opens_the_clients_page(
    node: Node, http: aiohttp.ClientSession
) -> None:
    made = await create(http, node, ttl=600)
    code = code_of(made["short_url"])
    assert len(code) == 13 and set(code) <= set(links.ALPHABET)
    assert made["url"].endswith("#" + made["token"])
    got, body = await resolve(http, node, code)
    assert (got, body) == (200, {"token": made["token"]})
    short_path = urlsplit(made["short_url"]).path.lstrip("/")  # the node's own address
    async with http.get(node.url + short_path) as page, http.get(node.url + "join") as long:
        assert page.status == 200 and page.content_type == "text/html"
        assert await page.text() == await long.text()  # the very same page
    # Each link its own code.
    other = await create(http, node, ttl=600)
    assert code_of(other["short_url"]) != code


async def test_unknown_malformed_and_bad_codes_get_one_answer(
    node: Node, http: aiohttp.ClientSession
) -> None:
    made = await create(http, node, ttl=600)
    code = code_of(made["short_url"])
    flipped = ("1" if code[0] != "1" else "2") + code[1:]
    for wrong in [
        flipped,
        code.upper(),
        code[:-1],
        code + "0",
        "../" + code[3:],
        "",
        "ilou" * 3 + "0",
    ]:
        got, body = await resolve(http, node, wrong)
        assert (got, body["error"]["code"]) == (404, "not_found"), wrong
    for bad, error in [
        ({}, "invalid_message"),
        ({"code": 5}, "invalid_message"),
        ({"code": code, "token": "x"}, "unknown_field"),
        ({"code": "x" * 65}, "invalid_message"),
    ]:
        got, body, _ = await post(http, node.url + "api/short-links/resolve", bad)
        assert (got, body["error"]["code"]) == (400, error), bad
        assert set(body["error"]) >= {"code", "message"}
    async with http.post(node.url + "api/short-links/resolve", data=b"{") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    async with http.get(node.url + "s/" + flipped) as page:  # the page itself always loads
        assert page.status == 200
    # Nothing changed: the real code still works.
    assert (await resolve(http, node, code))[0] == 200


async def test_a_code_expires_with_its_link(node: Node, http: aiohttp.ClientSession) -> None:
    made = await create(http, node, ttl=60, not_before=time.time() - 57)  # 3 s left
    code = code_of(made["short_url"])
    assert (await resolve(http, node, code))[0] == 200
    deadline = time.monotonic() + 15
    while (await resolve(http, node, code))[0] != 404:
        assert time.monotonic() < deadline, "the code outlived its link"
        await asyncio.sleep(0.2)


async def test_the_rooms_links_and_withdrawal_by_jti(
    node: Node, http: aiohttp.ClientSession
) -> None:
    start = time.time() + 1800
    # An appointment at start + 600 s: the link opens 10 minutes early and keeps the start.
    made = await create(http, node, ttl=3600, not_before=start, starts_at=start + 600)
    assert made["starts_at"] == start + 600
    second = await create(http, node, ttl=600)
    assert second["starts_at"] is None
    entries = await listed(http, node)
    assert [e["jti"] for e in entries] == [made["jti"], second["jti"]]
    first = entries[0]
    assert first["short_url"] == made["short_url"] and not first["withdrawn"]
    assert first["not_before"] == made["not_before"] and first["expires_at"] == made["expires_at"]
    assert abs(first["created_at"] - time.time()) < 60
    assert set(first) == {
        "jti",
        "short_url",
        "not_before",
        "expires_at",
        "created_at",
        "withdrawn",
        "starts_at",
    }
    assert first["starts_at"] == pytest.approx(start + 600, abs=0.001)
    assert entries[1]["starts_at"] is None
    assert await listed(http, node, f"?since={time.time() + 60}") == []

    revoke = node.url + "api/session-links/revoke"
    got, body, _ = await post(http, revoke, {"room": ROOM, "jti": made["jti"]}, node.auth)
    assert (got, body["revoked"]) == (200, made["jti"]), body
    assert [e["withdrawn"] for e in await listed(http, node)] == [True, False]
    assert (await resolve(http, node, code_of(made["short_url"])))[0] == 404  # code gone
    got, status, _ = await post(
        http, node.url + "api/session-links/status", {"token": made["token"]}
    )
    assert status == {"state": "withdrawn"}

    # Withdrawn by its token (the older way), the code goes too.
    got, body, _ = await post(http, revoke, {"token": second["token"]}, node.auth)
    assert got == 200, body
    assert (await resolve(http, node, code_of(second["short_url"])))[0] == 404
    assert [e["withdrawn"] for e in await listed(http, node)] == [True, True]

    # Each withdrawal is audited as before, naming the link (never a token).
    admin = {"Authorization": f"Bearer {node.minter.mint_admin('ops', 600)}"}
    async with http.get(node.url + f"api/audit?room={ROOM}", headers=admin) as resp:
        trail = await resp.text()
    withdrawals = [line for line in trail.splitlines() if "link_withdrawn" in line]
    assert len(withdrawals) == 2 and made["jti"] in withdrawals[0], withdrawals
    assert made["token"] not in trail


async def test_listing_and_withdrawing_refuse_bad_input_and_change_nothing(
    node: Node, http: aiohttp.ClientSession
) -> None:
    made = await create(http, node, ttl=600)
    revoke = node.url + "api/session-links/revoke"
    for bad, want in [
        ({"room": ROOM, "jti": "no-such-link"}, (404, "not_found")),
        ({"room": ROOM}, (400, "invalid_message")),
        ({"jti": made["jti"]}, (400, "invalid_message")),
        ({"token": made["token"], "room": ROOM, "jti": made["jti"]}, (400, "invalid_message")),
        ({"room": "no/such room", "jti": made["jti"]}, (400, "invalid_message")),
        ({"room": "room-other", "jti": made["jti"]}, (403, "forbidden")),
        ({"room": ROOM, "jti": made["jti"], "why": 1}, (400, "unknown_field")),
    ]:
        got, body, _ = await post(http, revoke, bad, node.auth)
        assert (got, body["error"]["code"]) == want, (bad, body)
    other = node.minter.mint_therapist("dr-o", ["room-other"], 600)
    got, body, _ = await post(
        http, revoke, {"room": ROOM, "jti": made["jti"]}, {"Authorization": f"Bearer {other}"}
    )
    assert (got, body["error"]["code"]) == (403, "forbidden")
    for query, want in [
        ("?since=yesterday", (400, "invalid_message")),
        ("?since=1", (400, "invalid_message")),
        ("?room=x", (400, "unknown_field")),
    ]:
        async with http.get(node.url + f"api/rooms/{ROOM}/links{query}", headers=node.auth) as r:
            assert (r.status, (await r.json())["error"]["code"]) == want, query
    async with http.get(
        node.url + f"api/rooms/{ROOM}/links", headers={"Authorization": f"Bearer {other}"}
    ) as resp:
        assert resp.status == 403
    async with http.get(node.url + f"api/rooms/{ROOM}/links") as resp:
        assert resp.status == 401
    # An appointment's start outside the link's window is refused, and no link is made.
    now = time.time()
    for starts_at in [now - 3600, now + 600, "soon"]:
        got, body, _ = await post(
            http,
            node.url + "api/session-links",
            {"room": ROOM, "ttl": 600, "starts_at": starts_at},
            node.auth,
        )
        assert (got, body["error"]["code"]) == (400, "invalid_message"), (starts_at, body)
    # Nothing changed: the link stands, its code works.
    assert [e["withdrawn"] for e in await listed(http, node)] == [False]
    assert (await resolve(http, node, code_of(made["short_url"])))[0] == 200


async def test_resolving_is_limited_per_address(http: aiohttp.ClientSession) -> None:
    server = TestServer(create_app(settings_for(address_max_attempts=3)), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/api/short-links/resolve"))
        answers = []
        for _ in range(4):
            async with http.post(url, json={"code": "0" * 13}) as resp:
                answers.append(resp.status)
                last = await resp.json()
        assert answers == [404, 404, 404, 429]
        assert last["error"]["code"] == "too_many_attempts"
    finally:
        await server.close()


async def test_the_therapists_view_carries_the_appointments_end(
    node: Node, http: aiohttp.ClientSession
) -> None:
    made = await create(http, node, ttl=1200)
    therapist, _ = await join(node.url, "therapist", node.bearer, ROOM)
    client, _ = await join(node.url, "client", made["token"], ROOM, "Alex")
    room = await therapist.until("room", lambda r: len(r["waiting"]) == 1, timeout=10)
    pid = room["waiting"][0]["participant_id"]
    await therapist.send(type="admit", participant_ids=[pid])
    await client.until("state", lambda s: s["state"] == "admitted", timeout=10)
    room = await therapist.until("room", lambda r: not r["waiting"], timeout=10)
    ends = {e["role"]: e["ends_at"] for e in room["session"]}
    assert ends == {"client": made["expires_at"]}, room["session"]
    await client.close()
    await therapist.close()


def run_token(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    argv = [sys.executable, "-m", "telehealth", "token", "--kind", "client", "--room", ROOM]
    return subprocess.run(
        [*argv, "--json"], env={**base, **env}, capture_output=True, text=True, timeout=120
    )


async def test_the_token_command_prints_a_short_url_when_it_reaches_presence(
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue("redis_server")
    env = {"TELEHEALTH_JWT_SECRET": "cli-secret-" + "y" * 40, "TELEHEALTH_REDIS_URL": server.url}
    done = await asyncio.to_thread(run_token, env)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    code = code_of(printed["short_url"])
    presence = RedisPresence(make_client(Settings(redis_url=server.url)))
    try:
        assert await presence.short_link(code) == printed["token"]
    finally:
        await presence.close()

    # Without Redis it cannot reach a running node's store, and says so.
    del env["TELEHEALTH_REDIS_URL"]
    done = await asyncio.to_thread(run_token, env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["short_url"] is None
    assert "no short link" in done.stderr
