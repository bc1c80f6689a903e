"""Canaries: a real `telehealth serve` node at DEBUG is fed names, a therapist's message, chat,
a client's emergency information, a session description that passes the checks, tokens, a
malformed request, an oversize header and a client connecting from 127.0.0.5. Then every line
the node wrote is scanned: none of it may appear, and aiohttp's own request-error log (an
address and the raw request bytes) is gone.
"""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp

from rapport_sdk import rawsocket
from signaling.samples import CHROME_OFFER
from telehealth.auth.tokens import TokenMinter
from telehealth.config import from_env
from tests.conftest import StartNode
from tests.e2e.conftest import SECRET

ROOM = "room-canary"
THERAPIST_NAME = "Doctor Canaryname"
CLIENT_NAME = "Clientina Canarysurname"
MESSAGE = "canary message: are you still coming?"
CHAT = "canary chat: my address is 12 Elm Street"
LOCATION = "canary location: 9 Birch Crescent, Dundee"
PHONE = "+44 7700 900123"
DISPLAY_NAME = "Dr. Canaryclaim"  # a therapist token's display_name claim
WELCOME_NOTE = "canary note: the door code is 4417"
OTHER_ADDRESS = "127.0.0.5"
SLUG = "dr-canaryslug"  # a room link's slug: may be the therapist's name
QUERY = "canaryquery"  # anything in a query string


async def raw_http(port: int, request: bytes, local: str = "127.0.0.1") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    return answer


