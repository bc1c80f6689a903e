"""The practice's look, checked at startup: colour contrast (WCAG 2.x, as axe computes it), the
logo's type by its content and its size, plain-text names, and the node refusing to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from telehealth import brand
from telehealth.config import ConfigError, from_env

SECRET = "brand-secret-" + "x" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def settings(**env: str) -> None:
    from_env({"TELEHEALTH_JWT_SECRET": SECRET, **env}).validate()


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#767676", "#ffffff", 4.54)],
)
def test_contrast_matches_wcag(a: str, b: str, ratio: float) -> None:
    assert brand.contrast(a, b) == pytest.approx(ratio, abs=0.01)


def test_the_stylesheets_own_teal_passes_and_its_palette_is_derived() -> None:
    p = brand.palette("#0F6E66")
    assert p.primary == "#0f6e66"
    assert brand.contrast(p.primary_dark, p.primary_soft) >= brand.WCAG_AA
    assert brand.luminance(p.primary_dark) < brand.luminance(p.primary)
    assert brand.luminance(p.primary_soft) > brand.luminance(p.primary)


@pytest.mark.parametrize("colour", ["#ff8800", "#1e90ff", "#808080", "#ffffff"])
def test_light_accents_are_refused_with_the_ratio(colour: str) -> None:
    with pytest.raises(brand.BrandError, match=r"fails WCAG AA contrast .* \d\.\d\d:1"):
        brand.palette(colour)


def test_an_accent_just_dark_enough_passes_and_one_just_lighter_fails() -> None:
    # #767676 is the lightest grey with 4.5:1 on white; the page background is a little darker.
    assert brand.contrast("#767676", brand.PAGE_BACKGROUND) < brand.WCAG_AA
    with pytest.raises(brand.BrandError):
        brand.palette("#767676")
    brand.palette("#6f6f6f")


@pytest.mark.parametrize("colour", ["red", "#fff", "#12345g", "0f6e66", "#0f6e66 ", ""])
def test_malformed_colours_are_refused(colour: str) -> None:
    with pytest.raises(brand.BrandError, match="#rrggbb"):
        brand.palette(colour)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (SVG, "image/svg+xml"),
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    ],
)
def test_logos_are_sniffed_by_content(data: bytes, kind: str) -> None:
    assert brand.sniff_image(data) == kind


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 10,
        b"<html><body>hi</body></html>",
        b"%PDF-1.7",
        b"",
        b"<?xml version='1.0'?><note>not svg</note>",
    ],
)
def test_other_files_are_not_logos(data: bytes) -> None:
    assert brand.sniff_image(data) is None


def test_load_logo_checks_type_and_size(tmp_path: Path) -> None:
    good = tmp_path / "logo.png"
    good.write_bytes(PNG)
    assert brand.load_logo(str(good)).content_type == "image/png"
    named_png = tmp_path / "fake.png"  # the name says PNG, the bytes do not
    named_png.write_bytes(b"<html></html>")
    with pytest.raises(brand.BrandError, match="not a PNG, JPEG, WebP or SVG"):
        brand.load_logo(str(named_png))
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * brand.LOGO_MAX_BYTES)
    with pytest.raises(brand.BrandError, match="512 KiB"):
        brand.load_logo(str(big))
    with pytest.raises(brand.BrandError, match="cannot read"):
        brand.load_logo(str(tmp_path / "missing.png"))


def test_the_node_refuses_to_start_with_a_bad_look(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TELEHEALTH_ACCENT_COLOR: accent colour #ffcc00"):
        settings(TELEHEALTH_ACCENT_COLOR="#ffcc00")
    with pytest.raises(ConfigError, match="TELEHEALTH_ACCENT_COLOR: 'teal' is not a colour"):
        settings(TELEHEALTH_ACCENT_COLOR="teal")
    with pytest.raises(ConfigError, match="TELEHEALTH_PRACTICE_NAME must be 1 to 80"):
        settings(TELEHEALTH_PRACTICE_NAME="x" * 81)
    with pytest.raises(ConfigError, match="TELEHEALTH_PRACTICE_NAME must not hold control"):
        settings(TELEHEALTH_PRACTICE_NAME="Harbour\x1b[31m Therapy")
    with pytest.raises(ConfigError, match="TELEHEALTH_SUPPORT_CONTACT must be 1 to 120"):
        settings(TELEHEALTH_SUPPORT_CONTACT="y" * 121)
    with pytest.raises(ConfigError, match="TELEHEALTH_SUPPORT_CONTACT must not hold control"):
        settings(TELEHEALTH_SUPPORT_CONTACT="call\nus")
    with pytest.raises(ConfigError, match=r"TELEHEALTH_PRACTICE_LOGO: cannot read .*nope\.svg"):
        settings(TELEHEALTH_PRACTICE_LOGO=str(tmp_path / "nope.svg"))
    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    settings(
        TELEHEALTH_PRACTICE_NAME="Harbour Therapy",
        TELEHEALTH_PRACTICE_LOGO=str(logo),
        TELEHEALTH_ACCENT_COLOR="#7b2cbf",
        TELEHEALTH_SUPPORT_CONTACT="Call 555-0100 or email help@harbour.example",
    )
    settings()  # nothing set: the neutral look


def test_serve_refuses_to_start_with_a_bad_logo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from telehealth.cli import main

    # serve forbids the SDK's loopback patch for the rest of the process: not in the tests'.
    monkeypatch.setattr("rapport_sdk.loopback.forbid_in_this_process", lambda: None)
    bad = tmp_path / "logo.png"
    bad.write_bytes(b"MZ\x90\x00 not an image")
    monkeypatch.setenv("TELEHEALTH_JWT_SECRET", SECRET)
    monkeypatch.setenv("TELEHEALTH_PRACTICE_LOGO", str(bad))
    assert main(["serve", "--port", "1"]) == 2
    assert "is not a PNG, JPEG, WebP or SVG image" in capsys.readouterr().err
