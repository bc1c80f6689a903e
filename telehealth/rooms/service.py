"""The waiting room's use cases: join, admit, deny, send back, remove, end, leave, drop, expire,
and the messages that flow inside a room.

Every change is read-decide-commit: ``_change`` loads the room, a pure ``decide`` function applies
the state table, and the store commits only if nobody changed the room meanwhile (else it
retries on the fresh state). So two therapist tabs admitting at once, or an admit racing a leave,
end in one consistent state, on one node or many.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from signaling.messages import Answer as AnswerIn
from signaling.messages import (
    AnswerOut,
    CandidateOut,
    ChatOut,
    DeviceCheck,
    HangupOut,
    MediaOut,
    OfferOut,
    Outbound,
    RelayIn,
    TherapistMessage,
    encode,
)
from signaling.messages import Candidate as CandidateIn
from signaling.messages import Offer as OfferIn
from telehealth.errors import Code, RapportError
from telehealth.presence.base import PresenceStore, PresenceUnavailable
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Participant, Snapshot, merge
from telehealth.rooms.states import TERMINAL_CODES, Event, Role, State, transition
from telehealth.routing.base import Router
from telehealth.routing.envelope import Audience, Envelope, Kind

log = logging.getLogger("telehealth.rooms")

COMMIT_ATTEMPTS = 20
MAX_WAITING = 100  # per room: a therapist's waiting room, not a lobby for thousands

Changes = dict[str, Participant]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class RoomRules:
    node_id: str
    grace_ms: int = 60_000
    waiting_grace_ms: int = 300_000
    max_participants: int = 4
    max_waiting: int = MAX_WAITING


@dataclass(frozen=True)
class Joined:
    snapshot: Snapshot
    participant: Participant
    resumed: bool


class RoomService:
    def __init__(
        self,
        presence: PresenceStore,
        router: Router,
        hub: Hub,
        rules: RoomRules,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.presence = presence
        self.router = router
        self.hub = hub
        self.rules = rules
        self.clock = clock
        self._recovering = asyncio.Lock()
        # Drops that could not be recorded while presence was unreachable, with the last
        # snapshot of the room this node saw: (room, pid, conn) -> snapshot.
        self._unrecorded_drops: dict[tuple[str, str, str], Snapshot | None] = {}

    # -- the commit loop ---------------------------------------------------------------------

    async def _change(self, room: str, decide: Callable[[Snapshot], Changes]) -> Snapshot:
        for attempt in range(COMMIT_ATTEMPTS):
            snapshot = await self.presence.load(room)
            changed = decide(snapshot)
            if not changed:
                return snapshot
            version = await self.presence.commit(room, snapshot.version, changed)
            if version is not None:
                updated = merge(snapshot, version, changed.values())
                self.publish(snapshot, updated)
                return updated
            await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise RapportError(Code.UNAVAILABLE, "The room is busy; please retry.", retry_after=1)

    def publish(self, before: Snapshot, after: Snapshot) -> None:
        """Deliver locally first, then tell every other node with a participant in the room."""
        self.hub.apply(after)
        nodes = (before.nodes() | after.nodes() | _nodes_of_changed(before, after)) - {
            self.rules.node_id
        }
        if nodes:
            self.router.send(
                nodes,
                Envelope(
                    node=self.rules.node_id,
                    kind=Kind.SNAPSHOT,
                    room=after.room,
                    version=after.version,
                    records=list(after.participants.values()),
                ),
            )

    def _grace_ms(self, p: Participant) -> int:
        return self.rules.waiting_grace_ms if p.state is State.WAITING else self.rules.grace_ms

    # -- joining and leaving -----------------------------------------------------------------

    async def join(
        self,
        room: str,
        pid: str,
        role: Role,
        name: str,
        conn: str,
        device: DeviceCheck | None = None,
    ) -> Joined:
        resumed = False

        def decide(s: Snapshot) -> Changes:
            nonlocal resumed
            now = self.clock()
            old = s.get(pid)
            state = old.state if old else State.NEW
            if role is Role.CLIENT and state in (
                State.DENIED,
                State.REMOVED,
                State.ENDED,
                State.CLOSED,
            ):
                raise RapportError(TERMINAL_CODES[state])
            target = transition(role, Event.JOIN, state, participant_id=pid)
            resumed = old is not None and old.active
            if role is Role.CLIENT and not resumed and len(s.waiting()) >= self.rules.max_waiting:
                raise RapportError(Code.WAITING_ROOM_FULL)
            fresh = old is None or not resumed
            base = old or Participant(id=pid, role=role, state=target, name=name)
            return {
                pid: base.with_(
                    state=target,
                    name=name or base.name,
                    queued_at=now if fresh else base.queued_at,
                    since=now if fresh else base.since,
                    node=self.rules.node_id,
                    conn=conn,
                    connected=True,
                    dropped_at=0,
                    device=device or base.device,
                )
            }

        snapshot = await self._change(room, decide)
        return Joined(snapshot, snapshot.participants[pid], resumed)

    async def leave(self, room: str, pid: str, conn: str) -> None:
        def decide(s: Snapshot) -> Changes:
            me = s.get(pid)
            if me is None or me.conn != conn or not me.active:
                return {}
            changes = {pid: self._moved(me, Event.LEAVE)}
            if me.role is Role.THERAPIST:
                changes.update(self._send_everyone_back(s))
            return changes

        await self._change(room, decide)

    async def dropped(self, room: str, pid: str, conn: str, seen: Snapshot | None = None) -> None:
        """The socket ``conn`` closed without a leave: keep the place for the grace period.

        ``seen`` is the room as this node last saw it; if presence is unreachable now, it is
        kept so that recover() can put the room back and record the drop later."""
        try:
            await self._record_drop(room, pid, conn)
        except PresenceUnavailable:
            self._unrecorded_drops[(room, pid, conn)] = seen
            raise

    async def _record_drop(self, room: str, pid: str, conn: str) -> None:
        dropped: list[Participant] = []

        def decide(s: Snapshot) -> Changes:
            dropped.clear()
            me = s.get(pid)
            if me is None or me.conn != conn or not me.active or not me.connected:
                return {}
            p = me.with_(connected=False, dropped_at=self.clock())
            dropped.append(p)
            return {pid: p}

        await self._change(room, decide)
        for p in dropped:
            await self.presence.schedule_expiry(room, pid, p.dropped_at + self._grace_ms(p))

    async def node_lost(self, room: str, node: str) -> None:
        """Participants of a node that stopped heartbeating count as dropped from now."""
        dropped: list[Participant] = []

        def decide(s: Snapshot) -> Changes:
            dropped.clear()
            now = self.clock()
            for p in s.participants.values():
                if p.node == node and p.connected and p.active:
                    dropped.append(p.with_(connected=False, dropped_at=now))
            return {p.id: p for p in dropped}

        await self._change(room, decide)
        for p in dropped:
            await self.presence.schedule_expiry(room, p.id, p.dropped_at + self._grace_ms(p))

    async def expire(self, room: str, pid: str) -> bool:
        """End the grace period of a participant who has not come back. True when it lapsed."""
        lapsed = False

        def decide(s: Snapshot) -> Changes:
            nonlocal lapsed
            me = s.get(pid)
            lapsed = bool(
                me
                and me.active
                and not me.connected
                and me.dropped_at + self._grace_ms(me) <= self.clock()
            )
            if not me or not lapsed:
                return {}
            changes = {pid: self._moved(me, Event.EXPIRE)}
            if me.role is Role.THERAPIST:
                changes.update(self._send_everyone_back(s))
            return changes

        await self._change(room, decide)
        return lapsed

    # -- the therapist's actions -------------------------------------------------------------

    def _ensure_therapist(self, s: Snapshot, actor: str) -> None:
        me = s.get(actor)
        if me is None or me.role is not Role.THERAPIST or me.state is not State.PRESENT:
            raise RapportError(Code.FORBIDDEN, "Only the room's therapist can do that.")

    def _client(self, s: Snapshot, pid: str) -> Participant:
        p = s.get(pid)
        if p is None or p.role is not Role.CLIENT:
            raise RapportError(Code.UNKNOWN_PARTICIPANT)
        return p

    def _moved(self, p: Participant, event: Event) -> Participant:
        state = transition(p.role, event, p.state, participant_id=p.id)
        return p.with_(state=state, since=self.clock())

    def _send_everyone_back(self, s: Snapshot) -> Changes:
        return {p.id: self._moved(p, Event.SEND_BACK) for p in s.admitted()}

    async def admit(self, room: str, actor: str, pids: Iterable[str]) -> Snapshot:
        wanted = list(dict.fromkeys(pids))

        def decide(s: Snapshot) -> Changes:
            self._ensure_therapist(s, actor)
            changes = {pid: self._moved(self._client(s, pid), Event.ADMIT) for pid in wanted}
            seats = self.rules.max_participants - 1  # the therapist takes one
            if len(s.admitted()) + len(changes) > seats:
                raise RapportError(
                    Code.ROOM_FULL,
                    f"A session holds at most {self.rules.max_participants} participants.",
                )
            return changes

        return await self._change(room, decide)

    async def _act_on_client(self, room: str, actor: str, pid: str, event: Event) -> Snapshot:
        def decide(s: Snapshot) -> Changes:
            self._ensure_therapist(s, actor)
            return {pid: self._moved(self._client(s, pid), event)}

        return await self._change(room, decide)

    async def deny(self, room: str, actor: str, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.DENY)

    async def remove(self, room: str, actor: str, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.REMOVE)

    async def send_back(self, room: str, actor: str, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.SEND_BACK)

    async def withdraw(self, room: str, pid: str) -> bool:
        """A withdrawn session link: its client leaves the room (removed), wherever they were.
        True when someone was there."""
        removed = False

        def decide(s: Snapshot) -> Changes:
            nonlocal removed
            p = s.get(pid)
            removed = bool(p and p.role is Role.CLIENT and p.active)
            return {pid: self._moved(p, Event.REMOVE)} if p and removed else {}

        await self._change(room, decide)
        return removed

    async def end_session(self, room: str, actor: str) -> Snapshot:
        def decide(s: Snapshot) -> Changes:
            self._ensure_therapist(s, actor)
            return {p.id: self._moved(p, Event.END_SESSION) for p in s.admitted()}

        return await self._change(room, decide)

    async def end_room(self, room: str) -> Snapshot:
        """End everything in the room: the session, the waiting room and the therapist's part."""

        def decide(s: Snapshot) -> Changes:
            return {
                p.id: self._moved(p, Event.END_ROOM) for p in s.participants.values() if p.active
            }

        return await self._change(room, decide)

    # -- messages inside a room --------------------------------------------------------------

    async def _current(self, room: str, version: int = 0) -> Snapshot:
        snapshot = self.hub.snapshot(room)
        if snapshot is None or snapshot.version < version:
            snapshot = await self.presence.load(room)
            self.hub.apply(snapshot)
        return snapshot

    def _deliver(
        self,
        snapshot: Snapshot,
        targets: list[Participant],
        audience: Audience,
        sender: str,
        message: Outbound,
    ) -> None:
        data = encode(message)
        by_node: dict[str, list[str]] = {}
        for p in targets:
            by_node.setdefault(p.node, []).append(p.id)
        for node, pids in by_node.items():
            if node == self.rules.node_id:
                self.hub.deliver(snapshot.room, pids, audience, sender, data)
            else:
                self.router.send(
                    [node],
                    Envelope(
                        node=self.rules.node_id,
                        kind=Kind.DELIVER,
                        room=snapshot.room,
                        version=snapshot.version,
                        to=pids,
                        audience=audience,
                        sender=sender,
                        data=data,
                    ),
                )

    async def message(self, room: str, actor: str, text: str, to: str | None) -> int:
        """The therapist messages one waiting client, or all of them. Returns how many."""
        s = await self._current(room)
        self._ensure_therapist(s, actor)
        if to is None:
            targets = s.waiting()
        else:
            client = self._client(s, to)
            if client.state is not State.WAITING:
                raise RapportError(Code.INVALID_TRANSITION, "That client is not waiting.")
            targets = [client]
        message = TherapistMessage(text=text, at=self.clock() / 1000, to_all=to is None)
        self._deliver(s, targets, Audience.WAITING, actor, message)
        return len(targets)

    async def relay(self, room: str, sender: str, message: RelayIn) -> None:
        """Pass an offer, answer, candidate or hang-up to one peer in the same session."""
        s = await self._current(room)
        members = s.session
        if sender not in members:
            raise RapportError(Code.NOT_ADMITTED, "You are not in the session.")
        target = members.get(message.to)
        if target is None or target.id == sender:
            raise RapportError(Code.NOT_ADMITTED, "That participant is not in the session.")
        out: Outbound
        if isinstance(message, OfferIn):
            out = OfferOut(sender=sender, sdp=message.sdp, restart=message.restart)
        elif isinstance(message, AnswerIn):
            out = AnswerOut(sender=sender, sdp=message.sdp)
        elif isinstance(message, CandidateIn):
            out = CandidateOut(sender=sender, candidate=message.candidate)
        else:
            out = HangupOut(sender=sender)
        self._deliver(s, [target], Audience.SESSION, sender, out)

    async def to_session(
        self, room: str, sender: str, build: Callable[[Participant], Outbound]
    ) -> None:
        """Send a message from ``sender`` to everyone else in the session (chat, media state)."""
        s = await self._current(room)
        members = s.in_session()
        me = next((p for p in members if p.id == sender), None)
        if me is None:
            raise RapportError(Code.NOT_ADMITTED, "You are not in the session.")
        others = [p for p in members if p.id != sender]
        self._deliver(s, others, Audience.SESSION, sender, build(me))

    async def chat(self, room: str, sender: str, text: str) -> None:
        at = self.clock() / 1000
        await self.to_session(
            room, sender, lambda me: ChatOut(sender=me.id, name=me.name, text=text, at=at)
        )

    async def media(self, room: str, sender: str, audio: bool, video: bool, screen: bool) -> None:
        await self.to_session(
            room,
            sender,
            lambda me: MediaOut(sender=me.id, audio=audio, video=video, screen=screen),
        )

    # -- envelopes from other nodes ----------------------------------------------------------

    async def on_envelope(self, envelope: Envelope) -> None:
        if envelope.kind is Kind.SNAPSHOT:
            self.hub.apply(
                Snapshot(
                    room=envelope.room,
                    version=envelope.version,
                    participants={p.id: p for p in envelope.records},
                )
            )
        elif envelope.kind is Kind.DELIVER:
            if self.hub.version(envelope.room) < 0:
                return
            await self._current(envelope.room, envelope.version)
            self.hub.deliver(
                envelope.room, envelope.to, envelope.audience, envelope.sender, envelope.data
            )

    async def catch_up(self, room: str) -> None:
        """Apply the room's current snapshot to the local views (after a new socket attached)."""
        self.hub.apply(await self.presence.load(room))

    async def recover(self) -> None:
        """After presence or routing came back from an outage.

        Presence may have lost everything (a Redis restart without persistence) and pub/sub
        messages were lost either way. For each room with participants here: write back the
        newest snapshot this node saw if the store holds an older one, make this node's
        records match its live sockets, and tell every node where the room now stands.
        """
        async with self._recovering:
            for (room, pid, conn), seen in sorted(self._unrecorded_drops.items()):
                if seen is not None:
                    await self.presence.restore(seen)  # a no-op unless the store lost it
                await self._record_drop(room, pid, conn)
                del self._unrecorded_drops[(room, pid, conn)]
            for room in self.hub.rooms():
                seen = self.hub.snapshot(room)
                if seen is None:
                    continue
                if await self.presence.restore(seen) is not None:
                    log.info("room %s restored into presence from version %d", room, seen.version)
                await self.reconcile(room)
                current = await self.presence.load(room)
                self.publish(seen, current)

    async def reconcile(self, room: str) -> None:
        """Make this node's participants' ``connected`` flags match the sockets it holds."""
        dropped: list[Participant] = []

        def decide(s: Snapshot) -> Changes:
            dropped.clear()
            changes: Changes = {}
            now = self.clock()
            for p in s.participants.values():
                if p.node != self.rules.node_id or not p.active:
                    continue
                outlet = self.hub.outlet(room, p.id)
                live = outlet is not None and outlet.conn_id == p.conn
                if p.connected and not live:
                    changes[p.id] = p.with_(connected=False, dropped_at=now)
                elif not p.connected and live:
                    changes[p.id] = p.with_(connected=True, dropped_at=0)
                if not changes.get(p.id, p).connected:
                    dropped.append(changes.get(p.id, p))
            return changes

        await self._change(room, decide)
        for p in dropped:  # expiries may have been lost with the store
            await self.presence.schedule_expiry(room, p.id, p.dropped_at + self._grace_ms(p))


def _nodes_of_changed(before: Snapshot, after: Snapshot) -> set[str]:
    """Nodes that held a changed participant before the change (a replaced or ended socket)."""
    nodes = set()
    for pid, p in after.participants.items():
        old = before.participants.get(pid)
        if old is not None and old.node and old != p:
            nodes.add(old.node)
    return nodes
