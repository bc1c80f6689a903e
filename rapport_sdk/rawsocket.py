"""A raw signaling WebSocket: RFC 6455 frames on an asyncio Protocol, and no protocol meaning.

The load generator (benchmarks/loadgen.py) and the protocol-level tests (tests/e2e, tests/fault)
use it: it sends any frame, well-formed message or not, and hands back every text frame. For a
participant that follows the protocol, use :class:`rapport_sdk.client.SignalingClient`.

It does the least a conforming client must: an HTTP/1.1 upgrade, masked frames (with an all-zero
masking key, which is valid and makes masking a no-op), answering pings, and the closing
handshake. Frames are handled inside ``data_received``: no task per socket, no await per message,
so a load generator stays far cheaper per message than the server it measures (aiohttp's client
costs tens of microseconds and a task wake-up per message). Text frames from the server (never
fragmented or compressed, since permessage-deflate is not offered) are read one of two ways:

* ``on_text(bytes)``, called for each frame inside ``data_received`` (the load generator);
* otherwise each is decoded as JSON and kept, for :meth:`RawSocket.recv`,
  :meth:`~RawSocket.expect`, :meth:`~RawSocket.until` and :meth:`~RawSocket.closed`; what was
  read is in :attr:`~RawSocket.seen` (the tests).

:meth:`RawSocket.pause_reading` stops reading altogether (pings are not answered either), and
``connect(receive_buffer=...)`` shrinks the kernel's receive buffer: a client that falls behind.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["RawSocket", "SocketClosed", "WSError", "connect", "frame"]

_MASK = b"\x00\x00\x00\x00"
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10
#: What :meth:`RawSocket.closed` reports when the connection ended without a close frame.
ABNORMAL_CLOSURE = 1006
_CLOSE_WAIT_S = 5.0
_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode


def frame(payload: bytes, opcode: int = _OP_TEXT) -> bytes:
    """One final, masked (zero key) client frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", n)
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", n)
    return head + _MASK + payload


class WSError(Exception):
    """The upgrade failed: no ``101 Switching Protocols``."""


class SocketClosed(Exception):
    """The socket closed while a message was awaited."""


