"""End-to-end fixtures: the service in-process on one node, or on two nodes sharing a real Redis.

``topology`` runs a test twice: once with client and therapist on one in-memory node, once with
the client on node A and the therapist on node B, both on a redis-server the fixture starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk import rawsocket
from rapport_sdk.rawsocket import RawSocket
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings, from_env

SECRET = "e2e-secret-" + "x" * 40


def settings_for(**overrides: Any) -> Settings:
    """A node's settings for a test. The presence deadline is 5 s unless a test asks for
    another: on a loaded machine a Redis call can outlast the 1 s default with Redis running,
    and only tests/fault/test_frozen_redis.py is about that."""
    env = {"TELEHEALTH_JWT_SECRET": SECRET, "TELEHEALTH_LOOPBACK": "1"}
    return from_env(env, **{"presence_deadline": 5.0, **overrides})


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


async def open_ws(base_url: str) -> RawSocket:
    """A raw signaling socket (protocol-level tests) to the node at ``http://127.0.0.1:PORT/``."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None, base_url
    return await rawsocket.connect(url.hostname, url.port, url.path.rstrip("/") + "/ws")


async def join(
    base_url: str,
    role: str,
    token: str,
    room: str,
    name: str | None = None,
    resume: str | None = None,
    **fields: Any,
) -> tuple[RawSocket, dict[str, Any]]:
    """Open a socket and authenticate; ``fields`` are more of the auth message's fields (a
    client's ``emergency`` and ``consent``)."""
    ws = await open_ws(base_url)
    auth: dict[str, Any] = {"type": "auth", "role": role, "token": token, "room": room, **fields}
    if name is not None:
        auth["name"] = name
    if resume is not None:
        auth["resume"] = resume
    await ws.send(**auth)
    welcome = await ws.expect("welcome")
    return ws, welcome
