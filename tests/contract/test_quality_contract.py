"""The call-quality timelines, one contract for both presence stores (memory and a real Redis):
kept per participant, oldest first, capped, forgotten on request and after their TTL."""

from __future__ import annotations

import asyncio
import time

from telehealth.rooms.ports import PresenceStore
from telehealth.rooms.quality import Level, QualitySample

ROOM = "room-q"
OTHER = "room-other"
TTL_MS = 60_000


def sample(at_ms: int, level: Level = Level.GOOD, loss: float = 0.0) -> QualitySample:
    return QualitySample(
        at_ms=at_ms,
        level=level,
        loss_pct=loss,
        rtt_ms=21.5,
        width=640,
        height=480,
        candidate="relay",
    )


async def test_a_timeline_is_kept_in_order_per_participant(presence: PresenceStore) -> None:
    assert await presence.quality(ROOM, ["c-1"]) == {}
    await presence.add_quality(ROOM, "c-1", sample(1), keep=5, ttl_ms=TTL_MS)
    await presence.add_quality(ROOM, "c-1", sample(2, Level.POOR, 9.5), keep=5, ttl_ms=TTL_MS)
    await presence.add_quality(ROOM, "t-1", sample(3), keep=5, ttl_ms=TTL_MS)
    await presence.add_quality(OTHER, "c-1", sample(4), keep=5, ttl_ms=TTL_MS)
    found = await presence.quality(ROOM, ["c-1", "t-1", "c-nobody"])
    assert found == {"c-1": [sample(1), sample(2, Level.POOR, 9.5)], "t-1": [sample(3)]}
    assert await presence.quality(OTHER, ["c-1"]) == {"c-1": [sample(4)]}
    assert await presence.quality(ROOM, []) == {}


async def test_a_timeline_keeps_the_newest_only(presence: PresenceStore) -> None:
    for at in range(1, 11):
        await presence.add_quality(ROOM, "c-1", sample(at), keep=4, ttl_ms=TTL_MS)
    found = await presence.quality(ROOM, ["c-1"])
    assert [s.at_ms for s in found["c-1"]] == [7, 8, 9, 10]


async def test_forgetting_deletes_only_those_named(presence: PresenceStore) -> None:
    for pid in ("c-1", "c-2", "t-1"):
        await presence.add_quality(ROOM, pid, sample(1), keep=5, ttl_ms=TTL_MS)
    await presence.forget_quality(ROOM, ["c-1", "t-1"])
    await presence.forget_quality(ROOM, [])
    assert set(await presence.quality(ROOM, ["c-1", "c-2", "t-1"])) == {"c-2"}


async def test_a_timeline_expires_after_its_ttl(presence: PresenceStore) -> None:
    await presence.add_quality(ROOM, "c-1", sample(1), keep=5, ttl_ms=TTL_MS)
    await presence.add_quality(ROOM, "c-2", sample(1), keep=5, ttl_ms=50)
    deadline = time.monotonic() + 10
    while "c-2" in await presence.quality(ROOM, ["c-2"]):
        assert time.monotonic() < deadline, "the timeline outlived its TTL"
        await asyncio.sleep(0.05)
    assert set(await presence.quality(ROOM, ["c-1", "c-2"])) == {"c-1"}