class RawSocket(asyncio.Protocol):
    """One client socket. Use :func:`connect`."""

    def __init__(
        self, host: str, port: int, path: str, on_text: Callable[[bytes], None] | None = None
    ) -> None:
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._upgraded = False
        self.opened: asyncio.Future[None] = loop.create_future()
        #: Done when the TCP connection has ended, however it ended.
        self.disconnected: asyncio.Future[None] = loop.create_future()
        #: The code of the server's close frame (None until one arrives, or if none did).
        self.close_code: int | None = None
        self.pings = 0
        self.sent = 0
        #: Every decoded message taken by recv/expect/until/closed, in order.
        self.seen: list[dict[str, Any]] = []
        # Made on first use, so that a load generator's thousands of sockets stay small.
        self._inbox: collections.deque[dict[str, Any]] | None = None
        self._arrived: asyncio.Event | None = None
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self.on_text: Callable[[bytes], None] = self._keep if on_text is None else on_text

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        if not self._upgraded:
            buf += data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 16384:
                    self._fail(WSError("oversized HTTP response"))
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                self._fail(WSError(status.decode(errors="replace")))
                return
            del buf[: end + 4]
            self._upgraded = True
            if not self.opened.done():
                self.opened.set_result(None)
            if not buf:
                return
        elif buf:
            buf += data
        else:
            # The common case: nothing left over, so parse ``data`` without copying it.
            rest = self._parse(data)
            if rest:
                buf += rest
            return
        rest = self._parse(bytes(buf))
        buf.clear()
        if rest:
            buf += rest

    def _parse(self, data: bytes) -> bytes:
        """Handle every complete frame in ``data``; return the incomplete tail."""
        pos = 0
        size = len(data)
        while size - pos >= 2:
            b0 = data[pos]
            n = data[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (data[pos + 2] << 8) | data[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                (n,) = struct.unpack_from("!Q", data, pos + 2)
                head = 10
            end = pos + head + n
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == _OP_TEXT:
                self.on_text(data[pos + head : end])
            elif opcode == _OP_PING:
                self.pings += 1
                self._write(frame(data[pos + head : end], _OP_PONG))
            elif opcode == _OP_CLOSE:
                payload = data[pos + head : end]
                self.close_code = (payload[0] << 8 | payload[1]) if len(payload) >= 2 else 1005
                self._write(frame(payload[:2], _OP_CLOSE))
                if self.transport is not None:
                    self.transport.close()
                return b""
            pos = end
        return data[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or WSError("connection closed before the upgrade"))
        if not self.disconnected.done():
            self.disconnected.set_result(None)
        if self._arrived is not None:
            self._arrived.set()
        self.resume_writing()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # -- sending ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def send_text(self, payload: bytes | str) -> None:
        """Queue one text frame (never blocks; the kernel buffer takes it). Any bytes go."""
        if isinstance(payload, str):
            payload = payload.encode()
        self.sent += 1
        self._write(frame(payload))

    def send_binary(self, payload: bytes) -> None:
        self.sent += 1
        self._write(frame(payload, _OP_BINARY))

    async def send(self, **message: Any) -> None:
        """Send ``message`` as one JSON text frame, once the socket can take more.

        Raises :class:`SocketClosed` when the socket is closed or closing.
        """
        if not self.is_open:
            raise SocketClosed(f"cannot send a {message.get('type')!r} message: socket closed")
        self.send_text(_json_encode(message))
        if self._write_paused:  # the transport's buffer is over its high-water mark
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)

    async def close(self, timeout: float = _CLOSE_WAIT_S) -> None:
        """The closing handshake (1000): wait for the server's answer, abort after ``timeout``."""
        self._write(frame(b"\x03\xe8", _OP_CLOSE))
        try:
            await asyncio.wait_for(asyncio.shield(self.disconnected), timeout)
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # -- reading (without on_text) ------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading: frames (pings too) stay in the kernel until :meth:`resume_reading`."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def _keep(self, payload: bytes) -> None:
        try:
            message = _json_decode(payload)
        except msgspec.DecodeError:
            message = None
        if not isinstance(message, dict):
            message = {"type": None, "raw": payload.decode(errors="replace")}
        if self._inbox is None:
            self._inbox = collections.deque()
        self._inbox.append(message)
        if self._arrived is not None:
            self._arrived.set()

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message. Raises ``TimeoutError``, or :class:`SocketClosed` once the
        connection has ended and every message before it was taken."""
        async with asyncio.timeout(timeout):
            while not self._inbox:
                if self.disconnected.done():
                    raise SocketClosed(f"socket closed (close code {self.close_code})")
                if self._arrived is None:
                    self._arrived = asyncio.Event()
                self._arrived.clear()
                await self._arrived.wait()
        message = self._inbox.popleft()
        self.seen.append(message)
        return message

    async def expect(self, type_: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        """The next message of ``type_`` whose fields match (others are skipped, kept in seen)."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.recv(timeout)
                if data.get("type") == type_ and all(data.get(k) == v for k, v in fields.items()):
                    return data

    async def until(
        self, type_: str, check: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The next message of ``type_`` for which ``check`` holds."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.expect(type_, timeout)
                if check(data):
                    return data

    async def closed(self, timeout: float = 5.0) -> int:
        """Read until the connection ends (messages go to seen); the server's close code, or
        1006 when it sent none. Raises ``TimeoutError`` if the socket is still open."""
        await asyncio.wait_for(asyncio.shield(self.disconnected), timeout)
        while self._inbox:
            self.seen.append(self._inbox.popleft())
        return ABNORMAL_CLOSURE if self.close_code is None else self.close_code

    def types(self) -> list[str]:
        """The ``type`` of every message in seen."""
        return [str(message.get("type")) for message in self.seen]


async def connect(
    host: str,
    port: int,
    path: str = "/ws",
    timeout: float = 10.0,
    on_text: Callable[[bytes], None] | None = None,
    receive_buffer: int | None = None,
    local_address: str | None = None,
) -> RawSocket:
    """Open a socket; ``on_text`` is set before the upgrade, so no early frame is missed.

    ``receive_buffer`` sets the kernel's receive buffer (SO_RCVBUF) before connecting, which is
    when it must be set for the TCP window to follow it. ``local_address`` connects from that
    address (another loopback address, say, to look like another client).
    """
    loop = asyncio.get_running_loop()
    client = RawSocket(host, port, path, on_text)
    sock: socket.socket | None = None
    try:
        if receive_buffer is not None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
            await loop.create_connection(lambda: client, sock=sock)
        else:
            local = (local_address, 0) if local_address else None
            await asyncio.wait_for(
                loop.create_connection(lambda: client, host, port, local_addr=local), timeout
            )
    except BaseException:
        if sock is not None and client.transport is None:
            sock.close()
        raise
    try:
        await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    except BaseException:
        client.abort()
        raise
    return client
