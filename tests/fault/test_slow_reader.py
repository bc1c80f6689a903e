"""A client that stops reading is cut off with the named close code, and the node's memory
stays flat however much is sent its way."""

from __future__ import annotations

import asyncio

import pytest

from rapport_sdk import rawsocket
from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from signaling import messages as m
from signaling.samples import CHROME_OFFER
from telehealth.auth.tokens import TokenMinter
from tests.fault.conftest import ROOM, Cluster, rss_kb

pytestmark = pytest.mark.webrtc

# A valid offer near the size cap: the Chrome offer padded with harmless attribute lines.
BIG_OFFER = CHROME_OFFER + "".join(f"a=x-pad{i}:{'p' * 3900}\r\n" for i in range(6))


async def test_slow_reader_is_closed_with_too_slow(cluster: Cluster, minter: TokenMinter) -> None:
    node = cluster.start("node-a")
    therapist = SignalingClient()
    await therapist.connect(
        ws_url_for(node.url), "therapist", minter.mint_therapist("dr", [ROOM], 600), ROOM
    )
    # A tiny kernel receive buffer, and from the first frame on nothing is read.
    slow = await rawsocket.connect("127.0.0.1", node.port, receive_buffer=4096)
    slow.pause_reading()
    await slow.send(
        type="auth", role="client", token=minter.mint_client(ROOM, ttl=600), room=ROOM, name="Slow"
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
        slow.resume_reading()  # everything the node managed to send, up to its close frame
        assert await slow.closed(timeout=10) == 4017
        bye = slow.seen[-1]
        assert bye["type"] == "bye" and bye["code"] == "too_slow"
        assert "fell too far behind" in node.log_text()
        # The node held at most about a megabyte of queue for it, not the ~12 MB sent.
        assert after - before < 16_000, (before, after)
    finally:
        slow.abort()
        await therapist.close()
