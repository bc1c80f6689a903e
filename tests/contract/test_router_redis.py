"""Routing over a real redis-server: envelopes reach the other node's inbox, also right after
Redis dropped the publisher's connection (idle timeout, CLIENT KILL, a restart)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from telehealth.config import from_env
from telehealth.redisconn import make_client
from telehealth.rooms.ports import Envelope, Kind
from telehealth.routing.redis_pubsub import RedisRouter
from tests.conftest import RedisServer


async def test_publishes_survive_a_killed_connection(redis_server: RedisServer) -> None:
    settings = from_env({}, redis_url=redis_server.url)
    got: list[bytes] = []

    async def on_envelope(envelope: Envelope) -> None:
        got.append(envelope.data)

    async def on_reconnect() -> None:
        return None

    sender = RedisRouter(make_client(settings), "node-a")
    receiver = RedisRouter(make_client(settings), "node-b")
    await sender.start(on_envelope, on_reconnect)
    await receiver.start(on_envelope, on_reconnect)
    admin = Redis.from_url(redis_server.url)
    try:

        def send(n: int) -> None:
            sender.send(
                ["node-b"], Envelope(node="node-a", kind=Kind.DELIVER, room="r", data=b"%d" % n)
            )

        async def until(count: int) -> None:
            for _ in range(100):
                if len(got) >= count:
                    return
                await asyncio.sleep(0.05)

        send(1)
        await until(1)
        # Drop every plain client connection (the publisher's among them; the subscriber's
        # is of type pubsub and stays), as an idle timeout or a failover would.
        await admin.client_kill_filter(_type="normal")
        send(2)
        send(3)
        await until(3)
        assert got == [b"1", b"2", b"3"]
        assert sender.dropped == 0
    finally:
        await admin.aclose()
        await sender.close()
        await receiver.close()
