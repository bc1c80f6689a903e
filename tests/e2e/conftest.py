"""End-to-end fixtures: the service in-process on one node, or on two nodes sharing a real Redis.

``topology`` runs a test twice: once with client and therapist on one in-memory node, once with
the client on node A and the therapist on node B, both on a redis-server the fixture starts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings, from_env

SECRET = "e2e-secret-" + "x" * 40


def settings_for(**overrides: Any) -> Settings:
    env = {"TELEHEALTH_JWT_SECRET": SECRET, "TELEHEALTH_LOOPBACK": "1"}
    return from_env(env, **overrides)


@dataclass
class Topology:
    name: str
    client_url: str
    therapist_url: str
    settings: Settings
    minter: TokenMinter
    servers: list[TestServer]


async def _start(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture(params=["one-node", "two-nodes", "cluster"])
async def topology(request: pytest.FixtureRequest) -> AsyncIterator[Topology]:
    servers: list[TestServer] = []
    if request.param == "one-node":
        settings = settings_for()
        servers.append(await _start(settings))
        a = b = servers[0]
    else:
        if request.param == "cluster":
            cluster = request.getfixturevalue("redis_cluster")
            settings = settings_for(redis_url=cluster.url, redis_cluster=True)
        else:
            settings = settings_for(redis_url=request.getfixturevalue("redis_server").url)
        servers.append(await _start(settings.with_(node_id="n-a")))
        servers.append(await _start(settings.with_(node_id="n-b")))
        a, b = servers
    yield Topology(
        request.param,
        str(a.make_url("/")),
        str(b.make_url("/")),
        settings,
        TokenMinter(settings),
        servers,
    )
    for server in servers:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Ws:
    """A raw signaling socket for protocol-level tests."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket closed: {msg.type} {self.ws.close_code}")
        data: dict[str, Any] = json.loads(msg.data)
        self.seen.append(data)
        return data

    async def expect(self, type_: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        """The next message of ``type_`` whose fields match (others are skipped, kept in seen)."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.recv(timeout)
                if data["type"] == type_ and all(data.get(k) == v for k, v in fields.items()):
                    return data

    async def until(
        self, type_: str, check: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The next message of ``type_`` for which ``check`` holds."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.expect(type_, timeout)
                if check(data):
                    return data

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; the close code."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self.seen.append(json.loads(msg.data))
                    continue
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    # The code in the server's close frame: the client's own close_code turns
                    # into 1006 when the server has already gone by the time it replies.
                    return int(msg.data)
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return self.ws.close_code
                if msg.type is aiohttp.WSMsgType.ERROR:
                    return self.ws.close_code

    def types(self) -> list[str]:
        return [m["type"] for m in self.seen]


async def open_ws(http: aiohttp.ClientSession, base_url: str) -> Ws:
    return Ws(await http.ws_connect(base_url.rstrip("/") + "/ws"))


async def join(
    http: aiohttp.ClientSession,
    base_url: str,
    role: str,
    token: str,
    room: str,
    name: str | None = None,
    resume: str | None = None,
) -> tuple[Ws, dict[str, Any]]:
    ws = await open_ws(http, base_url)
    auth: dict[str, Any] = {"type": "auth", "role": role, "token": token, "room": room}
    if name is not None:
        auth["name"] = name
    if resume is not None:
        auth["resume"] = resume
    await ws.send(**auth)
    welcome = await ws.expect("welcome")
    return ws, welcome
