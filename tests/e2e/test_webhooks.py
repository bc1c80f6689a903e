"""Webhooks end to end: a node in-process (on a real redis-server, or the in-memory default) and
a real receiver on 127.0.0.1. A visit reaches the receiver signed per Standard Webhooks (checked
with the ``standardwebhooks`` package), each event retried under its own webhook-id, a room's
events in sequence order; timeouts and resets are retried; a receiver that never recovers fills
a bounded dead-letter list that an admin can list and replay; the reconciliation feed gives the
same events back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from telehealth.web import keys
from tests.e2e.conftest import join, settings_for
from tests.webhook_receiver import HOLD, RESET, Receiver, always, first_fails

T = TypeVar("T")

ROOM = "room-hooks"
NAME = "Zebulon Quixote"  # a name that must never reach a webhook
VISIT = [
    "participant.waiting",
    "participant.admitted",
    "session.started",
    "participant.left",
    "session.ended",
]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


def hook_settings(receiver: Receiver, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_url": receiver.url,
        "webhook_secret": receiver.secret,
        "webhook_backoff": 0.05,
        "webhook_timeout": 2.0,
        "webhook_takeover": 2.0,
    }
    return settings_for(**(values | overrides))


async def start(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


def _backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    if request.param == "cluster":
        return {"redis_url": request.getfixturevalue("redis_cluster").url, "redis_cluster": True}
    return {"redis_url": request.getfixturevalue("redis_server").url}


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where the node keeps its streams: the embedded default, or a real redis-server."""
    return _backend(request)


