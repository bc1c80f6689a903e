"""Routing over Redis pub/sub: each node subscribes to its own inbox channel.

Sends are queued and flushed by one task in pipelined batches, so a burst costs one round trip
rather than one per message. Pub/sub is fire-and-forget: after an outage the node re-syncs from
the room snapshots (``on_reconnect``), not from messages it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from telehealth.presence.keys import node_inbox
from telehealth.redisconn import UNREACHABLE
from telehealth.routing.base import EnvelopeHandler, ReconnectHandler
from telehealth.routing.envelope import Envelope, decode, encode

log = logging.getLogger("telehealth.routing")

QUEUE_MAX = 10_000
BATCH_MAX = 256
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 2.0
STOP_TIMEOUT_S = 2.0


class RedisRouter:
    def __init__(self, client: Redis, node_id: str) -> None:
        self._redis = client
        self._node_id = node_id
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(QUEUE_MAX)
        self._tasks: list[asyncio.Task[None]] = []
        self._dropped = 0

    async def start(self, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(node_inbox(self._node_id))
        self._tasks = [
            asyncio.create_task(self._receive(pubsub, on_envelope, on_reconnect), name="router-rx"),
            asyncio.create_task(self._flush(), name="router-tx"),
        ]

    def send(self, nodes: Iterable[str], envelope: Envelope) -> None:
        data = b""
        for node in nodes:
            if node == self._node_id or not node:
                continue
            data = data or encode(envelope)
            try:
                self._outbox.put_nowait((node_inbox(node), data))
            except asyncio.QueueFull:
                self._dropped += 1
                if self._dropped % 1000 == 1:
                    log.warning("routing outbox full; dropped %d envelopes", self._dropped)

    async def _flush(self) -> None:
        while True:
            channel, data = await self._outbox.get()
            batch = [(channel, data)]
            while batch.__len__() < BATCH_MAX and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                if len(batch) == 1:
                    await self._redis.publish(channel, data)
                else:
                    pipe = self._redis.pipeline(transaction=False)
                    for ch, d in batch:
                        pipe.publish(ch, d)
                    await pipe.execute()
            except UNREACHABLE as exc:
                self._dropped += len(batch)
                log.warning(
                    "routing publish failed (%s); %d envelopes dropped",
                    type(exc).__name__,
                    len(batch),
                )
                await asyncio.sleep(BACKOFF_MIN_S)

    async def _receive(
        self, pubsub: PubSub, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler
    ) -> None:
        backoff = BACKOFF_MIN_S
        outage = False
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if outage:
                    outage = False
                    backoff = BACKOFF_MIN_S
                    log.info("routing reconnected")
                    await on_reconnect()
                if message is None:
                    continue
                envelope = decode(message["data"])
                if envelope.node == self._node_id:
                    continue  # our own echo
                await on_envelope(envelope)
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as exc:
                if not outage:
                    log.warning("routing lost Redis (%s); retrying", type(exc).__name__)
                outage = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                with contextlib.suppress(*UNREACHABLE):
                    await pubsub.reset()
                    await pubsub.subscribe(node_inbox(self._node_id))
            except Exception:
                log.exception("routing: bad envelope dropped")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(*UNREACHABLE):
            await self._redis.aclose()
