"""GET /metrics: Prometheus text behind a bearer token, with bounded labels only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.conftest import RedisServer
from tests.e2e.conftest import join, settings_for

ROOM = "room-metrics"
TOKEN = "metrics-token-" + "m" * 20


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[tuple[TestServer, Settings]]:
    settings = settings_for(redis_url=redis_server.url, metrics_token=TOKEN)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    yield server, settings
    await server.close()


async def scrape(http: aiohttp.ClientSession, server: TestServer) -> dict[str, float]:
    async with http.get(
        server.make_url("/metrics"), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


@pytest.mark.redis
async def test_a_visit_shows_in_the_metrics(
    node: tuple[TestServer, Settings], http: aiohttp.ClientSession
) -> None:
    server, settings = node
    minter = TokenMinter(settings)
    url = str(server.make_url("/"))
    therapist, _ = await join(url, "therapist", minter.mint_therapist("dr-m", [ROOM]), ROOM)
    client, welcome = await join(url, "client", minter.mint_client(ROOM), ROOM, "Ana")
    pid = welcome["participant_id"]
    await therapist.until("room", lambda m: len(m["waiting"]) == 1)
    waiting = await scrape(http, server)
    assert waiting["rapport_participants{role=client,state=waiting}"] == 1
    assert waiting["rapport_participants{role=therapist,state=present}"] == 1
    assert waiting["rapport_ws_connections{}"] == 2
    assert waiting["rapport_rooms_active{}"] == 1
    assert waiting["rapport_longest_wait_seconds{}"] >= 0
    assert waiting["rapport_nodes{}"] == 1
    assert waiting["rapport_draining{}"] == 0
    assert waiting["rapport_redis_seconds_count{op=commit}"] >= 2
    assert waiting["rapport_wait_seconds_count{}"] == 0

    await therapist.send(type="admit", participant_ids=[pid])
    await client.expect("state", state="admitted")
    await therapist.send(type="admit", participant_ids=[pid])  # refused: already admitted
    assert (await therapist.expect("error"))["code"] == "invalid_transition"
    await client.send(type="offer", to="nobody", sdp="v=0")  # refused SDP: counted
    await client.expect("error")
    await client.send(type="leave")
    await client.closed()
    after = await scrape(http, server)
    assert after["rapport_wait_seconds_count{}"] == 1
    assert after["rapport_moves_total{event=admit}"] == 1
    assert after["rapport_errors_total{code=invalid_transition}"] == 1
    assert after["rapport_ws_closes_total{code=left}"] == 1
    assert (
        after[
            "rapport_build_info{python="
            + next(
                k.split("python=")[1].split(",")[0]
                for k in after
                if k.startswith("rapport_build_info")
            )
            + ",version=0.1.0}"
        ]
        == 1
    )
    # No label names a room, a participant or a person.
    for key in after:
        assert ROOM not in key and pid not in key and "Ana" not in key and "dr-m" not in key


async def test_metrics_need_the_token_and_are_off_without_one(
    http: aiohttp.ClientSession,
) -> None:
    for token, headers, status, code in [
        (TOKEN, {}, 401, "token_invalid"),
        (TOKEN, {"Authorization": f"Bearer  {TOKEN}"}, 401, "token_invalid"),
        (TOKEN, {"Authorization": "Bearer wrong"}, 401, "token_invalid"),
        (None, {"Authorization": f"Bearer {TOKEN}"}, 404, "not_found"),
    ]:
        server = TestServer(create_app(settings_for(metrics_token=token)), host="127.0.0.1")
        await server.start_server()
        try:
            async with http.get(server.make_url("/metrics"), headers=headers) as resp:
                assert resp.status == status
                assert (await resp.json())["error"]["code"] == code
        finally:
            await server.close()
