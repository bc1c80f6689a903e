"""The pre-call connection test as a waiting client runs it, with an aiortc peer.

:func:`run_precall` runs the test over a client's socket that is already in the waiting room:
a complete offer (audio, low-resolution video and a ``precall`` datachannel) to the node's
own test peer, pings over the datachannel while the echo flows, the client's side of the
figures, then ``precall_result`` and the node's ``precall_verdict``. :func:`probe_precall` is
``telehealth probe --precall``: it mints a session link, joins, runs the test and leaves.
Reports carry figures only: no token, SDP or address.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import statistics
import time
from typing import Any

import av
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats, RTCTransportStats

from rapport_sdk.client import SignalingClient, SignalingError
from rapport_sdk.ice import public_url, rtc_configuration, ws_url_for
from rapport_sdk.loopback import loopback_only
from signaling import messages as m
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings

__all__ = ["NoiseTrack", "PrecallFailed", "probe_precall", "run_precall"]

PING_INTERVAL_S = 0.2
CLOCK_KHZ = {"audio": 48.0, "video": 90.0}
CLIENT_NAME = "Pre-call probe"


class PrecallFailed(Exception):
    """The test did not reach a verdict: ``code`` is the server's error code, if it sent one."""

    def __init__(self, message: str, code: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class NoiseTrack(VideoStreamTrack):
    """Low-resolution video at 15 frames a second with a band of noise, as a camera picture
    that moves (a still picture compresses to almost nothing and would measure no bandwidth;
    a picture of noise only would cost the encoders far more than a face does)."""

    FPS = 15
    CLOCK = 90_000

    def __init__(self, width: int = 320, height: int = 240, band: int = 32) -> None:
        super().__init__()
        self._size = (width, height)
        self._band = band
        self._n = 0
        self._start = 0.0

    async def recv(self) -> av.VideoFrame:
        if self._n == 0:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._n / self.FPS - time.monotonic()))
        width, height = self._size
        frame = av.VideoFrame(width, height, "yuv420p")
        luma, *chroma = frame.planes
        row = luma.line_size
        top = (self._n * 4) % (height - self._band)
        picture = bytearray(b"\x80" * luma.buffer_size)
        picture[top * row : (top + self._band) * row] = os.urandom(self._band * row)
        luma.update(bytes(picture))
        for plane in chroma:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = self._n * self.CLOCK // self.FPS
        frame.time_base = fractions.Fraction(1, self.CLOCK)
        self._n += 1
        return frame


async def run_precall(
    client: SignalingClient, *, loopback: bool, duration: float = 6.0, timeout: float = 20.0
) -> m.PrecallReport:
    """Run one test on ``client``'s socket (a waiting client); the node's report."""
    with loopback_only() if loopback else contextlib.nullcontext():
        config = rtc_configuration(client.ice_servers, loopback)
        # The relay-only setting, when the node's welcome carries one: the test then takes the
        # path the call will take.
        if getattr(client.welcome, "ice_transport_policy", "all") == "relay":
            config.iceTransportPolicy = RTCIceTransportPolicy.RELAY
        pc = RTCPeerConnection(config)
        try:
            async with asyncio.timeout(timeout):
                return await _test(client, pc, duration)
        finally:
            await pc.close()


