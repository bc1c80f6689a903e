"""The presence contract runs against both stores: in-memory and a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telehealth.config import Settings
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.ports import PresenceStore


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        store: PresenceStore = MemoryPresence()
    else:
        from telehealth.presence.redis_store import RedisPresence
        from telehealth.redisconn import make_client

        server = request.getfixturevalue("redis_server")
        store = RedisPresence(make_client(Settings(redis_url=server.url)))
    yield store
    await store.close()
