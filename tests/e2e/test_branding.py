"""The practice's look and a room's profile over REST, on one in-memory node and on two nodes
sharing a real Redis (set on node A, read on node B).

``GET /api/config`` carries the practice (name, logo URL, the accent's palette, the support
contact), nulls without them; the logo is served by the node with its sniffed type and
``nosniff``. A room's profile is set by its therapist (``PUT /api/rooms/ROOM/profile``) and read
by its clients with their session-link token; bad input is refused with ``invalid_profile`` and
changes nothing; a therapist token's ``display_name`` claim names a room that has no name yet.
The text typed goes into no log line and no audit entry."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from telehealth.auth.tokens import TokenMinter
from tests.e2e.conftest import Topology, _start, join, settings_for

ROOM = "room-brand"
OTHER = "room-other"
NAME = "Dr. Imogen Vasquez-Thorne"
NOTE = "Welcome — I'm glad you're here.\nThe session starts on the hour."
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'


@pytest.fixture(params=["memory", "redis"])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Topology]:
    """One in-memory node, or two nodes sharing Redis: ``client_url`` is node A, where the
    therapist writes; ``therapist_url`` node B, where the client reads."""
    if request.param == "memory":
        settings = settings_for()
        servers = [await _start(settings)]
    else:
        settings = settings_for(redis_url=request.getfixturevalue("redis_server").url)
        servers = [
            await _start(settings.with_(node_id="n-a")),
            await _start(settings.with_(node_id="n-b")),
        ]
    a, b = (str(s.make_url("")).rstrip("/") for s in (servers[0], servers[-1]))
    yield Topology(request.param, a, b, settings, TokenMinter(settings), servers)
    for server in servers:
        await server.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = bearer(token) if token else {}
    async with http.request(method, url, headers=headers, json=body) as response:
        return response.status, await response.json()


async def test_the_profile_set_by_the_therapist_reaches_the_client(
    nodes: Topology, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    therapist = nodes.minter.mint_therapist("dr-v", [ROOM], 600)
    client = nodes.minter.mint_client(ROOM, ttl=600)
    path = f"/api/rooms/{ROOM}/profile"

    status, empty = await call(http, "GET", nodes.therapist_url + path, client)
    assert (status, empty) == (200, {"room": ROOM, "display_name": "", "welcome_note": ""})

    body = {"display_name": NAME, "welcome_note": NOTE.replace("\n", "\r\n") + "  "}
    status, saved = await call(http, "PUT", nodes.client_url + path, therapist, body)
    assert status == 200, saved
    assert saved["welcome_note"] == NOTE
    status, seen = await call(http, "GET", nodes.therapist_url + path, client)
    assert (status, seen["display_name"], seen["welcome_note"]) == (200, NAME, NOTE)

    # Bad input: a clear error, and the profile as it was.
    bad: list[dict[str, Any]] = [
        {"display_name": NAME, "welcome_note": "x" * 501},
        {"display_name": NAME, "welcome_note": "ring\x07"},
        {"display_name": "D" * 65, "welcome_note": NOTE},
        {"display_name": NAME, "welcome_note": "n" * 5000},  # over the raw cap
    ]
    for each in bad:
        status, err = await call(http, "PUT", nodes.client_url + path, therapist, each)
        assert status == 400, each
        assert err["error"]["code"] in ("invalid_profile", "invalid_message"), err
    status, err = await call(http, "PUT", nodes.client_url + path, therapist, {"colour": "red"})
    assert (status, err["error"]["code"]) == (400, "unknown_field")
    status, seen = await call(http, "GET", nodes.therapist_url + path, therapist)
    assert (seen["display_name"], seen["welcome_note"]) == (NAME, NOTE)

    # Clearing both deletes it.
    status, _ = await call(http, "PUT", nodes.client_url + path, therapist, {})
    assert status == 200
    status, seen = await call(http, "GET", nodes.therapist_url + path, client)
    assert seen == {"room": ROOM, "display_name": "", "welcome_note": ""}

    # The audit trail says it changed, by whom, and nothing of what was typed.
    admin = nodes.minter.mint_admin("admin-1", 600)
    async with http.get(f"{nodes.client_url}/api/audit?room={ROOM}", headers=bearer(admin)) as r:
        trail = await r.text()
    assert "room_profile_changed" in trail
    assert trail.count("room_profile_changed") >= 2
    for text in (NAME, "Vasquez", "glad you", "on the hour"):
        assert text not in trail
        assert text not in caplog.text


async def test_only_the_rooms_own_people_read_or_write_it(
    nodes: Topology, http: aiohttp.ClientSession
) -> None:
    path = f"/api/rooms/{ROOM}/profile"
    other_therapist = nodes.minter.mint_therapist("dr-o", [OTHER], 600)
    other_client = nodes.minter.mint_client(OTHER, ttl=600)
    client = nodes.minter.mint_client(ROOM, ttl=600)
    admin = nodes.minter.mint_admin("admin-1", 600)
    body = {"display_name": "Someone else", "welcome_note": ""}
    assert (await call(http, "PUT", nodes.client_url + path, other_therapist, body))[0] == 403
    assert (await call(http, "PUT", nodes.client_url + path, client, body))[0] == 403
    assert (await call(http, "PUT", nodes.client_url + path, None, body))[0] == 401
    assert (await call(http, "GET", nodes.client_url + path, other_client))[0] == 403
    assert (await call(http, "GET", nodes.client_url + path, admin))[0] == 403
    assert (await call(http, "GET", nodes.client_url + path, None))[0] == 401
    assert (await call(http, "GET", nodes.client_url + "/api/rooms/no%20such/profile", client))[
        0
    ] == 404


async def test_the_display_name_claim_names_a_room_without_a_name(
    nodes: Topology, http: aiohttp.ClientSession
) -> None:
    path = f"/api/rooms/{ROOM}/profile"
    claimed = nodes.minter.mint_therapist("dr-v", [ROOM], 600, display_name=NAME)
    ws, _ = await join(nodes.client_url, "therapist", claimed, ROOM)
    await ws.close()
    client = nodes.minter.mint_client(ROOM, ttl=600)
    assert (await call(http, "GET", nodes.therapist_url + path, client))[1]["display_name"] == NAME

    # A name set in the console wins over the claim on the next sign-in.
    body = {"display_name": "Imogen", "welcome_note": NOTE}
    assert (await call(http, "PUT", nodes.therapist_url + path, claimed, body))[0] == 200
    ws, _ = await join(nodes.client_url, "therapist", claimed, ROOM)
    await ws.close()
    seen = (await call(http, "GET", nodes.therapist_url + path, client))[1]
    assert (seen["display_name"], seen["welcome_note"]) == ("Imogen", NOTE)


async def test_config_carries_the_practice_and_the_node_serves_its_logo(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    plain = await _start(settings_for())
    try:
        async with http.get(plain.make_url("/api/config")) as r:
            practice = (await r.json())["practice"]
        assert practice == {"name": None, "logo_url": None, "accent": None, "support_contact": None}
        async with http.get(plain.make_url("/brand/logo")) as r:
            assert r.status == 404
    finally:
        await plain.close()

    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    branded = await _start(
        settings_for(
            practice_name="Harbour Therapy",
            practice_logo=str(logo),
            accent_color="#7B2CBF",
            support_contact="Call 555-0100",
        )
    )
    try:
        async with http.get(branded.make_url("/api/config")) as r:
            practice = (await r.json())["practice"]
        assert practice["name"] == "Harbour Therapy"
        assert practice["support_contact"] == "Call 555-0100"
        assert practice["logo_url"] == "/brand/logo"
        assert practice["accent"]["primary"] == "#7b2cbf"
        assert set(practice["accent"]) == {"primary", "primary_dark", "primary_soft"}
        async with http.get(branded.make_url(practice["logo_url"])) as r:
            assert r.status == 200
            assert await r.read() == SVG
            assert r.headers["Content-Type"] == "image/svg+xml"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    finally:
        await branded.close()
