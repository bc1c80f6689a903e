"""Sessions end when their authority ends: expiry, reauth, refresh, the client's overrun,
revocation on every node, and TURN credentials that follow the token.

Tokens here live a few seconds (leeway 0, the sweep runs every second), so each test waits for
the server's own close or message rather than for a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.rawsocket import RawSocket
from telehealth.app import create_app
from telehealth.audit.trail import PRACTICE
from telehealth.auth.principal import Kind
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from telehealth.web import keys
from telehealth.web.authority import sweep
from tests.conftest import RedisServer
from tests.e2e.conftest import join, open_ws, settings_for

ROOM = "room-authority"
SESSION_EXPIRED, TIME_UP, TOKEN_EXPIRED, TOKEN_REVOKED = 4019, 4020, 4004, 4006


async def _serve(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def short() -> AsyncIterator[tuple[str, TokenMinter, TestServer]]:
    """One node where tokens end exactly at exp (no leeway) and nobody refreshes them."""
    settings = settings_for(jwt_leeway=0, token_refresh=False, session_overrun=2.0)
    server = await _serve(settings)
    yield str(server.make_url("/")), TokenMinter(settings), server
    await server.close()


async def _admin_feed(http: aiohttp.ClientSession, url: str, token: str) -> RawSocket:
    ws = await open_ws(url)
    await ws.send(type="auth", role="admin", token=token)
    await ws.expect("rooms")
    return ws


async def _post(
    http: aiohttp.ClientSession, url: str, token: str, body: Any
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(url + "api/revocations", headers=headers, json=body) as resp:
        return resp.status, await resp.json()


async def _still_open(ws: RawSocket, ping_id: int) -> None:
    await ws.send(type="ping", id=ping_id)
    await ws.expect("pong", id=ping_id)


async def test_admin_feed_with_a_short_token_closes_after_it_expires(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, _ = short
    # 6 s: the warning comes a third of the life before the close, so a 2 s window that the
    # once-a-second sweep cannot miss even on a loaded machine.
    feed = await _admin_feed(http, url, minter.mint_admin("ops-1", ttl=6))
    warning = await feed.expect("token_expiring", timeout=10)
    assert warning["code"] == "session_expired"
    assert await feed.closed(timeout=12) == SESSION_EXPIRED
    bye = next(m for m in feed.seen if m["type"] == "bye")
    assert bye["code"] == "session_expired" and not bye["reconnect"]
    assert time.time() >= warning["closes_at"]


async def test_an_admin_feed_takes_a_fresh_admin_token_of_the_same_person(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, _ = short
    feed = await _admin_feed(http, url, minter.mint_admin("ops-1", ttl=600))
    for token in (minter.mint_admin("ops-2", 600), minter.mint_therapist("ops-1", [ROOM], 600)):
        await feed.send(type="reauth", token=token)
        assert (await feed.expect("error"))["code"] == "reauth_refused"
    await feed.send(type="reauth", token=minter.mint_admin("ops-1", ttl=1200))
    assert (await feed.expect("reauthed"))["expires_at"] > time.time() + 1100


async def test_reauth_extends_a_therapist_socket_and_bad_reauth_changes_nothing(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, _ = short
    renewed, _ = await join(url, "therapist", minter.mint_therapist("dr-1", [ROOM], 3), ROOM)
    unchanged, _ = await join(url, "therapist", minter.mint_therapist("dr-2", [ROOM], 3), ROOM)
    # Refused, each with a named code, and the socket stays open.
    refusals = [
        (minter.mint_therapist("dr-1", [ROOM], 600), "reauth_refused"),  # another person
        (minter.mint_therapist("dr-2", ["room-other"], 600), "reauth_refused"),  # another room
        (minter.mint_admin("dr-2", 600), "reauth_refused"),  # another kind
        (minter.mint_client(ROOM, 600, subject="dr-2"), "wrong_token_kind"),
        ("not-a-token", "token_invalid"),
    ]
    for token, code in refusals:
        await unchanged.send(type="reauth", token=token)
        error = await unchanged.expect("error")
        assert (error["code"], error["ref"]) == (code, "reauth")
    await renewed.send(type="reauth", token=minter.mint_therapist("dr-1", [ROOM], 600))
    assert (await renewed.expect("reauthed"))["expires_at"] > time.time() + 500
    # The socket whose reauths were refused still ends at its own token's expiry ...
    assert await unchanged.closed(timeout=6) == SESSION_EXPIRED
    # ... which has passed for the renewed one too (same exp): it stays open.
    await _still_open(renewed, 1)


async def test_the_node_refreshes_a_therapist_token_ahead_of_expiry(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for(jwt_leeway=0)
    server = await _serve(settings)
    try:
        url, minter = str(server.make_url("/")), TokenMinter(settings)
        old = minter.mint_therapist("dr-1", [ROOM], 4)
        ws, _ = await join(url, "therapist", old, ROOM)
        refreshed = await ws.expect("token_refreshed", timeout=6)
        principal = await server.app[keys.VERIFIER].verify(refreshed["token"], Kind.THERAPIST)
        assert principal.subject == "dr-1" and principal.expires_at == refreshed["expires_at"]
        assert refreshed["token"] != old
        assert "ice_servers" in (await ws.expect("ice_servers"))
    finally:
        await server.close()


async def test_a_client_in_session_closes_after_the_overrun_and_a_waiting_one_at_exp(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, server = short
    therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-1", [ROOM], 600), ROOM)
    link = minter.mint_client(ROOM, ttl=3)
    client, welcome = await join(url, "client", link, ROOM, name="Alex")
    waiting, _ = await join(url, "client", minter.mint_client(ROOM, ttl=3), ROOM, "Sam")
    await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
    await client.expect("state", state="admitted")
    exp = await server.app[keys.VERIFIER].verify(link, Kind.CLIENT)
    assert await waiting.closed(timeout=6) == TOKEN_EXPIRED  # the link's exp, no overrun
    warning = await client.expect("token_expiring", timeout=6)
    assert warning["code"] == "time_up"
    assert warning["closes_at"] == pytest.approx(exp.expires_at + 2.0)
    assert await client.closed(timeout=6) == TIME_UP
    assert time.time() >= exp.expires_at + 2.0
    # Both have left the room: the therapist's view empties.
    await therapist.until("room", lambda m: not m["waiting"] and len(m["session"]) == 1)


async def test_an_admitted_client_may_come_back_after_exp_within_the_overrun(
    http: aiohttp.ClientSession,
) -> None:
    server = await _serve(settings_for(jwt_leeway=0, token_refresh=False, session_overrun=4.0))
    try:
        url, minter = str(server.make_url("/")), TokenMinter(server.app[keys.SETTINGS])
        therapist, _ = await join(
            url, "therapist", minter.mint_therapist("dr-1", [ROOM], 600), ROOM
        )
        link, waiting_link = minter.mint_client(ROOM, ttl=3), minter.mint_client(ROOM, ttl=3)
        client, welcome = await join(url, "client", link, ROOM, name="Alex")
        waiting, _ = await join(url, "client", waiting_link, ROOM, "Sam")
        await therapist.send(type="admit", participant_ids=[welcome["participant_id"]])
        await client.expect("state", state="admitted")
        assert await waiting.closed(timeout=6) == TOKEN_EXPIRED  # both links have expired now
        await client.close()  # a dropped connection ...
        back, again = await join(url, "client", link, ROOM, "Alex", resume=welcome["resume"])
        assert again["resumed"] is True  # ... comes back (the same device) to finish the session
        refused = await open_ws(url)  # a waiting client's expired link does not
        await refused.send(type="auth", role="client", token=waiting_link, room=ROOM, name="Sam")
        assert await refused.closed() == TOKEN_EXPIRED
        assert await back.closed(timeout=8) == TIME_UP
    finally:
        await server.close()


async def test_bad_revocation_input_gets_named_errors_and_changes_nothing(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, _ = short
    therapist_token = minter.mint_therapist("dr-1", [ROOM], 600)
    therapist, _ = await join(url, "therapist", therapist_token, ROOM)
    admin = minter.mint_admin("ops-1", 600)
    cases: list[tuple[str, Any, int, str]] = [
        (admin, {}, 400, "invalid_message"),
        (admin, {"jti": "a", "subject": "dr-1"}, 400, "invalid_message"),
        (admin, {"subject": ""}, 400, "invalid_message"),
        (admin, {"subject": 7}, 400, "invalid_message"),
        (admin, {"token": therapist_token}, 400, "unknown_field"),
        (admin, [], 400, "invalid_message"),
        (therapist_token, {"subject": "dr-1"}, 403, "wrong_token_kind"),
    ]
    for token, body, status, code in cases:
        got_status, got = await _post(http, url, token, body)
        assert (got_status, got["error"]["code"]) == (status, code), body
    await _still_open(therapist, 1)
    async with http.post(url + "api/revocations", data=b"{") as resp:
        assert resp.status == 401


async def test_revoking_by_jti_closes_that_socket_and_refuses_the_token(
    short: tuple[str, TokenMinter, TestServer], http: aiohttp.ClientSession
) -> None:
    url, minter, server = short
    token = minter.mint_therapist("dr-1", [ROOM], 600)
    other = minter.mint_therapist("dr-1", [ROOM], 600)  # same person, another token
    ws, _ = await join(url, "therapist", token, ROOM)
    jti = (await server.app[keys.VERIFIER].verify(token, Kind.THERAPIST)).jti
    status, body = await _post(http, url, minter.mint_admin("ops-1", 600), {"jti": jti})
    assert status == 200 and body["closed_here"] == 1
    assert await ws.closed() == TOKEN_REVOKED
    refused = await open_ws(url)
    await refused.send(type="auth", role="therapist", token=token, room=ROOM)
    assert await refused.closed() == TOKEN_REVOKED
    again, _ = await join(url, "therapist", other, ROOM)  # only that token
    await _still_open(again, 2)


@pytest.mark.redis
async def test_revoking_a_subject_on_one_node_closes_their_socket_on_the_other(
    redis_server: RedisServer, http: aiohttp.ClientSession
) -> None:
    settings = settings_for(redis_url=redis_server.url)
    a = await _serve(settings.with_(node_id="n-a"))
    b = await _serve(settings.with_(node_id="n-b"))
    try:
        url_a, url_b = str(a.make_url("/")), str(b.make_url("/"))
        minter = TokenMinter(settings)
        token = minter.mint_therapist("dr-gone", [ROOM], 600)
        therapist, _ = await join(url_b, "therapist", token, ROOM)
        feed = await _admin_feed(http, url_b, minter.mint_admin("dr-gone", 600))
        bystander, _ = await join(
            url_b, "therapist", minter.mint_therapist("dr-stays", [ROOM], 600), ROOM
        )
        status, body = await _post(
            http, url_a, minter.mint_admin("ops-1", 600), {"subject": "dr-gone"}
        )
        assert status == 200 and body["closed_here"] == 0
        started = time.monotonic()
        assert await therapist.closed(timeout=5) == TOKEN_REVOKED
        assert await feed.closed(timeout=5) == TOKEN_REVOKED  # every kind of their tokens
        assert time.monotonic() - started < 5
        await _still_open(bystander, 1)
        for url in (url_a, url_b):  # the token is refused afterwards, on either node
            refused = await open_ws(url)
            await refused.send(type="auth", role="therapist", token=token, room=ROOM)
            assert await refused.closed() == TOKEN_REVOKED
        events = await a.app[keys.PRESENCE].events(PRACTICE)
        revoked = [e for e in events if e.entry.record.action == "token_revoked"]  # type: ignore[union-attr]
        assert len(revoked) == 1
        text = repr(revoked[0])
        assert "subject:dr-gone" in text and token not in text
    finally:
        await b.close()
        await a.close()


async def test_turn_credentials_expire_with_the_token_plus_the_overrun(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for(
        loopback=False,
        turn_urls=("turn:turn.example.test:3478",),
        turn_secret="turn-secret",
        turn_ttl=3600,
        session_overrun=600.0,
    )
    server = await _serve(settings)
    try:
        url, minter = str(server.make_url("/")), TokenMinter(settings)
        link = minter.mint_client(ROOM, ttl=900)
        _, welcome = await join(url, "client", link, ROOM, name="Alex")
        exp = (await server.app[keys.VERIFIER].verify(link, Kind.CLIENT)).expires_at
        turn = next(s for s in welcome["ice_servers"] if "username" in s)
        assert int(turn["username"].split(":")[0]) == int(exp + 600)  # not now + turn_ttl
        long_link = minter.mint_client(ROOM, ttl=24 * 3600)
        _, welcome = await join(url, "client", long_link, ROOM, name="Sam")
        turn = next(s for s in welcome["ice_servers"] if "username" in s)
        assert int(turn["username"].split(":")[0]) <= time.time() + 3600  # capped by turn_ttl
    finally:
        await server.close()


async def test_turn_credentials_are_renewed_over_the_socket_before_they_expire(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for(
        loopback=False, turn_urls=("turn:turn.example.test:3478",), turn_secret="s", turn_ttl=60
    )
    server = await _serve(settings)
    try:
        url, minter = str(server.make_url("/")), TokenMinter(settings)
        ws, welcome = await join(url, "client", minter.mint_client(ROOM, 3600), ROOM, "Al")
        first = int(welcome["ice_servers"][0]["username"].split(":")[0])
        # The sweep as it runs 50 s from now: the 60 s credentials are about to expire.
        sweep(server.app, time.time() + 50)
        renewed = await ws.expect("ice_servers")
        assert int(renewed["ice_servers"][0]["username"].split(":")[0]) > first
    finally:
        await server.close()


async def test_a_withdrawn_subject_never_gets_a_refreshed_token(
    http: aiohttp.ClientSession,
) -> None:
    settings = settings_for()
    server = await _serve(settings)
    try:
        url, minter = str(server.make_url("/")), TokenMinter(settings)
        token = minter.mint_therapist("dr-1", [ROOM], 600)
        ws, _ = await join(url, "therapist", token, ROOM)
        # Withdrawn in the store only (no announcement, so the socket is not closed by it):
        # the refresh must still look, and refuse.
        cutoff = int(time.time() * 1000) + 1000
        await server.app[keys.PRESENCE].revoke_subject("dr-1", cutoff, cutoff + 60_000)
        sweep(server.app, time.time() + 500)  # inside the refresh window
        await asyncio.gather(*server.app[keys.TASKS])
        await _still_open(ws, 1)
        assert "token_refreshed" not in ws.types()
    finally:
        await server.close()
