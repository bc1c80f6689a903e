"""The node's heartbeat and the reaper that every node runs.

Each node heartbeats into presence. Any node that sees another stop heartbeating for
``node_timeout`` marks that node's participants as dropped, which starts their grace period;
participants whose grace ran out lapse. Both steps re-check the room itself, so several reapers
running at once agree.
"""

from __future__ import annotations

import asyncio
import logging

from telehealth.rooms.ports import PresenceStore, PresenceUnavailable
from telehealth.rooms.service import RoomService, now_ms

log = logging.getLogger("telehealth.reaper")


class Reaper:
    def __init__(
        self, service: RoomService, presence: PresenceStore, *, interval: float, node_timeout: float
    ) -> None:
        self.service = service
        self.presence = presence
        self.node_id = service.rules.node_id
        self.interval = interval
        self.node_timeout_ms = int(node_timeout * 1000)
        self._outage = False
        # Heartbeats of every node stop while presence is unreachable; right after an outage
        # others may look dead only because they could not heartbeat either. Wait one timeout.
        self._trust_after_ms = 0
        # After an outage the store may have lost the node list itself: look once for records
        # on nodes that are not heartbeating at all.
        self._look_for_orphans = False

    async def claim_own_leftovers(self) -> None:
        """At start: participants recorded on this node id are from a previous run; they dropped."""
        await self._reap_nodes([self.node_id])

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except PresenceUnavailable as exc:
                if not self._outage:
                    log.warning("reaper: presence unavailable (%s)", exc)
                self._outage = True
            except Exception:
                log.exception("reaper tick failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        now = now_ms()
        await self.presence.heartbeat(self.node_id, now)
        if self._outage:
            # Back after an outage: every node's heartbeat stopped meanwhile, so trust none of
            # them for one node timeout; first put back what presence may have lost.
            log.info("reaper: presence reachable again; recovering")
            self._outage = False
            self._trust_after_ms = now + self.node_timeout_ms
            self._look_for_orphans = True
            await self.service.recover()
        dead: list[str] = []
        if now >= self._trust_after_ms:
            stale = await self.presence.dead_nodes(now - self.node_timeout_ms)
            dead = [n for n in stale if n != self.node_id]
            if self._look_for_orphans:
                self._look_for_orphans = False
                dead = sorted(set(dead) | await self._orphan_nodes(now))
        if dead:
            log.info("reaper: nodes %s stopped heartbeating", ",".join(dead))
            await self._reap_nodes(dead)
            for node in dead:
                await self.presence.forget_node(node)
        for room, pid in await self.presence.due_expiries(now):
            if await self.service.expire(room, pid):
                log.info("participant %s in room %s lapsed after the grace period", pid, room)
            await self.presence.clear_expiry(room, pid)

    async def _orphan_nodes(self, now: int) -> set[str]:
        live = await self.presence.live_nodes(now - self.node_timeout_ms) | {self.node_id}
        seen = {
            p.node
            for snapshot in await self.presence.rooms()
            for p in snapshot.participants.values()
            if p.connected and p.node
        }
        return seen - live

    async def _reap_nodes(self, nodes: list[str]) -> None:
        for snapshot in await self.presence.rooms():
            for node in nodes:
                if any(p.node == node and p.connected for p in snapshot.participants.values()):
                    await self.service.node_lost(snapshot.room, node)
