"""The waiting room's use cases: join, admit, deny, send back, remove, end, leave, drop, expire,
and the messages that flow inside a room.

Every change is read-decide-commit: ``_change`` loads the room, a pure ``decide`` function applies
the state table and returns a :class:`Decision` (the changed records and the events that explain
them), and the store commits records and events together only if nobody changed the room
meanwhile (else it decides again on the fresh state). So two therapist tabs admitting at once, or
an admit racing a leave, end in one consistent state, on one node or many.

Only a commit that succeeded becomes a :class:`RoomChange`, handed once to each listener in the
order they were registered: the fan-out to this node's sockets and the other nodes first (see
rooms/fanout.py), then whatever the app wired (the transition log, ...).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from signaling.errors import Code, RapportError
from signaling.messages import Answer as AnswerIn
from signaling.messages import (
    AnswerOut,
    CandidateOut,
    ChatOut,
    DeviceCheck,
    Emergency,
    HangupOut,
    MediaOut,
    OfferOut,
    Outbound,
    PrecallReport,
    RelayIn,
    ReplyOut,
    TherapistMessage,
    encode,
)
from signaling.messages import Candidate as CandidateIn
from signaling.messages import Offer as OfferIn
from telehealth.rooms import seats
from telehealth.rooms.events import (
    Actor,
    ChangeListener,
    Decision,
    Record,
    RoomChange,
    RoomEvent,
    SessionMark,
    StreamEntry,
    system,
)
from telehealth.rooms.fanout import Fanout
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Participant, Snapshot, merge
from telehealth.rooms.ports import (
    Audience,
    Envelope,
    Kind,
    PresenceStore,
    PresenceUnavailable,
    Router,
)
from telehealth.rooms.seats import Seat, SeatClaim
from telehealth.rooms.states import Event, Reason, Role, State, terminal_code, transition

log = logging.getLogger("telehealth.rooms")

COMMIT_ATTEMPTS = 20
MAX_WAITING = 100  # per room: a therapist's waiting room, not a lobby for thousands

Events = tuple[RoomEvent, ...]


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
        self.system = system(rules.node_id)
        # Local sockets and other nodes hear of a change first; the app adds the rest.
        self.fanout = Fanout(hub, router, rules.node_id)
        self._listeners: list[ChangeListener] = [self.fanout]
        self._recovering = asyncio.Lock()
        # Drops that could not be recorded while presence was unreachable, with the last
        # snapshot of the room this node saw: (room, pid, conn) -> snapshot.
        self._unrecorded_drops: dict[tuple[str, str, str], Snapshot | None] = {}

    # -- the commit loop ---------------------------------------------------------------------

    def listen(self, listener: ChangeListener) -> None:
        """Add a listener for committed changes, after the ones already registered."""
        self._listeners.append(listener)

    async def _change(
        self, room: str, decide: Callable[[Snapshot], Decision]
    ) -> tuple[Snapshot, Events]:
        """Decide on the latest snapshot and commit, retrying on a concurrent change. Returns
        the room after the change and the committed events (none if nothing changed)."""
        for attempt in range(COMMIT_ATTEMPTS):
            snapshot = await self.presence.load(room)
            decision = decide(snapshot)
            if not decision:
                return snapshot, ()
            at = self.clock()
            version = snapshot.version + 1
            updated = merge(snapshot, version, decision.changes.values())
            mark = _session_mark(snapshot, updated, decision)
            records: list[Record] = [*decision.events, *([mark] if mark else [])]
            entries = [
                StreamEntry(room=room, version=version, at=at, node=self.rules.node_id, record=r)
                for r in records
            ]
            committed = await self.presence.commit(
                room, snapshot.version, decision.changes, entries
            )
            if committed is not None:  # always snapshot.version + 1
                events = tuple(decision.events)
                self._emit(
                    RoomChange(
                        room=room,
                        version=committed,
                        before=snapshot,
                        after=updated,
                        events=events,
                        session=mark,
                        at=at,
                        node=self.rules.node_id,
                    )
                )
                return updated, events
            await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise RapportError(Code.UNAVAILABLE, "The room is busy; please retry.", retry_after=1)

    def _emit(self, change: RoomChange) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one failing listener must not starve the others
                log.exception("change listener %r failed on room %s", listener, change.room)

    def _grace_ms(self, p: Participant) -> int:
        return self.rules.waiting_grace_ms if p.state is State.WAITING else self.rules.grace_ms

    async def _schedule_expiries(self, room: str, events: Events, after: Snapshot) -> None:
        """Ask the reaper to look at everyone whose socket these events dropped."""
        for e in events:
            if e.event is Event.DROP:
                p = after.participants[e.participant]
                await self.presence.schedule_expiry(room, p.id, p.dropped_at + self._grace_ms(p))

    # -- joining and leaving -----------------------------------------------------------------

    async def join(
        self,
        room: str,
        actor: Actor,
        role: Role,
        name: str,
        conn: str,
        device: DeviceCheck | None = None,
        link: str = "",
    ) -> Joined:
        """``actor.participant`` joins (or resumes in) the room on socket ``conn``; ``link``
        is a client's session link id. Clients' sockets come through ``join_client``."""
        pid = actor.participant

        def decide(s: Snapshot) -> Decision:
            return self._join(s, pid, actor, role, name, conn, device, link)

        return await self._joined(room, pid, decide)

    async def join_client(
        self,
        room: str,
        actor: Actor,
        name: str,
        conn: str,
        claim: SeatClaim,
        device: DeviceCheck | None = None,
        emergency: Emergency | None = None,
        via: str = "",
    ) -> tuple[Joined, Seat]:
        """A client's socket takes the seat its claim proves, or a new one (rooms/seats.py).
        ``actor.participant`` is ignored: the seat decides the participant. ``emergency`` is
        what the client gave at check-in; a resume without it keeps what they gave before."""
        chosen: list[Seat] = []

        def decide(s: Snapshot) -> Decision:
            seat = seats.choose(s, claim)
            chosen[:] = [seat]
            me = msgspec.structs.replace(actor, participant=seat.participant)
            return self._join(
                s,
                seat.participant,
                me,
                Role.CLIENT,
                name,
                conn,
                device,
                claim.link,
                seat,
                emergency,
                claim.ends_at,
                via,
            )

        # Decided on the room as committed (or as it stands, when nothing changed).
        joined = await self._joined(room, None, decide, chosen)
        return joined, chosen[0]

    async def _joined(
        self,
        room: str,
        pid: str | None,
        decide: Callable[[Snapshot], Decision],
        chosen: list[Seat] | None = None,
    ) -> Joined:
        snapshot, events = await self._change(room, decide)
        if pid is None:
            assert chosen
            pid = chosen[0].participant
        resumed = any(e.event is Event.RESUME and e.participant == pid for e in events)
        return Joined(snapshot, snapshot.participants[pid], resumed)

    def _join(
        self,
        s: Snapshot,
        pid: str,
        actor: Actor,
        role: Role,
        name: str,
        conn: str,
        device: DeviceCheck | None,
        link: str,
        seat: Seat | None = None,
        emergency: Emergency | None = None,
        ends_at: int = 0,
        via: str = "",
    ) -> Decision:
        now = self.clock()
        old = s.get(pid)
        state = old.state if old else State.NEW
        if role is Role.CLIENT and state in (
            State.DENIED,
            State.REMOVED,
            State.ENDED,
            State.CLOSED,
        ):
            assert old is not None
            raise RapportError(terminal_code(state, old.reason))
        target = transition(role, Event.JOIN, state)
        resumed = old is not None and old.active
        if role is Role.CLIENT and not resumed and len(s.waiting()) >= self.rules.max_waiting:
            raise RapportError(Code.WAITING_ROOM_FULL)
        fresh = old is None or not resumed
        base = old or Participant(id=pid, role=role, state=target, name=name, link=link, via=via)
        after = base.with_(
            state=target,
            name=name or base.name,
            queued_at=now if fresh else base.queued_at,
            since=now if fresh else base.since,
            node=self.rules.node_id,
            conn=conn,
            connected=True,
            dropped_at=0,
            device=device or base.device,
            emergency=emergency or base.emergency,
            late_until=base.late_until if resumed else 0,  # a new arrival: no old notice
        )
        if seat is not None:
            after = after.with_(secret=seat.secret, second_device=seat.second_device)
        if role is Role.CLIENT and ends_at:
            after = after.with_(ends_at=ends_at)
        decision = Decision()
        if resumed:
            replaced = old is not None and old.connected
            reason = Reason.REPLACED if replaced else Reason.NONE
            decision.record(old, after, Event.RESUME, actor, reason)
        else:
            reason = Reason.SECOND_DEVICE if seat and seat.second_device else Reason.NONE
            decision.record(old, after, Event.JOIN, actor, reason)
        return decision

    async def leave(self, room: str, actor: Actor, conn: str) -> None:
        pid = actor.participant

        def decide(s: Snapshot) -> Decision:
            me = s.get(pid)
            decision = Decision()
            if me is None or me.conn != conn or not me.active:
                return decision
            self._move(decision, me, Event.LEAVE, actor)
            if me.role is Role.THERAPIST:
                self._send_everyone_back(decision, s, actor, Reason.THERAPIST_LEFT)
            return decision

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

    def _drop(self, decision: Decision, p: Participant, reason: Reason) -> None:
        after = p.with_(connected=False, dropped_at=self.clock())
        decision.record(p, after, Event.DROP, self.system, reason)

    async def _record_drop(self, room: str, pid: str, conn: str) -> None:
        def decide(s: Snapshot) -> Decision:
            me = s.get(pid)
            decision = Decision()
            if me is not None and me.conn == conn and me.active and me.connected:
                self._drop(decision, me, Reason.CONNECTION_LOST)
            return decision

        after, events = await self._change(room, decide)
        await self._schedule_expiries(room, events, after)

    async def node_lost(self, room: str, node: str) -> None:
        """Participants of a node that stopped heartbeating count as dropped from now."""

        def decide(s: Snapshot) -> Decision:
            decision = Decision()
            for p in s.participants.values():
                if p.node == node and p.connected and p.active:
                    self._drop(decision, p, Reason.NODE_LOST)
            return decision

        after, events = await self._change(room, decide)
        await self._schedule_expiries(room, events, after)

    async def expire(self, room: str, pid: str) -> bool:
        """End the grace period of a participant who has not come back. True when it lapsed."""

        def decide(s: Snapshot) -> Decision:
            me = s.get(pid)
            decision = Decision()
            if not (
                me
                and me.active
                and not me.connected
                and me.dropped_at + self._grace_ms(me) <= self.clock()
            ):
                return decision
            self._move(decision, me, Event.EXPIRE, self.system)
            if me.role is Role.THERAPIST:
                self._send_everyone_back(decision, s, self.system, Reason.THERAPIST_LOST)
            return decision

        _, events = await self._change(room, decide)
        return any(e.participant == pid and e.event is Event.EXPIRE for e in events)

    # -- the therapist's actions -------------------------------------------------------------

    def _ensure_therapist(self, s: Snapshot, actor: Actor) -> None:
        me = s.get(actor.participant)
        if me is None or me.role is not Role.THERAPIST or me.state is not State.PRESENT:
            raise RapportError(Code.FORBIDDEN, "Only the room's therapist can do that.")

    def _client(self, s: Snapshot, pid: str) -> Participant:
        p = s.get(pid)
        if p is None or p.role is not Role.CLIENT:
            raise RapportError(Code.UNKNOWN_PARTICIPANT)
        return p

    def _move(
        self,
        decision: Decision,
        p: Participant,
        event: Event,
        actor: Actor,
        reason: Reason = Reason.NONE,
    ) -> None:
        """Record ``p``'s move by ``event`` (or raise the state table's named refusal)."""
        after = p.with_(state=transition(p.role, event, p.state), since=self.clock())
        decision.record(p, after, event, actor, reason)

    def _send_everyone_back(
        self, decision: Decision, s: Snapshot, actor: Actor, reason: Reason
    ) -> None:
        for p in s.admitted():
            self._move(decision, p, Event.SEND_BACK, actor, reason)

    async def admit(self, room: str, actor: Actor, pids: Iterable[str]) -> Snapshot:
        wanted = list(dict.fromkeys(pids))

        def decide(s: Snapshot) -> Decision:
            self._ensure_therapist(s, actor)
            decision = Decision()
            links = [self._client(s, pid).link for pid in wanted]
            if len([x for x in links if x]) != len({x for x in links if x}):
                raise RapportError(
                    Code.INVALID_TRANSITION, "Admit one device of a session link, not two."
                )
            therapist = s.get(actor.participant)
            if therapist is not None and therapist.late_until:
                decision.amend(therapist.with_(late_until=0))  # here now: the notice is over
            for pid in wanted:
                p = self._client(s, pid)
                self._move(decision, p, Event.ADMIT, actor)
                # One seat per link: admitting one of its devices turns the others away.
                for other in seats.other_devices(s, p):
                    self._move(decision, other, Event.REMOVE, actor, Reason.OTHER_DEVICE)
            places = self.rules.max_participants - 1  # the therapist takes one
            if len(merge(s, s.version, decision.changes.values()).admitted()) > places:
                raise RapportError(
                    Code.ROOM_FULL,
                    f"A session holds at most {self.rules.max_participants} participants.",
                )
            return decision

        return (await self._change(room, decide))[0]

    async def _act_on_client(self, room: str, actor: Actor, pid: str, event: Event) -> Snapshot:
        def decide(s: Snapshot) -> Decision:
            self._ensure_therapist(s, actor)
            decision = Decision()
            self._move(decision, self._client(s, pid), event, actor)
            return decision

        return (await self._change(room, decide))[0]

    async def deny(self, room: str, actor: Actor, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.DENY)

    async def remove(self, room: str, actor: Actor, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.REMOVE)

    async def send_back(self, room: str, actor: Actor, pid: str) -> Snapshot:
        return await self._act_on_client(room, actor, pid, Event.SEND_BACK)

    async def withdraw(self, room: str, pid: str, actor: Actor) -> bool:
        """A withdrawn session link: its client leaves the room (removed), wherever they were.
        True when someone was there."""

        def decide(s: Snapshot) -> Decision:
            p = s.get(pid)
            decision = Decision()
            if p is None or p.role is not Role.CLIENT:
                return decision
            # The link's second devices go with it.
            for q in [p, *seats.other_devices(s, p)]:
                if q.active:
                    self._move(decision, q, Event.REMOVE, actor, Reason.LINK_WITHDRAWN)
            return decision

        _, events = await self._change(room, decide)
        return bool(events)

    async def running_late(self, room: str, actor: Actor, minutes: int) -> Snapshot:
        """The therapist expects to be with the waiting clients in ``minutes`` (0 clears the
        notice). The ETA lives on the therapist's record, so every node's waiting clients see
        it, and one who arrives later too; an admit clears it."""

        def decide(s: Snapshot) -> Decision:
            self._ensure_therapist(s, actor)
            me = s.participants[actor.participant]
            until = self.clock() + minutes * 60_000 if minutes else 0
            decision = Decision()
            if until != me.late_until:
                decision.amend(me.with_(late_until=until))
            return decision

        return (await self._change(room, decide))[0]

    async def end_session(self, room: str, actor: Actor) -> Snapshot:
        def decide(s: Snapshot) -> Decision:
            self._ensure_therapist(s, actor)
            decision = Decision()
            for p in s.admitted():
                self._move(decision, p, Event.END_SESSION, actor)
            return decision

        return (await self._change(room, decide))[0]

    async def end_room(self, room: str, actor: Actor) -> Snapshot:
        """End everything in the room: the session, the waiting room and the therapist's part."""

        def decide(s: Snapshot) -> Decision:
            decision = Decision()
            for p in s.participants.values():
                if p.active:
                    self._move(decision, p, Event.END_ROOM, actor)
            return decision

        return (await self._change(room, decide))[0]

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
                self.hub.deliver(snapshot.room, pids, audience, sender, data, snapshot.version)
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

    async def message(self, room: str, actor: Actor, text: str, to: str | None) -> int:
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
        self._deliver(s, targets, Audience.WAITING, actor.participant, message)
        return len(targets)

    async def reply(self, room: str, sender: str, text: str) -> None:
        """A waiting client answers the therapist's messages; it goes to the therapist only."""
        s = await self._current(room)
        me = s.get(sender)
        if me is None or me.role is not Role.CLIENT or me.state is not State.WAITING:
            raise RapportError(Code.FORBIDDEN, "Only a waiting client can reply.")
        therapist = s.therapist()
        if therapist is None:
            raise RapportError(Code.INVALID_TRANSITION, "Your therapist is not here yet.")
        message = ReplyOut(sender=sender, text=text, at=self.clock() / 1000)
        self._deliver(s, [therapist], Audience.ANY, sender, message)

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

    async def session_member(self, room: str, pid: str) -> Participant:
        """``pid``'s record if they are in the room's session now, else ``not_admitted``."""
        member = (await self._current(room)).session.get(pid)
        if member is None:
            raise RapportError(Code.NOT_ADMITTED, "You are not in the session.")
        return member

    async def to_therapist(self, room: str, sender: str, message: Outbound) -> None:
        """Send a message from ``sender`` (in the session) to the room's therapist only."""
        s = await self._current(room)
        if sender not in s.session:
            raise RapportError(Code.NOT_ADMITTED, "You are not in the session.")
        therapist = s.therapist()
        if therapist is not None and therapist.id != sender:
            self._deliver(s, [therapist], Audience.SESSION, sender, message)

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

    # -- the pre-call test -------------------------------------------------------------------

    async def ensure_may_test(self, room: str, pid: str) -> None:
        """Only a waiting client runs the pre-call test: in a call, the node's test peer would
        compete with the call for the client's bandwidth (and tell the therapist nothing new)."""
        me = (await self._current(room)).get(pid)
        if me is None or me.role is not Role.CLIENT or me.state is not State.WAITING:
            raise RapportError(
                Code.FORBIDDEN, "The connection test is for clients in the waiting room."
            )

    async def record_precall(self, room: str, pid: str, conn: str, report: PrecallReport) -> bool:
        """Keep a pre-call test's report with the participant (socket ``conn``'s, still active).
        Not a move between states: the record changes, no event is written, nothing logged."""

        def decide(s: Snapshot) -> Decision:
            me = s.get(pid)
            decision = Decision()
            if me is not None and me.conn == conn and me.active:
                decision.changes[pid] = me.with_(precall=report)
            return decision

        after, _ = await self._change(room, decide)
        me = after.get(pid)
        return me is not None and me.precall is report

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
            # The sender checked the audience on its snapshot at ``version``. The hub decides on
            # one at least as new, and holds what it cannot decide yet (a socket still being
            # attached here, a room behind the sender): a delivery is never dropped for arriving
            # early (hub.py).
            room = envelope.room
            self.hub.deliver(
                room,
                envelope.to,
                envelope.audience,
                envelope.sender,
                envelope.data,
                envelope.version,
            )
            if self.hub.behind(room, envelope.version):
                # The snapshot envelope usually comes first; when it has not (it came from a
                # third node), read the room. If that fails, the next snapshot releases it.
                try:
                    await self._current(room, envelope.version)
                except PresenceUnavailable:
                    log.warning("room %s: a delivery waits for a newer snapshot", room)

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
                self.fanout.publish(seen, current)  # not a change: no events

    async def reconcile(self, room: str) -> None:
        """Make this node's participants' ``connected`` flags match the sockets it holds."""

        def decide(s: Snapshot) -> Decision:
            decision = Decision()
            for p in s.participants.values():
                if p.node != self.rules.node_id or not p.active:
                    continue
                outlet = self.hub.outlet(room, p.id)
                live = outlet is not None and outlet.conn_id == p.conn
                if p.connected and not live:
                    self._drop(decision, p, Reason.RECONCILED)
                elif not p.connected and live:
                    after = p.with_(connected=True, dropped_at=0)
                    decision.record(p, after, Event.RESUME, self.system, Reason.RECONCILED)
            return decision

        after, _ = await self._change(room, decide)
        # Expiries may have been lost with the store: schedule one for everyone still away.
        for p in after.participants.values():
            if p.node == self.rules.node_id and p.active and not p.connected:
                await self.presence.schedule_expiry(room, p.id, p.dropped_at + self._grace_ms(p))


def _session_mark(before: Snapshot, after: Snapshot, decision: Decision) -> SessionMark | None:
    """The session began with this change (its first client admitted) or ended (its last
    one gone): a mark for the stream, so its readers need not replay the room to know."""
    had, has = bool(before.admitted()), bool(after.admitted())
    if had == has or not decision.events:
        return None
    return SessionMark(
        started=has, actor=decision.events[0].actor, participants=len(after.in_session())
    )
