"""One participant's WebSocket as an Outlet: frames written at once, or a bounded queue.

Other tasks hand encoded messages to ``send``, which never blocks: a frame goes to the transport
at once, or waits in the queue while the transport pushes back. A client that stops reading
fills its queue and is closed with ``too_slow`` instead of growing server memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from signaling.errors import ERRORS, Code
from signaling.messages import Bye, encode
from telehealth.auth.authority import Authority
from telehealth.rooms.events import Actor
from telehealth.rooms.states import Role

log = logging.getLogger("telehealth.ws")

CLOSE_TIMEOUT_S = 2.0
# Bytes queued for one socket before it counts as too slow: a few SDPs' worth, so a client that
# stops reading costs at most this much (plus kernel buffers), however much is sent to it.
QUEUE_BYTES_MAX = 1024 * 1024


class Connection:
    """A frame goes straight to the transport when nothing is queued (no task, no copy). When
    the transport pushes back, frames wait in a deque and a writer task exists only until it
    has sent them.

    An idle socket (a client sitting in the waiting room) then costs no parked task, queue or
    future: about 4 KB less per waiting client than a long-lived writer on an asyncio.Queue.
    """

    __slots__ = (
        "_closing",
        "_queue",
        "_queue_max",
        "_queued",
        "_retry_after",
        "_sending",
        "_writer",
        "actor",
        "authority",
        "conn_id",
        "identity",
        "joined",
        "participant_id",
        "quality_at",
        "role",
        "room",
        "seen",
        "silent",
        "transport",
        "ws",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        conn_id: str,
        queue_max: int,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        self.transport = transport  # to cut off a peer that went silent
        self.seen = False  # a frame arrived since the last liveness sweep
        self.silent = 0  # liveness sweeps in a row with nothing from the peer
        self.conn_id = conn_id
        self.participant_id = ""
        self.actor: Actor | None = None  # who this socket acts as, once it has joined
        self.authority: Authority | None = None  # its token's lifetime, once verified
        self.room = ""
        self.role = Role.CLIENT
        # (room, id) counted against MAX_SOCKETS_PER_IDENTITY, once claimed (web/ws.py); for a
        # client, the link's id, which its second devices share.
        self.identity: tuple[str, str] | None = None
        self.joined = False  # the participant's join committed with this socket
        self.quality_at = -1e9  # (monotonic) its last call-quality summary accepted
        self._queue: deque[bytes] | None = None  # made when first needed (~0.7 KB when empty)
        self._queue_max = queue_max
        self._queued = 0  # bytes waiting in the queue
        self._closing: tuple[Code, bool] | None = None
        self._retry_after: float | None = None
        self._sending = False  # the writer is inside a send (it may be stuck on the peer)
        self._writer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> Code | None:
        return self._closing[0] if self._closing else None

    def send(self, data: bytes) -> None:
        if self._closing is not None:
            return
        if self._writer is None:  # nothing queued: straight to the transport
            self._send_now(data)
            return
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        if len(queue) >= self._queue_max or self._queued + len(data) > QUEUE_BYTES_MAX:
            log.warning("connection %s fell too far behind; closing", self.conn_id)
            self._drain()
            self.close(Code.TOO_SLOW)
            return
        self._queued += len(data)
        queue.append(data)

    async def answer_control(self, msg: WSMessage) -> bool:
        """Note that the peer is alive; answer a ping. True for a ping or pong frame, which the
        reader then skips (aiohttp's autoping is off so that pongs reach us)."""
        self.seen = True
        if msg.type is WSMsgType.PING:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.pong(msg.data)
            return True
        return msg.type is WSMsgType.PONG

    def check_alive(self, ping_after: int, dead_after: int) -> bool:
        """One liveness round (see ``telehealth.web.liveness``): ping a peer that has been
        silent for ``ping_after`` rounds, cut off one silent for ``dead_after``. False when it
        was cut off."""
        if self.seen:
            self.seen, self.silent = False, 0
            return True
        self.silent += 1
        if self.silent >= dead_after:
            log.info(
                "connection %s silent for %d liveness rounds; closing", self.conn_id, self.silent
            )
            if self.transport is not None:
                self.transport.abort()  # the reader ends, and the drop is recorded as usual
            return False
        if self.silent >= ping_after and self._writer is None and self._closing is None:
            self._send_now(b"", WSMsgType.PING)  # a busy writer means a backed-up peer: skip
        return True

    def _send_now(self, data: bytes, opcode: WSMsgType = WSMsgType.TEXT) -> None:
        """Write one frame within this call, with no task, which is what aiohttp does unless
        the transport is over its high-water mark. Only then does a writer task take over: it
        finishes this frame once the peer has read enough, then sends what was queued since."""
        send = self.ws.send_frame(data, opcode)
        try:
            waiting = send.send(None)
        except StopIteration:
            return
        except (ConnectionError, RuntimeError):
            return  # the peer went away first; the reader's finally cleans up
        self._sending = True
        self._writer = asyncio.create_task(
            self._write((send, waiting)), name=f"ws-writer-{self.conn_id}"
        )

    def close(
        self, code: Code, *, reconnect: bool = False, retry_after: float | None = None
    ) -> None:
        if self._closing is not None:
            return
        self._closing = (code, reconnect)
        self._retry_after = retry_after
        if code is Code.TOO_SLOW and self._sending and self._writer is not None:
            # The writer is stuck on a peer that does not read: stop waiting for it.
            self._writer.cancel()
            self._writer = asyncio.create_task(self._say_goodbye(), name=f"ws-bye-{self.conn_id}")
        elif self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.conn_id}")
        # else: the running writer says goodbye once it has sent what is queued.

    def _drain(self) -> None:
        self._queue = None
        self._queued = 0

    async def _write(
        self, suspended: tuple[Coroutine[Any, Any, None], object] | None = None
    ) -> None:
        """Finish a suspended send, send what is queued, then end (or say goodbye when the
        socket is closing)."""
        try:
            if suspended is not None:
                await _resume(*suspended)
                self._sending = False
            while self._queue:  # sends while this one waited may have made or refilled it
                data = self._queue.popleft()
                self._queued -= len(data)
                self._sending = True
                await self.ws.send_frame(data, WSMsgType.TEXT)
                self._sending = False
        except (ConnectionError, RuntimeError):
            self._drain()
            return  # the peer went away first; the reader's finally cleans up
        finally:
            if self._closing is None:
                self._writer = None  # the next send goes straight to the transport again
                self._queue = None
        if self._closing is not None:
            await self._say_goodbye()

    async def _say_goodbye(self) -> None:
        """The ``bye`` and the close frame. Neither waits on a peer that does not read: both are
        handed to the transport, which flushes them if the peer ever reads again."""
        assert self._closing is not None
        code, reconnect = self._closing
        spec = ERRORS[code]
        bye = Bye(
            code=code.value,
            message=spec.message,
            reconnect=reconnect,
            retry_after=self._retry_after,
        )
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(self.ws.send_frame(encode(bye), WSMsgType.TEXT), CLOSE_TIMEOUT_S)
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(
                self.ws.close(
                    code=spec.close_code or 1000, message=code.value.encode(), drain=False
                ),
                CLOSE_TIMEOUT_S,
            )

    async def aclose(self) -> None:
        """Stop the writer (after the reader loop ended)."""
        writer = self._writer
        if writer is not None and not writer.done():
            if self._closing is None:
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(writer, CLOSE_TIMEOUT_S)


async def _resume(coro: Coroutine[Any, Any, None], waiting: object) -> None:
    """Run ``coro`` to its end inside the current task: it was first stepped outside any task
    (``coro.send(None)``) and suspended on ``waiting``. This does what a task's step does:
    wait until the future it yielded is done, then resume it, so that it sees the outcome.

    (``waiting`` is not awaited a second time: asyncio marks a yielded future as already being
    waited on and refuses a second ``await`` of it; a done callback is what a task uses too.)
    """
    loop = asyncio.get_running_loop()
    try:
        while True:
            if asyncio.isfuture(waiting):
                woken = loop.create_future()
                waiting.add_done_callback(functools.partial(_wake, woken))
                await woken
            else:
                await asyncio.sleep(0)  # a bare yield: let the loop run once
            try:
                waiting = coro.send(None)
            except StopIteration:
                return
    except BaseException:
        coro.close()  # cancelled while waiting: let it clean up (no-op once it has ended)
        raise


def _wake(woken: asyncio.Future[None], _: object) -> None:
    if not woken.done():
        woken.set_result(None)
