"""The liveness sweep: a socket that stops answering is pinged, then cut off and recorded as
dropped; one that answers pings (or sends anything) stays. The sweep is driven by hand here
instead of waiting 10 s per round."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.web import keys, liveness
from tests.e2e.conftest import settings_for

ROOM = "room-live"


class Reader:
    """A socket whose messages a background task keeps reading (which also answers pings)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(msg.data))


async def _auth(ws: aiohttp.ClientWebSocketResponse, role: str, token: str, name: str) -> None:
    await ws.send_str(
        json.dumps({"type": "auth", "role": role, "token": token, "room": ROOM, "name": name})
    )


Node = tuple[web.Application, str, TokenMinter]  # the app, its /ws URL, a minter


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    settings = settings_for()
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield app, str(server.make_url("/ws")), TokenMinter(settings)
    await server.close()


async def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.05)


async def test_a_silent_socket_is_pinged_then_cut_off(
    node: Node,
) -> None:
    app, url, minter = node
    async with aiohttp.ClientSession() as http:
        therapist_ws = await http.ws_connect(url)
        await _auth(therapist_ws, "therapist", minter.mint_therapist("t", [ROOM], 600), "T")
        therapist = Reader(therapist_ws)
        lively_ws = await http.ws_connect(url)
        await _auth(lively_ws, "client", minter.mint_client(ROOM, ttl=600), "Lively")
        lively = Reader(lively_ws)
        # Never reads, so never answers a ping (autoping happens inside receive()).
        silent = await http.ws_connect(url, autoping=False)
        await _auth(silent, "client", minter.mint_client(ROOM, ttl=600), "Silent")

        def waiting() -> dict[str, bool]:
            rooms = [m for m in therapist.messages if m["type"] == "room"]
            return {w["name"]: w["connected"] for w in rooms[-1]["waiting"]} if rooms else {}

        await _until(lambda: waiting() == {"Lively": True, "Silent": True})
        for _ in range(liveness.PING_AFTER + 1):  # every socket has now been silent and pinged
            assert liveness.sweep(app) == 0
        # The readers answer their pings (a pong is a frame, which marks a socket as seen).
        await _until(lambda: sum(conn.seen for conn in app[keys.SOCKETS]) == 2)
        assert liveness.sweep(app) == 1  # only the one that did not answer
        await _until(lambda: waiting() == {"Lively": True, "Silent": False})
        # What reached it before the cut: its messages, our ping, then the end.
        seen: list[aiohttp.WSMsgType] = []
        while not seen or seen[-1] in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.PING):
            seen.append((await silent.receive(timeout=5)).type)
        assert aiohttp.WSMsgType.PING in seen
        assert seen[-1] in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert not lively_ws.closed and not therapist_ws.closed
        for reader in (therapist, lively):
            await reader.ws.close()
            await reader.task


async def test_pings_from_the_peer_are_answered_and_count_as_alive(
    node: Node,
) -> None:
    app, url, minter = node
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(url, autoping=False)
        await ws.ping(b"before-auth")  # does not count as the first message
        await _auth(ws, "client", minter.mint_client(ROOM, ttl=600), "Pinger")
        pong = await ws.receive(timeout=5)
        assert pong.type is aiohttp.WSMsgType.PONG and pong.data == b"before-auth"
        assert json.loads((await ws.receive(timeout=5)).data)["type"] == "welcome"
        for _ in range(liveness.DEAD_AFTER + 2):
            await ws.ping(b"still here")
            # The node notes the ping before it answers: once the pong is here, it counts.
            while (msg := await ws.receive(timeout=15)).type is not aiohttp.WSMsgType.PONG:
                assert msg.type is aiohttp.WSMsgType.TEXT, msg
            assert liveness.sweep(app) == 0
        assert not ws.closed
        await ws.close()
