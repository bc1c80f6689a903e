"""Running late and replies over real WebSockets, on one node and on two nodes sharing Redis (the
client on node A, the therapist on node B): the therapist's notice reaches every waiting client
with an ETA, a later arrival sees it, 0 and an admit clear it, bad values change nothing; a
waiting client's reply reaches the therapist, within its length and rate, unless turned off."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from signaling.messages import MAX_REPLY
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.web.limiting import REPLIES_PER_WINDOW
from tests.e2e.conftest import Topology, join, settings_for

ROOM = "room-late"
TOLERANCE_S = 30  # a loaded machine: the ETA is "about" ten minutes ahead
REPLY = "Yes, I'm still here — Wren Ashby"  # typed text: it must reach only the therapist


async def therapist_in(url: str, minter: TokenMinter) -> tuple[RawSocket, dict[str, Any]]:
    ws, welcome = await join(url, "therapist", minter.mint_therapist("dr-late", [ROOM], 600), ROOM)
    await ws.expect("room")
    return ws, welcome


async def client_in(url: str, minter: TokenMinter, name: str) -> tuple[RawSocket, dict[str, Any]]:
    ws, welcome = await join(url, "client", minter.mint_client(ROOM, ttl=600), ROOM, name)
    await ws.expect("state", state="waiting")
    return ws, welcome


async def test_running_late_reaches_every_waiting_client_with_an_eta(topology: Topology) -> None:
    therapist, _ = await therapist_in(topology.therapist_url, topology.minter)
    first, w1 = await client_in(topology.client_url, topology.minter, "Alex")
    second, _ = await client_in(topology.client_url, topology.minter, "Sam")

    asked = time.time()
    await therapist.send(type="running_late", minutes=10)
    for client in (first, second):
        state = await client.until("state", lambda s: s["eta"] is not None, timeout=10)
        assert state["state"] == "waiting"
        assert abs(state["eta"] - (asked + 600)) < TOLERANCE_S
    console = await therapist.until("room", lambda r: r["eta"] is not None, timeout=10)
    assert console["eta"] == state["eta"]

    # A client who arrives later sees the notice as it stands.
    late, _ = await join(
        topology.client_url, "client", topology.minter.mint_client(ROOM, ttl=600), ROOM, "Kai"
    )
    assert (await late.expect("state"))["eta"] == state["eta"]

    # An update moves the ETA; 0 clears it.
    await therapist.send(type="running_late", minutes=5)
    moved = await first.until("state", lambda s: s["eta"] not in (None, state["eta"]), timeout=10)
    assert abs(moved["eta"] - (time.time() + 300)) < TOLERANCE_S
    await therapist.send(type="running_late", minutes=0)
    for client in (first, second, late):
        await client.until("state", lambda s: s["eta"] is None, timeout=10)

    # An admit ends the notice: the admitted client and those still waiting see no ETA.
    await therapist.send(type="running_late", minutes=15)
    await second.until("state", lambda s: s["eta"] is not None, timeout=10)
    await therapist.send(type="admit", participant_ids=[w1["participant_id"]])
    admitted = await first.expect("state", state="admitted", timeout=10)
    assert admitted["eta"] is None
    await second.until("state", lambda s: s["eta"] is None, timeout=10)
    await therapist.until("room", lambda r: r["eta"] is None, timeout=10)


@pytest.mark.parametrize(
    "minutes", [-1, 121, 7.5, "10", True, None], ids=lambda m: f"minutes={m!r}"
)
async def test_bad_minutes_are_refused_and_change_nothing(
    topology: Topology, minutes: object
) -> None:
    therapist, _ = await therapist_in(topology.therapist_url, topology.minter)
    client, _ = await client_in(topology.client_url, topology.minter, "Alex")
    await therapist.send(type="running_late", minutes=10)
    set_to = (await client.until("state", lambda s: s["eta"] is not None, timeout=10))["eta"]

    await therapist.send(type="running_late", minutes=minutes)
    error = await therapist.expect("error")
    assert (error["code"], error["ref"]) == ("invalid_message", None)
    # The notice stands: a client arriving now sees the same ETA.
    later, _ = await join(
        topology.client_url, "client", topology.minter.mint_client(ROOM, ttl=600), ROOM, "Kai"
    )
    assert (await later.expect("state"))["eta"] == set_to


async def test_a_client_cannot_send_running_late(topology: Topology) -> None:
    await therapist_in(topology.therapist_url, topology.minter)
    client, _ = await client_in(topology.client_url, topology.minter, "Alex")
    await client.send(type="running_late", minutes=10)
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("forbidden", "running_late")
    later, _ = await join(
        topology.client_url, "client", topology.minter.mint_client(ROOM, ttl=600), ROOM, "Kai"
    )
    assert (await later.expect("state"))["eta"] is None


async def test_running_late_is_audited_with_the_minutes_only(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    therapist, t_welcome = await therapist_in(topology.therapist_url, topology.minter)
    await therapist.send(type="running_late", minutes=10)
    await therapist.until("room", lambda r: r["eta"] is not None, timeout=10)
    await therapist.send(type="running_late", minutes=0)
    await therapist.until("room", lambda r: r["eta"] is None, timeout=10)
    admin = topology.minter.mint_admin("admin-late")
    url = f"{topology.client_url}api/audit?room={ROOM}"
    late: list[dict[str, Any]] = []
    for _ in range(50):  # the audit line follows the commit: wait for both
        async with http.get(url, headers={"Authorization": f"Bearer {admin}"}) as resp:
            assert resp.status == 200
            text = await resp.text()
        docs = [d for d in map(_json, text.splitlines()) if d]
        late = [d for d in docs if d["event"]["action"] == "rapport.running_late"]
        if len(late) == 2:
            break
        await therapist.send(type="ping", id=1)  # a round trip, then look again
        await therapist.expect("pong")
    assert [d["rapport"]["minutes"] for d in late] == [10, 0]
    assert {d["user"]["id"] for d in late} == {"dr-late"}
    assert {d["entity"]["target"]["id"] for d in late} == {t_welcome["participant_id"]}


def _json(line: str) -> dict[str, Any]:
    return json.loads(line) if line.strip() else {}


async def test_a_reply_reaches_the_therapist_only(
    topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    therapist, _ = await therapist_in(topology.therapist_url, topology.minter)
    client, welcome = await client_in(topology.client_url, topology.minter, "Alex")
    other, _ = await client_in(topology.client_url, topology.minter, "Sam")
    assert welcome["replies"] is True
    await therapist.send(type="message", text="Are you still there?", to=welcome["participant_id"])
    await client.expect("message")

    await client.send(type="reply", text=REPLY)
    reply = await therapist.expect("reply", timeout=10)
    assert (reply["from"], reply["text"]) == (welcome["participant_id"], REPLY)
    assert abs(reply["at"] - time.time()) < TOLERANCE_S
    await other.send(type="ping", id=2)
    await other.expect("pong")
    assert "reply" not in other.types()
    assert REPLY not in caplog.text  # typed text never reaches a log line


async def test_replies_are_limited_in_length_and_rate(topology: Topology) -> None:
    therapist, t_welcome = await therapist_in(topology.therapist_url, topology.minter)
    client, _ = await client_in(topology.client_url, topology.minter, "Alex")

    await client.send(type="reply", text="x" * (MAX_REPLY + 1))
    assert (await client.expect("error"))["code"] == "invalid_message"
    await client.send(type="reply", text="   ")
    assert (await client.expect("error"))["code"] == "invalid_message"
    for i in range(REPLIES_PER_WINDOW):
        await client.send(type="reply", text=f"reply {i}")
        assert (await therapist.expect("reply", timeout=10))["text"] == f"reply {i}"
    await client.send(type="reply", text="one too many")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("too_many_replies", "reply")
    assert error["retry_after"] >= 1

    # Replies are a waiting client's: not the therapist's.
    await therapist.send(type="reply", text="hello")
    assert (await therapist.expect("error"))["code"] == "forbidden"
    assert t_welcome["replies"] is False


@pytest.fixture
async def replies_off() -> AsyncIterator[str]:
    server = TestServer(create_app(settings_for(client_replies=False)), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


async def test_a_deployment_can_turn_replies_off(replies_off: str) -> None:
    minter = TokenMinter(settings_for())
    therapist, _ = await therapist_in(replies_off, minter)
    client, welcome = await join(
        replies_off, "client", minter.mint_client(ROOM, ttl=600), ROOM, "Alex"
    )
    assert welcome["replies"] is False
    await client.send(type="reply", text="Still here")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("replies_off", "reply")
    await therapist.send(type="ping", id=3)
    await therapist.expect("pong")
    assert "reply" not in therapist.types()
