"""Check-in over the WebSocket: the emergency information a client gives reaches their
therapist's room view, and nothing else (the admin's REST and feed, the monitor, the audit
trail, webhooks, the event feed, metrics); it is forgotten when the client's record ends, in
memory and in Redis. A join without it says "not given" (null); bad fields are refused with a
named close code and change nothing. With a consent text set, a client's auth must carry its
version, and the consent is audited with it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from telehealth import rediskeys
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from telehealth.web import keys
from tests.e2e.conftest import Topology, join, open_ws, settings_for
from tests.webhook_receiver import Receiver

ROOM = "room-checkin"
NAME = "Zebulon Quixote"
LOCATION = "Flat 4, 17 Canary Wharf Lane, Leeds"
PHONE = "+44 7700 900461"
EMERGENCY = {"location": LOCATION, "phone": PHONE}
METRICS_TOKEN = "m" * 32
CONSENT = "I agree to a video session with my therapist; it is not recorded."
CONSENT_VERSION = hashlib.sha256(CONSENT.encode()).hexdigest()[:16]


async def start(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


def private(text: str) -> list[str]:
    """Which of the emergency information's parts ``text`` holds (none, it must be)."""
    return [part for part in (LOCATION, "Canary Wharf", PHONE, "7700 900461") if part in text]


async def test_the_therapist_sees_it_on_the_clients_card_on_any_node(topology: Topology) -> None:
    minter = topology.minter
    therapist, _ = await join(
        topology.therapist_url, "therapist", minter.mint_therapist("dr-c", [ROOM]), ROOM
    )
    client, welcome = await join(
        topology.client_url,
        "client",
        minter.mint_client(ROOM),
        ROOM,
        NAME,
        emergency={"location": "  Flat 4,\t17 Canary Wharf Lane,  Leeds ", "phone": PHONE},
    )
    pid = welcome["participant_id"]
    bare, bare_welcome = await join(
        topology.client_url, "client", minter.mint_client(ROOM), ROOM, "B"
    )
    room = await therapist.until("room", lambda m: len(m["waiting"]) == 2)
    cards = {w["participant_id"]: w for w in room["waiting"]}
    assert cards[pid]["emergency"] == EMERGENCY  # trimmed, runs of white space made one
    assert cards[bare_welcome["participant_id"]]["emergency"] is None  # "not given"

    # In session too, the therapist keeps it on the client's card; the client's own views
    # (state, session) never carry it.
    await therapist.send(type="admit", participant_ids=[pid])
    room = await therapist.until("room", lambda m: len(m["session"]) == 1)
    assert room["session"][0]["emergency"] == EMERGENCY
    await client.expect("session")
    assert not private(json.dumps(client.seen))
    assert not private(json.dumps(bare.seen))
    for ws in (client, bare, therapist):
        await ws.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_server").url}


async def test_it_reaches_nobody_else_and_is_forgotten_when_the_record_ends(
    backend: dict[str, Any], receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    settings = settings_for(
        webhook_url=receiver.url,
        webhook_secret=receiver.secret,
        webhook_backoff=0.05,
        metrics_token=METRICS_TOKEN,
        **backend,
    )
    server = await start(settings)
    url = str(server.make_url("/"))
    minter = TokenMinter(settings)
    admin = {"Authorization": f"Bearer {minter.mint_admin('ops', 600)}"}
    try:
        feed = await open_ws(url)
        await feed.send(type="auth", role="admin", token=minter.mint_admin("ops", 600))
        await feed.expect("rooms")
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-c", [ROOM]), ROOM)
        client, welcome = await join(
            url, "client", minter.mint_client(ROOM), ROOM, NAME, emergency=EMERGENCY
        )
        pid = welcome["participant_id"]
        room = await therapist.until("room", lambda m: len(m["waiting"]) == 1)
        assert room["waiting"][0]["emergency"] == EMERGENCY
        await feed.until("rooms", lambda m: any(r["room"] == ROOM for r in m["rooms"]))
        presence = server.app[keys.PRESENCE]
        held = (await presence.load(ROOM)).participants[pid]
        assert held.emergency is not None and held.emergency.phone == PHONE

        await therapist.send(type="admit", participant_ids=[pid])
        await client.expect("state", state="admitted")
        await client.send(type="leave")
        await client.closed()
        await therapist.until("room", lambda m: not m["session"])
        await receiver.until(lambda rs: len(receiver.delivered()) >= 4)

        # Everything an admin, the monitor, the practice's systems and Prometheus can read.
        seen: list[str] = [json.dumps(feed.seen)]
        for path in (
            "api/rooms",
            f"api/rooms/{ROOM}",
            f"api/rooms/{ROOM}/timeline",
            "api/monitor/waits",
            f"api/audit?room={ROOM}",
            f"api/events?room={ROOM}",
            "metrics",
        ):
            token = {"Authorization": f"Bearer {METRICS_TOKEN}"} if path == "metrics" else admin
            async with http.get(url + path, headers=token) as resp:
                assert resp.status == 200, path
                seen.append(await resp.text())
        seen += [r.body.decode() for r in receiver.requests]
        assert all(seen) and not private("\n".join(seen))

        # The record ended (left): the store no longer holds what the client gave.
        left = (await presence.load(ROOM)).participants[pid]
        assert left.state == "left" and left.emergency is None and left.name == NAME
        if backend:
            store = aioredis.from_url(backend["redis_url"])
            try:
                raw = await store.hgetall(rediskeys.room_participants(ROOM))
            finally:
                await store.aclose()
            assert raw and not private(repr(raw))
        for ws in (therapist, feed):
            await ws.close()
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("emergency", "why"),
    [
        ({"location": "x" * 201, "phone": PHONE}, "a location over 200 characters"),
        ({"location": "Home\u0000", "phone": PHONE}, "a control character"),
        ({"location": "Home", "phone": "call me maybe"}, "letters in the phone number"),
        ({"location": "Home", "phone": "1" * 33}, "a phone number over 32 characters"),
        ({"location": "Home", "phone": "12"}, "too few digits"),
        ({"location": "Home", "phone": "12+34567"}, "a + inside the number"),
    ],
)
async def test_bad_emergency_fields_are_refused_and_change_nothing(
    emergency: dict[str, str], why: str
) -> None:
    settings = settings_for()
    server = await start(settings)
    url = str(server.make_url("/"))
    minter = TokenMinter(settings)
    try:
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-c", [ROOM]), ROOM)
        before = await therapist.expect("room")
        client = await open_ws(url)
        await client.send(
            type="auth",
            role="client",
            token=minter.mint_client(ROOM),
            room=ROOM,
            name=NAME,
            emergency=emergency,
        )
        assert await client.closed() == 4032, why
        assert [m.get("code") for m in client.seen if m["type"] == "bye"] == ["invalid_emergency"]
        assert "welcome" not in client.types()
        snapshot = await server.app[keys.PRESENCE].load(ROOM)
        assert [p.role for p in snapshot.participants.values()] == ["therapist"]
        assert snapshot.version == before["version"]
        await therapist.close()
    finally:
        await server.close()


