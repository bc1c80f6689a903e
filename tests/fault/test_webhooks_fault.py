"""A node dies while it delivers a webhook (real node processes, a real redis-server, a real
receiver): the event still arrives, from the other node, under the same webhook-id, and the
consumer group ends with nothing pending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from telehealth import rediskeys
from telehealth.auth.tokens import TokenMinter
from tests.fault.conftest import ROOM, Cluster, Visitor
from tests.webhook_receiver import HOLD, Receiver, first_fails

pytestmark = pytest.mark.redis


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    # Each webhook's first attempt is held open and never answered; later ones get a 200.
    receiver = Receiver(policy=first_fails(HOLD))
    await receiver.start()
    yield receiver
    await receiver.stop()


async def pending(client: aioredis.Redis) -> tuple[int, list[str]]:
    """How many of the room's entries the webhook group has handed out and not acknowledged,
    and the consumers (node ids) that hold them."""
    summary = await client.xpending(rediskeys.room_events(ROOM), rediskeys.WEBHOOK_GROUP)
    return int(summary["pending"]), [c["name"].decode() for c in summary["consumers"]]


async def test_a_node_killed_mid_delivery_hands_the_event_to_another(
    cluster: Cluster, minter: TokenMinter, visitors: list[Visitor], receiver: Receiver
) -> None:
    hooks = {
        "TELEHEALTH_WEBHOOK_URL": receiver.url,
        "TELEHEALTH_WEBHOOK_SECRET": receiver.secret,
        "TELEHEALTH_WEBHOOK_TAKEOVER": "2",
        "TELEHEALTH_WEBHOOK_TIMEOUT": "30",  # the held request outlives the test
        "TELEHEALTH_WEBHOOK_BACKOFF": "0.05",
    }
    nodes = {n: cluster.start(n, None, **hooks) for n in ("node-a", "node-b")}
    client = Visitor(cluster, "client", minter.mint_client(ROOM, ttl=600), "Alex")
    visitors.append(client)
    await client.connect(nodes["node-a"])

    [held] = await receiver.until(lambda rs: len(rs) == 1, timeout=20)
    assert held.type == "participant.waiting" and held.verified
    store = aioredis.Redis.from_url(cluster.redis.url)
    try:
        count, holders = await pending(store)
        assert count >= 1 and len(holders) == 1
        delivering = nodes.pop(holders[0])
        delivering.kill()  # SIGKILL, in the middle of the request
        [survivor] = nodes.values()

        # After TELEHEALTH_WEBHOOK_TAKEOVER of silence the other node claims the entry.
        requests = await receiver.until(lambda rs: bool(receiver.delivered()), timeout=20)
        again = receiver.delivered()[0]
        assert (again.id, again.body) == (held.id, held.body)
        assert again.verified and requests[:2] == [held, again]
        async with asyncio.timeout(20):
            while True:  # acknowledged: nothing left pending in the group
                if (await pending(store))[0] == 0:
                    break
                await asyncio.sleep(0.05)
        assert survivor.returncode is None
        assert [r.id for r in receiver.delivered()].count(held.id) == 1
    finally:
        await store.aclose()
