"""One place that builds Redis clients, with every timeout and retry policy set explicitly.

redis-py's defaults changed between major versions (see PITFALLS.md), so nothing is left to them.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from telehealth.config import Settings

# Errors that mean "Redis is not reachable right now" rather than a bug.
UNREACHABLE = (ConnectionError, TimeoutError, BusyLoadingError, OSError)

RETRIES = 2
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 0.25
POOL_SIZE = 64  # a burst of joins at the top of the hour waits on this pool
HEALTH_CHECK_S = 5


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S), RETRIES)


def client_options(settings: Settings) -> dict[str, Any]:
    return {
        "socket_timeout": settings.redis_timeout,
        "socket_connect_timeout": settings.redis_timeout,
        # The pub/sub reader waits without a timeout: keepalive finds a peer that vanished.
        "socket_keepalive": True,
        "retry": _retry(),
        "retry_on_error": [ConnectionError, TimeoutError],
        "health_check_interval": HEALTH_CHECK_S,
        "protocol": 2,
        "decode_responses": False,
    }


def make_client(settings: Settings) -> Redis | RedisCluster:
    assert settings.redis_url, "make_client needs TELEHEALTH_REDIS_URL"
    options = client_options(settings)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=POOL_SIZE, timeout=settings.redis_timeout, **options
    )
    return Redis(connection_pool=pool)