async def _test(client: SignalingClient, pc: RTCPeerConnection, duration: float) -> m.PrecallReport:
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(NoiseTrack())
    # Reliable: aiortc sends the channel-open message with the channel's own reliability.
    channel = pc.createDataChannel("precall")
    opened = asyncio.Event()
    connected = asyncio.Event()
    sent: dict[int, float] = {}
    rtts: list[float] = []
    warm = asyncio.Event()

    @channel.on("open")
    def _open() -> None:
        opened.set()

    @channel.on("message")
    def _pong(message: str | bytes) -> None:
        if isinstance(message, str) and message.startswith("w "):
            warm.set()  # the warm-up's answer: the way is open
        elif isinstance(message, str) and message.startswith("p "):
            at = sent.pop(int(message.split()[1]), None)
            if at is not None:
                rtts.append((time.monotonic() - at) * 1000)

    @pc.on("connectionstatechange")
    def _state() -> None:
        if pc.connectionState == "connected":
            connected.set()

    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
    await client.send(m.PrecallOffer(sdp=pc.localDescription.sdp))
    answer = await _reply(client, m.PrecallAnswer, "precall_offer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
    await connected.wait()
    await opened.wait()
    # Until the first answer, the SCTP association may still be settling (aiortc resends a
    # lost INIT after 3 s): measuring starts with the first ping answered.
    await _first_answer(channel, warm)
    started = time.monotonic()
    pings = await _ping(channel, sent, started + duration)
    figures = await _figures(pc, time.monotonic() - started)
    result = m.PrecallResult(
        candidate=_candidate_type(pc),
        transport="udp",
        duration_s=round(time.monotonic() - started, 3),
        pings_sent=pings,
        pings_answered=len(rtts),
        rtt_ms=round(statistics.median(rtts), 2) if rtts else None,
        **figures,
    )
    await client.send(result)
    # (a time limit reached meanwhile was answered to the offer: that error comes first)
    verdict = await _reply(client, m.PrecallVerdict, "precall_offer", "precall_result")
    report: m.PrecallReport = verdict.report
    return report


async def _first_answer(channel: RTCDataChannel, warm: asyncio.Event, limit: float = 15.0) -> None:
    n = 0
    until = time.monotonic() + limit
    while not warm.is_set() and time.monotonic() < until and channel.readyState == "open":
        channel.send(f"w {n}")
        n += 1
        await asyncio.sleep(PING_INTERVAL_S)


async def _ping(channel: RTCDataChannel, sent: dict[int, float], until: float) -> int:
    n = 0
    while time.monotonic() < until and n < 1000 and channel.readyState == "open":
        sent[n] = time.monotonic()
        channel.send(f"p {n}")
        n += 1
        await asyncio.sleep(PING_INTERVAL_S)
    # The last answers' way back: a second at most (a later answer counts as lost).
    for _ in range(50):
        if not sent or channel.readyState != "open":
            break
        await asyncio.sleep(0.02)
    return n


async def _figures(pc: RTCPeerConnection, elapsed: float) -> dict[str, float]:
    report = await pc.getStats()
    received = lost = bytes_in = bytes_out = 0
    jitter = 0.0
    for stats in report.values():
        if isinstance(stats, RTCInboundRtpStreamStats):
            received += stats.packetsReceived
            lost += max(0, stats.packetsLost)
            jitter = max(jitter, stats.jitter / CLOCK_KHZ.get(stats.kind, 90.0))
        elif isinstance(stats, RTCOutboundRtpStreamStats):
            bytes_out += stats.bytesSent
        elif isinstance(stats, RTCTransportStats):
            bytes_in = max(bytes_in, stats.bytesReceived)
    seconds = max(elapsed, 0.001)
    return {
        "loss_down_pct": round(100.0 * lost / (received + lost), 2) if received + lost else 0.0,
        "jitter_down_ms": round(min(jitter, 60_000.0), 2),
        "bitrate_down_kbps": round(min(bytes_in * 8 / 1000 / seconds, 100_000.0), 1),
        "bitrate_up_kbps": round(min(bytes_out * 8 / 1000 / seconds, 100_000.0), 1),
    }


def _candidate_type(pc: RTCPeerConnection) -> Any:
    """The type of our side of the selected pair (aioice's nominated pair; "host" if unknown)."""
    try:
        agent = pc.sctp.transport.transport.iceGatherer._connection  # type: ignore[union-attr]
        pair = agent._nominated.get(1)
        kind = pair.local_candidate.type if pair else "host"
    except AttributeError:
        kind = "host"
    return kind if kind in ("host", "srflx", "prflx", "relay") else "host"


async def _reply(client: SignalingClient, kind: type[Any], *refs: str) -> Any:
    def wanted(msg: m.Outbound) -> bool:
        return isinstance(msg, kind) or (isinstance(msg, m.Error) and msg.ref in refs)

    msg = await client.wait_for(wanted, timeout=30.0)
    if isinstance(msg, m.Error):
        raise PrecallFailed(msg.message, msg.code, msg.retry_after)
    return msg


async def probe_precall(
    settings: Settings,
    client_url: str,
    *,
    room: str = "probe",
    loopback: bool = False,
    duration: float = 6.0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """``telehealth probe --precall``: the test as a waiting client runs it, as a JSON-ready
    report (``ok``, ``verdict``, ``advice`` and the figures; ``error`` and ``code`` on failure)."""
    started = time.perf_counter()
    out: dict[str, Any] = {"ok": False, "client_node_url": public_url(client_url), "room": room}
    token = TokenMinter(settings).mint_client(room, ttl=int(max(120, timeout + 60)))
    client = SignalingClient()
    try:
        async with asyncio.timeout(timeout):
            await client.connect(
                ws_url_for(client_url), "client", token, room, name=CLIENT_NAME, timeout=timeout
            )
            await client.wait_for(m.ClientState, state="waiting", timeout=timeout)
            report = await run_precall(
                client, loopback=loopback, duration=duration, timeout=timeout
            )
            with contextlib.suppress(SignalingError):
                await client.send({"type": "leave"})
        out.update(ok=True, **_report_fields(report))
    except PrecallFailed as exc:
        out.update(error=str(exc), code=exc.code, retry_after=exc.retry_after)
    except (SignalingError, TimeoutError) as exc:
        text = str(exc).replace(token, "[token]") or type(exc).__name__
        out.update(error=text[:300])
    finally:
        await client.close()
    out["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def _report_fields(report: m.PrecallReport) -> dict[str, Any]:
    return {
        "verdict": report.verdict,
        "advice": report.advice,
        "path": {"candidate": report.candidate, "transport": report.transport},
        "rtt_ms": report.rtt_ms,
        "loss_pct": {"up": report.loss_up_pct, "down": report.loss_down_pct},
        "jitter_ms": {"up": report.jitter_up_ms, "down": report.jitter_down_ms},
        "bitrate_kbps": {"up": report.bitrate_up_kbps, "down": report.bitrate_down_kbps},
    }