async def test_nothing_private_reaches_the_log(start_node: StartNode) -> None:
    env = {
        "TELEHEALTH_JWT_SECRET": SECRET,
        "TELEHEALTH_LOG_LEVEL": "DEBUG",
        "TELEHEALTH_LOG_JSON": "1",
        "TELEHEALTH_LOOPBACK": "1",
        "TELEHEALTH_ROOM_LINKS": "on",
    }
    node = start_node(env)
    port = int(node.url.rsplit(":", 1)[1])
    minter = TokenMinter(from_env({"TELEHEALTH_JWT_SECRET": SECRET}))
    therapist_token = minter.mint_therapist("dr-canary", [ROOM], display_name=DISPLAY_NAME)
    client_token = minter.mint_client(ROOM)
    admin_token = minter.mint_admin("admin-canary")

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(OTHER_ADDRESS, 0))
    ) as elsewhere:
        therapist = await rawsocket.connect("127.0.0.1", port)
        await therapist.send(
            type="auth", role="therapist", token=therapist_token, room=ROOM, name=THERAPIST_NAME
        )
        t_welcome = await therapist.expect("welcome")
        client = await rawsocket.connect("127.0.0.1", port, local_address=OTHER_ADDRESS)
        await client.send(
            type="auth",
            role="client",
            token=client_token,
            room=ROOM,
            name=CLIENT_NAME,
            emergency={"location": LOCATION, "phone": PHONE},
        )
        pid = (await client.expect("welcome"))["participant_id"]
        waiting = await therapist.until("room", lambda m: len(m["waiting"]) == 1)
        assert waiting["waiting"][0]["emergency"]["phone"] == PHONE  # it reached the therapist
        await therapist.send(type="message", text=MESSAGE, to=pid)
        assert (await client.expect("message"))["text"] == MESSAGE
        await therapist.send(type="admit", participant_ids=[pid])
        await client.expect("session")
        await client.send(type="chat", text=CHAT)
        assert (await therapist.expect("chat"))["text"] == CHAT
        await client.send(type="offer", to=t_welcome["participant_id"], sdp=CHROME_OFFER)
        assert (await therapist.expect("offer"))["sdp"] == CHROME_OFFER  # it passed the checks
        await client.send(type="leave")
        await client.closed()
        await therapist.close()
        profile = {"display_name": DISPLAY_NAME, "welcome_note": WELCOME_NOTE}
        async with elsewhere.put(
            f"{node.url}/api/rooms/{ROOM}/profile",
            json=profile,
            headers={"Authorization": f"Bearer {therapist_token}"},
        ) as resp:
            assert (await resp.json())["welcome_note"] == WELCOME_NOTE  # it was kept

        # A short link (its code opens the session link, like a token) and a room link (its slug
        # may be a therapist's name), each opened as a browser would: the page, then the API.
        therapist_auth = {"Authorization": f"Bearer {therapist_token}"}
        async with elsewhere.post(
            f"{node.url}/api/session-links", json={"room": ROOM}, headers=therapist_auth
        ) as resp:
            code = (await resp.json())["short_url"].rsplit("/", 1)[1]
        async with elsewhere.get(f"{node.url}/s/{code}?lang=es&from={QUERY}") as resp:
            assert resp.status == 200
        async with elsewhere.post(
            f"{node.url}/api/short-links/resolve", json={"code": code}
        ) as resp:
            assert "token" in await resp.json()
        async with elsewhere.put(
            f"{node.url}/api/rooms/{ROOM}/room-link", json={"slug": SLUG}, headers=therapist_auth
        ) as resp:
            assert resp.status == 200, await resp.text()
        async with elsewhere.get(f"{node.url}/r/{SLUG}") as resp:
            assert resp.status == 200
        async with elsewhere.post(f"{node.url}/api/room-links/{SLUG}/enter") as resp:
            assert resp.status == 201, await resp.text()

        # Requests aiohttp cannot parse, answered before any middleware.
        garbage = await raw_http(port, b"NOT HTTP AT ALL\r\n\r\n", OTHER_ADDRESS)
        assert b" 400 " in garbage.split(b"\r\n")[0] and b"invalid_request" in garbage
        bad_header = await raw_http(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", OTHER_ADDRESS
        )
        assert b" 400 " in bad_header.split(b"\r\n")[0] and b"invalid_request" in bad_header
        padded = admin_token + "A" * (9 * 1024)
        async with elsewhere.get(
            node.url + "/api/rooms", headers={"Authorization": f"Bearer {padded}"}
        ) as resp:
            assert resp.status == 431
            assert (await resp.json())["error"]["code"] == "headers_too_large"
            assert admin_token[:40] not in await resp.text()

    # The last lines to come: the refusal, and the access log's lines for the short and room
    # links (aiohttp writes an access line after the answer is sent, so a later request's line
    # can come first).
    awaited = ["headers_too_large (431)", "GET /s/-", "GET /r/-"]

    async def all_logged() -> str:
        while True:
            text = node.log_text()
            if all(line in text for line in awaited):
                return text
            await asyncio.sleep(0.05)

    try:
        text = await asyncio.wait_for(all_logged(), 10)
    except TimeoutError:
        text = node.log_text()
        missing = [line for line in awaited if line not in text]
        raise AssertionError(f"never logged: {missing}") from None
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines, "the node wrote no JSON lines"
    assert pid in text  # opaque ids are logged...
    canaries = [
        THERAPIST_NAME,
        CLIENT_NAME,
        MESSAGE,
        CHAT,
        therapist_token,
        client_token,
        admin_token[:40],  # the oversize header's token prefix
        "Elm Street",
        LOCATION,
        "Birch Crescent",
        PHONE,
        "900123",
        OTHER_ADDRESS,
        "127.0.0.1",
        "NOT HTTP",
        "No colon here",
        "a=fingerprint",
        "ice-ufrag",
        re.search(r"a=ice-pwd:(\S+)", CHROME_OFFER).group(1),  # type: ignore[union-attr]
        "Error handling request",
        DISPLAY_NAME,
        "Canaryclaim",
        WELCOME_NOTE,
        "door code",
        code,
        SLUG,
        "canaryslug",
        QUERY,
    ]
    for canary in canaries:
        assert canary not in text, f"{canary[:30]!r} reached the log"
