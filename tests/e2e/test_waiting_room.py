"""The waiting room over real WebSockets, on one node and on two nodes sharing Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from rapport_sdk.rawsocket import RawSocket
from tests.e2e.conftest import Topology, join, open_ws

ROOM = "room-1"


async def therapist_in(topology: Topology) -> tuple[RawSocket, dict[str, Any]]:
    token = topology.minter.mint_therapist("dr-1", [ROOM], 600)
    ws, welcome = await join(topology.therapist_url, "therapist", token, ROOM, "Dr One")
    await ws.expect("room")
    return ws, welcome


async def test_full_visit(topology: Topology, http: aiohttp.ClientSession) -> None:
    therapist, t_welcome = await therapist_in(topology)
    client_token = topology.minter.mint_client(ROOM, ttl=600)
    client, welcome = await join(topology.client_url, "client", client_token, ROOM, "Alex")
    assert welcome["role"] == "client" and welcome["resumed"] is False
    assert welcome["ice_servers"] == []  # loopback mode
    state = await client.expect("state")
    assert state == {
        "type": "state",
        "state": "waiting",
        "therapist": "ready",
        "position": None,
        "reason": None,
        "eta": None,
    }
    pid = welcome["participant_id"]

    room = await therapist.until("room", lambda r: bool(r["waiting"]))
    assert [(w["participant_id"], w["name"], w["connected"]) for w in room["waiting"]] == [
        (pid, "Alex", True)
    ]

    await therapist.send(type="message", text="Running 5 minutes late")
    note = await client.expect("message")
    assert note["text"] == "Running 5 minutes late" and note["to_all"] is True
    await therapist.send(type="message", text="Just for you", to=pid)
    assert (await client.expect("message"))["to_all"] is False

    await therapist.send(type="admit", participant_ids=[pid])
    await client.expect("state", state="admitted")
    c_session = await client.expect("session")
    t_session = await therapist.until("session", lambda s: bool(s["peers"]))
    t_pid = t_welcome["participant_id"]
    assert [(p["participant_id"], p["polite"]) for p in c_session["peers"]] == [(t_pid, True)]
    assert [(p["participant_id"], p["polite"]) for p in t_session["peers"]] == [(pid, False)]

    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    await therapist.send(type="candidate", to=pid, candidate=candidate)
    got = await client.expect("candidate")
    assert got["from"] == t_pid and got["candidate"]["candidate"] == candidate["candidate"]
    await client.send(type="chat", text="hello")
    chat = await therapist.expect("chat")
    assert (chat["from"], chat["name"], chat["text"]) == (pid, "Alex", "hello")
    await client.send(type="media", audio=False, video=True)
    media = await therapist.expect("media")
    assert (media["from"], media["audio"], media["video"]) == (pid, False, True)

    await therapist.send(type="end_session")
    bye = await client.expect("bye")
    assert bye["code"] == "session_ended" and bye["reconnect"] is False
    assert await client.closed() == 4013


async def test_waiting_clients_learn_nothing_about_each_other(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    first, w1 = await join(
        topology.client_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "Alex Private",
    )
    second, _w2 = await join(
        topology.client_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "Sam Private",
    )
    await therapist.send(type="admit", participant_ids=[w1["participant_id"]])
    await first.expect("session")
    await second.expect("state", therapist="in_session")
    await therapist.send(type="message", text="Soon")
    await second.expect("message")
    # Nothing the second client received names the first, or carries SDP or candidates.
    raw = repr(second.seen)
    assert w1["participant_id"] not in raw and "Alex Private" not in raw
    assert not {"session", "offer", "answer", "candidate", "room"} & set(second.types())
    # And a waiting client cannot signal into the session.
    await second.send(type="candidate", to=w1["participant_id"], candidate={"candidate": ""})
    assert (await second.expect("error"))["code"] == "not_admitted"


async def test_signaling_to_a_waiting_client_is_refused(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    client, welcome = await join(
        topology.client_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "Alex",
    )
    await therapist.send(
        type="candidate", to=welcome["participant_id"], candidate={"candidate": ""}
    )
    error = await therapist.expect("error")
    assert (error["code"], error["ref"]) == ("not_admitted", "candidate")
    await client.send(type="ping", id=7)
    await client.expect("pong", id=7)
    assert "candidate" not in client.types()


async def test_waiting_client_drops_and_keeps_their_place(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    tokens = [topology.minter.mint_client(ROOM, ttl=600) for _ in range(2)]
    first, w1 = await join(topology.client_url, "client", tokens[0], ROOM, "First")
    _second, _ = await join(topology.client_url, "client", tokens[1], ROOM, "Second")
    await first.close()
    room = await therapist.until("room", lambda r: not r["waiting"][0]["connected"])
    assert room["waiting"][0]["participant_id"] == w1["participant_id"]

    again, welcome = await join(
        topology.client_url, "client", tokens[0], ROOM, "First", resume=w1["resume"]
    )
    assert welcome["resumed"] is True and welcome["participant_id"] == w1["participant_id"]
    assert (await again.expect("state"))["state"] == "waiting"
    room = await therapist.until("room", lambda r: r["waiting"][0]["connected"])
    assert [w["name"] for w in room["waiting"]] == ["First", "Second"]


async def test_admitted_client_drops_and_resumes_without_knocking(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    token = topology.minter.mint_client(ROOM, ttl=600)
    client, welcome = await join(topology.client_url, "client", token, ROOM, "Alex")
    await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
    await client.expect("session")
    await client.close()
    await therapist.until("session", lambda s: bool(s["peers"]) and not s["peers"][0]["connected"])

    again, welcome2 = await join(
        topology.client_url, "client", token, ROOM, "Alex", resume=welcome["resume"]
    )
    assert welcome2["resumed"] is True
    assert (await again.expect("state"))["state"] == "admitted"
    assert len((await again.expect("session"))["peers"]) == 1
    await therapist.until("session", lambda s: s["peers"][0]["connected"])


async def test_therapist_drop_tells_the_client_they_are_reconnecting(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    client, welcome = await join(
        topology.client_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "Alex",
    )
    await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
    await client.expect("state", state="admitted")
    await therapist.close()
    await client.expect("state", state="admitted", therapist="reconnecting")
    _back, t_welcome = await therapist_in(topology)
    assert t_welcome["resumed"] is True
    await client.expect("state", state="admitted", therapist="ready")


async def test_second_tab_replaces_the_first(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    token = topology.minter.mint_client(ROOM, ttl=600)
    first, w1 = await join(topology.client_url, "client", token, ROOM, "Alex")
    second, welcome = await join(
        topology.therapist_url, "client", token, ROOM, "Alex", resume=w1["resume"]
    )
    assert welcome["resumed"] is True
    assert await first.closed() == 4010
    assert first.seen[-1]["code"] == "replaced"
    await second.send(type="ping", id=1)
    await second.expect("pong")


async def test_couples_session_mesh(topology: Topology, http: aiohttp.ClientSession) -> None:
    therapist, t_welcome = await therapist_in(topology)
    a, wa = await join(
        topology.client_url, "client", topology.minter.mint_client(ROOM, ttl=600), ROOM, "A"
    )
    b, wb = await join(
        topology.therapist_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "B",
    )
    pa, pb, pt = wa["participant_id"], wb["participant_id"], t_welcome["participant_id"]
    await therapist.send(type="admit", participant_ids=[pa, pb])
    sa = await a.until("session", lambda s: len(s["peers"]) == 2)
    sb = await b.until("session", lambda s: len(s["peers"]) == 2)
    roles_a = {p["participant_id"]: p["polite"] for p in sa["peers"]}
    roles_b = {p["participant_id"]: p["polite"] for p in sb["peers"]}
    assert roles_a[pt] is True and roles_b[pt] is True
    assert roles_a[pb] != roles_b[pa]  # exactly one of the pair is polite
    await a.send(type="candidate", to=pb, candidate={"candidate": ""})
    assert (await b.expect("candidate"))["from"] == pa


async def test_session_is_capped(topology: Topology, http: aiohttp.ClientSession) -> None:
    therapist, _ = await therapist_in(topology)
    pids = []
    for i in range(4):
        _, w = await join(
            topology.client_url,
            "client",
            topology.minter.mint_client(ROOM, ttl=600),
            ROOM,
            f"C{i}",
        )
        pids.append(w["participant_id"])
    await therapist.send(type="admit", participant_ids=pids)
    assert (await therapist.expect("error"))["code"] == "room_full"
    await therapist.send(type="admit", participant_ids=pids[:3])
    room = await therapist.until("room", lambda r: len(r["session"]) == 3)
    assert [w["participant_id"] for w in room["waiting"]] == pids[3:]


async def test_deny_closes_with_a_named_code(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, _ = await therapist_in(topology)
    token = topology.minter.mint_client(ROOM, ttl=600)
    client, welcome = await join(topology.client_url, "client", token, ROOM, "Alex")
    await therapist.send(type="deny", participant_id=welcome["participant_id"])
    assert await client.closed() == 4011
    again = await open_ws(topology.client_url)
    await again.send(type="auth", role="client", token=token, room=ROOM, name="Alex")
    assert await again.closed() == 4011


async def test_admin_sees_rooms_across_nodes(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    await therapist_in(topology)
    await join(
        topology.client_url,
        "client",
        topology.minter.mint_client(ROOM, ttl=600),
        ROOM,
        "Alex Secret",
    )
    admin = topology.minter.mint_admin("ops", 600)
    url = topology.therapist_url + "api/rooms"
    async with http.get(url, headers={"Authorization": f"Bearer {admin}"}) as resp:
        assert resp.status == 200
        body = await resp.json()
    (room,) = [r for r in body["rooms"] if r["room"] == ROOM]
    assert room["therapist_present"] and room["waiting"] == 1
    assert "Alex Secret" not in repr(body)  # ids and roles only
    assert len({p["node"] for p in room["participants"]}) == len(topology.servers)

    feed = await open_ws(topology.client_url)
    await feed.send(type="auth", role="admin", token=admin)
    rooms = await feed.expect("rooms")
    assert ROOM in [r["room"] for r in rooms["rooms"]]

    async with http.post(
        topology.client_url + f"api/rooms/{ROOM}/end", headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["ended"] == 2
    async with http.get(url, headers={"Authorization": f"Bearer {admin}"}) as resp:
        assert ROOM not in [r["room"] for r in (await resp.json())["rooms"]]
    await asyncio.sleep(0)
