"""Choose the presence store from configuration."""

from __future__ import annotations

import logging

from telehealth.config import Settings
from telehealth.presence.base import PresenceStore
from telehealth.presence.memory import MemoryPresence

log = logging.getLogger("telehealth.presence")


def create_presence(settings: Settings) -> PresenceStore:
    if not settings.redis_url:
        log.info("using single-node in-memory presence")
        return MemoryPresence()
    from telehealth.presence.redis_store import RedisPresence
    from telehealth.redisconn import make_client

    log.info("using Redis presence (cluster=%s)", settings.redis_cluster)
    return RedisPresence(make_client(settings))
