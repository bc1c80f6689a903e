"""One participant's WebSocket as an Outlet: a bounded outgoing queue and one writer task.

Other tasks never write to the socket directly; they queue encoded messages. A client that stops
reading fills its queue and is closed with ``too_slow`` instead of growing server memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from signaling.messages import Bye, encode
from telehealth.errors import ERRORS, Code
from telehealth.rooms.states import Role

log = logging.getLogger("telehealth.ws")

CLOSE_TIMEOUT_S = 2.0
# Bytes queued for one socket before it counts as too slow: a few SDPs' worth, so a client that
# stops reading costs at most this much (plus kernel buffers), however much is sent to it.
QUEUE_BYTES_MAX = 1024 * 1024


class Connection:
    def __init__(self, ws: web.WebSocketResponse, conn_id: str, queue_max: int) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.participant_id = ""
        self.room = ""
        self.role = Role.CLIENT
        self.identity_claimed = False
        self.joined = False  # the participant's join committed with this socket
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(queue_max + 1)
        self._queue_max = queue_max
        self._closing: tuple[Code, bool] | None = None
        self._retry_after: float | None = None
        self._queued = 0  # bytes waiting in the queue
        self._sending = False  # the writer is inside a send (it may be stuck on the peer)
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{conn_id}")

    @property
    def closing(self) -> Code | None:
        return self._closing[0] if self._closing else None

    def send(self, data: bytes) -> None:
        if self._closing is not None:
            return
        if self._queue.qsize() >= self._queue_max or self._queued + len(data) > QUEUE_BYTES_MAX:
            log.warning("connection %s fell too far behind; closing", self.conn_id)
            self._drain()
            self.close(Code.TOO_SLOW)
            return
        self._queued += len(data)
        self._queue.put_nowait(data)

    def close(
        self, code: Code, *, reconnect: bool = False, retry_after: float | None = None
    ) -> None:
        if self._closing is not None:
            return
        self._closing = (code, reconnect)
        self._retry_after = retry_after
        if code is Code.TOO_SLOW and self._sending:
            # The writer is stuck on a peer that does not read: stop waiting for it.
            self._writer.cancel()
            self._writer = asyncio.create_task(self._say_goodbye(), name=f"ws-bye-{self.conn_id}")
            return
        if self._queue.full():
            self._drain()
        self._queue.put_nowait(None)

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queued = 0

    async def _write(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    break
                self._queued -= len(data)
                self._sending = True
                await self.ws.send_frame(data, WSMsgType.TEXT)
                self._sending = False
        except (ConnectionError, RuntimeError):
            return  # the peer went away first; the reader's finally cleans up
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
        if not self._writer.done():
            if self._closing is None:
                self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(self._writer, CLOSE_TIMEOUT_S)
