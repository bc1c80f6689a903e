"""Self-test of the shared fixtures in tests/conftest.py."""

from __future__ import annotations

import resource
import socket

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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_redis_startup_is_fast(redis_server_factory: RedisFactory) -> None:
    # The CPU it costs, not the wall time: on a machine busy with other work the wall clock
    # measures the others (idle, the server answers PING in ~20 ms, using ~10 ms of CPU).
    before = _children_cpu_s()
    server = redis_server_factory()
    server.stop()  # reaped: its CPU time now counts among this process's children
    assert not server.running
    spent = _children_cpu_s() - before
    assert spent < 0.5, f"redis-server used {spent:.3f} s of CPU to start and stop"
