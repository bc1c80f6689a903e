"""Protocol fuzzing: a Hypothesis state machine drives clients and a therapist over real sockets,
on one in-memory node and on two nodes sharing a real redis-server.

Rules: a client joins with a new link, leaves, drops its socket, reconnects with its link; the
therapist admits, denies, sends back, removes, messages, ends the session, drops, reconnects and
leaves; anyone sends an offer, a candidate or a chat to anyone (an admitted participant to a
peer, a waiting client to the therapist). After
every step the machine waits for the system to settle (conditions and a ping round trip per
socket, never a sleep), then checks:

* no socket of a client who is not admitted ever received an SDP, a candidate, a session view, a
  chat, or another participant's name or id;
* each participant is in exactly one state, the one the model expects, and the therapist's view
  lists each active client once, in the list of that state;
* the room's durable stream holds exactly one event per committed move, in order.

Hypothesis runs rules synchronously, so the nodes live on an event loop in a thread of their
own (:class:`Harness`), kept for the whole test; each example gets a room of its own.
``RAPPORT_FUZZ=1`` (``make fuzz``) runs many more and longer examples.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import aiohttp
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from signaling.samples import CHROME_OFFER
from telehealth.web import keys
from tests.conftest import RedisServer
from tests.e2e.conftest import settings_for
from tests.e2e.threaded import Harness

T = TypeVar("T")

SOAK = os.environ.get("RAPPORT_FUZZ") == "1"
EXAMPLES = 400 if SOAK else 25
STEPS = 60 if SOAK else 25
WAIT = 10.0  # seconds a condition may take before the step fails (the machine is loaded)
MAX_PARTICIPANTS = 3  # the therapist and two clients: room_full gets exercised
MAX_CLIENTS = 6
THERAPIST_NAME = "Dr Fuzzington"
# What only an admitted participant may ever receive.
SESSION_ONLY = {"offer", "answer", "candidate", "hangup", "session", "chat", "media"}
# What closes a client's socket, by the state that refuses it.
REFUSED = {"denied": 4011, "removed": 4012, "ended": 4013}
ACTIVE = {"waiting", "admitted"}
ROOMS = itertools.count()


@dataclass
class Received:
    data: dict[str, Any]
    raw: str
    admitted: bool  # whether the socket's own last `state` said admitted when this arrived


class Socket:
    """One signaling socket with a reader task that keeps everything it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, role: str) -> None:
        self.ws = ws
        self.role = role
        self.got: list[Received] = []
        self.state = ""  # the last `state` the server told this client
        self.room_view: dict[str, Any] | None = None  # the therapist's last `room`
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.changed = asyncio.Event()
        self.pings = itertools.count(1)
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                data: dict[str, Any] = json.loads(msg.data)
                if data["type"] == "state":
                    self.state = data["state"]
                elif data["type"] == "room":
                    self.room_view = data
                admitted = self.role == "therapist" or self.state == "admitted"
                self.got.append(Received(data, msg.data, admitted))
                self.changed.set()
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            self.changed.set()

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def wait_for(self, check: Callable[[], bool], timeout: float = WAIT) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.changed.clear()
                if check():
                    return
                await self.changed.wait()

    async def roundtrip(self) -> list[dict[str, Any]]:
        """Send a ping, wait for its pong: what arrived in between (a socket's messages are
        handled in order, so every answer to what was sent before is in it)."""
        mark = len(self.got)
        ping = next(self.pings)
        await self.send(type="ping", id=ping)
        await self.wait_for(
            lambda: (
                self.closed.is_set()
                or any(r.data == {"type": "pong", "id": ping} for r in self.got[mark:])
            )
        )
        return [r.data for r in self.got[mark:] if r.data["type"] != "pong"]

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


async def connect(
    http: aiohttp.ClientSession,
    url: str,
    role: str,
    token: str,
    room: str,
    name: str,
    resume: str | None = None,
) -> tuple[Socket, dict[str, Any] | None]:
    """Open a socket and authenticate: the welcome, or None when the server closed it.
    ``resume`` is the device's secret from an earlier welcome (the same tab coming back)."""
    sock = Socket(await http.ws_connect(url), role)
    auth: dict[str, Any] = {"type": "auth", "role": role, "token": token, "room": room}
    auth["name"] = name
    if resume is not None:
        auth["resume"] = resume
    await sock.send(**auth)
    await sock.wait_for(
        lambda: sock.closed.is_set() or any(r.data["type"] == "welcome" for r in sock.got)
    )
    welcome = next((r.data for r in sock.got if r.data["type"] == "welcome"), None)
    return sock, welcome


