"""schemathesis fuzzes the REST API of a live node against its OpenAPI document: whatever it
sends, with an admin's or a therapist's real token, the node never answers 5xx, and every answer
(status, content type, body) is one the document describes.

The node runs in-process on 127.0.0.1 (an event loop in a thread: schemathesis calls it through
``requests``), on in-memory presence and on a real redis-server, with one active room, ``demo``,
so that room endpoints find something, and with webhooks on (to a port that refuses, so that
there are dead letters to list and replay).
``RAPPORT_FUZZ=1`` (``make fuzz``) runs many more examples per operation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from telehealth.web.api import openapi_document
from tests.conftest import RedisServer
from tests.e2e.conftest import join, settings_for
from tests.e2e.threaded import Harness

SOAK = os.environ.get("RAPPORT_FUZZ") == "1"
EXAMPLES = 300 if SOAK else 10
ROOM = "demo"
METRICS_TOKEN = "metrics-" + "m" * 24

schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))

# No 5xx, and every answer is one the document describes.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@dataclass
class Live:
    harness: Harness
    tokens: dict[str, str]


@pytest.fixture(scope="module", params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A node on in-memory presence, or on a real redis-server (what the API hands to Redis
    is where a made-up parameter could hurt)."""
    redis: RedisServer | None = None
    refusing = socket.socket()  # bound, never listening: a connection to it is refused
    refusing.bind(("127.0.0.1", 0))
    # A high per-principal rate: the fuzz sends many requests with one token, and what it
    # explores is the endpoints, not the limiter (the document describes the 429 all the same).
    settings = settings_for(
        metrics_token=METRICS_TOKEN,
        api_rate=1_000_000,
        # Webhooks on (a 501 would be a 5xx to the fuzz), to a port that refuses: deliveries
        # fail at once and become dead letters within a second, so the dead-letter endpoints
        # list and replay real ones.
        webhook_url=f"http://127.0.0.1:{refusing.getsockname()[1]}/hooks",
        webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        webhook_retry_for=1.0,
        webhook_backoff=0.05,
        webhook_timeout=1.0,
        room_links=True,  # on, for the same reason: its routes answer 501 when off
    )
    if request.param == "redis":
        redis = RedisServer(tmp_path_factory.mktemp("redis"))
        redis.start()
        # A generous presence deadline: a 503 from a loaded machine is not what is fuzzed here.
        settings = settings.with_(redis_url=redis.url, presence_deadline=5.0)
    harness = Harness(settings, nodes=1)
    minter = harness.minter
    tokens = {
        "admin": minter.mint_admin("admin-fuzz"),
        "therapist": minter.mint_therapist("dr-fuzz", [ROOM, "other"]),
        "metrics": METRICS_TOKEN,
    }

    async def seed() -> None:
        assert harness.http is not None
        url = harness.base_url()
        await join(url, "therapist", tokens["therapist"], ROOM)
        await join(url, "client", minter.mint_client(ROOM), ROOM, name="Alex")
        # The client's participant.waiting is dead-lettered within a second or so.
        auth = {"Authorization": f"Bearer {tokens['admin']}"}
        for _ in range(100):
            async with harness.http.get(f"{url}/api/webhooks/dead-letters", headers=auth) as resp:
                if (await resp.json())["total"] > 0:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError("no dead letter to fuzz with")

    try:
        harness.run(seed())
        yield Live(harness, tokens)
    finally:
        harness.close()
        if redis is not None:
            redis.kill()
        refusing.close()


@pytest.mark.parametrize("who", ["admin", "therapist", "anyone"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: schemathesis.Case[Any], live: Live, who: str) -> None:
    """``anyone`` sends what schemathesis makes up (no token, or a made-up one)."""
    headers = {}
    if who != "anyone":
        token = live.tokens["metrics" if case.path == "/metrics" else who]
        headers["Authorization"] = f"Bearer {token}"
    if case.path == "/api/session-links/revoke" and who == "admin":
        # A made-up token is only ever a 401: the admin withdraws a real link instead.
        case.body = {"token": live.harness.minter.mint_client(ROOM)}
    case.call_and_validate(base_url=live.harness.base_url(), headers=headers, checks=CHECKS)
