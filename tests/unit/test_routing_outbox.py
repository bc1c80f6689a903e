"""The routing outbox is bounded: a node that cannot publish fast enough drops envelopes (and
counts them) instead of growing without limit. No Redis is needed: nothing is published until
the router is started."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from telehealth.rooms.ports import Envelope, Kind
from telehealth.routing import redis_pubsub
from telehealth.routing.redis_pubsub import RedisRouter


async def test_outbox_drops_beyond_its_bound(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(redis_pubsub, "QUEUE_MAX", 50)
    client = Redis(host="127.0.0.1", port=1)  # never connected: the router is not started
    router = RedisRouter(client, "node-a")
    envelope = Envelope(node="node-a", kind=Kind.DELIVER, room="r", to=["c-1"], data=b"x")
    with caplog.at_level(logging.WARNING, logger="telehealth.routing"):
        for _ in range(53):
            router.send(["node-b"], envelope)
    assert router.pending == 50
    assert router.dropped == 3
    assert "routing outbox full" in caplog.text
    router.send(["node-a", ""], envelope)  # never to itself, never to no node
    assert (router.pending, router.dropped) == (50, 3)
    await client.aclose()
