"""The admin monitor over HTTP and the feed: who waits and for how long, the alert the server
decides (the same on every node), the chart's admitted waits and a room's audit timeline.
Admin only; a bad query is a 400 with a code; and no name ever reaches the admin."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from tests.e2e.conftest import join, open_ws, settings_for

ROOM = "room-monitor"
NAME = "Zebulon Quixote"  # a name that must never reach the admin
DOCTOR = "Dr Ottoline Secret"


@dataclass
class Nodes:
    a: str  # base URLs, ending in /
    b: str
    minter: TokenMinter

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.minter.mint_admin('ops', 600)}"}


@pytest.fixture(params=["one-node", pytest.param("two-nodes", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    if request.param == "one-node":
        settings = settings_for(wait_alert=1)
        ids = [settings.node_id]
    else:
        redis = request.getfixturevalue("redis_server")
        settings = settings_for(wait_alert=1, redis_url=redis.url)
        ids = ["n-a", "n-b"]
    servers = [TestServer(create_app(settings.with_(node_id=i)), host="127.0.0.1") for i in ids]
    for server in servers:
        await server.start_server()
    urls = [str(s.make_url("/")) for s in servers]
    yield Nodes(urls[0], urls[-1], TokenMinter(settings))
    for server in servers:
        await server.close()


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    async with http.get(url, headers=headers or {}) as resp:
        text = await resp.text()
        return resp.status, await resp.json(), text


async def until(
    fetch: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    """Ask again until ``check`` holds for the answer (the machine may be slow); the answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r}")
        await asyncio.sleep(0.1)


def summary_of(body: dict[str, Any]) -> dict[str, Any]:
    """This test's room in a rooms listing (or a feed message); {} while it is not there."""
    return next((r for r in body["rooms"] if r["room"] == ROOM), {})


