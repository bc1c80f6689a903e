"""Nodes on an event loop in a thread of their own, for tests that run synchronously (a Hypothesis
state machine, schemathesis over ``requests``) but talk to in-process aiohttp servers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings

T = TypeVar("T")


class Harness:
    """An event loop in a thread of its own, with the nodes and an HTTP session on it."""

    def __init__(self, settings: Settings, nodes: int) -> None:
        self.settings = settings
        self.minter = TokenMinter(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[TestServer] = []
        self.http: aiohttp.ClientSession | None = None
        self.run(self._start(nodes))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self, nodes: int) -> None:
        for n in range(nodes):
            settings = self.settings.with_(node_id=f"n-{n}")
            server = TestServer(create_app(settings), host="127.0.0.1")
            await server.start_server()
            self.servers.append(server)
        self.http = aiohttp.ClientSession()

    async def _stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        for server in self.servers:
            await server.close()

    def close(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def url(self, node: int) -> str:
        return str(self.servers[node % len(self.servers)].make_url("/ws"))

    def base_url(self, node: int = 0) -> str:
        return str(self.servers[node % len(self.servers)].make_url("")).rstrip("/")
