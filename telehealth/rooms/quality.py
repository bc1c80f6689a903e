"""Call quality: a page's summary as stored, the grade of one summary, and "poor quality now".

The pages send a ``quality`` summary every ``quality_interval`` seconds (signaling/messages.py);
the node grades it here, keeps the last ``KEEP`` per participant in presence for the session's
life, and the monitor reads them back. A sample holds figures only: no name, no address, no
text anyone typed. The thresholds are the browser badge's (static/js/quality.js), with jitter
added, and docs/protocol.md ("Call quality") writes them down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import msgspec

KEEP = 60  # samples kept per participant: ten minutes at the default interval
STALE_INTERVALS = 3  # a latest sample older than this many intervals says nothing about "now"


class Level(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"  # nothing recent to go by


@dataclass(frozen=True)
class Thresholds:
    """A summary is graded by the first of these it passes (worse than ``rtt_ms`` etc.)."""

    rtt_ms: float
    loss_pct: float
    jitter_ms: float
    bitrate_kbps: float  # below it, when video is being received


POOR = Thresholds(rtt_ms=400, loss_pct=8, jitter_ms=100, bitrate_kbps=64)
FAIR = Thresholds(rtt_ms=250, loss_pct=3, jitter_ms=40, bitrate_kbps=150)


class QualitySample(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One summary as kept in presence (compact: an array), graded when it arrived."""

    at_ms: int
    level: Level
    loss_pct: float
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    bitrate_kbps: float | None = None
    frames_decoded: int = 0
    frames_dropped: int = 0
    width: int = 0
    height: int = 0
    candidate: str = "unknown"


def _worse(sample: QualitySample, limit: Thresholds) -> bool:
    def above(value: float | None, bound: float) -> bool:
        return value is not None and value > bound

    # Bitrate counts only while video is received: with the camera off little is sent, and fine.
    thin = sample.height > 0 and sample.bitrate_kbps is not None
    return (
        above(sample.rtt_ms, limit.rtt_ms)
        or sample.loss_pct > limit.loss_pct
        or above(sample.jitter_ms, limit.jitter_ms)
        or (thin and (sample.bitrate_kbps or 0) < limit.bitrate_kbps)
    )


def grade(sample: QualitySample) -> Level:
    """good / fair / poor for one summary (its own ``level`` is not looked at)."""
    if _worse(sample, POOR):
        return Level.POOR
    if _worse(sample, FAIR):
        return Level.FAIR
    return Level.GOOD


def level_now(samples: Sequence[QualitySample], now_ms: int, interval_s: float) -> Level:
    """The latest grade of one participant, or ``unknown`` when their newest sample is older
    than ``STALE_INTERVALS`` intervals (their page stopped reporting, or they just came)."""
    if not samples:
        return Level.UNKNOWN
    latest = samples[-1]
    if now_ms - latest.at_ms > STALE_INTERVALS * interval_s * 1000:
        return Level.UNKNOWN
    return latest.level


def poor_now(levels: Iterable[Level]) -> bool:
    """A session has "poor quality now" when anyone in it is graded poor now."""
    return any(level is Level.POOR for level in levels)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(QualitySample)


def encode_sample(sample: QualitySample) -> bytes:
    return _encoder.encode(sample)


def decode_sample(raw: bytes | str) -> QualitySample:
    return _decoder.decode(raw)
