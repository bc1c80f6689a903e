"""The pre-call verdict table (telehealth/media/verdict.py) and its checks on a result."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from signaling import messages as m
from signaling.errors import Code, RapportError
from telehealth.media.verdict import ADVICE_CODES, NodeFigures, check_result, judge

GOOD_NODE = NodeFigures(loss_up_pct=0.0, jitter_up_ms=2.0, bitrate_up_kbps=600.0)


def result(**changes: Any) -> m.PrecallResult:
    base: dict[str, Any] = {
        "candidate": "host",
        "transport": "udp",
        "duration_s": 6.0,
        "pings_sent": 30,
        "pings_answered": 30,
        "rtt_ms": 20.0,
        "loss_down_pct": 0.0,
        "jitter_down_ms": 3.0,
        "bitrate_down_kbps": 600.0,
        "bitrate_up_kbps": 600.0,
    }
    return msgspec.convert({**base, **changes}, m.PrecallResult)


# (client's changes, node's figures, verdict, advice)
TABLE: list[tuple[dict[str, Any], NodeFigures, str, list[str]]] = [
    ({}, GOOD_NODE, "good", ["good"]),
    ({"rtt_ms": 150.0}, GOOD_NODE, "good", ["good"]),  # at the bound: still good
    ({"rtt_ms": 151.0}, GOOD_NODE, "fair", ["latency"]),
    ({"rtt_ms": 401.0}, GOOD_NODE, "poor", ["latency"]),
    ({"loss_down_pct": 2.0}, GOOD_NODE, "fair", ["loss"]),
    ({}, NodeFigures(loss_up_pct=6.0, bitrate_up_kbps=600.0), "poor", ["loss"]),
    ({"jitter_down_ms": 40.0}, GOOD_NODE, "fair", ["jitter"]),
    ({}, NodeFigures(jitter_up_ms=80.0, bitrate_up_kbps=600.0), "poor", ["jitter"]),
    ({"bitrate_down_kbps": 200.0}, GOOD_NODE, "fair", ["bandwidth"]),
    ({"bitrate_down_kbps": 90.0}, GOOD_NODE, "poor", ["bandwidth"]),
    ({"candidate": "relay"}, GOOD_NODE, "fair", ["relay"]),
    ({"candidate": "relay", "transport": "tls"}, GOOD_NODE, "fair", ["relay_tcp"]),
    ({"candidate": "srflx"}, GOOD_NODE, "good", ["good"]),
    # The most serious first, two at most.
    (
        {"candidate": "relay", "rtt_ms": 500.0, "loss_down_pct": 2.0},
        GOOD_NODE,
        "poor",
        ["latency", "relay"],
    ),
    ({"pings_answered": 0, "rtt_ms": None}, GOOD_NODE, "poor", ["unreachable"]),
    ({"bitrate_down_kbps": 0.0, "bitrate_up_kbps": 0.0}, NodeFigures(), "poor", ["no_media"]),
]


@pytest.mark.parametrize(("changes", "node", "verdict", "advice"), TABLE)
def test_the_verdict_table(
    changes: dict[str, Any], node: NodeFigures, verdict: str, advice: list[str]
) -> None:
    report = judge(result(**changes), node, at=1000.0)
    assert (report.verdict, report.advice) == (verdict, advice)
    assert set(report.advice) <= set(ADVICE_CODES)


def test_the_report_carries_both_directions_and_prefers_the_nodes_upload_figure() -> None:
    report = judge(result(bitrate_up_kbps=999.0), GOOD_NODE, at=1000.0)
    assert report.bitrate_up_kbps == 600 and report.bitrate_down_kbps == 600
    assert (report.jitter_up_ms, report.jitter_down_ms) == (2.0, 3.0)
    assert report.at == 1000.0
    assert judge(result(bitrate_up_kbps=321.0), NodeFigures(), 0.0).bitrate_up_kbps == 321


@pytest.mark.parametrize(
    "changes",
    [{"pings_answered": 31}, {"pings_answered": 0}, {"rtt_ms": None}],
)
def test_contradicting_figures_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(RapportError) as refused:
        check_result(result(**changes))
    assert refused.value.code is Code.INVALID_MESSAGE


@pytest.mark.parametrize(
    "changes",
    [
        {"loss_down_pct": -0.1},
        {"loss_down_pct": 100.1},
        {"bitrate_down_kbps": 80_000_000.0},
        {"jitter_down_ms": 1e12},
        {"duration_s": 0},
        {"transport": "carrier-pigeon"},
        {"candidate": "192.168.1.1"},
    ],
)
def test_impossible_figures_are_refused_by_the_codec(changes: dict[str, Any]) -> None:
    body = {"type": "precall_result", **msgspec.structs.asdict(result()), **changes}
    with pytest.raises(RapportError) as refused:
        m.decode(msgspec.json.encode(body))
    assert refused.value.code is Code.INVALID_MESSAGE


def test_an_unknown_field_is_refused_by_name() -> None:
    body = {"type": "precall_result", **msgspec.structs.asdict(result()), "ip": "10.0.0.1"}
    with pytest.raises(RapportError) as refused:
        m.decode(msgspec.json.encode(body))
    assert refused.value.code is Code.UNKNOWN_FIELD


def test_the_precall_messages_round_trip_through_the_codec() -> None:
    report = judge(result(), GOOD_NODE, at=1000.0)
    for outbound in (
        m.PrecallAnswer(sdp="v=0"),
        m.PrecallVerdict(report=report),
        m.RoomView(
            waiting=[
                m.WaitingEntry(
                    participant_id="c-1", name="Alex", since=1.0, connected=True, precall=report
                )
            ],
            session=[],
            version=3,
        ),
    ):
        assert m.decode_outbound(m.encode(outbound)) == outbound
    for inbound in (result(), m.PrecallOffer(sdp="v=0"), m.PrecallStop()):
        assert m.decode(msgspec.json.encode(inbound)) == inbound
    # No address can ride along: the report's fields are the figures and candidate types.
    assert set(msgspec.structs.asdict(report)) == {
        "verdict", "advice", "candidate", "transport", "rtt_ms", "loss_up_pct", "loss_down_pct",
        "jitter_up_ms", "jitter_down_ms", "bitrate_up_kbps", "bitrate_down_kbps", "at",
    }  # fmt: skip
