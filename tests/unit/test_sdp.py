"""signaling.sdp.check_sdp: real offers and answers pass; malformed and hostile SDP is refused.

Every refusal must be a RapportError (INVALID_SDP or SDP_TOO_LARGE) whose message does not echo the
SDP; the hostile shapes from the shared PITFALLS (quadratic in aiortc's parser) must be stopped by
the string pre-checks.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from signaling.errors import Code, RapportError

#: An offer from Chromium 156 (getUserMedia audio+video tracks and a datachannel), with the video
#: section's SSRCs replaced by legacy SIM simulcast (3 layers, each with an RTX FID group).
from signaling.samples import CHROME_OFFER
from signaling.sdp import MAX_LINE_LENGTH, MAX_SDP_BYTES, check_sdp

SECRET = "ZZSECRETMARKERZZ"  # planted in offending lines: must never appear in an error message


def _lines(sdp: str) -> list[str]:
    return sdp.split("\r\n")[:-1]


def _join(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def _without(sdp: str, prefix: str) -> str:
    return _join([line for line in _lines(sdp) if not line.startswith(prefix)])


def _media_sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    session: list[str] = []
    media: list[list[str]] = []
    for line in _lines(sdp):
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def _with_video_lines(extra: list[str]) -> str:
    """CHROME_OFFER with ``extra`` appended to its video section."""
    return _with_video_lines_of(CHROME_OFFER, extra)


def _with_video_lines_of(sdp: str, extra: list[str]) -> str:
    session, media = _media_sections(sdp)
    media[1] = media[1] + extra
    return _join(session + [line for section in media for line in section])


def _assert_no_echo(err: RapportError, sdp: object) -> None:
    text = f"{err} {err.message} {err.to_json()}"
    assert SECRET not in text
    if isinstance(sdp, str):
        for line in sdp.splitlines()[:200]:
            if len(line) >= 12:
                assert line not in text


def _reject(sdp: object, code: Code, kind: str = "offer", **kwargs: int) -> RapportError:
    with pytest.raises(RapportError) as info:
        check_sdp(sdp, kind, **kwargs)  # type: ignore[arg-type]
    assert info.value.code is code, info.value.message
    _assert_no_echo(info.value, sdp)
    return info.value


# --------------------------------------------------------------------------------------------
# Valid descriptions
# --------------------------------------------------------------------------------------------


def _loopback_only(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


async def test_aiortc_offer_and_answer_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice offers no loopback host candidates: without this it may gather none (PITFALLS).
    monkeypatch.setattr(aioice.ice, "get_host_addresses", _loopback_only)
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        offerer.createDataChannel("chat")
        offerer.addTransceiver("audio")
        offerer.addTransceiver("video")
        offer = await asyncio.wait_for(offerer.createOffer(), 10)
        await asyncio.wait_for(offerer.setLocalDescription(offer), 10)
        offer_sdp = offerer.localDescription.sdp
        await asyncio.wait_for(answerer.setRemoteDescription(offerer.localDescription), 10)
        answer = await asyncio.wait_for(answerer.createAnswer(), 10)
        await asyncio.wait_for(answerer.setLocalDescription(answer), 10)
        answer_sdp = answerer.localDescription.sdp
    finally:
        await asyncio.wait_for(offerer.close(), 10)
        await asyncio.wait_for(answerer.close(), 10)

    assert "a=candidate:" in offer_sdp
    assert offer_sdp.count("m=") == 3
    check_sdp(offer_sdp, "offer")
    check_sdp(answer_sdp, "answer")
    # The offer's a=setup:actpass is not allowed in an answer.
    _reject(offer_sdp, Code.INVALID_SDP, kind="answer")


def test_chrome_offer_passes() -> None:
    assert 6000 < len(CHROME_OFFER.encode()) < 7000
    check_sdp(CHROME_OFFER, "offer")


def test_lf_line_endings_pass() -> None:
    check_sdp(CHROME_OFFER.replace("\r\n", "\n"), "offer")


def test_session_level_fingerprint_passes() -> None:
    # Firefox puts a=fingerprint at session level and ICE credentials in each media section.
    fingerprint = next(line for line in _lines(CHROME_OFFER) if line.startswith("a=fingerprint"))
    lines = _lines(_without(CHROME_OFFER, "a=fingerprint"))
    lines.insert(lines.index("t=0 0") + 1, fingerprint)
    check_sdp(_join(lines), "offer")


def test_answer_roles() -> None:
    check_sdp(CHROME_OFFER.replace("a=setup:actpass", "a=setup:active"), "answer")
    check_sdp(CHROME_OFFER.replace("a=setup:actpass", "a=setup:passive"), "answer")
    _reject(CHROME_OFFER, Code.INVALID_SDP, kind="answer")
    _reject(CHROME_OFFER.replace("a=setup:actpass", "a=setup:holdconn"), Code.INVALID_SDP)
    _reject(_without(CHROME_OFFER, "a=setup"), Code.INVALID_SDP)


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_sdp(CHROME_OFFER, "pranswer")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Size
# --------------------------------------------------------------------------------------------


def test_size_cap_counts_utf8_bytes() -> None:
    size = len(CHROME_OFFER.encode())
    check_sdp(CHROME_OFFER, "offer", max_bytes=size)
    _reject(CHROME_OFFER, Code.SDP_TOO_LARGE, max_bytes=size - 1)
    # Same number of characters, one more byte.
    wide = CHROME_OFFER.replace("s=-", "s=\u00e9", 1)
    assert len(wide) == len(CHROME_OFFER)
    _reject(wide, Code.SDP_TOO_LARGE, max_bytes=size)
    check_sdp(wide, "offer", max_bytes=size + 1)


def test_over_default_cap() -> None:
    padding = [f"a=x-pad:{SECRET}{i:06d}" + "p" * 60 for i in range(MAX_SDP_BYTES // 80 + 1)]
    sdp = _with_video_lines(padding)
    assert len(sdp.encode()) > MAX_SDP_BYTES
    _reject(sdp, Code.SDP_TOO_LARGE)


def test_megabyte_of_ssrc_lines() -> None:
    # 22 s in aiortc's parser (PITFALLS); the size cap or the a=ssrc cap must stop it first.
    ssrc = [f"a=ssrc:{i} cname:{SECRET}" for i in range(1_000_000 // 32)]
    sdp = _with_video_lines(ssrc)
    assert len(sdp) > 1_000_000
    _reject(sdp, Code.SDP_TOO_LARGE)
    _reject(sdp, Code.INVALID_SDP, max_bytes=2_000_000)


def test_rtpmap_times_rtcp_fb() -> None:
    # 128 KB of these took 20 s and 1.1 GB in aiortc's parser (PITFALLS).
    extra: list[str] = []
    for i in range(2000):
        extra.append(f"a=rtpmap:{96 + i % 32} VP8/90000")
        extra.append("a=rtcp-fb:* nack")
    sdp = _with_video_lines(extra)
    _reject(sdp, Code.SDP_TOO_LARGE)
    _reject(sdp, Code.INVALID_SDP, max_bytes=1 << 20)
    # Under every per-attribute cap but with a large product in one section.
    product = [f"a=rtpmap:{96 + i % 32} VP8/90000" for i in range(200)] + ["a=rtcp-fb:* nack"] * 200
    _reject(_with_video_lines(product), Code.INVALID_SDP)


@pytest.mark.parametrize(
    ("line", "count"),
    [
        ("a=ssrc:{i} cname:x", 129),
        ("a=rtpmap:{i} VP8/90000", 257),
        ("a=rtcp-fb:96 nack", 513),
        ("a=fmtp:96 apt={i}", 257),
        ("a=candidate:{i} 1 udp 1 127.0.0.1 9 typ host", 129),
        ("a=ssrc-group:FID {i} 1", 65),
    ],
)
def test_attribute_caps(line: str, count: int) -> None:
    name = line[2:].split(":")[0]
    sdp = _without(CHROME_OFFER, f"a={name}:")
    err = _reject(
        _with_video_lines_of(sdp, [line.format(i=i) for i in range(count)]), Code.INVALID_SDP
    )
    assert f"a={name} lines" in err.message


def _with_session_lines(lines: list[str]) -> str:
    """The Chrome offer with ``lines`` added at the end of its session part."""
    head, _, media = CHROME_OFFER.partition("\r\nm=")
    return "\r\n".join([head, *lines]) + "\r\nm=" + media


def test_caps_count_lines_without_a_value_and_in_the_session_part() -> None:
    err = _reject(_with_session_lines(["a=ssrc"] * 129), Code.INVALID_SDP)
    assert "a=ssrc lines" in err.message
    codecs = [f"a=rtpmap:{i} VP8/90000" for i in range(100)]
    feedback = [f"a=rtcp-fb:{i} nack" for i in range(200)]
    _reject(_with_session_lines(codecs + feedback), Code.INVALID_SDP)


def test_too_many_lines() -> None:
    _reject(_with_video_lines(["a=x"] * 1000), Code.INVALID_SDP)


# --------------------------------------------------------------------------------------------
# Malformed
# --------------------------------------------------------------------------------------------


def _replace_line(prefix: str, new: str) -> str:
    lines = _lines(CHROME_OFFER)
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = new
    return _join(lines)


def _insert_after_video(line: str) -> str:
    return _with_video_lines([line])


_rng = random.Random(20240601)
_JUNK = bytes(_rng.randrange(256) for _ in range(4096)).decode("latin-1")

MALFORMED: dict[str, str] = {
    "empty": "",
    "hello world": "hello world",
    "only v=0": "v=0\r\n",
    "missing v=0": _without(CHROME_OFFER, "v="),
    "v=1": CHROME_OFFER.replace("v=0", "v=1", 1),
    "v=0 with trailing space": CHROME_OFFER.replace("v=0", "v=0 ", 1),
    "second v=": _insert_after_video("v=0"),
    "missing o=": _without(CHROME_OFFER, "o="),
    "missing s=": _without(CHROME_OFFER, "s="),
    "missing t=": _without(CHROME_OFFER, "t="),
    "o= after m=": _insert_after_video("o=- 1 1 IN IP4 127.0.0.1"),
    "no m= lines": _join(_media_sections(CHROME_OFFER)[0]),
    "missing fingerprint": _without(CHROME_OFFER, "a=fingerprint"),
    "only sha-1 fingerprint": _without(CHROME_OFFER, "a=fingerprint")
    + "a=fingerprint:sha-1 "
    + ":".join(["AB"] * 20)
    + "\r\n",
    "short sha-256 fingerprint": CHROME_OFFER.replace(
        "a=fingerprint:sha-256 C3:", "a=fingerprint:sha-256 "
    ),
    "fingerprint with junk": _insert_after_video(f"a=fingerprint:sha-256 {SECRET}"),
    "missing ice-ufrag": _without(CHROME_OFFER, "a=ice-ufrag"),
    "missing ice-pwd": _without(CHROME_OFFER, "a=ice-pwd"),
    "short ice-pwd": _insert_after_video("a=ice-pwd:abc"),
    "ice-ufrag with spaces": _insert_after_video(f"a=ice-ufrag:{SECRET} {SECRET}"),
    "invalid line type": _insert_after_video(f"x={SECRET}"),
    "upper-case line type": _insert_after_video(f"A={SECRET}"),
    "no equals sign": _insert_after_video(SECRET),
    "binary junk": _JUNK,
    "binary junk after a valid head": CHROME_OFFER + _JUNK,
    "NUL byte": CHROME_OFFER.replace("s=-", "s=-\x00", 1),
    "bare CR": CHROME_OFFER.replace("a=mid:1\r\n", f"a=mid:1\r{SECRET}\r\n"),
    "unicode line separator": CHROME_OFFER.replace(
        "a=mid:1\r\n", "a=mid:1\u2028" + "\u2028".join(["a=rtcp-fb:* nack"] * 200) + "\r\n"
    ),
    "line over the line cap": _insert_after_video(f"a=x-long:{SECRET}" + "x" * MAX_LINE_LENGTH),
    "17 m= lines": _join(
        _media_sections(CHROME_OFFER)[0]
        + [line for _ in range(17) for line in _media_sections(CHROME_OFFER)[1][2]]
    ),
    "m= line without formats": _replace_line("m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF"),
    "m= line of unknown kind": _replace_line("m=audio", "m=hologram 9 UDP/TLS/RTP/SAVPF 111"),
    "payload type 300": _replace_line("m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 300"),
    "payload type 72": _replace_line("m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 72"),
    "payload type not a number": _replace_line("m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 x"),
    "candidate with few fields": _insert_after_video(f"a=candidate:{SECRET} 1 udp"),
    "rtpmap without clock rate": _insert_after_video("a=rtpmap:96 VP8"),
    "fmtp for an unknown codec": _insert_after_video("a=fmtp:55 apt=96"),
    "bad c= line": _insert_after_video(f"c=IN IP4 {SECRET} extra"),
    "ssrc without attribute": _insert_after_video("a=ssrc:12345"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_is_invalid(name: str) -> None:
    _reject(MALFORMED[name], Code.INVALID_SDP)


@pytest.mark.parametrize("value", [None, b"v=0\r\n", 42, ["v=0"]])
def test_not_a_string(value: object) -> None:
    _reject(value, Code.INVALID_SDP)


def test_line_cap_boundary() -> None:
    prefix = "a=x-long:"
    check_sdp(_insert_after_video(prefix + "x" * (MAX_LINE_LENGTH - len(prefix))), "offer")
    _reject(
        _insert_after_video(prefix + "x" * (MAX_LINE_LENGTH - len(prefix) + 1)), Code.INVALID_SDP
    )


def test_sixteen_media_sections_pass() -> None:
    session, media = _media_sections(CHROME_OFFER)
    audio = media[0]
    sections = [
        [f"a=mid:{i}" if line.startswith("a=mid:") else line for line in audio] for i in range(16)
    ]
    check_sdp(_join(session + [line for section in sections for line in section]), "offer")


# --------------------------------------------------------------------------------------------
# Fuzz-like mutations: pass, or INVALID_SDP; never another exception
# --------------------------------------------------------------------------------------------


def _check_outcome(sdp: str) -> None:
    try:
        check_sdp(sdp, "offer")
    except RapportError as err:
        assert err.code is Code.INVALID_SDP, err.message
        _assert_no_echo(err, sdp)


def test_truncations() -> None:
    rng = random.Random(1234)
    for cut in [rng.randrange(len(CHROME_OFFER)) for _ in range(300)]:
        _check_outcome(CHROME_OFFER[:cut])
    for cut in range(0, 200):
        _check_outcome(CHROME_OFFER[:cut])


def test_line_mutations() -> None:
    rng = random.Random(5678)
    base = _lines(CHROME_OFFER)
    for _ in range(300):
        lines = list(base)
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(lines))
            op = rng.randrange(4)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(rng.randrange(len(lines)), lines[i])
            elif op == 2:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                line = lines[i]
                cut = rng.randrange(len(line) + 1)
                lines[i] = line[:cut] + rng.choice(" :/=\t0-9aZ\u00e9") + line[cut + 1 :]
        _check_outcome(_join(lines))


def test_byte_flips() -> None:
    rng = random.Random(9012)
    alphabet = [chr(c) for c in range(32, 127)] + ["\x00", "\t", "\r", "\n", "\u2028", "\ud800"]
    for _ in range(300):
        chars = list(CHROME_OFFER)
        for _ in range(rng.randrange(1, 6)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        _check_outcome("".join(chars))


# --------------------------------------------------------------------------------------------
# python -O: the same verdicts without aiortc's asserts
# --------------------------------------------------------------------------------------------

_OPTIMIZED_RUNNER = """
import json, sys
from signaling.sdp import check_sdp
from signaling.errors import RapportError
results = []
for sdp in json.load(sys.stdin):
    try:
        check_sdp(sdp, "offer")
        results.append("ok")
    except RapportError as err:
        results.append(err.code.value)
print(json.dumps({"asserts": __debug__, "results": results}))
"""


def test_same_verdicts_under_python_O() -> None:
    names = [
        "payload type 300",
        "payload type 72",
        "candidate with few fields",
        "bad c= line",
        "m= line without formats",
        "ssrc without attribute",
    ]
    cases = [CHROME_OFFER] + [MALFORMED[name] for name in names]
    proc = subprocess.run(
        [sys.executable, "-O", "-c", _OPTIMIZED_RUNNER],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["asserts"] is False
    assert out["results"] == ["ok"] + ["invalid_sdp"] * len(names)
