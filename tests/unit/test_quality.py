"""Call quality: the codec refuses impossible summaries with a named code; one pure function
grades a summary; "poor quality now" is the latest grade of anyone in the session, if recent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.errors import Code, RapportError
from signaling.messages import PeerQuality, Quality, decode, decode_outbound, encode
from telehealth.rooms.quality import (
    FAIR,
    POOR,
    STALE_INTERVALS,
    Level,
    QualitySample,
    decode_sample,
    encode_sample,
    grade,
    level_now,
    poor_now,
)
from telehealth.web.quality import sample_of

GOOD = {
    "type": "quality",
    "rtt_ms": 24.5,
    "loss_pct": 0.2,
    "jitter_ms": 3.1,
    "bitrate_kbps": 950,
    "frames_decoded": 300,
    "frames_dropped": 1,
    "width": 640,
    "height": 480,
    "candidate": "host",
}


def summary(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes})


def test_a_good_summary_decodes() -> None:
    message = decode(summary())
    assert isinstance(message, Quality)
    assert message.candidate == "host" and message.width == 640


def test_only_loss_is_required() -> None:
    message = decode('{"type": "quality", "loss_pct": 0}')
    assert isinstance(message, Quality)
    assert message.rtt_ms is None and message.candidate == "unknown"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"loss_pct": -1}, Code.INVALID_MESSAGE),
        ({"loss_pct": 100.5}, Code.INVALID_MESSAGE),
        ({"bitrate_kbps": 80_000_000}, Code.INVALID_MESSAGE),  # 10 GB/s
        ({"rtt_ms": -3}, Code.INVALID_MESSAGE),
        ({"jitter_ms": 120_000}, Code.INVALID_MESSAGE),
        ({"frames_decoded": -1}, Code.INVALID_MESSAGE),
        ({"frames_dropped": 10**12}, Code.INVALID_MESSAGE),
        ({"width": 100_000}, Code.INVALID_MESSAGE),
        ({"width": 1.5}, Code.INVALID_MESSAGE),
        ({"height": True}, Code.INVALID_MESSAGE),
        ({"loss_pct": "3"}, Code.INVALID_MESSAGE),
        ({"candidate": "10.0.0.7"}, Code.INVALID_MESSAGE),  # never an address
        ({"address": "192.0.2.1"}, Code.UNKNOWN_FIELD),
        ({"ip": "::1"}, Code.UNKNOWN_FIELD),
    ],
)
def test_impossible_summaries_are_refused_by_name(changes: dict[str, Any], code: Code) -> None:
    with pytest.raises(RapportError) as caught:
        decode(summary(**changes))
    assert caught.value.code is code


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity"])
def test_infinite_or_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(RapportError) as caught:
        decode(f'{{"type": "quality", "loss_pct": 0, "rtt_ms": {raw}}}')
    assert caught.value.code in (Code.INVALID_MESSAGE, Code.INVALID_JSON)


def test_a_missing_loss_is_refused() -> None:
    with pytest.raises(RapportError) as caught:
        decode('{"type": "quality", "rtt_ms": 20}')
    assert caught.value.code is Code.INVALID_MESSAGE


def test_the_therapists_notice_round_trips() -> None:
    out = decode_outbound(encode(PeerQuality(sender="c-1", level="poor", at=1.5)))
    assert out == PeerQuality(sender="c-1", level="poor", at=1.5)
    assert json.loads(encode(out))["from"] == "c-1"


def sample(**changes: Any) -> QualitySample:
    base: dict[str, Any] = {
        "at_ms": 1_000_000,
        "level": Level.UNKNOWN,
        "loss_pct": 0.0,
        "rtt_ms": 20.0,
        "jitter_ms": 2.0,
        "bitrate_kbps": 900.0,
        "height": 480,
    }
    return QualitySample(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({}, Level.GOOD),
        ({"rtt_ms": FAIR.rtt_ms}, Level.GOOD),  # at the threshold is still on the good side
        ({"rtt_ms": FAIR.rtt_ms + 1}, Level.FAIR),
        ({"rtt_ms": POOR.rtt_ms + 1}, Level.POOR),
        ({"loss_pct": FAIR.loss_pct + 0.1}, Level.FAIR),
        ({"loss_pct": POOR.loss_pct + 0.1}, Level.POOR),
        ({"jitter_ms": FAIR.jitter_ms + 1}, Level.FAIR),
        ({"jitter_ms": POOR.jitter_ms + 1}, Level.POOR),
        ({"bitrate_kbps": FAIR.bitrate_kbps - 1}, Level.FAIR),
        ({"bitrate_kbps": POOR.bitrate_kbps - 1}, Level.POOR),
        # A thin bitrate with no video received (camera off) is fine.
        ({"bitrate_kbps": 20.0, "height": 0}, Level.GOOD),
        # Not measured is not bad.
        ({"rtt_ms": None, "jitter_ms": None, "bitrate_kbps": None}, Level.GOOD),
        # The worst figure decides.
        ({"rtt_ms": FAIR.rtt_ms + 1, "loss_pct": 50.0}, Level.POOR),
    ],
)
def test_grade(changes: dict[str, Any], level: Level) -> None:
    assert grade(sample(**changes)) is level


def test_level_now_is_unknown_without_a_recent_sample() -> None:
    interval = 10.0
    latest = sample(at_ms=1_000_000, level=Level.POOR)
    assert level_now([], 1_000_000, interval) is Level.UNKNOWN
    assert level_now([sample(level=Level.GOOD), latest], 1_000_000, interval) is Level.POOR
    stale = 1_000_000 + int(STALE_INTERVALS * interval * 1000) + 1
    assert level_now([latest], stale, interval) is Level.UNKNOWN


def test_poor_now_when_anyone_is_poor() -> None:
    assert poor_now([Level.GOOD, Level.POOR])
    assert not poor_now([Level.GOOD, Level.FAIR, Level.UNKNOWN])
    assert not poor_now([])


def test_the_stored_sample_is_graded_and_holds_figures_only() -> None:
    message = decode(summary(loss_pct=12.345, rtt_ms=30.04))
    assert isinstance(message, Quality)
    stored = sample_of(message, 5_000)
    assert stored.level is Level.POOR and stored.loss_pct == 12.35 and stored.at_ms == 5_000
    assert decode_sample(encode_sample(stored)) == stored
    assert set(QualitySample.__struct_fields__) == {
        "at_ms",
        "level",
        "loss_pct",
        "rtt_ms",
        "jitter_ms",
        "bitrate_kbps",
        "frames_decoded",
        "frames_dropped",
        "width",
        "height",
        "candidate",
    }
