"""Checks on session descriptions (SDP) before anything else reads them.

``aiortc.sdp.SessionDescription.parse`` is not a validator: it accepts ``""`` and ``"hello
world"``, fails on malformed input with whatever exception comes first (and some of its checks are
``assert`` statements, which vanish under ``python -O``), and is quadratic on some shapes (many
``a=ssrc`` lines, ``a=rtpmap`` x ``a=rtcp-fb``). See the aiortc section of the shared PITFALLS.

:func:`check_sdp` therefore runs, in order:

1. a size cap on the UTF-8 encoding (``SDP_TOO_LARGE``);
2. cheap string scans: no control characters, known line types, ``v=0`` first, ``o=``/``s=``/
   ``t=`` in the session part, 1 to 16 well-formed ``m=`` lines, per-line length, caps on the line
   count and on the attributes that make the parser quadratic, ICE credentials, a SHA-256 DTLS
   fingerprint and a DTLS role fitting the offer/answer kind;
3. only then aiortc's parser, with every exception turned into ``INVALID_SDP``, and a few checks on
   what it produced.

Every failure is a :class:`~signaling.errors.RapportError`; its message is a short reason and
never echoes any part of the SDP (it may name a line number).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final, Literal

from aiortc.sdp import SessionDescription

from signaling.errors import Code, RapportError

__all__ = [
    "MAX_CODEC_WORK",
    "MAX_LINES",
    "MAX_LINE_LENGTH",
    "MAX_MEDIA_SECTIONS",
    "MAX_SDP_BYTES",
    "check_sdp",
]

#: Default cap on the UTF-8 size of an SDP. A real Chrome offer with audio, video and a
#: datachannel is ~6 KB; one with two video tracks ~11 KB.
MAX_SDP_BYTES: Final = 32 * 1024
#: Cap on the length of one line, in characters (the longest real lines are ~120 characters).
MAX_LINE_LENGTH: Final = 4 * 1024
#: Cap on the number of lines (a Chrome audio+video+datachannel offer has ~170).
MAX_LINES: Final = 1000
#: Cap on the number of ``m=`` sections.
MAX_MEDIA_SECTIONS: Final = 16

#: Caps on the attributes whose count drives aiortc's parse time (several per-SDP totals are
#: quadratic in it). A Chrome audio+video offer has 31 rtpmap, 51 rtcp-fb, 22 fmtp, up to 14 ssrc
#: lines (with simulcast) and, with candidates inlined, a handful of candidates per m= line.
_ATTRIBUTE_CAPS: Final[dict[str, int]] = {
    "ssrc": 128,
    "rtpmap": 256,
    "rtcp-fb": 512,
    "fmtp": 256,
    "candidate": 128,
    "extmap": 256,
    "ssrc-group": 64,
}
#: Cap on the sum over media sections of rtpmap x (rtcp-fb + fmtp) lines: aiortc matches every
#: rtcp-fb and fmtp line against every codec of its section. Chrome's audio+video offer scores
#: ~1,600 and takes ~1 ms to parse; at this cap the worst shape took ~13 ms on a 2-core machine.
MAX_CODEC_WORK: Final = 16384

_LINE_TYPES: Final = frozenset("vosiuepcbtrzkam")
#: What a line may start with: a known type and "=", or nothing (an empty line).
_LINE_HEADS: Final = frozenset({""} | {f"{letter}=" for letter in _LINE_TYPES})

# Anything str.splitlines() treats as a line break besides \n (so aiortc could see lines that
# the scans below did not), other control characters, and lone surrogates. \r is allowed only
# right before \n.
_BAD_CHARS: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]|\r(?!\n)"
)
# A line of a capped attribute, with a value or without: the name, whole.
_CAPPED_LINE: Final = re.compile(
    r"\na=(" + "|".join(re.escape(name) for name in _ATTRIBUTE_CAPS) + r")(?=[:\r\n]|$)"
)
# The lines whose values are checked: the name, then the value (None for a line with no colon).
_CREDENTIAL_LINE: Final = re.compile(
    r"\na=(ice-ufrag|ice-pwd|fingerprint|setup)(?::([^\r\n]*))?(?=\r?\n|\r?$)"
)
_M_LINE: Final = re.compile(r"m=(audio|video|application) ([0-9]{1,5}) ([A-Z/]+) ([^ ].*)")
_FORBIDDEN_PAYLOAD_TYPES: Final = range(72, 77)  # RTCP packet types (RFC 5761); as aiortc.rtp
_ICE_CHARS: Final = re.compile(r"[A-Za-z0-9+/]+")
_FINGERPRINT: Final = re.compile(r"([A-Za-z0-9-]{1,16}) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)")
_SHA256_HEX_LEN: Final = 32 * 3 - 1
_SETUP_ROLES: Final[dict[str, frozenset[str]]] = {
    # RFC 8842 5.3/5.4: the offerer sends actpass (active/passive when keeping a role on
    # renegotiation); the answerer must pick active or passive.
    "offer": frozenset({"actpass", "active", "passive"}),
    "answer": frozenset({"active", "passive"}),
}


def _invalid(reason: str) -> RapportError:
    return RapportError(Code.INVALID_SDP, f"Invalid session description: {reason}.")


def check_sdp(sdp: str, kind: Literal["offer", "answer"], max_bytes: int = MAX_SDP_BYTES) -> None:
    """Raise :class:`RapportError` unless ``sdp`` is a plausible WebRTC ``kind`` description.

    ``SDP_TOO_LARGE`` when its UTF-8 encoding is over ``max_bytes``; ``INVALID_SDP`` with a short
    reason (never containing SDP text) for anything else. Lines may end in CRLF or LF. Returns
    ``None`` when the SDP passes every check and aiortc parses it.
    """
    if kind not in _SETUP_ROLES:
        raise ValueError(f"kind must be 'offer' or 'answer', not {kind!r}")
    if not isinstance(sdp, str):
        raise _invalid("not a string")

    # 1. Size. Characters never outnumber UTF-8 bytes, so a long string is refused unencoded.
    ascii_only = sdp.isascii()
    if len(sdp) > max_bytes or (
        not ascii_only and len(sdp.encode("utf-8", "surrogatepass")) > max_bytes
    ):
        raise RapportError(Code.SDP_TOO_LARGE)

    # 2. Cheap scans, each one pass in C over the whole text where it can be.
    if not _clean(sdp, ascii_only):
        raise _invalid("control characters or a bare carriage return")
    # With those characters gone, \n and \r\n are the only line breaks splitlines() knows.
    lines = sdp.splitlines()
    if len(lines) > MAX_LINES:
        raise _invalid(f"more than {MAX_LINES} lines")
    if not lines or lines[0] != "v=0":
        raise _invalid("the first line must be v=0")
    if max(map(len, lines)) > MAX_LINE_LENGTH:
        number = next(i for i, line in enumerate(lines, 1) if len(line) > MAX_LINE_LENGTH)
        raise _invalid(f"line {number} is longer than {MAX_LINE_LENGTH} characters")
    if not {line[:2] for line in lines} <= _LINE_HEADS:
        number = next(i for i, line in enumerate(lines, 1) if line[:2] not in _LINE_HEADS)
        raise _invalid(f"line {number} is not a known SDP line type")
    if "\nv=" in sdp:
        raise _invalid("v= must appear only as the first line")

    # The session part, then one part per media section (each starting with its m= line).
    session, *sections = sdp.split("\nm=")
    if not sections:
        raise _invalid("at least one m= line is required")
    if len(sections) > MAX_MEDIA_SECTIONS:
        raise _invalid(f"more than {MAX_MEDIA_SECTIONS} media sections")
    for letter, needed in (("o", "exactly one"), ("s", "exactly one"), ("t", "a")):
        in_session = session.count(f"\n{letter}=")
        if in_session != sdp.count(f"\n{letter}="):
            raise _invalid(f"{letter}= belongs before the first m= line")
        if in_session < 1 or (needed == "exactly one" and in_session > 1):
            raise _invalid(f"{needed} {letter}= line is required")
    for index, section in enumerate(sections, 1):
        m_line = section.partition("\n")[0]
        _check_m_line("m=" + (m_line[:-1] if m_line.endswith("\r") else m_line), index)
    # Capped attributes, with or without a value, per part (the session part counts too).
    totals = dict.fromkeys(_ATTRIBUTE_CAPS, 0)
    codec_work = 0
    for part in (session, *sections):
        counts = Counter(_CAPPED_LINE.findall(part))
        for name, count in counts.items():
            totals[name] += count
        codec_work += counts["rtpmap"] * (counts["rtcp-fb"] + counts["fmtp"])
    for name, cap in _ATTRIBUTE_CAPS.items():
        if totals[name] > cap:
            raise _invalid(f"more than {cap} a={name} lines")
    if codec_work > MAX_CODEC_WORK:
        raise _invalid("too many codecs combined with rtcp-fb and fmtp lines")

    values: dict[str, list[str]] = {"ice-ufrag": [], "ice-pwd": [], "fingerprint": [], "setup": []}
    for match in _CREDENTIAL_LINE.finditer(sdp):
        values[match.group(1)].append(match.group(2) or "")
    _check_credentials(values["ice-ufrag"], values["ice-pwd"], values["fingerprint"])
    setups = values["setup"]
    if not setups:
        raise _invalid("a=setup is missing")
    if any(value not in _SETUP_ROLES[kind] for value in setups):
        raise _invalid(f"a=setup value not allowed in an {kind}")

    # 3. Parse, turning any failure (including asserts when they are enabled) into INVALID_SDP.
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:
        raise _invalid("it could not be parsed") from None
    _check_parsed(parsed, len(sections))


def _clean(sdp: str, ascii_only: bool) -> bool:
    """No control characters but tab and line breaks (\n or \r\n), and no other line breaks."""
    if ascii_only:
        # For ASCII, isprintable() is false exactly for \x00-\x1f and \x7f: with the allowed
        # breaks and tabs taken out, one C pass answers (a regex search takes ~10x as long).
        return sdp.replace("\r\n", "").replace("\n", "").replace("\t", "").isprintable()
    return _BAD_CHARS.search(sdp) is None


def _check_m_line(line: str, number: int) -> None:
    """Check media section ``number``'s m= line."""
    match = _M_LINE.fullmatch(line)
    if match is None:
        raise _invalid(f"m= line {number} is not well-formed")
    if match.group(1) in ("audio", "video"):
        # aiortc checks these with assert, which python -O removes; RTP payload types are 7 bits.
        for fmt in match.group(4).split(" "):
            if not (fmt.isascii() and fmt.isdigit() and len(fmt) <= 3):
                raise _invalid(f"m= line {number} has a payload type that is not a number")
            payload_type = int(fmt)
            if payload_type > 127 or payload_type in _FORBIDDEN_PAYLOAD_TYPES:
                raise _invalid(f"m= line {number} has a payload type out of range")