@dataclass
class Person:
    """The model of one client: what the server should think of them."""

    name: str
    token: str
    pid: str = ""
    state: str = "new"
    resume: str | None = None  # the device's secret: a reconnect is the same device
    sock: Socket | None = None
    events: list[str] = field(default_factory=list)  # their moves, as the stream should hold

    @property
    def connected(self) -> bool:
        return self.sock is not None and not self.sock.closed.is_set()

    @property
    def in_session(self) -> bool:
        return self.state == "admitted"


index = st.integers(0, 63)


class RoomMachine(RuleBasedStateMachine):
    h: ClassVar[Harness]  # bound by a subclass per test (Hypothesis builds the machine itself)

    def __init__(self) -> None:
        super().__init__()
        self.room = f"fuzz-{next(ROOMS)}"
        self.people: list[Person] = []
        self.therapist: Socket | None = None
        self.therapist_id = ""
        self.therapist_token = self.h.minter.mint_therapist("dr-fuzz", [self.room])
        self.therapist_state = "new"
        self.therapist_events: list[str] = []

    # -- plumbing ------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.h.run(coro)

    @property
    def t(self) -> Socket:
        assert self.therapist is not None
        return self.therapist

    @property
    def therapist_here(self) -> bool:
        """The therapist's socket is open (they can act)."""
        return self.therapist is not None and not self.therapist.closed.is_set()

    @staticmethod
    def pick(candidates: list[Person], i: int) -> Person | None:
        return candidates[i % len(candidates)] if candidates else None

    def joined(self) -> list[Person]:
        return [p for p in self.people if p.pid]

    async def _expect_refusal(self, sock: Socket, ref: str, codes: set[str]) -> None:
        replies = await sock.roundtrip()
        errors = [m for m in replies if m["type"] == "error"]
        assert [m["ref"] for m in errors] == [ref], (ref, replies)
        assert errors[0]["code"] in codes, (ref, codes, errors)

    async def _expect_accepted(self, sock: Socket, ref: str) -> None:
        replies = await sock.roundtrip()
        errors = [m for m in replies if m["type"] == "error"]
        assert not errors, (ref, errors)

    # -- the therapist ---------------------------------------------------------------------------

    @initialize()
    def therapist_arrives(self) -> None:
        self.run(self._therapist_connects(len(self.h.servers) - 1))

    async def _therapist_connects(self, node: int) -> None:
        assert self.h.http is not None
        sock, welcome = await connect(
            self.h.http,
            self.h.url(node),
            "therapist",
            self.therapist_token,
            self.room,
            THERAPIST_NAME,
        )
        assert welcome is not None, [r.data for r in sock.got]
        assert welcome["resumed"] is (self.therapist_state == "present")
        self.therapist_id = self.therapist_id or welcome["participant_id"]
        assert welcome["participant_id"] == self.therapist_id
        self.therapist = sock
        self.therapist_events.append("resume" if self.therapist_state == "present" else "join")
        self.therapist_state = "present"

    @precondition(lambda self: not self.therapist_here)
    @rule(node=st.integers(0, 1))
    def therapist_reconnects(self, node: int) -> None:
        self.run(self._therapist_connects(node))

    @precondition(lambda self: self.therapist_here)
    @rule()
    def therapist_drops(self) -> None:
        self.run(self.t.close())
        self.therapist_events.append("drop")

    @precondition(lambda self: self.therapist_here)
    @rule()
    def therapist_leaves(self) -> None:
        """Leaving sends every admitted client back to the waiting room."""

        async def go() -> None:
            await self.t.send(type="leave")
            async with asyncio.timeout(WAIT):
                await self.t.closed.wait()
            assert self.t.close_code == 4016
            self.therapist_state = "left"
            self.therapist_events.append("leave")
            for p in self.people:
                if p.state == "admitted":
                    p.state = "waiting"
                    p.events.append("send_back")

        self.run(go())

    @precondition(lambda self: self.therapist_here)
    @rule()
    def end_session(self) -> None:
        async def go() -> None:
            ending = [p for p in self.people if p.state == "admitted"]
            open_before = [p.sock for p in ending if p.connected and p.sock is not None]
            await self.t.send(type="end_session")
            await self._expect_accepted(self.t, "end_session")
            for p in ending:
                p.state = "ended"
                p.events.append("end_session")
            for sock in open_before:
                async with asyncio.timeout(WAIT):
                    await sock.closed.wait()
                assert sock.close_code == 4013, sock.close_code

        self.run(go())

    async def _therapist_acts(
        self, p: Person, verb: str, allowed: dict[str, str], refusal: set[str]
    ) -> None:
        """The therapist sends ``verb`` about ``p``: a move from a state in ``allowed`` (to the
        state it names), otherwise refused with one of ``refusal``."""
        message: dict[str, Any] = (
            {"participant_ids": [p.pid]} if verb == "admit" else {"participant_id": p.pid}
        )
        seats = MAX_PARTICIPANTS - 1
        full = (
            verb == "admit"
            and p.state == "waiting"
            and sum(q.in_session for q in self.people) >= seats
        )
        was_connected = p.connected
        await self.t.send(type=verb, **message)
        if p.state in allowed and not full:
            await self._expect_accepted(self.t, verb)
            p.state = allowed[p.state]
            p.events.append(verb)
            if p.state in REFUSED and was_connected and p.sock is not None:
                sock = p.sock
                async with asyncio.timeout(WAIT):
                    await sock.closed.wait()
                assert sock.close_code == REFUSED[p.state], (verb, sock.close_code)
        else:
            await self._expect_refusal(self.t, verb, {"room_full"} if full else refusal)

    @precondition(lambda self: self.therapist_here and bool(self.joined()))
    @rule(i=index)
    def admit(self, i: int) -> None:
        if p := self.pick(self.joined(), i):
            self.run(
                self._therapist_acts(
                    p, "admit", {"waiting": "admitted"}, {"invalid_transition", "room_full"}
                )
            )

    @precondition(lambda self: self.therapist_here and bool(self.joined()))
    @rule(i=index)
    def deny(self, i: int) -> None:
        if p := self.pick(self.joined(), i):
            self.run(self._therapist_acts(p, "deny", {"waiting": "denied"}, {"invalid_transition"}))

    @precondition(lambda self: self.therapist_here and bool(self.joined()))
    @rule(i=index)
    def send_back(self, i: int) -> None:
        if p := self.pick(self.joined(), i):
            self.run(
                self._therapist_acts(
                    p, "send_back", {"admitted": "waiting"}, {"invalid_transition"}
                )
            )

    @precondition(lambda self: self.therapist_here and bool(self.joined()))
    @rule(i=index)
    def remove(self, i: int) -> None:
        if p := self.pick(self.joined(), i):
            allowed = {"waiting": "removed", "admitted": "removed"}
            self.run(self._therapist_acts(p, "remove", allowed, {"invalid_transition"}))

    @precondition(lambda self: self.therapist_here and bool(self.joined()))
    @rule(i=index)
    def message(self, i: int) -> None:
        p = self.pick(self.joined(), i)
        if p is None:
            return

        async def go() -> None:
            mark = len(p.sock.got) if p.sock else 0
            await self.t.send(type="message", text="Running a little late", to=p.pid)
            if p.state != "waiting":
                await self._expect_refusal(self.t, "message", {"invalid_transition"})
                return
            await self._expect_accepted(self.t, "message")
            if p.connected:
                sock = p.sock
                assert sock is not None
                await sock.wait_for(
                    lambda: any(r.data["type"] == "message" for r in sock.got[mark:])
                )

        self.run(go())

    # -- clients ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.people) < MAX_CLIENTS)
    @rule(node=st.integers(0, 1))
    def client_joins(self, node: int) -> None:
        if len(self.people) >= MAX_CLIENTS:
            return
        n = len(self.people)
        p = Person(name=f"Client{n}x{self.room}", token=self.h.minter.mint_client(self.room))
        self.people.append(p)
        self.run(self._connect(p, node))

    async def _connect(self, p: Person, node: int) -> None:
        assert self.h.http is not None
        sock, welcome = await connect(
            self.h.http, self.h.url(node), "client", p.token, self.room, p.name, p.resume
        )
        p.sock = sock
        if p.state in REFUSED:
            assert welcome is None, welcome
            async with asyncio.timeout(WAIT):
                await sock.closed.wait()
            assert sock.close_code == REFUSED[p.state]
            return
        assert welcome is not None, [r.data for r in sock.got]
        assert welcome["resumed"] is (p.state in ACTIVE)
        p.pid = p.pid or welcome["participant_id"]
        p.resume = welcome.get("resume") or p.resume
        assert welcome["participant_id"] == p.pid
        p.events.append("resume" if p.state in ACTIVE else "join")
        if p.state not in ACTIVE:
            p.state = "waiting"

    @precondition(lambda self: any(not p.connected for p in self.joined()))
    @rule(i=index, node=st.integers(0, 1))
    def client_reconnects(self, i: int, node: int) -> None:
        if p := self.pick([q for q in self.joined() if not q.connected], i):
            self.run(self._connect(p, node))

    @precondition(lambda self: any(p.connected and p.state in ACTIVE for p in self.people))
    @rule(i=index)
    def client_leaves(self, i: int) -> None:
        p = self.pick([q for q in self.people if q.connected and q.state in ACTIVE], i)
        if p is None:
            return

        async def go() -> None:
            assert p.sock is not None
            await p.sock.send(type="leave")
            async with asyncio.timeout(WAIT):
                await p.sock.closed.wait()
            assert p.sock.close_code == 4016
            p.state = "left"
            p.events.append("leave")

        self.run(go())

    @precondition(lambda self: any(p.connected for p in self.people))
    @rule(i=index)
    def client_drops(self, i: int) -> None:
        p = self.pick([q for q in self.people if q.connected], i)
        if p is None:
            return
        assert p.sock is not None
        self.run(p.sock.close())
        if p.state in ACTIVE:
            p.events.append("drop")

    # -- signaling ------------------------------------------------------------------------------

    def _parties(self) -> list[tuple[str, Socket | None, bool]]:
        """(participant id, socket, in session) for the therapist and every joined client."""
        session = any(p.in_session for p in self.people)  # the therapist alone is no session
        therapist = self.therapist if self.therapist_here else None
        return [(self.therapist_id, therapist, session)] + [
            (p.pid, p.sock if p.connected else None, p.in_session) for p in self.joined()
        ]

    @precondition(lambda self: bool(self.joined()))
    @rule(i=index, j=index, kind=st.sampled_from(["offer", "candidate", "chat"]))
    def signal(self, i: int, j: int, kind: str) -> None:
        parties = self._parties()
        senders = [x for x in parties if x[1] is not None]
        if not senders:
            return
        sender_id, sender, sender_in = senders[i % len(senders)]
        targets = [x for x in parties if x[0] != sender_id]
        if sender is None or not targets:
            return
        target_id, target, target_in = targets[j % len(targets)]
        self.run(self._signal(kind, sender, sender_in, target_id, target, target_in))

    @precondition(lambda self: any(p.connected and p.state == "waiting" for p in self.people))
    @rule(i=index)
    def waiting_client_offers(self, i: int) -> None:
        p = self.pick([q for q in self.people if q.connected and q.state == "waiting"], i)
        if p is not None:
            therapist = self.therapist if self.therapist_here else None
            self.run(self._signal("offer", p.sock, False, self.therapist_id, therapist, True))

    async def _signal(
        self,
        kind: str,
        sender: Socket | None,
        sender_in: bool,
        target_id: str,
        target: Socket | None,
        target_in: bool,
    ) -> None:
        assert sender is not None
        mark = len(target.got) if target is not None else 0
        if kind == "offer":
            await sender.send(type="offer", to=target_id, sdp=CHROME_OFFER)
        elif kind == "candidate":
            candidate = {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}
            await sender.send(type="candidate", to=target_id, candidate=candidate)
        else:
            await sender.send(type="chat", text="hello there")
        delivered = sender_in and (target_in or kind == "chat")
        if not delivered:
            await self._expect_refusal(sender, kind, {"not_admitted"})
            return
        await self._expect_accepted(sender, kind)
        if target is not None and target_in:
            await target.wait_for(lambda: any(r.data["type"] == kind for r in target.got[mark:]))

    # -- invariants ------------------------------------------------------------------------------

    async def _settled(self) -> list[Any]:
        """Wait until the stream, the clients' own views and the therapist's view agree with
        the model; then a ping round trip on every open socket. The room's moves, as stored."""
        presence = self.h.servers[0].app[keys.PRESENCE]

        async def stream() -> list[Any]:
            return [s for s in await presence.events(self.room) if s.is_move]

        def moves_of(stored: list[Any], pid: str) -> list[str]:
            return [s.event.event.value for s in stored if s.event.participant == pid]

        async with asyncio.timeout(WAIT):
            while True:
                stored = await stream()
                if moves_of(stored, self.therapist_id) == self.therapist_events and all(
                    moves_of(stored, p.pid) == p.events for p in self.joined()
                ):
                    break
                await asyncio.sleep(0.01)  # polling a condition: the stream has no waiter
        for p in self.people:
            if p.connected and p.state in ACTIVE:
                sock = p.sock
                assert sock is not None
                await sock.wait_for(lambda s=sock, st=p.state: s.state == st)  # type: ignore[misc]

        def view_agrees() -> bool:
            view = self.t.room_view
            if view is None:
                return False
            waiting = sorted(e["participant_id"] for e in view["waiting"])
            session = sorted(e["participant_id"] for e in view["session"])
            return waiting == sorted(p.pid for p in self.people if p.state == "waiting") and (
                session == sorted(p.pid for p in self.people if p.state == "admitted")
            )

        socks = [p.sock for p in self.people if p.connected and p.sock is not None]
        if self.therapist_here:
            await self.t.wait_for(view_agrees)
            socks.append(self.t)
        await asyncio.gather(*(s.roundtrip() for s in socks))
        return await stream()

    @invariant()
    def the_room_agrees_with_the_model(self) -> None:
        if self.therapist is None:
            return
        stored = self.run(self._settled())
        snapshot = self.run(self.h.servers[-1].app[keys.PRESENCE].load(self.room))
        # Exactly one state each: the one the model holds.
        for p in self.joined():
            assert snapshot.participants[p.pid].state.value == p.state, (p.pid, p.state)
        assert snapshot.participants[self.therapist_id].state.value == self.therapist_state
        therapist_moves = [
            s.event.event.value for s in stored if s.event.participant == self.therapist_id
        ]
        assert therapist_moves == self.therapist_events
        # One stream event per committed move, nothing for anyone else.
        known = {p.pid for p in self.joined()} | {self.therapist_id}
        assert {s.event.participant for s in stored} <= known
        versions = [s.version for s in stored]
        assert versions == sorted(versions)

    @invariant()
    def nobody_unadmitted_hears_the_session(self) -> None:
        secrets = {THERAPIST_NAME, self.therapist_id}
        for p in self.joined():
            secrets |= {p.pid, p.name}
        for p in self.people:
            if p.sock is None:
                continue
            own = {p.pid, p.name}
            for r in p.sock.got:
                if r.admitted:
                    continue
                assert r.data["type"] not in SESSION_ONLY, (p.pid, r.data)
                leaked = [s for s in secrets - own if s and s in r.raw]
                assert not leaked, (p.pid, leaked, r.data)

    def teardown(self) -> None:
        socks = [p.sock for p in self.people if p.sock is not None]
        if self.therapist is not None:
            socks.append(self.therapist)

        async def close_all() -> None:
            await asyncio.gather(*(s.close() for s in socks))

        self.run(close_all())


def _fuzz(harness: Harness) -> None:
    class Machine(RoomMachine):
        h = harness

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# Every simulated person connects from 127.0.0.1: the per-address caps are not under test here
# (tests/e2e/test_limits.py covers them).
ONE_ADDRESS: dict[str, Any] = {"address_max_attempts": 1_000_000, "address_max_pending": 10_000}


def test_protocol_fuzz_one_node() -> None:
    harness = Harness(settings_for(max_participants=MAX_PARTICIPANTS, **ONE_ADDRESS), nodes=1)
    try:
        _fuzz(harness)
    finally:
        harness.close()


@pytest.mark.redis
def test_protocol_fuzz_two_nodes(redis_server: RedisServer) -> None:
    # A generous presence deadline: on a loaded machine a 1 s Redis call is not the fault
    # under test here (tests/fault covers a slow or frozen Redis).
    settings = settings_for(
        redis_url=redis_server.url,
        max_participants=MAX_PARTICIPANTS,
        presence_deadline=5.0,
        **ONE_ADDRESS,
    )
    harness = Harness(settings, nodes=2)
    try:
        _fuzz(harness)
    finally:
        harness.close()
