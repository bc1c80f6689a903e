"""A minimal WebSocket client as an asyncio Protocol: the load generator's socket.

aiohttp's client costs tens of microseconds and a task wake-up per message, which on a 2-core
machine would make the generator, not the server, the bottleneck. This client does the least a
conforming client must (RFC 6455): an HTTP/1.1 upgrade, masked frames (with an all-zero masking
key, which is valid and makes masking a no-op), answering pings, and the closing handshake.
Frames are handled inside ``data_received``: no task per socket, no awaiting per message.

Text frames from the server (never fragmented or compressed by aiohttp, since we do not offer
permessage-deflate) are handed to ``on_text(bytes)``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

_MASK = b"\x00\x00\x00\x00"
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10


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
    pass


class WSClient(asyncio.Protocol):
    """One client socket. Use :func:`connect`."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._upgraded = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_text: Callable[[bytes], None] = _ignore
        self.close_code: int | None = None
        self.pings = 0
        self.sent = 0

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
        if not self.closed.done():
            self.closed.set_result(None)

    # -- sending ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def send(self, payload: bytes) -> None:
        """Queue one text frame (never blocks; the kernel buffer takes it)."""
        self.sent += 1
        self._write(frame(payload))

    def close(self) -> None:
        """Start the closing handshake (1000); the server answers and closes the TCP socket."""
        self._write(frame(b"\x03\xe8", _OP_CLOSE))

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


def _ignore(_: bytes) -> None:
    pass


async def connect(
    host: str,
    port: int,
    path: str = "/ws",
    timeout: float = 10.0,
    on_text: Callable[[bytes], None] | None = None,
) -> WSClient:
    """Open a socket; ``on_text`` is set before the upgrade, so no early frame is missed."""
    loop = asyncio.get_running_loop()
    client = WSClient(host, port, path)
    if on_text is not None:
        client.on_text = on_text
    await asyncio.wait_for(loop.create_connection(lambda: client, host, port), timeout)
    try:
        await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    except BaseException:
        client.abort()
        raise
    return client