def _check_credentials(ufrags: list[str], pwds: list[str], fingerprints: list[str]) -> None:
    # RFC 8839 5.4: ice-ufrag is 4-256 ice-chars, ice-pwd 22-256.
    if not ufrags:
        raise _invalid("a=ice-ufrag is missing")
    if not pwds:
        raise _invalid("a=ice-pwd is missing")
    for value in ufrags:
        if not 4 <= len(value) <= 256 or _ICE_CHARS.fullmatch(value) is None:
            raise _invalid("a=ice-ufrag is malformed")
    for value in pwds:
        if not 22 <= len(value) <= 256 or _ICE_CHARS.fullmatch(value) is None:
            raise _invalid("a=ice-pwd is malformed")
    if not fingerprints:
        raise _invalid("a=fingerprint is missing")
    has_sha256 = False
    for value in fingerprints:
        match = _FINGERPRINT.fullmatch(value)
        if match is None:
            raise _invalid("a=fingerprint is malformed")
        if match.group(1).lower() == "sha-256":
            if len(match.group(2)) != _SHA256_HEX_LEN:
                raise _invalid("a=fingerprint:sha-256 has the wrong length")
            has_sha256 = True
    if not has_sha256:
        raise _invalid("a=fingerprint:sha-256 is missing")


def _check_parsed(parsed: SessionDescription, media_sections: int) -> None:
    """Checks on aiortc's result that hold with or without ``python -O``."""
    if len(parsed.media) != media_sections:
        raise _invalid("media sections could not be read")
    for media in parsed.media:
        if media.port == 0:  # rejected or bundle-only: may carry no transport parameters
            continue
        ice = media.ice
        if ice is None or not ice.usernameFragment or not ice.password:
            raise _invalid("a media section has no ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise _invalid("a media section has no DTLS fingerprint or role")