async def test_a_long_wait_with_no_therapist_is_an_alert_on_every_node(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    client, welcome = await join(
        nodes.a, "client", nodes.minter.mint_client(ROOM, ttl=600), ROOM, NAME
    )
    pid = welcome["participant_id"]

    def rooms_on(url: str) -> Callable[[], Awaitable[tuple[int, Any, str]]]:
        return lambda: get(http, url + "api/rooms", nodes.admin())

    def alert(answer: tuple[int, Any, str]) -> bool:
        return summary_of(answer[1]).get("alert") is True

    status, body, text = await until(rooms_on(nodes.b), alert)
    assert status == 200 and body["wait_alert_s"] == 1
    room = summary_of(body)
    assert room["therapist"] == "absent" and room["waiting"] == 1
    (waiting,) = room["waiting_clients"]
    assert waiting["participant_id"] == pid and waiting["wait_s"] >= 1
    assert NAME not in text

    feed = await open_ws(nodes.b)
    await feed.send(type="auth", role="admin", token=nodes.minter.mint_admin("ops", 600))
    pushed = await feed.until("rooms", lambda m: summary_of(m).get("alert") is True)
    assert pushed["wait_alert_s"] == 1

    # The therapist arrives (on the other node): the alert clears everywhere.
    therapist_token = nodes.minter.mint_therapist("dr-1", [ROOM], 600)
    therapist, _ = await join(nodes.b, "therapist", therapist_token, ROOM, DOCTOR)
    for url in (nodes.a, nodes.b):
        _, body, text = await until(
            rooms_on(url), lambda answer: summary_of(answer[1]).get("therapist") == "present"
        )
        assert summary_of(body)["alert"] is False
        assert NAME not in text and DOCTOR not in text
    await feed.until("rooms", lambda m: summary_of(m).get("alert") is False)
    assert NAME not in repr(feed.seen) and DOCTOR not in repr(feed.seen)
    for ws in (client, therapist, feed):
        await ws.close()


async def test_the_timeline_and_the_chart_of_a_visit(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await join(
        nodes.b, "therapist", nodes.minter.mint_therapist("dr-1", [ROOM], 600), ROOM, DOCTOR
    )
    client, welcome = await join(
        nodes.a, "client", nodes.minter.mint_client(ROOM, ttl=600), ROOM, NAME
    )
    pid = welcome["participant_id"]
    await therapist.until("room", lambda m: [w["participant_id"] for w in m["waiting"]] == [pid])
    await therapist.send(type="admit", participant_ids=[pid])
    await client.expect("state", state="admitted")

    timeline = nodes.a + f"api/rooms/{ROOM}/timeline"
    status, first, text = await get(http, timeline, nodes.admin())
    assert status == 200 and first["room"] == ROOM and first["next"] is None
    rows = [(e["action"], e["participant"], e["actor_role"]) for e in first["entries"]]
    assert ("participant.joined", pid, "client") in rows
    assert ("participant.admitted", pid, "therapist") in rows
    (admitted,) = [e for e in first["entries"] if e["action"] == "participant.admitted"]
    assert admitted["outcome"] == "success" and admitted["wait_s"] >= 0
    assert not [e for e in first["entries"] if e["action"] == "rapport.room_viewed"]
    assert NAME not in text and DOCTOR not in text

    # Each request is one audited view of the room (recorded after the entries were read).
    _, second, _ = await get(http, timeline, nodes.admin())
    viewed = [e for e in second["entries"] if e["action"] == "rapport.room_viewed"]
    assert [(e["actor_role"], e["participant"]) for e in viewed] == [("admin", "")]

    # A page at a time.
    _, page, _ = await get(http, timeline + "?limit=1", nodes.admin())
    assert len(page["entries"]) == 1 and page["next"] == page["entries"][0]["id"]
    _, rest, _ = await get(http, timeline + f"?limit=500&after={page['next']}", nodes.admin())
    assert [e["id"] for e in rest["entries"]][:2] == [e["id"] for e in first["entries"]][1:3]

    # The chart: the admit's wait, from either node; reading it is not audited.
    def views(entries: list[dict[str, Any]]) -> int:
        return sum(e["action"] == "rapport.room_viewed" for e in entries)

    before = views((await get(http, timeline, nodes.admin()))[1]["entries"])
    for url in (nodes.a, nodes.b):
        status, chart, text = await get(http, url + "api/monitor/waits", nodes.admin())
        assert status == 200 and not chart["truncated"]
        assert chart["until"] - chart["since"] == 3600
        assert [w["room"] for w in chart["admitted"]] == [ROOM]
        assert chart["admitted"][0]["wait_s"] >= 0
        assert pid not in text and NAME not in text
    _, short, _ = await get(http, nodes.a + "api/monitor/waits?minutes=5", nodes.admin())
    assert short["until"] - short["since"] == 300
    after = views((await get(http, timeline, nodes.admin()))[1]["entries"])
    assert after == before + 1  # the timeline read in between, and no view for the chart
    await client.close()
    await therapist.close()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("api/monitor/waits?minutes=0", 400, "invalid_message"),
        ("api/monitor/waits?minutes=181", 400, "invalid_message"),
        ("api/monitor/waits?minutes=soon", 400, "invalid_message"),
        ("api/monitor/waits?room=x", 400, "unknown_field"),
        (f"api/rooms/{ROOM}/timeline?limit=0", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?limit=501", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?since=yesterday", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?since=200&until=100", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?since=0&until=9999999999", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?after=1-2-3", 400, "invalid_message"),
        (f"api/rooms/{ROOM}/timeline?cursor=x", 400, "unknown_field"),
        ("api/rooms/bad%20room/timeline", 400, "invalid_message"),
        ("api/rooms/~practice/timeline", 400, "invalid_message"),
    ],
)
async def test_a_bad_query_is_a_400_with_a_code(
    nodes: Nodes, http: aiohttp.ClientSession, path: str, status: int, code: str
) -> None:
    got, body, _ = await get(http, nodes.a + path, nodes.admin())
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"]


@pytest.mark.parametrize("path", ["api/monitor/waits", f"api/rooms/{ROOM}/timeline"])
async def test_only_an_admin_may_look(nodes: Nodes, http: aiohttp.ClientSession, path: str) -> None:
    therapist = nodes.minter.mint_therapist("dr-1", [ROOM], 600)
    client = nodes.minter.mint_client(ROOM, ttl=600)
    for token, status, code in [
        (None, 401, "token_invalid"),
        ("not-a-token", 401, "token_invalid"),
        (therapist, 403, "wrong_token_kind"),
        (client, 403, "wrong_token_kind"),
    ]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        got, body, _ = await get(http, nodes.a + path, headers)
        assert (got, body["error"]["code"]) == (status, code), (token, body)
