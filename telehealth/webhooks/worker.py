"""The delivery worker: one per node, driven by the rooms' durable streams.

Every ``poll`` (and at once when a change is committed on this node: ``nudge`` is a change
listener used as a doorbell, never as the source) it looks up the rooms whose stream got
entries (``PresenceStore.event_rooms``) and asks the consumer group for each room's entries
(``EventGroup.claim``). The group hands a room to one node at a time, so a room's webhooks go
out in stream order: entry N+1 only after N was delivered or dead-lettered, then acknowledged.
Rooms are delivered side by side, each by its own task. While a task retries, the worker keeps
its claim fresh; a node that dies leaves its entries pending, and once they have been idle for
``takeover`` another node's claim takes them over and delivers them (so an event can arrive
twice, under the same ``webhook-id``, but is never lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from telehealth.rooms.events import RoomChange, StoredEvent
from telehealth.rooms.ports import Claimed, EventGroup, PresenceStore, PresenceUnavailable
from telehealth.webhooks.delivery import Deliverer
from telehealth.webhooks.payloads import needs_before, translate

log = logging.getLogger("telehealth.webhooks")

BATCH = 16  # entries claimed at once per room
MAX_ROOMS = 64  # rooms this node delivers at once; the others wait their turn
POLL_S = 1.0  # at most this long between two looks at the rooms' index
SCAN_SLACK_MS = 5_000  # look again this far back: nodes' clocks differ, indexing lags commits
PAUSE_S = 1.0  # after a failed look (presence unreachable)


def now_ms() -> int:
    return int(time.time() * 1000)


class WebhookWorker:
    def __init__(
        self,
        presence: PresenceStore,
        group: EventGroup,
        deliverer: Deliverer,
        *,
        node_id: str,
        retry_for_ms: int,
        takeover_ms: int,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.presence = presence
        self.group = group
        self.deliverer = deliverer
        self.node_id = node_id
        self.retry_for_ms = retry_for_ms
        self.takeover_ms = takeover_ms
        self.clock = clock
        self.poll_s = min(POLL_S, takeover_ms / 4000)
        self._wake = asyncio.Event()
        self._nudged: set[str] = set()
        self._recheck: dict[str, int] = {}  # room -> when to ask for it again (ms)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # room -> the task delivering it
        self._held: dict[str, list[str]] = {}  # room -> ids claimed and not yet acknowledged
        self._begun = 0
        self._scan_from = 0
        self._unavailable = False
        self._stopping = False

    def stop(self) -> None:
        """Ask the loop to end at its next turn. Shutdown cancels the task too; this is for
        a cancellation that a library absorbed (a Redis or HTTP call's own timeout handling can
        turn one into an error the loop survives), which must not keep the worker alive."""
        self._stopping = True
        self._wake.set()

    def nudge(self, change: RoomChange) -> None:
        """A change listener: this node just committed to ``change.room``'s stream."""
        self._nudged.add(change.room)
        self._wake.set()

    async def run(self) -> None:
        keeper = asyncio.create_task(self._keep_claims(), name="webhooks-keeper")
        try:
            while not self._stopping:
                try:
                    await self._look()
                    self._available()
                except PresenceUnavailable as exc:
                    self._lost(exc)
                    await asyncio.sleep(PAUSE_S)
                except Exception:
                    log.exception("webhooks: look at the rooms failed")
                    await asyncio.sleep(PAUSE_S)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            keeper.cancel()
            tasks = [keeper, *self._tasks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.0)

    def _available(self) -> None:
        if self._unavailable:
            self._unavailable = False
            log.info("webhooks: presence reachable again")

    def _lost(self, exc: Exception) -> None:
        if not self._unavailable:
            self._unavailable = True
            log.warning("webhooks: presence unavailable (%s); retrying", exc)

    async def _look(self) -> None:
        now = self.clock()
        if not self._begun:
            self._begun = await self.group.begin(now)
            self._scan_from = max(self._begun, now - self.retry_for_ms)
        rooms = set(await self.presence.event_rooms(self._scan_from))
        self._scan_from = now - SCAN_SLACK_MS
        rooms |= self._nudged
        self._nudged.clear()
        rooms |= {room for room, due in self._recheck.items() if due <= now}
        for room in sorted(rooms - self._tasks.keys()):
            if len(self._tasks) >= MAX_ROOMS:
                self._recheck[room] = now  # its turn comes when a task ends
                continue
            await self._start_room(room, now)

    def _start_ms(self, now: int) -> int:
        """Where a room's group starts when first made: nothing from before webhooks were on,
        and nothing that would already be past its retry period."""
        return max(self._begun, now - self.retry_for_ms)

    async def _ask(self, room: str, now: int) -> Claimed:
        """The room's next entries for this node, if it is not another node's just now."""
        claimed = await self.group.claim(
            room,
            self.node_id,
            count=BATCH,
            idle_ms=self.takeover_ms,
            start_ms=self._start_ms(now),
        )
        if claimed.busy:
            # Another node is at it; if it died, its claim lapses after the takeover time.
            self._recheck[room] = now + self.takeover_ms // 4
        return claimed

    async def _start_room(self, room: str, now: int) -> None:
        claimed = await self._ask(room, now)
        if claimed.entries:
            self._recheck.pop(room, None)
            self._held[room] = [e.id for e in claimed.entries]
            task = asyncio.create_task(self._deliver(room, claimed.entries), name="webhooks-room")
            self._tasks[room] = task
            task.add_done_callback(lambda _: self._ended(room))
        elif not claimed.busy:
            self._recheck.pop(room, None)

    def _ended(self, room: str) -> None:
        self._tasks.pop(room, None)
        self._held.pop(room, None)
        self._wake.set()  # a room may be waiting for a free task

    async def _deliver(self, room: str, entries: list[StoredEvent]) -> None:
        """Deliver the room's entries in order, and then whatever it got meanwhile."""
        before: StoredEvent | None = None
        try:
            while entries:
                for stored in entries:
                    # Still ours? A node that stalled past the takeover time must not go on
                    # to the next entry while another node redelivers this one.
                    if not await self.group.keep(room, self.node_id, list(self._held[room])):
                        log.warning("webhooks: room %s was taken over by another node", room)
                        return
                    if needs_before(stored) and (
                        before is None or before.entry.seq != stored.entry.seq - 1
                    ):
                        before = await self.group.previous(room, stored.id)
                    for hook in translate(stored, before):
                        await self.deliverer.deliver(hook, stored.at)
                    await self.group.ack(room, [stored.id])
                    self._held[room].remove(stored.id)
                    before = stored
                entries = (await self._ask(room, self.clock())).entries
                self._held[room] = [e.id for e in entries]
        except PresenceUnavailable as exc:
            # What was claimed stays pending on this node: the next claim takes it back.
            self._lost(exc)
            self._recheck[room] = self.clock() + int(PAUSE_S * 1000)
        except Exception:
            log.exception("webhooks: delivery in room %s failed", room)
            self._recheck[room] = self.clock() + int(PAUSE_S * 1000)

    async def _keep_claims(self) -> None:
        """Refresh this node's claims while it works on them, so none is taken over."""
        while True:
            await asyncio.sleep(self.takeover_ms / 3000)
            for room, ids in list(self._held.items()):
                if not ids:
                    continue
                try:
                    kept = await self.group.keep(room, self.node_id, list(ids))
                except PresenceUnavailable as exc:
                    self._lost(exc)
                    continue
                task = self._tasks.get(room)
                if not kept and task is not None:
                    log.warning("webhooks: room %s was taken over by another node", room)
                    task.cancel()
