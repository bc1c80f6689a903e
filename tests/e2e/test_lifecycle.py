"""Grace periods end by themselves, and logs never carry names, tokens, SDPs or addresses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from tests.e2e.conftest import join, settings_for

ROOM = "room-g"


@pytest.fixture(params=["memory", "redis"])
async def short_grace(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, TokenMinter]]:
    overrides: dict[str, object] = {"grace": 0.6, "waiting_grace": 0.6, "node_heartbeat": 0.1}
    if request.param == "redis":
        overrides["redis_url"] = request.getfixturevalue("redis_server").url
    settings = settings_for(**overrides)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/")), TokenMinter(settings)
    await server.close()


async def test_dropped_participants_lapse_after_the_grace_period(
    short_grace: tuple[str, TokenMinter], http: aiohttp.ClientSession
) -> None:
    url, minter = short_grace
    therapist, _ = await join(url, "therapist", minter.mint_therapist("t", [ROOM], 600), ROOM)
    admitted, w1 = await join(url, "client", minter.mint_client(ROOM, ttl=600), ROOM, "A")
    waiting, _ = await join(url, "client", minter.mint_client(ROOM, ttl=600), ROOM, "B")
    await therapist.send(type="admit", participant_ids=[w1["participant_id"]])
    await therapist.until("room", lambda r: len(r["session"]) == 1)
    await admitted.close()
    await waiting.close()
    try:
        room = await therapist.until(
            "room", lambda r: not r["session"] and not r["waiting"], timeout=10
        )
    except TimeoutError:
        raise AssertionError(therapist.seen) from None
    assert room["version"] > 0


async def test_a_lapsed_client_can_knock_again(
    short_grace: tuple[str, TokenMinter], http: aiohttp.ClientSession
) -> None:
    url, minter = short_grace
    therapist, _ = await join(url, "therapist", minter.mint_therapist("t", [ROOM], 600), ROOM)
    token = minter.mint_client(ROOM, ttl=600)
    client, _ = await join(url, "client", token, ROOM, "A")
    await therapist.until("room", lambda r: len(r["waiting"]) == 1)
    await client.close()
    await therapist.until("room", lambda r: not r["waiting"], timeout=10)
    again, welcome = await join(url, "client", token, ROOM, "A")
    assert welcome["resumed"] is False
    assert (await again.expect("state"))["state"] == "waiting"


async def test_logs_carry_opaque_ids_only(
    short_grace: tuple[str, TokenMinter],
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url, minter = short_grace
    therapist_token = minter.mint_therapist("t", [ROOM], 600)
    client_token = minter.mint_client(ROOM, ttl=600)
    therapist, _ = await join(url, "therapist", therapist_token, ROOM, "Doctor Wholename")
    client, welcome = await join(url, "client", client_token, ROOM, "Clientina Surname")
    await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
    await client.expect("session")
    await client.send(type="offer", to="t-x", sdp="v=0\r\nnot really")
    await client.expect("error")
    await client.close()
    await therapist.until("room", lambda r: not r["session"], timeout=10)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert welcome["participant_id"] in text  # the opaque id is there...
    for secret in (
        "Doctor Wholename",
        "Clientina Surname",
        client_token,
        therapist_token,
        "not really",
        "127.0.0.1",
    ):
        assert secret not in text  # ...and nothing that names or locates a person
