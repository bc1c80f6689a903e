"""Background blur's MediaPipe files are served by the node itself, with the right types, and
the pages' CSP lets them compile WebAssembly while still allowing no remote origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from telehealth.web import pages
from tests.e2e.conftest import settings_for

JS = "javascript"  # text/javascript or application/javascript, by the machine's mime.types
#: What the page's MediaPipe loader fetches, and the content type each must have (a .wasm
#: as anything else fails WebAssembly.instantiateStreaming; a script must be JavaScript, as
#: the node sends nosniff).
SERVED = {
    "selfie_segmentation.js": JS,
    "selfie_segmentation_solution_simd_wasm_bin.js": JS,
    "selfie_segmentation_solution_simd_wasm_bin.wasm": "application/wasm",
    "selfie_segmentation_solution_wasm_bin.wasm": "application/wasm",
    "selfie_segmentation_landscape.tflite": "application/octet-stream",
    "selfie_segmentation.tflite": "application/octet-stream",
    "selfie_segmentation.binarypb": "application/octet-stream",
}


def vendored() -> dict[str, bytes]:
    return {name: Path(pages.MEDIAPIPE_DIR, name).read_bytes() for name in SERVED}


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    if not pages.blur_available():
        pytest.fail(f"{pages.MEDIAPIPE_DIR} is missing: run `make deps`", pytrace=False)
    server = TestServer(create_app(settings_for()), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_vendored_files_are_served_with_their_types(
    http: aiohttp.ClientSession, base_url: str
) -> None:
    files = vendored()
    for name, content_type in SERVED.items():
        async with http.get(f"{base_url}{pages.MEDIAPIPE_ROUTE}{name}") as resp:
            assert resp.status == 200, name
            if content_type == JS:
                assert resp.content_type in {"text/javascript", "application/javascript"}, name
            else:
                assert resp.content_type == content_type, name
            body = await resp.read()
        assert body == files[name], name
        if name.endswith(".wasm"):
            assert body[:4] == b"\0asm", name
    async with http.get(f"{base_url}{pages.MEDIAPIPE_ROUTE}") as resp:
        assert resp.status in (403, 404)  # no listing
    async with http.get(f"{base_url}{pages.MEDIAPIPE_ROUTE}..%2fpyproject.toml") as resp:
        assert resp.status in (403, 404)


async def test_config_says_blur_is_available(http: aiohttp.ClientSession, base_url: str) -> None:
    async with http.get(f"{base_url}/api/config") as resp:
        config = await resp.json()
    assert config["blur_available"] is True
    assert config["blur_frame_budget_ms"] == 66


ALLOWED_SOURCES = {"'self'", "'none'", "'wasm-unsafe-eval'", "data:", "blob:", "ws:", "wss:"}


def directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


async def test_csp_allows_wasm_but_no_remote_origin(
    http: aiohttp.ClientSession, base_url: str
) -> None:
    for path in ("/join", "/therapist", f"{pages.MEDIAPIPE_ROUTE}selfie_segmentation.js"):
        async with http.get(f"{base_url}{path}") as resp:
            assert resp.status == 200, path
            csp = directives(resp.headers["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"], path
        assert "'unsafe-eval'" not in csp["script-src"]
        assert csp["default-src"] == ["'self'"]
        # Nothing may come from, or go to, another origin: only 'self', data:/blob: for pictures
        # and media, and the node's own WebSocket (ws:/wss: schemes, for the signaling socket).
        for name, values in csp.items():
            for value in values:
                assert value in ALLOWED_SOURCES, (name, value)
        assert "worker-src" not in csp  # MediaPipe's selfie segmentation runs no worker


async def test_without_the_vendored_files_blur_is_unavailable(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make run` without npm: the node still serves its pages, and says blur is unavailable."""
    monkeypatch.setattr(pages, "MEDIAPIPE_DIR", tmp_path / "missing")
    server = TestServer(create_app(settings_for()), host="127.0.0.1")
    await server.start_server()
    try:
        async with http.get(server.make_url("/api/config")) as resp:
            assert (await resp.json())["blur_available"] is False
        async with http.get(server.make_url("/vendor/mediapipe/selfie_segmentation.js")) as resp:
            assert resp.status == 404
        async with http.get(server.make_url("/join")) as resp:
            assert resp.status == 200
    finally:
        await server.close()
