"""Self-test of the shared fixtures in tests/conftest.py."""

from __future__ import annotations

import socket
import time

import aioice.ice
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import RedisFactory, RedisServer


def test_factory_server_holds_its_port(redis_server_factory: RedisFactory) -> None:
    # free_port() is exercised through the fixture: the server bound the port it was given.
    server = redis_server_factory()
    with socket.socket() as sock, pytest.raises(OSError):
        sock.bind(("127.0.0.1", server.port))


def test_loopback_ice_patch() -> None:
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]


@pytest.mark.redis
async def test_redis_server_kill_and_restart_empty(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    # Note: in redis-py 8.1 `from_url` gives 0 retries unless `retry` is passed explicitly.
    client = aioredis.Redis.from_url(
        redis_server.url,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.01), retries=3),
        health_check_interval=0,
    )
    try:
        await client.set("k", "v")
        assert await client.get("k") == b"v"

        redis_server.kill()
        assert not redis_server.running
        probe = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5, retry=None)
        with pytest.raises(RedisConnectionError):
            await probe.ping()
        await probe.aclose()

        port = redis_server.port
        redis_server.restart()
        assert redis_server.running and redis_server.port == port
        assert await client.get("k") is None  # same client reconnects; restarted empty
    finally:
        await client.aclose()


def test_redis_startup_is_fast(redis_server_factory: RedisFactory) -> None:
    t0 = time.monotonic()
    server = redis_server_factory()
    elapsed = time.monotonic() - t0
    server.stop()
    assert not server.running
    assert elapsed < 2.0, f"redis-server took {elapsed:.3f} s to answer PING"
