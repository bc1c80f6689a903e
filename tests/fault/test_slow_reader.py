"""A client that stops reading is cut off with the named close code, and the node's memory
stays flat however much is sent its way."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

import pytest

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from signaling import messages as m
from signaling.samples import CHROME_OFFER
from telehealth.auth.tokens import TokenMinter
from tests.fault.conftest import ROOM, Cluster, rss_kb

pytestmark = pytest.mark.webrtc

# A valid offer near the size cap: the Chrome offer padded with harmless attribute lines.
BIG_OFFER = CHROME_OFFER + "".join(f"a=x-pad{i}:{'p' * 3900}\r\n" for i in range(6))


class RawClient:
    """A WebSocket client on a plain socket with a tiny receive buffer that we never read."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_json(self, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        length = len(data)
        header = bytes([0x81]) + (
            bytes([0x80 | length])
            if length < 126
            else bytes([0x80 | 126]) + struct.pack("!H", length)
        )
        self.sock.sendall(header + mask + masked)

    def frames(self) -> list[tuple[int, bytes]]:
        """Read everything until the server closes; (opcode, payload) per frame."""
        self.sock.settimeout(10)
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        frames, i = [], 0
        while i + 2 <= len(data):
            opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
            i += 2
            if length == 126:
                (length,) = struct.unpack("!H", data[i : i + 2])
                i += 2
            elif length == 127:
                (length,) = struct.unpack("!Q", data[i : i + 8])
                i += 8
            frames.append((opcode, data[i : i + length]))
            i += length
        return frames


async def test_slow_reader_is_closed_with_too_slow(cluster: Cluster, minter: TokenMinter) -> None:
    node = cluster.start("node-a")
    therapist = SignalingClient()
    await therapist.connect(
        ws_url_for(node.url), "therapist", minter.mint_therapist("dr", [ROOM], 600), ROOM
    )
    slow = RawClient(node.port)
    slow.send_json(
        {
            "type": "auth",
            "role": "client",
            "token": minter.mint_client(ROOM, ttl=600),
            "room": ROOM,
            "name": "Slow",
        }
    )
    room = await therapist.wait_for(m.RoomView, where=lambda r: len(r.waiting) == 1)
    slow_pid = room.waiting[0].participant_id
    await therapist.send(m.Admit(participant_ids=[slow_pid]))
    await therapist.wait_for(m.SessionView, where=lambda s: len(s.peers) == 1)
    before = rss_kb(node.pid)

    try:
        for sent in range(1, 401):  # about 12 MB offered to a client that reads nothing
            await therapist.send(m.Offer(to=slow_pid, sdp=BIG_OFFER))
            if sent % 150 == 0:
                await asyncio.sleep(3.5)  # stay under the sender's rate limit
            session = therapist.last_session
            if session is not None and session.peers and not session.peers[0].connected:
                break
        await therapist.wait_for(
            m.SessionView, where=lambda s: bool(s.peers) and not s.peers[0].connected, timeout=30
        )
        after = rss_kb(node.pid)
        frames = await asyncio.to_thread(slow.frames)
        close = [payload for opcode, payload in frames if opcode == 0x8]
        assert close and struct.unpack("!H", close[0][:2])[0] == 4017
        bye = json.loads([p for op, p in frames if op == 0x1][-1])
        assert bye["type"] == "bye" and bye["code"] == "too_slow"
        assert "fell too far behind" in node.log_text()
        # The node held at most about a megabyte of queue for it, not the ~12 MB sent.
        assert after - before < 16_000, (before, after)
    finally:
        slow.sock.close()
        await therapist.close()
