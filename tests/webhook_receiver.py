"""A real webhook receiver for tests: an aiohttp server on 127.0.0.1 that records every request
and answers as the test tells it (a status, a held request that never answers, a reset
connection), checking each signature with the ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from tests.conftest import LOOPBACK, free_port

HOLD = "hold"  # keep the request open, never answer (until the test ends)
RESET = "reset"  # close the connection with a TCP reset, no answer


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Request:
    """One request as received: its Standard Webhooks headers, body, and our answer."""

    id: str
    timestamp: str
    signature: str
    body: bytes
    verified: bool
    answer: int | str  # the status we gave, or HOLD / RESET

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    @property
    def sequence(self) -> int:
        return int(self.payload["data"]["sequence"])


# Decides the answer to a request from its webhook-id and how many times that id came before.
Policy = Callable[[str, int], int | str]


def always(answer: int | str) -> Policy:
    return lambda _id, _n: answer


def first_fails(first: int | str, then: int | str = 200) -> Policy:
    """Each webhook's first attempt gets ``first``, every later one ``then``."""
    return lambda _id, n: first if n == 0 else then


@dataclass
class Receiver:
    secret: str = field(default_factory=new_secret)
    policy: Policy = field(default_factory=lambda: always(200))
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hooks?token=not-for-logs"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        for _ in range(3):  # a port from free_port() can be taken before we bind it
            self.port = free_port()
            try:
                await web.TCPSite(self._runner, LOOPBACK, self.port).start()
                return
            except OSError:
                continue
        raise RuntimeError("no free port for the webhook receiver")

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = dict(request.headers)
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        hook_id = request.headers.get("webhook-id", "")
        answer = self.policy(hook_id, sum(1 for r in self.requests if r.id == hook_id))
        await self._record(
            Request(
                hook_id,
                request.headers.get("webhook-timestamp", ""),
                request.headers.get("webhook-signature", ""),
                body,
                verified,
                answer,
            )
        )
        if answer == HOLD:
            await self._release.wait()
            return web.Response(status=503)
        if answer == RESET:
            transport = request.transport
            assert transport is not None
            sock: socket.socket = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client
        assert isinstance(answer, int)
        return web.Response(status=answer)

    async def _record(self, request: Request) -> None:
        async with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    async def until(
        self, check: Callable[[list[Request]], bool], timeout: float = 15.0
    ) -> list[Request]:
        """Wait until ``check`` holds for the requests so far; the requests."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: check(self.requests))
            return list(self.requests)

    def delivered(self) -> list[Request]:
        """The requests answered with a 2xx, in the order they came."""
        return [r for r in self.requests if isinstance(r.answer, int) and 200 <= r.answer < 300]

    def delivered_types(self) -> list[str]:
        return [r.type for r in self.delivered()]