async def test_when_the_deployment_turns_it_off_nothing_is_kept() -> None:
    settings = settings_for(emergency_info=False)
    server = await start(settings)
    url = str(server.make_url("/"))
    minter = TokenMinter(settings)
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "api/checkin") as resp:
            assert await resp.json() == {"consent": None, "emergency_info": False}
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-c", [ROOM]), ROOM)
        client, welcome = await join(
            url, "client", minter.mint_client(ROOM), ROOM, NAME, emergency=EMERGENCY
        )
        room = await therapist.until("room", lambda m: len(m["waiting"]) == 1)
        assert room["waiting"][0]["emergency"] is None
        snapshot = await server.app[keys.PRESENCE].load(ROOM)
        assert snapshot.participants[welcome["participant_id"]].emergency is None
        for ws in (client, therapist):
            await ws.close()
    finally:
        await server.close()


async def test_consent_is_required_refused_when_stale_and_audited_with_its_version(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for(consent_text=CONSENT)
    assert settings.consent_version == CONSENT_VERSION
    server = await start(settings)
    url = str(server.make_url("/"))
    minter = TokenMinter(settings)
    try:
        async with http.get(url + "api/checkin") as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "consent": {"version": CONSENT_VERSION, "text": CONSENT},
                "emergency_info": True,
            }
        link = minter.mint_client(ROOM)
        for consent in (None, "0123456789abcdef", CONSENT_VERSION.upper()):
            client = await open_ws(url)
            auth = {"type": "auth", "role": "client", "token": link, "room": ROOM, "name": NAME}
            await client.send(**auth, **({"consent": consent} if consent else {}))
            assert await client.closed() == 4031, consent
            assert [m["code"] for m in client.seen if m["type"] == "bye"] == ["consent_required"]
        assert not (await server.app[keys.PRESENCE].load(ROOM)).participants

        client, welcome = await join(url, "client", link, ROOM, NAME, consent=CONSENT_VERSION)
        pid = welcome["participant_id"]
        # A refresh resumes the same record: the consent was given once.
        await client.close()
        again, _ = await join(
            url, "client", link, ROOM, NAME, consent=CONSENT_VERSION, resume=welcome["resume"]
        )
        await again.close()
        # The therapist joins without any consent of their own.
        therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-c", [ROOM]), ROOM)
        await therapist.close()

        admin = {"Authorization": f"Bearer {minter.mint_admin('ops', 600)}"}
        async with http.get(url + f"api/audit?room={ROOM}", headers=admin) as resp:
            assert resp.status == 200
            text = await resp.text()
        docs = [json.loads(line) for line in text.splitlines() if line]
        given = [d for d in docs if d["event"]["action"] == "rapport.consent_given"]
        assert len(given) == 1
        (doc,) = given
        assert doc["rapport"]["consent_version"] == CONSENT_VERSION
        assert doc["entity"]["target"]["id"] == pid
        assert doc["@timestamp"].endswith("Z")
        refused = [
            d["event"].get("reason") for d in docs if d["event"]["action"] == "rapport.join_refused"
        ]
        assert refused == ["consent_required"] * 3
        assert CONSENT not in text and "not recorded" not in text
    finally:
        await server.close()


async def test_without_a_consent_text_nothing_is_required() -> None:
    settings = settings_for()
    server = await start(settings)
    url = str(server.make_url("/"))
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "api/checkin") as resp:
            assert await resp.json() == {"consent": None, "emergency_info": True}
        client, _ = await join(url, "client", TokenMinter(settings).mint_client(ROOM), ROOM, NAME)
        await client.close()
    finally:
        await server.close()
