"""A seat belongs to a device: the same session link opened on a second device waits as a
participant of its own, the first device keeps its seat and resumes with its secret, and the
therapist decides. With single-device links the second device is refused. One node, and two
nodes sharing a real redis-server."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from tests.e2e.conftest import Topology, join, settings_for

ROOM = "room-seats"
NODES = pytest.mark.parametrize("topology", ["one-node", "two-nodes"], indirect=True)


async def therapist_in(topology: Topology, http: aiohttp.ClientSession) -> RawSocket:
    token = topology.minter.mint_therapist("dr-seats", [ROOM], 600)
    ws, _ = await join(topology.therapist_url, "therapist", token, ROOM, "Dr Seats")
    await ws.expect("room")
    return ws


def waiting(room: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["participant_id"]: w for w in room["waiting"]}


@NODES
async def test_a_second_device_waits_and_the_first_keeps_its_seat(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist = await therapist_in(topology, http)
    link = topology.minter.mint_client(ROOM, ttl=600)
    first, w1 = await join(topology.client_url, "client", link, ROOM, "Alex")
    secret = w1["resume"]
    assert isinstance(secret, str) and len(secret) >= 16
    await therapist.send(type="admit", participant_ids=[w1["participant_id"]])
    await first.expect("state", state="admitted")

    # The link forwarded to someone else (or opened on a phone): it does not inherit the seat.
    other, w2 = await join(topology.therapist_url, "client", link, ROOM, "Alex")
    assert w2["participant_id"] != w1["participant_id"]
    assert w2["resumed"] is False and w2["resume"] not in (None, secret)
    assert (await other.expect("state"))["state"] == "waiting"
    room = await therapist.until("room", lambda r: w2["participant_id"] in waiting(r))
    assert waiting(room)[w2["participant_id"]]["second_device"] is True
    assert [p["participant_id"] for p in room["session"]] == [w1["participant_id"]]
    # The admitted device was not replaced: it still talks.
    await first.send(type="ping", id=7)
    await first.expect("pong", id=7)
    assert "session" not in other.types()

    # The first device drops and comes back with its secret: the same seat, still admitted.
    await first.close()
    again, w3 = await join(topology.client_url, "client", link, ROOM, "Alex", resume=secret)
    assert w3["participant_id"] == w1["participant_id"] and w3["resumed"] is True
    assert w3["resume"] == secret
    assert (await again.expect("state"))["state"] == "admitted"
    # A guessed secret proves nothing: one more waiting device, not the seat.
    _, w4 = await join(topology.client_url, "client", link, ROOM, "Alex", resume="x" * 32)
    assert w4["participant_id"] not in (w1["participant_id"], w2["participant_id"])
    assert w4["resumed"] is False


@NODES
async def test_the_therapist_admits_the_second_device_instead(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist = await therapist_in(topology, http)
    link = topology.minter.mint_client(ROOM, ttl=600)
    first, w1 = await join(topology.client_url, "client", link, ROOM, "Alex")
    second, w2 = await join(topology.therapist_url, "client", link, ROOM, "Alex")
    await therapist.until("room", lambda r: len(r["waiting"]) == 2)

    # Both devices of one link at once: refused, nothing changes.
    both = [w1["participant_id"], w2["participant_id"]]
    await therapist.send(type="admit", participant_ids=both)
    assert (await therapist.expect("error"))["code"] == "invalid_transition"

    await therapist.send(type="admit", participant_ids=[w2["participant_id"]])
    await second.expect("state", state="admitted")
    assert await first.closed() == 4012  # turned away: the link's seat moved
    room = await therapist.until("room", lambda r: not r["waiting"])
    assert [p["participant_id"] for p in room["session"]] == [w2["participant_id"]]
    # The turned-away device cannot come back with its old secret.
    refused, _ = await _try_join(http, topology.client_url, link, w1["resume"])
    assert refused == 4012


@NODES
async def test_the_therapist_denies_the_second_device(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist = await therapist_in(topology, http)
    link = topology.minter.mint_client(ROOM, ttl=600)
    first, w1 = await join(topology.client_url, "client", link, ROOM, "Alex")
    second, w2 = await join(topology.client_url, "client", link, ROOM, "Alex")
    await therapist.until("room", lambda r: len(r["waiting"]) == 2)
    await therapist.send(type="deny", participant_id=w2["participant_id"])
    assert await second.closed() == 4011
    room = await therapist.until("room", lambda r: len(r["waiting"]) == 1)
    assert room["waiting"][0]["participant_id"] == w1["participant_id"]
    assert room["waiting"][0]["second_device"] is False
    await first.send(type="ping", id=1)
    await first.expect("pong", id=1)


async def _try_join(
    http: aiohttp.ClientSession, base_url: str, link: str, resume: str | None = None
) -> tuple[int | None, list[dict[str, Any]]]:
    """Open a client socket for ``link``; the close code and what was said before it."""
    ws = await http.ws_connect(base_url.rstrip("/") + "/ws")
    auth: dict[str, Any] = {"type": "auth", "role": "client", "token": link, "room": ROOM}
    auth |= {"name": "Alex"} | ({"resume": resume} if resume else {})
    await ws.send_str(json.dumps(auth))
    said = []
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            said.append(json.loads(msg.data))
            if said[-1]["type"] == "welcome":
                await ws.close()
    return ws.close_code, said


async def test_single_device_links_refuse_the_second_device(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for(single_device_links=True)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        minter = TokenMinter(settings)
        url = str(server.make_url("/"))
        link = minter.mint_client(ROOM, ttl=600)
        first, w1 = await join(url, "client", link, ROOM, "Alex")
        code, said = await _try_join(http, url, link)
        assert code == 4021 and said[-1]["code"] == "link_in_use"
        # Its own secret still resumes the first device.
        _again, w2 = await join(url, "client", link, ROOM, "Alex", resume=w1["resume"])
        assert w2["participant_id"] == w1["participant_id"] and w2["resumed"] is True
        assert await first.closed() == 4010
        # The refusal is in the audit trail, with its code.
        admin = {"Authorization": f"Bearer {minter.mint_admin('admin-seats')}"}
        async with http.get(
            server.make_url("/api/audit").with_query(room=ROOM), headers=admin
        ) as r:
            docs = [json.loads(line) for line in (await r.text()).splitlines() if line]
        refused = [d for d in docs if d["event"]["action"] == "rapport.join_refused"]
        assert [d["event"]["reason"] for d in refused] == ["link_in_use"]
    finally:
        await server.close()


async def test_the_second_device_is_in_the_audit_trail(http: aiohttp.ClientSession) -> None:
    settings = settings_for()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        minter = TokenMinter(settings)
        url = str(server.make_url("/"))
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr", [ROOM]), ROOM)
        link = minter.mint_client(ROOM, ttl=600)
        _first, _ = await join(url, "client", link, ROOM, "Alex")
        _second, w2 = await join(url, "client", link, ROOM, "Alex")
        await therapist.send(type="admit", participant_ids=[w2["participant_id"]])
        await therapist.until("room", lambda r: len(r["session"]) == 1 and not r["waiting"])
        admin = {"Authorization": f"Bearer {minter.mint_admin('admin-seats')}"}
        async with http.get(
            server.make_url("/api/audit").with_query(room=ROOM), headers=admin
        ) as r:
            docs = [json.loads(line) for line in (await r.text()).splitlines() if line]
        reasons = [d["event"].get("reason") for d in docs]
        assert "second_device" in reasons and "other_device" in reasons
    finally:
        await server.close()


@pytest.mark.parametrize("topology", ["two-nodes"], indirect=True)
async def test_one_link_cannot_fill_the_waiting_room_with_devices(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    # Three sockets per link per node (too_many_sockets, 4029); three devices per link in the
    # room, on whichever nodes (link_in_use, 4021).
    link = topology.minter.mint_client(ROOM, ttl=600)
    a, b = topology.client_url, topology.therapist_url
    held = [await join(url, "client", link, ROOM, "Alex") for url in (a, a, b)]
    assert len({w["participant_id"] for _, w in held}) == 3
    code, said = await _try_join(http, b, link)
    assert code == 4021 and said[-1]["code"] == "link_in_use"
    # Each held device still resumes with its own secret.
    _, again = await join(b, "client", link, ROOM, "Alex", resume=held[2][1]["resume"])
    assert again["participant_id"] == held[2][1]["participant_id"] and again["resumed"]


@pytest.mark.parametrize("topology", ["one-node"], indirect=True)
async def test_a_malformed_resume_secret_is_refused_and_changes_nothing(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist = await therapist_in(topology, http)
    link = topology.minter.mint_client(ROOM, ttl=600)
    for bad in ("short", "x" * 65, "has spaces in it, sixteen+", 12345):
        ws = await http.ws_connect(topology.client_url + "ws")
        auth = {"type": "auth", "role": "client", "token": link, "room": ROOM, "name": "Alex"}
        await ws.send_str(json.dumps(auth | {"resume": bad}))
        async for _ in ws:
            pass
        assert ws.close_code == 4001, bad  # auth_required: not a well-formed auth
    await therapist.send(type="ping", id=3)
    await therapist.expect("pong", id=3)
    assert all(not m.get("waiting") for m in therapist.seen if m["type"] == "room")
