"""Fault tests with real processes: node crash, node drain, Redis restart, slow reader, and a
rolling restart. Participants come back like the pages do: the same token, any live node."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

import aiohttp
import pytest

from rapport_sdk.client import SignalingClient, SignalingError
from rapport_sdk.ice import ws_url_for
from rapport_sdk.peer import Peer
from signaling import messages as m
from telehealth.auth.tokens import TokenMinter
from tests.conftest import NodeProcess
from tests.fault.conftest import ROOM, Cluster, Visitor, log_lines, rooms

pytestmark = pytest.mark.webrtc


def waiting_view(room: m.RoomView) -> list[tuple[str, bool]]:
    return [(w.name, w.connected) for w in room.waiting]


async def test_waiting_node_killed_clients_keep_their_place(
    cluster: Cluster, minter: TokenMinter, visitors: list[Visitor]
) -> None:
    a, b = cluster.start("node-a"), cluster.start("node-b")
    therapist = Visitor(cluster, "therapist", minter.mint_therapist("dr", [ROOM], 600))
    names = ["First", "Second", "Gone"]
    clients = [Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), n) for n in names]
    visitors += [therapist, *clients]
    await therapist.connect(b)
    for client in clients:
        await client.connect(a)
    await therapist.wait_for(m.RoomView, where=lambda r: len(r.waiting) == 3)

    a.kill()  # SIGKILL: no goodbye, no cleanup
    for client in clients[:2]:  # two come back through the load balancer; one does not
        welcome = await client.reconnect()
        assert welcome.resumed is True
        await client.wait_for(m.ClientState, state="waiting")

    # Within a few heartbeats the reaper on node B marks the one who did not return as
    # dropped: the therapist sees everyone in their original order and no phantom.
    room = await therapist.wait_for(
        m.RoomView,
        where=lambda r: waiting_view(r) == [("First", True), ("Second", True), ("Gone", False)],
        timeout=10,
    )
    assert len(room.waiting) == 3


async def test_session_node_drained_both_resume_with_admission(
    cluster: Cluster, minter: TokenMinter, visitors: list[Visitor]
) -> None:
    a, _b = cluster.start("node-a"), cluster.start("node-b")
    therapist = Visitor(cluster, "therapist", minter.mint_therapist("dr", [ROOM], 600))
    client = Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), "Alex")
    visitors += [therapist, client]
    await therapist.connect(a)
    await client.connect(a)
    assert therapist.client is not None and client.client is not None
    t_peer, c_peer = Peer(therapist.client, loopback=True), Peer(client.client, loopback=True)
    try:
        await therapist.client.send(m.Admit(participant_ids=[client.pid]))
        await c_peer.wait_connected(therapist.pid, 20)

        a.terminate()  # SIGTERM: drain
        for visitor in (therapist, client):
            assert visitor.client is not None
            bye = await visitor.wait_for(m.Bye, timeout=10)
            assert (bye.code, bye.reconnect) == ("going_away", True)
            assert await visitor.client.wait_closed(10) == 1001
        assert a.wait(timeout=20) == 0  # drained and exited cleanly

        await t_peer.close()
        await c_peer.close()
        for visitor in (therapist, client):
            assert (await visitor.reconnect()).resumed is True
        await client.wait_for(m.ClientState, state="admitted")
        assert therapist.client is not None and client.client is not None
        t_peer, c_peer = Peer(therapist.client, loopback=True), Peer(client.client, loopback=True)
        await c_peer.wait_connected(therapist.pid, 20)
        await t_peer.wait_connected(client.pid, 20)
        await c_peer.send_data(therapist.pid, "still here")
        assert await t_peer.recv_data(client.pid, 10) == "still here"
        await t_peer.send_data(client.pid, "me too")
        assert await c_peer.recv_data(therapist.pid, 10) == "me too"
    finally:
        await t_peer.close()
        await c_peer.close()


def http_status(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def _logged(node: NodeProcess, text: str) -> bool:
    return any(text in line["msg"] for line in log_lines(node))


@pytest.mark.parametrize("moment", ["mid-wait", "mid-session"])
async def test_redis_restarted_empty_state_converges(
    cluster: Cluster, minter: TokenMinter, visitors: list[Visitor], moment: str
) -> None:
    a, b = cluster.start("node-a"), cluster.start("node-b")
    therapist = Visitor(cluster, "therapist", minter.mint_therapist("dr", [ROOM], 600))
    waiting = Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), "Waiting")
    in_session = Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), "InSession")
    visitors += [therapist, waiting, in_session]
    await therapist.connect(b)
    await in_session.connect(a)
    await waiting.connect(a)
    await therapist.wait_for(m.RoomView, where=lambda r: len(r.waiting) == 2)
    if moment == "mid-session":
        assert therapist.client is not None
        await therapist.client.send(m.Admit(participant_ids=[in_session.pid]))
        await in_session.wait_for(m.ClientState, state="admitted")

    # Alone in another room on node A: it closes its page during the outage, so the node keeps
    # no socket in that room and must still record the drop once Redis is back.
    alone = Visitor(cluster, "client", minter.mint_client("other-room", ttl=600), "Alone")
    visitors.append(alone)
    alone.client = SignalingClient()
    await alone.client.connect(ws_url_for(a.url), "client", alone.token, "other-room", "Alone")

    cluster.redis.kill()
    deadline = time.monotonic() + 10
    while http_status(a.url + "/readyz")[0] != 503:
        assert time.monotonic() < deadline, "node A never noticed the outage"
        await asyncio.sleep(0.1)
    # A join made during the outage gets a clear 503 with Retry-After...
    status, headers = http_status(a.url + "/ws")
    assert status == 503 and int(headers["Retry-After"]) > 0
    # ...while the sockets already open stay open.
    for visitor in (therapist, waiting):
        assert visitor.client is not None
        await visitor.client.send(m.Ping(id=42))
        await visitor.wait_for(m.Pong, id=42)
    await alone.close()
    # The outage lasts until both reapers have met it (only a reaper that did recovers the
    # node's rooms afterwards) and node A has met the drop it cannot record yet: a fixed
    # second may not fit them on a busy machine.
    deadline = time.monotonic() + 15
    while not (
        all(_logged(node, "reaper: presence unavailable") for node in (a, b))
        and _logged(a, "dropped while presence was unavailable")
    ):
        assert time.monotonic() < deadline, "the nodes never met the outage"
        await asyncio.sleep(0.1)

    cluster.redis.restart()  # empty: no persistence
    expected_session = 1 if moment == "mid-session" else 0
    room = await therapist.wait_for(
        m.RoomView,
        where=lambda r: (
            [w.name for w in r.waiting]
            == (["Waiting"] if expected_session else ["InSession", "Waiting"])
            and len(r.session) == expected_session
            and all(w.connected for w in r.waiting)
            and all(s.connected for s in r.session)
        ),
        timeout=15,
    )
    assert room.version > 0
    deadline = time.monotonic() + 15
    while True:  # and presence itself holds the room again, as seen from both nodes
        summaries = [r for r in rooms(b, minter) if r["room"] == ROOM]
        if summaries and summaries[0]["waiting"] == 2 - expected_session:
            break
        assert time.monotonic() < deadline, summaries
        await asyncio.sleep(0.2)
    deadline = time.monotonic() + 15
    while True:
        other = [r for r in rooms(a, minter) if r["room"] == "other-room"]
        if other and not other[0]["participants"][0]["connected"]:
            break  # the drop made during the outage is on record: no phantom
        assert time.monotonic() < deadline, other
        await asyncio.sleep(0.2)
    # A new join works again.
    late = Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), "Late")
    visitors.append(late)
    assert (await late.reconnect()).resumed is False
    # No error storm: a handful of warnings per node, never hundreds.
    for node in (a, b):
        noisy = [line for line in log_lines(node) if line["level"] in ("warning", "error")]
        assert len(noisy) < 25, [line["msg"] for line in noisy]


async def test_rolling_restart_loses_no_admission(
    cluster: Cluster, minter: TokenMinter, visitors: list[Visitor]
) -> None:
    nodes = [cluster.start("node-a"), cluster.start("node-b")]
    pairs: list[tuple[Visitor, Visitor]] = []
    for i in range(20):  # 20 sessions, one room each, spread over both nodes
        room = f"room-{i}"
        therapist = Visitor(cluster, "therapist", minter.mint_therapist(f"dr-{i}", [room], 600))
        client = Visitor(cluster, "client", minter.mint_client(room, ttl=600), f"C{i}")
        therapist.room = client.room = room
        pairs.append((therapist, client))
        visitors += [therapist, client]
    for i, (therapist, client) in enumerate(pairs):
        node = nodes[i % 2]
        await _connect_room(therapist, node)
        await _connect_room(client, nodes[(i + 1) % 2])
        assert therapist.client is not None
        await therapist.client.send(m.Admit(participant_ids=[client.pid]))
        await client.wait_for(m.ClientState, state="admitted")

    for index, node_id in enumerate(["node-a", "node-b"]):
        old = cluster.nodes[node_id]
        port = old.port
        old.terminate()
        assert old.wait(timeout=20) == 0
        # Everyone on the stopped node comes back through the load balancer.
        for therapist, client in pairs:
            for visitor in (therapist, client):
                assert visitor.client is not None
                if visitor.node is old:
                    assert await visitor.client.wait_closed(10) == 1001
                    await _reconnect_room(visitor)
        cluster.start(node_id, port=port)
        nodes[index] = cluster.nodes[node_id]

    for _therapist, client in pairs:
        state = await client.wait_for(m.ClientState, state="admitted", timeout=10)
        assert state.state == "admitted"
    summaries = {r["room"]: r for r in rooms(nodes[0], minter)}
    assert len(summaries) == 20
    for summary in summaries.values():
        roles = sorted(p["role"] for p in summary["in_session"])
        assert roles == ["client", "therapist"], summary
        assert all(p["connected"] for p in summary["in_session"])


async def _connect_room(visitor: Visitor, node: NodeProcess) -> None:
    # A client's resume secret from its previous socket, if any: the same device coming back.
    resume = visitor.client.resume if visitor.client is not None else None
    visitor.client = SignalingClient()
    visitor.node = node
    await visitor.client.connect(
        ws_url_for(node.url),
        visitor.role,
        visitor.token,
        visitor.room,
        name=visitor.name,
        resume=resume,
    )


async def _reconnect_room(visitor: Visitor, timeout: float = 20.0) -> None:
    """Connect again to any live node, retrying only while connecting fails: a welcome that
    is wrong fails the test at once, with its own message, not as a timeout."""
    async with asyncio.timeout(timeout):
        while True:
            for node in visitor.cluster.live():
                try:
                    await _connect_room(visitor, node)
                except (SignalingError, aiohttp.ClientError, OSError, TimeoutError):
                    continue
                assert visitor.client is not None and visitor.client.welcome is not None
                assert visitor.client.welcome.resumed is True, visitor.client.welcome
                return
            await asyncio.sleep(0.2)
