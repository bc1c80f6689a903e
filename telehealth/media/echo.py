"""The pre-call test's peer: an aiortc RTCPeerConnection on the node that answers a client's
offer, sends the client's own audio and video back, and answers datachannel pings.

One object per test, closed exactly once (``close`` may be called from any exit path). What it
measures of the client-to-node direction comes from its own receiving side (``figures``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.stats import RTCInboundRtpStreamStats, RTCTransportStats

from telehealth.media.verdict import NodeFigures

log = logging.getLogger("telehealth.media")

MAX_PING = 256  # characters of a datachannel ping echoed back; longer ones are ignored
CLOCK_KHZ = {"audio": 48.0, "video": 90.0}  # RTP clock rates: aiortc's jitter is in ticks
CLOSE_S = 5.0


def configuration(stun_urls: Sequence[str]) -> RTCConfiguration:
    """The node's own ICE configuration: STUN only (to learn its public address behind NAT);
    a TURN allocation is the client's business. Never aiortc's default public server."""
    servers = [RTCIceServer(urls=[u]) for u in stun_urls[:1]]
    return RTCConfiguration(iceServers=servers)


class EchoPeer:
    def __init__(self, config: RTCConfiguration, host_addresses: Sequence[str] = ()) -> None:
        self.pc = RTCPeerConnection(config)
        self._hosts = list(host_addresses)
        self._connected_at: float | None = None
        self._closed = False
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        # The client's own track, sent straight back on the same transceiver: aiortc decodes
        # and encodes again, which is the CPU cost measured in benchmarks/ (so low resolution).
        self.pc.addTrack(track)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        def echo(message: str | bytes) -> None:
            if isinstance(message, str) and len(message) <= MAX_PING:
                channel.send(message)

        channel.on("message", echo)

    def _on_state(self) -> None:
        state = self.pc.connectionState
        log.debug("precall peer connectionState -> %s", state)
        if state == "connected" and self._connected_at is None:
            self._connected_at = time.monotonic()

    async def answer(self, offer_sdp: str) -> str:
        """Answer a complete offer; the answer carries every candidate (no trickle)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        if self._hosts:
            _pin_host_addresses(self.pc, self._hosts)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        local = self.pc.localDescription
        return local.sdp

    async def figures(self) -> NodeFigures:
        """Loss, jitter and throughput of what the node received from the client."""
        if self._closed:
            return NodeFigures()
        report = await self.pc.getStats()
        received = lost = 0
        jitter_ms = 0.0
        bytes_in = 0
        for stats in report.values():
            if isinstance(stats, RTCInboundRtpStreamStats):
                received += stats.packetsReceived
                lost += max(0, stats.packetsLost)
                jitter_ms = max(jitter_ms, stats.jitter / CLOCK_KHZ.get(stats.kind, 90.0))
            elif isinstance(stats, RTCTransportStats):
                bytes_in = max(bytes_in, stats.bytesReceived)
        elapsed = time.monotonic() - self._connected_at if self._connected_at else 0.0
        return NodeFigures(
            loss_up_pct=100.0 * lost / (received + lost) if received + lost else 0.0,
            jitter_up_ms=jitter_ms,
            bitrate_up_kbps=bytes_in * 8 / 1000 / elapsed if elapsed > 0.5 else 0.0,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_S)
        except TimeoutError:
            log.warning("precall peer: close took longer than %.0f s", CLOSE_S)


def _pin_host_addresses(pc: RTCPeerConnection, addresses: list[str]) -> None:
    """Offer host candidates on ``addresses`` only, for this connection alone.

    For a node on loopback (TELEHEALTH_LOOPBACK, the tests): aioice never offers 127.0.0.1,
    and the SDK's process-wide patch is forbidden in a server (rapport_sdk/loopback.py). This
    replaces the gathering of this connection's ICE agents (aioice 0.10+ internals, checked by
    the e2e pre-call tests)."""
    gatherers = {
        id(t.receiver.transport.transport.iceGatherer): t.receiver.transport.transport.iceGatherer
        for t in pc.getTransceivers()
        if t.receiver.transport is not None
    }
    if pc.sctp is not None:
        g = pc.sctp.transport.transport.iceGatherer
        gatherers[id(g)] = g
    for gatherer in gatherers.values():
        agent = gatherer._connection

        async def gather(agent: object = agent) -> None:
            a = agent
            if a._local_candidates_start:  # type: ignore[attr-defined]
                return
            a._local_candidates_start = True  # type: ignore[attr-defined]
            for component in a._components:  # type: ignore[attr-defined]
                a._local_candidates += await a.get_component_candidates(  # type: ignore[attr-defined]
                    component=component, addresses=addresses
                )
            a._local_candidates_end = True  # type: ignore[attr-defined]

        agent.gather_candidates = gather  # type: ignore[method-assign]
