"""Choose the presence store from configuration."""

from __future__ import annotations

import logging

from telehealth.config import Settings
from telehealth.presence.groups import MemoryDeadLetters, MemoryEventGroup
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.ports import DeadLetters, EventGroup, PresenceStore

log = logging.getLogger("telehealth.presence")


def create_presence(settings: Settings) -> PresenceStore:
    if not settings.redis_url:
        log.info("using single-node in-memory presence")
        return MemoryPresence(**_stream_limits(settings))
    from telehealth.presence.redis_store import RedisPresence
    from telehealth.redisconn import make_client

    log.info("using Redis presence (cluster=%s)", settings.redis_cluster)
    return RedisPresence(
        make_client(settings), deadline=settings.presence_deadline, **_stream_limits(settings)
    )


def create_webhook_stores(
    settings: Settings, presence: PresenceStore
) -> tuple[EventGroup, DeadLetters]:
    """The webhook deliverers' consumer group over the rooms' streams, and the dead letters:
    in Redis when presence is, else in this process over ``presence``'s in-memory streams."""
    if not settings.redis_url:
        return MemoryEventGroup(presence), MemoryDeadLetters(settings.webhook_dead_letters)
    from telehealth.presence.redis_groups import RedisDeadLetters, RedisEventGroup
    from telehealth.redisconn import make_client

    client = make_client(settings)
    deadline = settings.presence_deadline
    return (
        RedisEventGroup(client, deadline=deadline),
        RedisDeadLetters(client, settings.webhook_dead_letters, deadline=deadline),
    )


def _stream_limits(settings: Settings) -> dict[str, int]:
    return {
        "event_retention_ms": int(settings.event_retention * 1000),
        "event_stream_max": settings.event_stream_max,
    }
