"""The load generator: one process of synthetic participants, driven by the orchestrator.

Run as ``python -m benchmarks.loadgen``. It reads one JSON command per line on stdin and answers
each with one JSON line on stdout (logs go to stderr). Commands:

- ``hold_connect``: connect N waiting clients (real session-link tokens, ``auth`` first).
- ``hold_release``: report what happened to them while idle, then drop them all.
- ``pairs``: connect N therapist/client pairs, one room each, and admit every client.
- ``relay_step``: at a fixed offered rate, admitted pairs exchange candidates and offers/answers;
  every original is echoed back by its peer (a candidate by a candidate, an offer by an answer),
  so each round trip is two relayed messages and one RTT sample.
- ``top_of_hour``: K pairs join (all at once, or paced at a rate), the therapist admits, then
  offer, answer and candidates each way; latencies of every step.
- ``close_all``, ``exit``.

Two wire dialects: ``rapport`` (our protocol: auth, welcome, views, relayed signaling) and
``baseline`` (benchmarks/baseline_relay.py: ``/ws?id=ID``, a welcome, forward by ``to``). The
relayed frames are the same bytes in both.

Everything per message happens in ``RawSocket.data_received`` callbacks, with pre-encoded frames,
so the generator stays far cheaper per message than the server it measures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
import time
from typing import TYPE_CHECKING, Any

import msgspec

from benchmarks.sdp_fixture import SEQ_MARKER, answer_template, offer_template
from rapport_sdk.rawsocket import RawSocket, connect

if TYPE_CHECKING:
    from telehealth.auth.tokens import TokenMinter

log = logging.getLogger("benchmarks.loadgen")

HOST = "127.0.0.1"
now = time.monotonic
_json_decode = msgspec.json.decode

NEGOTIATE, RELAY, IDLE = 0, 1, 2


def _split_template(template: str) -> tuple[bytes, bytes]:
    """JSON-escape an SDP and split it at the sequence marker."""
    escaped = json.dumps(template)[1:-1].encode()
    pre, post = escaped.split(SEQ_MARKER.encode())
    return pre, post


OFFER_PRE, OFFER_POST = _split_template(offer_template())
ANSWER_PRE, ANSWER_POST = _split_template(answer_template())
CAND_TAIL = (
    b" 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 192.168.1.23 rport 54321 generation 0"
    b' ufrag EsAw network-id 1 network-cost 10","sdpMid":"0","sdpMLineIndex":0,'
    b'"usernameFragment":"EsAw"}}'
)


def percentiles(samples: list[float], points: tuple[float, ...] = (50, 95, 99)) -> dict[str, Any]:
    """Nearest-rank percentiles in ms (samples in seconds; inf = lost)."""
    if not samples:
        return {f"p{int(p)}": None for p in points} | {"max": None, "n": 0}
    ordered = sorted(samples)
    out: dict[str, Any] = {}
    for p in points:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        value = ordered[rank - 1]
        out[f"p{int(p)}"] = None if math.isinf(value) else round(value * 1000, 3)
    top = ordered[-1]
    out["max"] = None if math.isinf(top) else round(top * 1000, 3)
    out["n"] = len(ordered)
    return out


class Member:
    """One synthetic participant: a therapist or a client (or a baseline peer)."""

    def __init__(self, gen: Generator, role: str, room: str, port: int, parity: int) -> None:
        self.gen = gen
        self.role = role
        self.room = room
        self.port = port
        self.parity = parity  # 0 for therapists, 1 for clients: originals carry their parity
        self.ws: RawSocket | None = None
        self.pid = ""
        self.peer_pid = ""
        self.pair: Pair | None = None
        self.mode = IDLE
        self.t_connect = 0.0
        self.t_auth = 0.0
        self.t_welcome = 0.0
        self.t_state = 0.0
        self.t_admitted = 0.0
        self.t_admit_sent = 0.0
        self.t_first_signal = 0.0
        self.t_done = 0.0
        self.admit_sent = False
        self.offered = False
        self.got_sdp = False
        self.got_cands = 0
        self.welcomed: asyncio.Future[None] = gen.loop.create_future()
        self.in_session: asyncio.Future[None] = gen.loop.create_future()
        self.errors: list[str] = []
        self.bye: str | None = None
        self.cand_head = b""
        self.offer_head = b""
        self.answer_head = b""

    # -- setting up ---------------------------------------------------------------------------

    async def open(self, path: str, first: bytes | None) -> None:
        self.t_connect = now()
        self.ws = await connect(
            HOST, self.port, path, timeout=self.gen.connect_timeout, on_text=self.on_text
        )
        self.ws.disconnected.add_done_callback(self._on_closed)
        if first is not None:
            self.ws.send_text(first)
        self.t_auth = now()

    def _on_closed(self, _: object) -> None:
        if not self.gen.releasing:
            self.gen.closed_by_server += 1
            code = self.ws.close_code if self.ws else None
            self.gen.close_codes[str(code)] = self.gen.close_codes.get(str(code), 0) + 1
        for fut in (self.welcomed, self.in_session):
            if not fut.done():
                fut.set_exception(ConnectionError(f"closed ({self.bye or 'no bye'})"))
                fut.exception()  # mark retrieved

    def set_peer(self, peer_pid: str) -> None:
        self.peer_pid = peer_pid
        to = peer_pid.encode()
        self.cand_head = (
            b'{"type":"candidate","to":"' + to + b'","candidate":{"candidate":"candidate:'
        )
        self.offer_head = b'{"type":"offer","to":"' + to + b'","sdp":"' + OFFER_PRE
        self.answer_head = b'{"type":"answer","to":"' + to + b'","sdp":"' + ANSWER_PRE

    # -- frames -------------------------------------------------------------------------------

    def candidate(self, seq: int) -> bytes:
        return self.cand_head + str(seq).encode() + CAND_TAIL

    def offer(self, seq: int) -> bytes:
        return self.offer_head + str(seq).encode() + OFFER_POST + b'","restart":false}'

    def answer(self, seq: int) -> bytes:
        return self.answer_head + str(seq).encode() + ANSWER_POST + b'"}'

    def on_text(self, data: bytes) -> None:
        head = data[:24]
        if b'"candidate"' in head:
            if self.mode == RELAY:
                i = data.find(b"candidate:", 20) + 10
                seq = int(data[i : data.find(b" ", i)])
                if seq & 1 == self.parity:
                    self.gen.replied(seq)
                else:
                    self.gen.echo(self, data.replace(b'"from":', b'"to":', 1))
            else:
                self._signal()
                self.got_cands += 1
                self._check_done()
        elif b'"offer"' in head:
            if self.mode == RELAY:
                i = data.find(b"o=- ") + 4
                self.gen.echo(self, self.answer(int(data[i : data.find(b" ", i)])))
            else:
                self._signal()
                self.got_sdp = True
                if not self.peer_pid:
                    i = data.find(b'"from":"') + 8
                    self.set_peer(data[i : data.find(b'"', i)].decode())
                assert self.ws is not None
                self.ws.send_text(self.answer(0))
                for _ in range(self.gen.candidates):
                    self.ws.send_text(self.candidate(1))
                self._check_done()
        elif b'"answer"' in head:
            if self.mode == RELAY:
                i = data.find(b"o=- ") + 4
                self.gen.replied(int(data[i : data.find(b" ", i)]))
            else:
                self._signal()
                self.got_sdp = True
                self._check_done()
        else:
            self.on_control(_json_decode(data))

    def _signal(self) -> None:
        if not self.t_first_signal:
            self.t_first_signal = now()

    def _check_done(self) -> None:
        if self.got_sdp and self.got_cands >= self.gen.candidates and not self.t_done:
            self.t_done = now()
            if self.pair is not None:
                self.pair.member_done()

    def on_control(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        t = now()
        if kind == "welcome":
            self.t_welcome = t
            self.pid = msg.get("participant_id", self.pid)
            if self.gen.dialect == "baseline" and not self.welcomed.done():
                self.welcomed.set_result(None)
        elif kind == "state":
            if not self.t_state:
                self.t_state = t
            if not self.welcomed.done():
                self.welcomed.set_result(None)
            if msg.get("state") == "admitted" and not self.t_admitted:
                self.t_admitted = t
        elif kind == "room":
            if not self.welcomed.done():
                self.welcomed.set_result(None)
            waiting = msg.get("waiting") or []
            if self.mode != IDLE and not self.admit_sent and waiting:
                self.admit_sent = True
                self.t_admit_sent = t
                assert self.ws is not None
                pid = waiting[0]["participant_id"]
                self.ws.send_text(b'{"type":"admit","participant_ids":["' + pid.encode() + b'"]}')
        elif kind == "session":
            peers = [p for p in msg.get("peers") or [] if p.get("connected")]
            if peers and not self.in_session.done():
                self.set_peer(peers[0]["participant_id"])
                self.in_session.set_result(None)
                if self.mode == NEGOTIATE and self.role == "therapist" and not self.offered:
                    self.offered = True
                    assert self.ws is not None
                    self.ws.send_text(self.offer(0))
                    for _ in range(self.gen.candidates):
                        self.ws.send_text(self.candidate(0))
        elif kind == "error":
            self.errors.append(str(msg.get("code")))
            self.gen.errors[str(msg.get("code"))] = self.gen.errors.get(str(msg.get("code")), 0) + 1
        elif kind == "bye":
            self.bye = str(msg.get("code"))


class Pair:
    def __init__(self, therapist: Member, client: Member) -> None:
        self.therapist = therapist
        self.client = client
        therapist.pair = client.pair = self
        self.done: asyncio.Future[None] = therapist.gen.loop.create_future()

    def member_done(self) -> None:
        if self.therapist.t_done and self.client.t_done and not self.done.done():
            self.done.set_result(None)


def _stage(pair: Pair) -> str:
    """Where an unfinished setup stopped, for the report."""
    t, c = pair.therapist, pair.client
    for m in (t, c):
        if not m.t_welcome:
            closed = m.ws is not None and m.ws.disconnected.done()
            how = f"closed {m.ws.close_code} bye {m.bye}" if closed and m.ws else "open"
            return f"{m.role} got no welcome ({how})"
    if not c.t_state:
        return "client state"
    if not t.admit_sent:
        order = "after" if c.t_welcome > t.t_welcome else "before"
        return f"therapist never saw the client waiting (client welcomed {order} therapist)"
    if not c.t_admitted:
        return "client never admitted"
    if not t.in_session.done():
        return "therapist never saw the client in session"
    if not c.got_sdp:
        return "offer not delivered"
    if not t.got_sdp:
        return "answer not delivered"
    return f"candidates (therapist {t.got_cands}, client {c.got_cands})"


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.loop = asyncio.get_running_loop()
        self.dialect: str = spec["dialect"]
        self.therapist_port: int = spec["therapist_port"]
        self.client_port: int = spec["client_port"]
        self.connect_timeout: float = spec.get("connect_timeout", 20.0)
        self.candidates = 10
        self._minter: TokenMinter | None = None
        if self.dialect == "rapport":
            from telehealth.auth.tokens import TokenMinter
            from telehealth.config import Settings

            self._minter = TokenMinter(Settings(jwt_secret=spec["secret"]))
        self.members: list[Member] = []
        self.pairs: list[Pair] = []
        self.releasing = False
        self.closed_by_server = 0
        self.close_codes: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        # relay state
        self.sent_at: dict[int, float] = {}
        self.samples: list[float] = []
        self.win_start = math.inf
        self.win_end = -math.inf
        self.frames_in_window = 0
        self.late = 0

    # -- helpers ------------------------------------------------------------------------------

    def _client_auth(self, room: str, i: int) -> bytes:
        assert self._minter is not None, "only the rapport dialect mints tokens"
        token = self._minter.mint_client(room, ttl=4 * 3600)
        return msgspec.json.encode(
            {
                "type": "auth",
                "role": "client",
                "token": token,
                "room": room,
                "name": f"Bench Client {i}",
                "device": {"camera": "ok", "microphone": "ok"},
            }
        )

    def _therapist_auth(self, room: str, subject: str) -> bytes:
        assert self._minter is not None, "only the rapport dialect mints tokens"
        token = self._minter.mint_therapist(subject, [room], ttl=4 * 3600)
        return msgspec.json.encode(
            {"type": "auth", "role": "therapist", "token": token, "room": room}
        )

    def _reset_counters(self) -> None:
        self.closed_by_server = 0
        self.close_codes = {}
        self.errors = {}

    async def _close_members(self) -> None:
        self.releasing = True
        for m in self.members:
            if m.ws is not None:
                m.ws.abort()
        await asyncio.sleep(0.05)
        self.members = []
        self.pairs = []
        self.releasing = False

    # -- hold ---------------------------------------------------------------------------------

    async def hold_connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        n, per_room, prefix = cmd["n"], cmd["per_room"], cmd["prefix"]
        sem = asyncio.Semaphore(cmd.get("concurrency", 200))
        self._reset_counters()
        firsts: list[tuple[Member, str, bytes | None]] = []
        for i in range(n):
            room = f"{prefix}-r{i // per_room}"
            m = Member(self, "client", room, self.client_port, 1)
            if self.dialect == "rapport":
                firsts.append((m, "/ws", self._client_auth(room, i)))
            else:
                firsts.append((m, f"/ws?id={prefix}-c{i}", None))
            self.members.append(m)
        failures: dict[str, int] = {}

        async def one(m: Member, path: str, first: bytes | None) -> float | None:
            async with sem:
                try:
                    await m.open(path, first)
                    await asyncio.wait_for(asyncio.shield(m.welcomed), self.connect_timeout)
                    return now() - m.t_connect
                except Exception as exc:
                    key = type(exc).__name__
                    failures[key] = failures.get(key, 0) + 1
                    return None

        t0 = now()
        results = await asyncio.gather(*(one(*f) for f in firsts))
        elapsed = now() - t0
        ok = [r for r in results if r is not None]
        return {
            "requested": n,
            "connected": len(ok),
            "failed": failures,
            "elapsed_s": round(elapsed, 3),
            "connects_per_s": round(len(ok) / elapsed, 1) if elapsed > 0 else 0.0,
            "connect_ms": percentiles(ok),
        }

    async def hold_release(self, cmd: dict[str, Any]) -> dict[str, Any]:
        open_now = sum(1 for m in self.members if m.ws is not None and m.ws.is_open)
        pings = sum(m.ws.pings for m in self.members if m.ws is not None)
        out = {
            "still_open": open_now,
            "pings_answered": pings,
            "closed_by_server": self.closed_by_server,
            "close_codes": self.close_codes,
            "errors": self.errors,
        }
        await self._close_members()
        return out

    # -- pairs: top of the hour and relay setup -----------------------------------------------

    def _make_pairs(self, k: int, prefix: str, mode: int) -> list[Pair]:
        pairs = []
        for i in range(k):
            room = f"{prefix}-r{i}"
            t = Member(self, "therapist", room, self.therapist_port, 0)
            c = Member(self, "client", room, self.client_port, 1)
            t.mode = c.mode = mode
            pairs.append(Pair(t, c))
            self.members += [t, c]
        self.pairs += pairs
        return pairs

    async def _join_pair(
        self, pair: Pair, i: int, prefix: str, sem: asyncio.Semaphore, start_at: float
    ) -> None:
        t, c = pair.therapist, pair.client
        t_first: bytes | None
        c_first: bytes | None
        if self.dialect == "rapport":
            t_first = self._therapist_auth(t.room, f"bench-{prefix}-{i}")
            c_first = self._client_auth(c.room, i)
            t_path = c_path = "/ws"
        else:
            t_first = c_first = None
            t_path, c_path = f"/ws?id={prefix}-t{i}", f"/ws?id={prefix}-c{i}"
        delay = start_at - now()
        if delay > 0:
            await asyncio.sleep(delay)

        async def go(m: Member, path: str, first: bytes | None) -> None:
            async with sem:
                await m.open(path, first)

        await asyncio.gather(go(t, t_path, t_first), go(c, c_path, c_first))

    async def pairs_setup(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Connect N pairs and admit each client; ready when both see each other in session."""
        n, prefix = cmd["n"], cmd["prefix"]
        self._reset_counters()
        pairs = self._make_pairs(n, prefix, RELAY)
        sem = asyncio.Semaphore(cmd.get("concurrency", 32))
        failures: dict[str, int] = {}

        async def one(i: int, pair: Pair) -> bool:
            try:
                async with sem:  # a bounded number of pairs in setup at once: join, admit
                    await self._join_pair(pair, i, prefix, asyncio.Semaphore(2), 0.0)
                    if self.dialect == "baseline":
                        await asyncio.wait_for(
                            asyncio.gather(pair.therapist.welcomed, pair.client.welcomed),
                            self.connect_timeout,
                        )
                        pair.therapist.set_peer(f"{prefix}-c{i}")
                        pair.client.set_peer(f"{prefix}-t{i}")
                    else:
                        await asyncio.wait_for(
                            asyncio.gather(pair.therapist.in_session, pair.client.in_session),
                            self.connect_timeout,
                        )
                return True
            except Exception as exc:
                key = type(exc).__name__
                failures[key] = failures.get(key, 0) + 1
                return False

        t0 = now()
        ok = await asyncio.gather(*(one(i, p) for i, p in enumerate(pairs)))
        self.pairs = [p for p, good in zip(pairs, ok, strict=True) if good]
        return {
            "requested": n,
            "ready": len(self.pairs),
            "failed": failures,
            "elapsed_s": round(now() - t0, 3),
        }

    async def top_of_hour(self, cmd: dict[str, Any]) -> dict[str, Any]:
        k, prefix, pace = cmd["k"], cmd["prefix"], cmd.get("pace", 0)
        self.candidates = cmd.get("candidates", 10)
        self._reset_counters()
        pairs = self._make_pairs(k, prefix, NEGOTIATE)
        sem = asyncio.Semaphore(cmd.get("concurrency", 128))
        t0 = now() + 0.3  # tokens are minted first; every pair starts from here
        timeout = cmd.get("timeout", 30.0)
        failures: dict[str, int] = {}

        async def one(i: int, pair: Pair) -> bool:
            start = t0 + (i / pace if pace else 0.0)
            try:
                await self._join_pair(pair, i, prefix, sem, start)
                await asyncio.wait_for(asyncio.shield(pair.done), max(1.0, t0 + timeout - now()))
                return True
            except Exception as exc:
                key = type(exc).__name__
                failures[key] = failures.get(key, 0) + 1
                return False

        ok = await asyncio.gather(*(one(i, p) for i, p in enumerate(pairs)))
        done = [p for p, good in zip(pairs, ok, strict=True) if good]
        stuck: dict[str, int] = {}
        for p, good in zip(pairs, ok, strict=True):
            if not good:
                where = _stage(p)
                stuck[where] = stuck.get(where, 0) + 1
        end = max((max(p.therapist.t_done, p.client.t_done) for p in done), default=t0)
        makespan = end - t0
        # Paced: the rate the service kept up with over the arrival window.
        window = max(makespan, k / pace) if pace else makespan
        join_to_admitted = [p.client.t_admitted - p.client.t_auth for p in done]
        admit_to_signal = [p.client.t_first_signal - p.therapist.t_admit_sent for p in done]
        setup = [
            max(p.therapist.t_done, p.client.t_done) - min(p.therapist.t_auth, p.client.t_auth)
            for p in done
        ]
        connect = [m.t_auth - m.t_connect for p in done for m in (p.therapist, p.client)]
        out = {
            "pairs": k,
            "completed": len(done),
            "failed": failures,
            "stuck_at": stuck,
            "pace_per_s": pace,
            "makespan_s": round(makespan, 3),
            "setups_per_s": round(len(done) / window, 1) if window > 0 else 0.0,
            "join_to_admitted_ms": percentiles(join_to_admitted),
            "admit_to_first_signal_ms": percentiles(admit_to_signal),
            "join_to_negotiated_ms": percentiles(setup),
            "connect_ms": percentiles(connect),
            "errors": self.errors,
            "closed_by_server": self.closed_by_server,
        }
        await self._close_members()
        return out

    # -- relay --------------------------------------------------------------------------------

    def replied(self, seq: int) -> None:
        t0 = self.sent_at.pop(seq, None)
        if t0 is None:
            self.late += 1
            return
        if self.win_start <= t0 < self.win_end:
            self.samples.append(now() - t0)

    def echo(self, member: Member, data: bytes) -> None:
        assert member.ws is not None
        member.ws.send_text(data)
        t = now()
        if self.win_start <= t < self.win_end:
            self.frames_in_window += 1

    async def relay_step(self, cmd: dict[str, Any]) -> dict[str, Any]:
        rate: float = cmd["rate"]  # relayed messages per second (originals + echoes)
        start_at: float = cmd["start_at"]
        warmup: float = cmd["warmup"]
        measure: float = cmd["measure"]
        drain: float = cmd.get("drain", 2.0)
        offer_every: int = cmd.get("offer_every", 11)  # 1 offer/answer per 10 candidate trips
        pairs = self.pairs
        if not pairs:
            return {"error": "no pairs"}
        self._reset_counters()
        self.sent_at.clear()
        self.samples = []
        self.frames_in_window = 0
        self.late = 0
        self.win_start = start_at + warmup
        self.win_end = self.win_start + measure
        end = self.win_end
        originals_rate = rate / 2.0
        n_pairs = len(pairs)
        seqs = [0, 1]  # even: therapist originals, odd: client originals
        sent = 0
        originals_in_window = 0
        sdp_in_window = 0
        max_lag = 0.0
        delay = start_at - now()
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            t = now()
            if t >= end:
                break
            due = int((t - start_at) * originals_rate) - sent
            if due > 0:
                lag = t - (start_at + (sent + 1) / originals_rate)
                if lag > max_lag:
                    max_lag = lag
                in_window = self.win_start <= t < self.win_end
                for _ in range(due):
                    k = sent
                    sent += 1
                    pair = pairs[k % n_pairs]
                    m = pair.client if (k // n_pairs) & 1 else pair.therapist
                    seq = seqs[m.parity]
                    seqs[m.parity] = seq + 2
                    if k % offer_every == 0:
                        frame = m.offer(seq)
                        if in_window:
                            sdp_in_window += 1
                    else:
                        frame = m.candidate(seq)
                    self.sent_at[seq] = t
                    assert m.ws is not None
                    m.ws.send_text(frame)
                    if in_window:
                        originals_in_window += 1
                        self.frames_in_window += 1
            await asyncio.sleep(0.001)
        # Wait for the answers still in flight (or give up on them: lost).
        deadline = now() + drain
        while now() < deadline:
            if not any(self.win_start <= t0 < self.win_end for t0 in self.sent_at.values()):
                break
            await asyncio.sleep(0.02)
        lost = sum(1 for t0 in self.sent_at.values() if self.win_start <= t0 < self.win_end)
        self.sent_at.clear()
        samples = self.samples + [math.inf] * lost
        self.win_start, self.win_end = math.inf, -math.inf
        return {
            "rate": rate,
            "originals_in_window": originals_in_window,
            "sdp_originals_in_window": sdp_in_window,
            "frames_in_window": self.frames_in_window,
            "achieved_msgs_per_s": round(self.frames_in_window / measure, 1),
            "replies": len(self.samples),
            "lost": lost,
            "late": self.late,
            "rtt_ms": percentiles(samples, (50, 90, 99)),
            "max_send_lag_ms": round(max_lag * 1000, 2),
            "errors": self.errors,
            "closed_by_server": self.closed_by_server,
            "open_members": sum(1 for m in self.members if m.ws is not None and m.ws.is_open),
        }

    async def close_all(self, cmd: dict[str, Any]) -> dict[str, Any]:
        await self._close_members()
        return {"closed": True}


async def serve_commands(spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    gen = Generator(spec)
    handlers = {
        "hold_connect": gen.hold_connect,
        "hold_release": gen.hold_release,
        "pairs": gen.pairs_setup,
        "relay_step": gen.relay_step,
        "top_of_hour": gen.top_of_hour,
        "close_all": gen.close_all,
    }
    _reply({"ready": True})
    while True:
        line = await reader.readline()
        if not line:
            break  # the orchestrator went away
        cmd = json.loads(line)
        if cmd.get("cmd") == "exit":
            break
        try:
            result = await handlers[cmd["cmd"]](cmd)
        except Exception as exc:  # reported to the orchestrator, which fails the scenario
            log.exception("command %s failed", cmd.get("cmd"))
            result = {"error": f"{type(exc).__name__}: {exc}"}
        _reply(result)
    await gen.close_all({})


def _reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(sys.argv[1])
    asyncio.run(serve_commands(spec))


if __name__ == "__main__":
    main()
