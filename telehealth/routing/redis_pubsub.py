"""Routing over Redis pub/sub: each node subscribes to its own inbox channel.

On a Redis Cluster the inbox is a sharded channel (SSUBSCRIBE/SPUBLISH): a message travels only
within the shard that owns the inbox's slot instead of being broadcast to every shard.

Sends are queued and flushed by one task in batches written at once on a connection of its own,
so a burst costs one round trip rather than one per message. Pub/sub is fire-and-forget: after
an outage the node re-syncs from the room snapshots (``on_reconnect``), not from messages it
may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Connection, Redis
from redis.asyncio.cluster import RedisCluster

from telehealth.redisconn import UNREACHABLE
from telehealth.rediskeys import node_inbox
from telehealth.rooms.ports import Envelope, EnvelopeHandler, ReconnectHandler
from telehealth.routing.wire import decode, encode

log = logging.getLogger("telehealth.routing")

QUEUE_MAX = 10_000
BATCH_MAX = 256
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 2.0
STOP_TIMEOUT_S = 2.0
PUBLISH_TIMEOUT_S = 2.0


class RedisRouter:
    def __init__(
        self, client: Redis | RedisCluster, node_id: str, timeout: float = PUBLISH_TIMEOUT_S
    ) -> None:
        self._redis = client
        self._node_id = node_id
        self._timeout = timeout
        self._sharded = isinstance(client, RedisCluster)
        self._inbox = node_inbox(node_id)
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._conn: Connection | None = None  # the publisher's own (not on a Cluster)
        self._tasks: list[asyncio.Task[None]] = []
        self._dropped = 0

    @property
    def pending(self) -> int:
        """Envelopes queued for the publisher."""
        return len(self._outbox)

    @property
    def dropped(self) -> int:
        """Envelopes dropped so far (outbox full, or a publish that failed)."""
        return self._dropped

    async def start(self, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler) -> None:
        if isinstance(self._redis, RedisCluster):
            await self._redis.initialize()  # the slot map, before any sharded subscription
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._subscribe(pubsub)
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
            if len(self._outbox) >= QUEUE_MAX:
                self._dropped += 1
                if self._dropped % 1000 == 1:
                    log.warning("routing outbox full; dropped %d envelopes", self._dropped)
                continue
            self._outbox.append((node_inbox(node), data))
            self._wake.set()

    async def _flush(self) -> None:
        """The one publisher: everything queued since the last round goes out in one write."""
        outbox = self._outbox
        publish = self._publish_sharded if self._sharded else self._publish_direct
        while True:
            await self._wake.wait()
            self._wake.clear()
            while outbox:
                batch = [outbox.popleft() for _ in range(min(len(outbox), BATCH_MAX))]
                try:
                    await publish(batch)
                except Exception as exc:  # unreachable, or an error reply: the publisher lives on
                    self._dropped += len(batch)
                    log.warning(
                        "routing publish failed (%s); %d envelopes dropped",
                        type(exc).__name__,
                        len(batch),
                    )
                    await asyncio.sleep(BACKOFF_MIN_S)

    async def _publisher(self) -> Connection:
        """A connection of the pool's own that this router keeps for its publishes."""
        assert isinstance(self._redis, Redis)
        conn: Connection = await self._redis.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        return conn

    async def _publish_direct(self, batch: list[tuple[str, bytes]]) -> None:
        """PUBLISH the batch on our own connection: one write, then one reply per command.

        This is what a pipeline does, without its per-command bookkeeping, pool checkout and
        retry wrapper, which cost more than the publishing itself on the cross-node path.
        """
        if self._conn is None:
            self._conn = await self._publisher()
        conn = self._conn
        packed = conn.pack_commands([("PUBLISH", channel, data) for channel, data in batch])
        for attempt in (1, 2):
            replies = 0
            try:
                async with asyncio.timeout(self._timeout):
                    # check_health: after HEALTH_CHECK_S idle, a PING first, so a connection
                    # Redis closed meanwhile (idle timeout, CLIENT KILL, restart) is reopened
                    # before the batch is written, not discovered by losing it.
                    await conn.send_packed_command(packed, check_health=True)
                    for _ in batch:
                        await conn.read_response(timeout=math.inf)
                        replies += 1
                return
            except Exception as exc:
                # Reopened on the next write; replies left unread must not meet the next batch.
                await conn.disconnect(nowait=True)
                if attempt == 2 or replies or not isinstance(exc, UNREACHABLE):
                    raise  # sent for sure (resending could duplicate it), or not a lost link

    async def _publish_sharded(self, batch: list[tuple[str, bytes]]) -> None:
        """SPUBLISH through the cluster client, which knows which shard owns each inbox."""
        if len(batch) == 1:
            await self._redis.spublish(*batch[0])
            return
        pipe: Any = self._redis.pipeline(transaction=False)
        for channel, data in batch:
            pipe.spublish(channel, data)
        await pipe.execute()

    async def _subscribe(self, pubsub: Any) -> None:
        if self._sharded:
            await pubsub.ssubscribe(self._inbox)
        else:
            await pubsub.subscribe(self._inbox)

    async def _next(self, pubsub: Any) -> bytes | None:
        """The next envelope's bytes, or None for anything else (or an idle second on a cluster).

        Without a cluster this reads the subscribed connection directly, with no timeout: each
        ``get_message`` costs a health check, a retry wrapper, a timeout and a dict per message,
        which made the receive loop the biggest cost of a cross-node message. A lost connection
        still raises at once (the server or the kernel closes the socket; TCP keepalive is on
        for a peer that vanished silently).
        """
        if self._sharded:
            message: dict[str, Any] | None = await pubsub.get_sharded_message(
                ignore_subscribe_messages=True, timeout=1.0
            )
            return None if message is None else message["data"]
        conn = pubsub.connection
        if conn is None:
            raise RuntimeError("pubsub connection not set")
        response = await conn.read_response(
            timeout=math.inf, disconnect_on_error=False, push_request=True
        )
        # RESP2 pub/sub replies: [b"message", channel, data], [b"subscribe", channel, count], ...
        if type(response) is list and len(response) == 3 and response[0] == b"message":
            return response[2]  # type: ignore[no-any-return]
        return None

    async def _receive(
        self, pubsub: Any, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler
    ) -> None:
        """The one reader of this node's inbox; survives outages without spinning."""
        backoff = BACKOFF_MIN_S
        outage = False
        subscribed = True
        while True:
            try:
                if not subscribed:
                    await pubsub.reset()  # drop the dead connection, then subscribe anew
                    await self._subscribe(pubsub)
                    subscribed = True
                if outage:
                    outage = False
                    backoff = BACKOFF_MIN_S
                    log.info("routing reconnected")
                    try:
                        await on_reconnect()
                    except Exception as exc:  # the reaper's recovery will run it again
                        log.warning("routing: recovery after reconnect failed (%s)", exc)
                data = await self._next(pubsub)
            except asyncio.CancelledError:
                raise
            except (*UNREACHABLE, RuntimeError) as exc:
                # RuntimeError: redis-py's "pubsub connection not set" after a failed resubscribe.
                if not outage:
                    log.warning("routing lost Redis (%s); retrying", type(exc).__name__)
                outage, subscribed = True, False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            if data is None:
                continue
            try:
                envelope = decode(data)
                if envelope.node != self._node_id:  # drop our own echoes
                    await on_envelope(envelope)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing: envelope could not be handled; dropped")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(*UNREACHABLE):
            await self._redis.aclose()
