"""Call quality over real sockets, on one in-memory node and on two nodes sharing a real Redis:
a page's summary is stored, graded and shown on every node's monitor; its client's grade
reaches the therapist; impossible figures, a waiting client and a too-early summary are refused
by name with nothing stored; the timeline is bounded and ends with the session; the
histograms move and carry no room."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.rooms.quality import Level
from telehealth.web import keys
from telehealth.web import quality as quality_web
from tests.e2e.conftest import join, open_ws, settings_for
from tests.e2e.test_monitor import get, until

ROOM = "room-quality"
NAME = "Zebulon Quixote"  # a name that must never reach the admin
DOCTOR = "Dr Ottoline Secret"
METRICS_TOKEN = "metrics-token-" + "q" * 20
# TELEHEALTH_QUALITY_INTERVAL for these tests: a summary every 1 s at most, and a grade "now"
# for 6 s (three intervals), long enough for a loaded machine to read it back.
INTERVAL = 2.0

GOOD: dict[str, Any] = {
    "rtt_ms": 24.5,
    "loss_pct": 0.2,
    "jitter_ms": 3.1,
    "bitrate_kbps": 950,
    "frames_decoded": 150,
    "frames_dropped": 0,
    "width": 640,
    "height": 480,
    "candidate": "host",
}
POOR = {**GOOD, "loss_pct": 14.0, "rtt_ms": 620.0, "candidate": "relay"}


@dataclass
class Nodes:
    a: str  # base URLs, ending in /
    b: str
    servers: list[TestServer]
    minter: TokenMinter

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.minter.mint_admin('ops', 600)}"}


TOPOLOGIES = [
    "one-node",
    pytest.param("two-nodes", marks=pytest.mark.redis),
    pytest.param("cluster", marks=pytest.mark.redis),
]
# A Redis Cluster takes seconds to start: the tests that touch every store call run on it too.
WITH_CLUSTER = pytest.mark.parametrize("nodes", TOPOLOGIES, indirect=True)


@pytest.fixture(params=TOPOLOGIES[:2])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    settings = settings_for(quality_interval=INTERVAL, metrics_token=METRICS_TOKEN)
    ids = [settings.node_id]
    if request.param == "two-nodes":
        settings = settings.with_(redis_url=request.getfixturevalue("redis_server").url)
        ids = ["n-a", "n-b"]
    elif request.param == "cluster":  # a room's quality keys share its hash slot
        cluster = request.getfixturevalue("redis_cluster")
        settings = settings.with_(redis_url=cluster.url, redis_cluster=True)
        ids = ["n-a", "n-b"]
    servers = [TestServer(create_app(settings.with_(node_id=i)), host="127.0.0.1") for i in ids]
    for server in servers:
        await server.start_server()
    urls = [str(s.make_url("/")) for s in servers]
    yield Nodes(urls[0], urls[-1], servers, TokenMinter(settings))
    for server in servers:
        await server.close()


@dataclass
class Visit:
    client: RawSocket
    therapist: RawSocket
    client_id: str
    therapist_id: str

    async def close(self) -> None:
        await self.client.close()
        await self.therapist.close()


async def visit(nodes: Nodes, *, admit: bool = True) -> Visit:
    """The therapist on node B, the client on node A; admitted unless told not to."""
    therapist, t_welcome = await join(
        nodes.b, "therapist", nodes.minter.mint_therapist("dr-1", [ROOM], 600), ROOM, DOCTOR
    )
    client, welcome = await join(
        nodes.a, "client", nodes.minter.mint_client(ROOM, ttl=600), ROOM, NAME
    )
    assert welcome["quality_interval"] == INTERVAL
    pid = welcome["participant_id"]
    await therapist.until("room", lambda m: [w["participant_id"] for w in m["waiting"]] == [pid])
    if admit:
        await therapist.send(type="admit", participant_ids=[pid])
        await client.expect("state", state="admitted", timeout=30)
        await therapist.until("session", lambda m: len(m["peers"]) == 1, timeout=30)
    return Visit(client, therapist, pid, t_welcome["participant_id"])


_pings = iter(range(1, 1_000_000))


async def report(ws: RawSocket, **fields: Any) -> dict[str, Any] | None:
    """Send one summary: the error it was refused with, or None when it was taken. A ping
    behind it shows that the node has dealt with it (answers come in order)."""
    await ws.send(type="quality", **fields)
    ping = next(_pings)
    await ws.send(type="ping", id=ping)
    while True:
        message = await ws.recv(timeout=30)
        # (a frame the codec refused has no ref: its type was never read)
        if message["type"] == "error" and message.get("ref") in ("quality", None):
            return message
        if message["type"] == "pong" and message["id"] == ping:
            return None


async def report_taken(ws: RawSocket, **fields: Any) -> None:
    """Send one summary, again while it is refused as too early, until it is taken."""
    while (refused := await report(ws, **fields)) is not None:
        assert refused["code"] == "rate_limited", refused
        await asyncio.sleep(INTERVAL / 5)  # not a flood (the socket's own limit)


async def quality_of(
    http: aiohttp.ClientSession, nodes: Nodes, url: str
) -> tuple[int, dict[str, Any], str]:
    status, body, text = await get(http, url + f"api/rooms/{ROOM}/quality", nodes.admin())
    return status, body, text


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["participant_id"]: p for p in body["participants"]}


@WITH_CLUSTER
async def test_a_summary_is_stored_and_shown_on_every_node(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    v = await visit(nodes)
    await report_taken(v.client, **GOOD)
    notice = await v.therapist.expect("peer_quality", timeout=30)
    assert notice["from"] == v.client_id and notice["level"] == "good"
    await report_taken(v.therapist, **POOR)

    for url in (nodes.a, nodes.b):
        status, body, text = await until(
            lambda url=url: quality_of(http, nodes, url),  # type: ignore[misc]
            lambda answer: (
                len(by_id(answer[1])) == 2 and all(p["recent"] for p in answer[1]["participants"])
            ),
            timeout=30,
        )
        assert status == 200 and body["interval"] == INTERVAL
        client, therapist = by_id(body)[v.client_id], by_id(body)[v.therapist_id]
        assert client["role"] == "client" and client["level"] == "good"
        assert client["candidate"] == "host" and (client["width"], client["height"]) == (640, 480)
        (point,) = client["recent"]
        assert point["rtt_ms"] == 24.5 and point["loss_pct"] == 0.2 and point["level"] == "good"
        assert therapist["level"] == "poor" and therapist["candidate"] == "relay"
        assert body["poor_quality"] is True
        assert NAME not in text and DOCTOR not in text and "127.0.0.1" not in text

    # The admin's live feed on the other node shows the same flag.
    feed = await open_ws(nodes.b)
    await feed.send(type="auth", role="admin", token=nodes.minter.mint_admin("ops", 600))
    pushed = await feed.until(
        "rooms",
        lambda m: any(r["room"] == ROOM and r["poor_quality"] for r in m["rooms"]),
        timeout=30,
    )
    (room,) = [r for r in pushed["rooms"] if r["room"] == ROOM]
    assert {q["participant_id"]: q["level"] for q in room["quality"]} == {
        v.client_id: "good",
        v.therapist_id: "poor",
    }

    # The client's connection turns poor: the therapist is told; the therapist hears nothing
    # of their own summaries.
    await report_taken(v.client, **POOR)
    notice = await v.therapist.until("peer_quality", lambda m: m["level"] == "poor", timeout=30)
    assert notice["from"] == v.client_id
    assert "peer_quality" not in v.client.types()
    await feed.close()
    await v.close()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"loss_pct": -1}, "invalid_message"),
        ({"loss_pct": 101}, "invalid_message"),
        ({"bitrate_kbps": 80_000_000}, "invalid_message"),  # 10 GB/s
        ({"width": "640"}, "invalid_message"),
        ({"candidate": "192.0.2.7"}, "invalid_message"),
        ({"address": "192.0.2.7"}, "unknown_field"),
    ],
)
async def test_impossible_figures_are_refused_and_nothing_is_stored(
    nodes: Nodes, http: aiohttp.ClientSession, changes: dict[str, Any], code: str
) -> None:
    v = await visit(nodes)
    refused = await report(v.client, **{**GOOD, **changes})
    assert refused is not None and refused["code"] == code
    _, body, _ = await quality_of(http, nodes, nodes.b)
    assert [p["recent"] for p in body["participants"]] == [[], []]
    assert "peer_quality" not in v.therapist.types()
    # The socket stays open and a good summary is taken after it.
    await report_taken(v.client, **GOOD)
    await v.therapist.expect("peer_quality", timeout=30)
    await v.close()


async def test_a_waiting_client_cannot_send_one(nodes: Nodes, http: aiohttp.ClientSession) -> None:
    v = await visit(nodes, admit=False)
    refused = await report(v.client, **GOOD)
    assert refused is not None and refused["code"] == "not_admitted"
    presence = nodes.servers[0].app[keys.PRESENCE]
    assert await presence.quality(ROOM, [v.client_id]) == {}
    # Nor the therapist alone in the room: there is no session yet.
    refused = await report(v.therapist, **GOOD)
    assert refused is not None and refused["code"] == "not_admitted"
    assert "peer_quality" not in v.therapist.types()
    await v.close()


async def test_a_summary_too_soon_is_rate_limited(nodes: Nodes) -> None:
    v = await visit(nodes)
    await report_taken(v.client, **GOOD)
    refused = await report(v.client, **POOR)  # at once: well within half the interval
    assert refused is not None and refused["code"] == "rate_limited"
    assert refused["retry_after"] >= 1
    presence = nodes.servers[0].app[keys.PRESENCE]
    found = await presence.quality(ROOM, [v.client_id])
    assert [s.level for s in found[v.client_id]] == [Level.GOOD]
    await v.close()


async def test_the_timeline_is_bounded(nodes: Nodes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality_web, "KEEP", 3)  # the cap the node passes to presence
    v = await visit(nodes)
    for rtt in (10, 20, 30, 40, 50):
        await report_taken(v.client, **{**GOOD, "rtt_ms": rtt})
    presence = nodes.servers[0].app[keys.PRESENCE]
    found = await presence.quality(ROOM, [v.client_id])
    assert [s.rtt_ms for s in found[v.client_id]] == [30, 40, 50]
    await v.close()


@WITH_CLUSTER
async def test_the_timeline_ends_with_the_session(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    v = await visit(nodes)
    await report_taken(v.client, **GOOD)
    await report_taken(v.therapist, **GOOD)
    presence = nodes.servers[-1].app[keys.PRESENCE]
    pids = [v.client_id, v.therapist_id]
    assert set(await presence.quality(ROOM, pids)) == set(pids)

    async def stored() -> dict[str, Any]:
        return dict(await presence.quality(ROOM, pids))

    await v.therapist.send(type="end_session")
    await until(stored, lambda found: found == {}, timeout=30)
    _, body, _ = await quality_of(http, nodes, nodes.a)
    assert body["participants"] == [] and body["poor_quality"] is False
    await v.close()


async def test_the_histograms_move_and_name_no_room(
    nodes: Nodes, http: aiohttp.ClientSession
) -> None:
    v = await visit(nodes)
    await report_taken(v.client, **POOR)
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with http.get(nodes.a + "metrics", headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()

    def value(name: str) -> float:
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        assert match, name
        return float(match.group(1))

    assert value("rapport_call_rtt_seconds_count") == 1
    assert value("rapport_call_rtt_seconds_sum") == pytest.approx(0.62)
    assert value("rapport_call_loss_ratio_count") == 1
    assert value("rapport_call_jitter_seconds_count") == 1
    assert value("rapport_call_poor_samples_total") == 1
    call_lines = [line for line in text.splitlines() if line.startswith("rapport_call_")]
    assert call_lines
    for line in call_lines:
        labels = re.findall(r"(\w+)=", line.partition("{")[2].partition("}")[0])
        assert set(labels) <= {"le"}, line
        assert ROOM not in line and v.client_id not in line
    await v.close()
