"""The pre-call verdict: good, fair or poor, with advice codes, from a test's figures.

Pure: no aiortc, no clock. The thresholds are the table below, and docs/protocol.md ("The
pre-call test") repeats them. Advice is a list of codes, most serious first (at most two);
the pages hold the words (strings.js ``precall.advice.*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from signaling.messages import PrecallReport, PrecallResult

Verdict = Literal["good", "fair", "poor"]


class Grade(IntEnum):
    GOOD = 0
    FAIR = 1
    POOR = 2


VERDICTS: dict[Grade, Verdict] = {Grade.GOOD: "good", Grade.FAIR: "fair", Grade.POOR: "poor"}


@dataclass(frozen=True)
class Limit:
    """A figure's bounds: past ``fair`` the verdict is at best fair, past ``poor`` it is poor.
    ``higher_is_worse`` is False for bitrate, where lower is worse."""

    advice: str
    fair: float
    poor: float
    higher_is_worse: bool = True

    def grade(self, value: float) -> Grade:
        def past(bound: float) -> bool:
            return value > bound if self.higher_is_worse else value < bound

        if past(self.poor):
            return Grade.POOR
        return Grade.FAIR if past(self.fair) else Grade.GOOD


RTT = Limit("latency", fair=150.0, poor=400.0)  # ms, datachannel round trip (median)
LOSS = Limit("loss", fair=1.0, poor=5.0)  # %, the worse direction
JITTER = Limit("jitter", fair=30.0, poor=75.0)  # ms, the worse direction
BITRATE = Limit("bandwidth", fair=250.0, poor=100.0, higher_is_worse=False)  # kb/s, the lower
MAX_ADVICE = 2


@dataclass(frozen=True)
class NodeFigures:
    """What the node's own peer measured: the client-to-node direction ("up")."""

    loss_up_pct: float = 0.0
    jitter_up_ms: float = 0.0
    bitrate_up_kbps: float = 0.0


def judge(result: PrecallResult, node: NodeFigures, at: float) -> PrecallReport:
    """The report of one test: the client's figures, the node's, and the verdict on both."""
    bitrate_up = node.bitrate_up_kbps or result.bitrate_up_kbps
    loss = max(node.loss_up_pct, result.loss_down_pct)
    jitter = max(node.jitter_up_ms, result.jitter_down_ms)
    bitrate = min(bitrate_up, result.bitrate_down_kbps)
    found: list[tuple[Grade, int, str]] = []  # (grade, order, advice)
    if result.pings_answered == 0 or result.rtt_ms is None:
        found.append((Grade.POOR, 0, "unreachable"))
    elif bitrate_up == 0 and result.bitrate_down_kbps == 0:
        found.append((Grade.POOR, 0, "no_media"))
    else:
        for order, (limit, value) in enumerate(
            [(RTT, result.rtt_ms), (LOSS, loss), (JITTER, jitter), (BITRATE, bitrate)], start=2
        ):
            grade = limit.grade(value)
            if grade is not Grade.GOOD:
                found.append((grade, order, limit.advice))
    if result.candidate == "relay":
        # Only through our relay server: it works, with a longer way for every packet.
        advice = "relay" if result.transport == "udp" else "relay_tcp"
        found.append((Grade.FAIR, 1, advice))
    grade = max((g for g, _, _ in found), default=Grade.GOOD)
    ranked = sorted(found, key=lambda f: (-f[0], f[1]))
    return PrecallReport(
        verdict=VERDICTS[grade],
        advice=[a for _, _, a in ranked[:MAX_ADVICE]] or ["good"],
        candidate=result.candidate,
        transport=result.transport,
        rtt_ms=_round(result.rtt_ms),
        loss_up_pct=round(node.loss_up_pct, 2),
        loss_down_pct=round(result.loss_down_pct, 2),
        jitter_up_ms=round(node.jitter_up_ms, 1),
        jitter_down_ms=round(result.jitter_down_ms, 1),
        bitrate_up_kbps=round(bitrate_up),
        bitrate_down_kbps=round(result.bitrate_down_kbps),
        at=round(at, 3),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


ADVICE_CODES = (
    "good",
    "unreachable",
    "no_media",
    "relay",
    "relay_tcp",
    *(limit.advice for limit in (RTT, LOSS, JITTER, BITRATE)),
)


def check_result(result: PrecallResult) -> None:
    """Refuse figures that contradict each other (the codec has refused impossible ones)."""
    from signaling.errors import Code, RapportError

    if result.pings_answered > result.pings_sent:
        raise RapportError(Code.INVALID_MESSAGE, "More pings answered than sent.")
    if (result.rtt_ms is None) != (result.pings_answered == 0):
        raise RapportError(Code.INVALID_MESSAGE, "A round-trip time needs answered pings.")