@pytest.fixture(params=["memory", "redis", "cluster"])
def any_backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The same, and a three-master Redis Cluster (each room's keys in one slot)."""
    return _backend(request)


async def visit(url: str, minter: TokenMinter) -> str:
    """A client waits, is admitted, and leaves; the client's participant id."""
    therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-h", [ROOM]), ROOM)
    client, welcome = await join(url, "client", minter.mint_client(ROOM), ROOM, name=NAME)
    pid: str = welcome["participant_id"]
    await therapist.until("room", lambda m: [w["participant_id"] for w in m["waiting"]] == [pid])
    await therapist.send(type="admit", participant_ids=[pid])
    await client.expect("state", state="admitted")
    await client.send(type="leave")
    await client.closed()
    await therapist.until("room", lambda m: not m["session"])
    await therapist.close()
    return pid


async def test_a_visit_arrives_signed_in_order_each_retried_under_its_id(
    receiver: Receiver,
    any_backend: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    receiver.policy = first_fails(500)
    settings = hook_settings(receiver, **any_backend)
    server = await start(settings)
    try:
        pid = await visit(str(server.make_url("/")), TokenMinter(settings))
        requests = await receiver.until(lambda rs: len(receiver.delivered()) >= len(VISIT))
    finally:
        await server.close()

    assert receiver.delivered_types() == VISIT
    assert all(r.verified for r in requests)
    # Every event failed once and came again under the same id; nothing of room N+1 was
    # tried before N was through: the room's sequence never goes back.
    for hook in receiver.delivered():
        attempts = [r for r in requests if r.id == hook.id]
        assert [r.answer for r in attempts] == [500, 200]
        assert len({r.body for r in attempts}) == 1
    sequences = [r.sequence for r in requests]
    assert sequences == sorted(sequences)
    assert len({r.id for r in receiver.delivered()}) == len(VISIT)
    # The admission began the session and the leave ended it: one room version each.
    versions = [r.payload["data"]["version"] for r in receiver.delivered()]
    assert versions[1] == versions[2] and versions[3] == versions[4]
    assert len(set(versions)) == 3
    for hook in receiver.delivered():
        data = hook.payload["data"]
        assert data["room"] == ROOM and hook.id.startswith(f"{ROOM}:")
        if hook.type.startswith("participant."):
            assert data["participant"] == pid and data["link"]
    left = receiver.delivered()[3].payload["data"]
    assert (left["reason"], left["from_state"]) == ("left", "admitted")
    assert receiver.delivered()[1].payload["data"]["wait_ms"] >= 0
    everything = b"".join(r.body for r in requests)
    assert NAME.encode() not in everything and b"dr-h" not in everything
    # Logs carry ids and statuses: not the receiver's URL, its query, the secret or a body.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("telehealth"))
    assert "HTTP 500" in logged
    for secret in ("not-for-logs", receiver.url, receiver.secret, '"participant.waiting"'):
        assert secret not in logged


@pytest.mark.parametrize("failure", [503, HOLD, RESET, 429])
async def test_failed_attempts_are_retried(receiver: Receiver, failure: int | str) -> None:
    receiver.policy = first_fails(failure)
    settings = hook_settings(receiver, webhook_timeout=0.5)
    server = await start(settings)
    try:
        url, link = str(server.make_url("/")), TokenMinter(settings).mint_client(ROOM)
        client, _ = await join(url, "client", link, ROOM, NAME)
        requests = await receiver.until(lambda rs: len(receiver.delivered()) == 1)
        await client.close()
    finally:
        await server.close()
    assert [r.answer for r in requests] == [failure, 200]
    assert requests[0].id == requests[1].id and requests[0].body == requests[1].body
    assert receiver.delivered_types() == ["participant.waiting"]


async def test_a_refusal_is_dead_lettered_at_once(receiver: Receiver) -> None:
    receiver.policy = always(400)
    settings = hook_settings(receiver)
    server = await start(settings)
    try:
        url, link = str(server.make_url("/")), TokenMinter(settings).mint_client(ROOM)
        client, _ = await join(url, "client", link, ROOM, NAME)
        worker = server.app[keys.WEBHOOKS]
        assert worker is not None
        letters = await until_dead_letters(worker, 1)
        await receiver.until(lambda rs: len(rs) == 1)
        await client.close()
    finally:
        await server.close()
    assert len(receiver.requests) == 1  # not retried
    assert (letters[0].attempts, letters[0].status) == (1, 400)


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0) -> T:
    """Ask ``check`` again and again until it answers something."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.02)


async def until_dead_letters(worker: Any, count: int) -> list[Any]:
    async def letters() -> list[Any] | None:
        found = [d for _, d in await worker.deliverer.dead_letters(1000)]
        return found if len(found) >= count else None

    return await eventually(letters)


async def test_a_receiver_that_never_recovers_fills_a_bounded_list_replayed_later(
    receiver: Receiver, backend: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    receiver.policy = always(503)
    settings = hook_settings(receiver, webhook_retry_for=1.0, webhook_dead_letters=3, **backend)
    server = await start(settings)
    try:
        url = str(server.make_url("/"))
        minter = TokenMinter(settings)
        admin = {"Authorization": f"Bearer {minter.mint_admin('ops')}"}
        await visit(url, minter)

        # Five events, three places: the two oldest are dropped, never more than three kept.
        async def listed_all() -> dict[str, Any] | None:
            async with http.get(f"{url}api/webhooks/dead-letters", headers=admin) as resp:
                assert resp.status == 200
                listed: dict[str, Any] = await resp.json()
            letters = listed["dead_letters"]
            done = letters and letters[0]["type"] == "session.ended"
            return listed if done else None

        listed = await eventually(listed_all)
        letters = listed["dead_letters"]
        assert listed["total"] == 3
        assert [d["type"] for d in letters] == [
            "session.ended",
            "participant.left",
            "session.started",
        ]
        assert all(d["status"] == 503 and d["attempts"] >= 1 for d in letters)
        assert letters[0]["payload"]["data"]["room"] == ROOM
        assert {r.type for r in receiver.requests} == set(VISIT)

        # The receiver is back: replay, oldest first, under the same ids, signed anew.
        receiver.policy = always(200)
        async with http.post(
            f"{url}api/webhooks/dead-letters/replay", json={}, headers=admin
        ) as resp:
            assert resp.status == 200
            replayed = await resp.json()
        assert replayed == {
            "replayed": [d["id"] for d in reversed(letters)],
            "failed": [],
            "remaining": 0,
        }
        assert receiver.delivered_types() == [
            "session.started",
            "participant.left",
            "session.ended",
        ]
        assert all(r.verified for r in receiver.delivered())
        failed_ids = {r.id for r in receiver.requests if r.answer == 503}
        assert {r.id for r in receiver.delivered()} <= failed_ids
        async with http.get(f"{url}api/webhooks/dead-letters", headers=admin) as resp:
            assert (await resp.json())["total"] == 0
    finally:
        await server.close()


async def test_the_feed_gives_the_same_events_back_page_by_page(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    settings = hook_settings(receiver)
    server = await start(settings)
    try:
        url = str(server.make_url("/"))
        minter = TokenMinter(settings)
        await visit(url, minter)
        await receiver.until(lambda rs: len(receiver.delivered()) == len(VISIT))
        admin = {"Authorization": f"Bearer {minter.mint_admin('ops')}"}
        seen: list[dict[str, Any]] = []
        query: dict[str, str] = {"room": ROOM, "limit": "2"}
        while True:
            async with http.get(f"{url}api/events", params=query, headers=admin) as resp:
                assert resp.status == 200
                page = await resp.json()
            seen += page["events"]
            if page["next"] is None:
                break
            query = {"after": page["next"]}
    finally:
        await server.close()
    delivered = {r.id: r.payload for r in receiver.delivered()}
    assert {e["webhook_id"]: e["payload"] for e in seen} == delivered
    assert [e["payload"]["type"] for e in seen] == VISIT


async def test_the_admin_endpoints_refuse_others_and_bad_input(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    settings = hook_settings(receiver)
    off = settings.with_(webhook_url=None)
    servers = [await start(settings), await start(off)]
    try:
        url, off_url = (str(s.make_url("/")) for s in servers)
        minter = TokenMinter(settings)
        admin = {"Authorization": f"Bearer {minter.mint_admin('ops')}"}
        others = {
            401: {},
            403: {"Authorization": f"Bearer {minter.mint_therapist('dr', [ROOM])}"},
        }
        for status, headers in others.items():
            for method, path in [
                ("GET", "api/webhooks/dead-letters"),
                ("POST", "api/webhooks/dead-letters/replay"),
                ("GET", "api/events"),
            ]:
                async with http.request(method, url + path, headers=headers, json={}) as resp:
                    assert resp.status == status, (method, path)

        bad_gets = [
            ("api/events?after=not-a-cursor!", "invalid_message"),
            ("api/events?after=AAAA", "invalid_message"),
            ("api/events?since=yesterday", "invalid_message"),
            ("api/events?room=../x", "invalid_message"),
            ("api/events?cursor=x", "unknown_field"),
            ("api/webhooks/dead-letters?limit=0", "invalid_message"),
            ("api/webhooks/dead-letters?offset=3", "unknown_field"),
        ]
        for path, code in bad_gets:
            async with http.get(url + path, headers=admin) as resp:
                assert resp.status == 400, path
                assert (await resp.json())["error"]["code"] == code, path
        replay = url + "api/webhooks/dead-letters/replay"
        for body, code in [
            (b"{", "invalid_json"),
            (b'{"ids": "x"}', "invalid_message"),
            (b'{"limit": 0}', "invalid_message"),
            (b'{"every": true}', "unknown_field"),
        ]:
            async with http.post(replay, data=body, headers=admin) as resp:
                assert resp.status == 400, body
                assert (await resp.json())["error"]["code"] == code, body

        # Without a webhook URL there are no dead letters to see, but the feed still reads.
        async with http.get(off_url + "api/webhooks/dead-letters", headers=admin) as resp:
            assert resp.status == 501
            assert (await resp.json())["error"]["code"] == "not_configured"
        async with http.get(off_url + "api/events", headers=admin) as resp:
            assert resp.status == 200
            assert await resp.json() == {"events": [], "next": None}
    finally:
        for server in servers:
            await server.close()
