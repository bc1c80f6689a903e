"""The pre-call desk: every live test peer of this node, a cap on how many run at once, a
short queue beyond it, and a hard time limit on each.

Keyed by the socket that asked (one test per socket; a new offer replaces the socket's old
test). Every peer leaves through ``_close``, whatever the exit: the result came in
(``finish``), the client stopped or its socket closed (``stop``), the time limit passed, the
offer could not be answered, or the node drains (``close_all``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from signaling.errors import Code, RapportError
from telehealth.media.echo import EchoPeer
from telehealth.media.verdict import NodeFigures

log = logging.getLogger("telehealth.media")

ANSWER_S = 10.0  # the longest an answer may take (gathering included)
MIN_INTERVAL_S = 2.0  # between two offers of one socket: each builds a peer, which costs CPU


@dataclass(frozen=True)
class DeskRules:
    running: int = 2  # tests at once (TELEHEALTH_PRECALL_MAX); 0: none offered
    queued: int = 4  # waiting for a place beyond that (TELEHEALTH_PRECALL_QUEUE)
    queue_wait: float = 5.0  # seconds a queued test waits (TELEHEALTH_PRECALL_QUEUE_WAIT)
    time_limit: float = 20.0  # seconds from offer to the peer's close, at most


@dataclass(eq=False)
class _Test:
    key: str
    peer: EchoPeer
    deadline: float  # monotonic
    on_time_up: Callable[[], None]
    timer: asyncio.Task[None] | None = None
    closed: bool = field(default=False)


class PrecallDesk:
    def __init__(self, rules: DeskRules, make_peer: Callable[[], EchoPeer]) -> None:
        self.rules = rules
        self._make_peer = make_peer
        self._tests: dict[str, _Test] = {}
        self._places = 0  # taken: running tests and those being set up
        self._queued = 0
        self._freed = asyncio.Condition()
        self._closing = False
        self._last_offer: dict[str, float] = {}  # key -> monotonic time of its last offer

    @property
    def running(self) -> int:
        return len(self._tests)

    @property
    def queued(self) -> int:
        return self._queued

    def retry_after(self) -> int:
        """Seconds until a place is likely free: when the soonest test reaches its limit."""
        now = time.monotonic()
        soonest = min((t.deadline for t in self._tests.values()), default=now + 1)
        return max(1, min(math.ceil(soonest - now), math.ceil(self.rules.time_limit)))

    def _busy(self) -> RapportError:
        after = self.retry_after()
        return RapportError(
            Code.PRECALL_BUSY,
            f"The connection test is busy just now; please try again in {after} s.",
            retry_after=after,
        )

    async def _take_place(self) -> None:
        if self._closing:
            raise RapportError(Code.UNAVAILABLE, "This server is restarting.", retry_after=1)
        if self.rules.running == 0:
            raise RapportError(Code.NOT_CONFIGURED, "This node does not run connection tests.")
        if self._places < self.rules.running:
            self._places += 1
            return
        if self._queued >= self.rules.queued:
            raise self._busy()
        self._queued += 1
        try:
            async with self._freed:
                await asyncio.wait_for(
                    self._freed.wait_for(
                        lambda: self._closing or self._places < self.rules.running
                    ),
                    self.rules.queue_wait,
                )
        except TimeoutError:
            raise self._busy() from None
        finally:
            self._queued -= 1
        if self._closing:
            raise RapportError(Code.UNAVAILABLE, "This server is restarting.", retry_after=1)
        self._places += 1

    async def _free_place(self) -> None:
        self._places -= 1
        async with self._freed:
            self._freed.notify()

    async def start(self, key: str, offer_sdp: str, on_time_up: Callable[[], None]) -> str:
        """Set up a test for ``key`` and answer its offer; raises ``precall_busy`` when the
        cap and the queue are full (or the queue wait runs out)."""
        now = time.monotonic()
        if now - self._last_offer.get(key, -MIN_INTERVAL_S) < MIN_INTERVAL_S:
            raise RapportError(
                Code.RATE_LIMITED, "One connection test at a time, please.", retry_after=2
            )
        self._last_offer[key] = now
        await self.stop(key)  # a new offer from the same socket replaces its test
        await self._take_place()
        try:
            peer = self._make_peer()
        except BaseException:
            await self._free_place()
            raise
        test = _Test(key, peer, time.monotonic() + self.rules.time_limit, on_time_up)
        self._tests[key] = test
        test.timer = asyncio.create_task(self._time_limit(test), name=f"precall-limit-{key}")
        try:
            return await asyncio.wait_for(peer.answer(offer_sdp), ANSWER_S)
        except asyncio.CancelledError:
            await asyncio.shield(self._close(test))
            raise
        except Exception as exc:
            await self._close(test)
            log.info("precall %s: offer not answered (%s)", key, type(exc).__name__)
            raise RapportError(Code.INVALID_SDP, "The connection test could not start.") from None

    async def _time_limit(self, test: _Test) -> None:
        await asyncio.sleep(max(0.0, test.deadline - time.monotonic()))
        if not test.closed:
            log.info("precall %s: time limit reached", test.key)
            test.timer = None  # this task is closing it; not to be cancelled by _close
            await self._close(test)
            test.on_time_up()

    async def finish(self, key: str) -> NodeFigures:
        """The client's result came in: the node's own figures, then the peer closes."""
        test = self._tests.get(key)
        if test is None:
            raise RapportError(Code.PRECALL_NOT_RUNNING)
        try:
            return await test.peer.figures()
        except Exception as exc:  # the figures are a bonus; the client's still count
            log.info("precall %s: no figures from the node's peer (%s)", key, type(exc).__name__)
            return NodeFigures()
        finally:
            await self._close(test)

    async def forget(self, key: str) -> None:
        """``key``'s socket closed: its test closes, and the desk forgets it."""
        self._last_offer.pop(key, None)
        await self.stop(key)

    async def stop(self, key: str) -> bool:
        """Close ``key``'s test if it has one (stopped, or its socket closed)."""
        test = self._tests.get(key)
        if test is None:
            return False
        await self._close(test)
        return True

    async def _close(self, test: _Test) -> None:
        if test.closed:
            return
        test.closed = True
        if self._tests.get(test.key) is test:
            del self._tests[test.key]
        timer, test.timer = test.timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        try:
            await test.peer.close()
        finally:
            await self._free_place()

    async def close_all(self) -> None:
        """Drain: every live peer closes, queued tests are refused, no new one starts."""
        self._closing = True
        async with self._freed:
            self._freed.notify_all()
        tests = list(self._tests.values())
        if tests:
            log.info("precall: closing %d test peer(s)", len(tests))
        await asyncio.gather(*(self._close(t) for t in tests), return_exceptions=True)
