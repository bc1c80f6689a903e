"""The practice's look: its name, logo, accent colour and support contact, checked at startup.

Every part is optional; without them the pages keep Rapport's neutral look. What is checked here
is what a page would otherwise get wrong where nobody sees it: an accent colour that white
button text cannot be read on (WCAG 2.x AA, 4.5:1, computed exactly as axe does), a logo that
is not an image, or is too large to send on every page, or a name with control characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# The stylesheet's colours the accent is shown against (static/css/app.css :root).
PAGE_BACKGROUND = "#f4f7f6"  # --bg, the darker of the two light backgrounds
SURFACE = "#ffffff"  # --surface, and the text on primary buttons
# Text the stylesheet puts on the soft tint besides the dark shade: --muted and --ok.
TEXT_ON_SOFT = {"muted text": "#4a5a57", "the green status text": "#1d6b35"}
WCAG_AA = 4.5
PRACTICE_NAME_MAX = 80
SUPPORT_CONTACT_MAX = 120
LOGO_MAX_BYTES = 512 * 1024
# How much black darkens the accent for hover and link text, and how much of it tints the soft
# backgrounds (mixes of the accent, as the stylesheet's own --primary-dark and --primary-soft).
DARKEN = 0.25
SOFT_TINT = 0.12

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_SVG_SCAN_BYTES = 1024  # an SVG names its root element within its first lines


class BrandError(ValueError):
    """A brand setting that cannot be used; the message names the setting and says why."""


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def parse_hex(colour: str) -> tuple[int, int, int]:
    if not _HEX.fullmatch(colour):
        raise BrandError(f"{colour!r} is not a colour of the form #rrggbb")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.x)."""
    r, g, b = parse_hex(colour)
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two colours, 1 to 21 (WCAG 2.x)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(colour: str, other: str, amount: float) -> str:
    a, b = parse_hex(colour), parse_hex(other)
    return to_hex(tuple(x + (y - x) * amount for x, y in zip(a, b, strict=True)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Palette:
    """The stylesheet's three accent colours, derived from one: --primary (buttons, borders),
    --primary-dark (links, hover) and --primary-soft (tinted backgrounds)."""

    primary: str
    primary_dark: str
    primary_soft: str


def palette(accent: str) -> Palette:
    """The accent's palette, refused (``BrandError``) when any pair the pages show fails AA:
    white text on it, it on the page background, and the dark shade on the soft tint."""
    accent = accent.lower()
    parse_hex(accent)
    result = Palette(
        primary=accent,
        primary_dark=_mix(accent, "#000000", DARKEN),
        primary_soft=_mix(accent, SURFACE, 1 - SOFT_TINT),
    )
    pairs = [
        ("white button text on it", SURFACE, result.primary),
        ("it as text on the page background", result.primary, PAGE_BACKGROUND),
        ("its dark shade on its soft tint", result.primary_dark, result.primary_soft),
        *(
            (f"{name} on its soft tint", fg, result.primary_soft)
            for name, fg in TEXT_ON_SOFT.items()
        ),
    ]
    for what, fg, bg in pairs:
        ratio = contrast(fg, bg)
        if ratio < WCAG_AA:
            raise BrandError(
                f"accent colour {accent} fails WCAG AA contrast for {what}: "
                f"{ratio:.2f}:1, at least {WCAG_AA}:1 is needed (try a darker shade)"
            )
    return result


def check_plain_text(what: str, text: str, limit: int) -> str:
    """One line of plain text: trimmed, at most ``limit`` characters, no control characters."""
    text = text.strip()
    if not 1 <= len(text) <= limit:
        raise BrandError(f"{what} must be 1 to {limit} characters")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise BrandError(f"{what} must not hold control characters (one line of plain text)")
    return text


@dataclass(frozen=True)
class Logo:
    body: bytes
    content_type: str


def sniff_image(data: bytes) -> str | None:
    """The image type from the bytes themselves (never a file name): PNG, JPEG, WebP or SVG."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:_SVG_SCAN_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg"))) and b"<svg" in head:
        return "image/svg+xml"
    return None


def load_logo(path: str) -> Logo:
    """Read and check the logo file (at startup). An SVG is served only as an image, from
    our own origin, with ``nosniff`` and the pages' CSP, so scripts in it never run; it is
    accepted as SVG only when its first bytes say so."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > LOGO_MAX_BYTES:
            raise BrandError(
                f"TELEHEALTH_PRACTICE_LOGO: {path} is {size} bytes, at most "
                f"{LOGO_MAX_BYTES // 1024} KiB is served with every page"
            )
        data = file.read_bytes()
    except OSError as exc:
        raise BrandError(f"TELEHEALTH_PRACTICE_LOGO: cannot read {path}: {exc.strerror}") from None
    if len(data) > LOGO_MAX_BYTES:  # grew since stat
        raise BrandError(f"TELEHEALTH_PRACTICE_LOGO: {path} is larger than 512 KiB")
    content_type = sniff_image(data)
    if content_type is None:
        raise BrandError(
            f"TELEHEALTH_PRACTICE_LOGO: {path} is not a PNG, JPEG, WebP or SVG image "
            "(checked by its content, not its name)"
        )
    return Logo(body=data, content_type=content_type)
