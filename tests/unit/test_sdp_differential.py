"""Rapport's SDP check held to aiortc's parser, the reference (signaling/sdp.py).

The relay path checks each SDP once with its own rules and never runs aiortc's parser. So here,
for a corpus of real descriptions (Chrome, Firefox and Safari offers and answers in
tests/fixtures/sdp/, the Chromium sample, and aiortc's own) and for Hypothesis mutations of them
(lines dropped, duplicated, swapped, fields corrupted): every SDP the check accepts must parse in
aiortc and agree with it on the media sections, their kinds and ports, ICE credentials,
fingerprints and DTLS roles. Each real one must pass. A refusal is always INVALID_SDP.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Literal

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.sdp import DTLS_ROLE_SETUP, SessionDescription
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.errors import Code, RapportError
from signaling.samples import CHROME_OFFER
from signaling.sdp import MediaSection, sections

Kind = Literal["offer", "answer"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdp"


def _kind_of(name: str) -> Kind:
    return "answer" if "answer" in name else "offer"


async def _aiortc_pair() -> tuple[str, str]:
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        offerer.createDataChannel("chat")
        offerer.addTransceiver("audio")
        offerer.addTransceiver("video")
        await asyncio.wait_for(offerer.setLocalDescription(await offerer.createOffer()), 30)
        await asyncio.wait_for(answerer.setRemoteDescription(offerer.localDescription), 30)
        await asyncio.wait_for(answerer.setLocalDescription(await answerer.createAnswer()), 30)
        return offerer.localDescription.sdp, answerer.localDescription.sdp
    finally:
        await asyncio.wait_for(offerer.close(), 30)
        await asyncio.wait_for(answerer.close(), 30)


def _loopback_only(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    return ["127.0.0.1"]


@functools.cache
def corpus() -> dict[str, tuple[str, Kind]]:
    """Every real description by name, with its kind. aiortc's own pair is made once, with
    loopback candidates only (aioice offers none on loopback otherwise: PITFALLS)."""
    found: dict[str, tuple[str, Kind]] = {}
    for path in sorted(FIXTURES.glob("*.sdp")):
        found[path.stem] = (path.read_bytes().decode(), _kind_of(path.stem))
    found["chromium_sample_offer"] = (CHROME_OFFER, "offer")
    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = _loopback_only
    try:
        offer, answer = asyncio.run(_aiortc_pair())
    finally:
        aioice.ice.get_host_addresses = original
    found["aiortc_offer"] = (offer, "offer")
    found["aiortc_answer"] = (answer, "answer")
    return found


FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.sdp"))


def reference(sdp: str) -> list[MediaSection]:
    """What aiortc's parser reads, in the check's terms."""
    parsed = SessionDescription.parse(sdp)
    out = []
    for media in parsed.media:
        dtls, ice = media.dtls, media.ice
        assert ice is not None  # aiortc gives every section one
        out.append(
            MediaSection(
                kind=media.kind,
                port=media.port,
                ufrag=ice.usernameFragment or "",
                pwd=ice.password or "",
                fingerprints=tuple((f.algorithm, f.value) for f in dtls.fingerprints)
                if dtls
                else (),
                setup=DTLS_ROLE_SETUP[dtls.role] if dtls else "",
            )
        )
    return out


def agree(sdp: str, kind: Kind) -> bool:
    """Check ``sdp``; if accepted, aiortc must parse it and read the same structure. Returns
    whether it was accepted."""
    try:
        ours = sections(sdp, kind)
    except RapportError as err:
        assert err.code is Code.INVALID_SDP, err.message
        return False
    theirs = reference(sdp)  # must not raise: the check accepted it
    for mine, ref in zip(ours, theirs, strict=True):
        if ref.setup == "":  # aiortc keeps no fingerprints for a section without a role
            mine = mine._replace(fingerprints=())
        assert mine == ref
    return True


def test_the_corpus_covers_every_browser_and_shape() -> None:
    names = set(corpus())
    for browser in ("chrome", "firefox", "safari", "aiortc"):
        for kind in ("offer", "answer"):
            assert any(n.startswith(f"{browser}_{kind}") for n in names), (browser, kind)
    for shape in ("audio_video", "datachannel", "simulcast", "screen_share"):
        assert any(shape in n for n in names), shape


@pytest.mark.parametrize("name", [*FIXTURE_NAMES, "chromium_sample_offer", "aiortc_offer",
                                  "aiortc_answer"])  # fmt: skip
def test_each_real_description_passes_and_agrees_with_aiortc(name: str) -> None:
    sdp, kind = corpus()[name]
    assert agree(sdp, kind), name
    # LF line endings, as some stacks send them, read the same.
    assert agree(sdp.replace("\r\n", "\n"), kind), name


# -- mutations ------------------------------------------------------------------------------------

NASTY = ["", "x", "0", "-1", "+1", "65536", "99999999999", "*", ":", "/", " ", "IN", "IP4",
         "IN IP4", "typ", "sha-256", "actpass", "active", "holdconn", "1.2", "٣", "\t", "a=", "m=",
         "AB:CD", "apt=x", "96", "127", "72", "256"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Kind]:
    name = draw(st.sampled_from(sorted(corpus())))
    sdp, kind = corpus()[name]
    lines = sdp.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "duplicate", "swap", "field", "truncate"]))
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:  # one field of the line (split on spaces, then on colons) replaced
            sep = draw(st.sampled_from([" ", ":", "/", ";", "="]))
            fields = lines[i].split(sep)
            k = draw(st.integers(0, len(fields) - 1))
            fields[k] = draw(st.sampled_from(NASTY) | st.text(max_size=6))
            lines[i] = sep.join(fields)
        if not lines:
            break
    return "\r\n".join(lines) + "\r\n", kind


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_every_accepted_mutation_parses_in_aiortc_and_agrees(case: tuple[str, Kind]) -> None:
    sdp, kind = case
    agree(sdp, kind)


def test_mutations_are_both_accepted_and_refused() -> None:
    """The mutation test above means something only if mutations land on both sides."""
    accepted = refused = 0
    for name, (sdp, kind) in sorted(corpus().items()):
        lines = sdp.splitlines()
        for i in range(len(lines)):
            variant = "\r\n".join(lines[:i] + lines[i + 1 :]) + "\r\n"
            if agree(variant, kind):
                accepted += 1
            else:
                refused += 1
        assert name
    assert accepted > 100 and refused > 100
