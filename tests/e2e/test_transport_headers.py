"""HSTS is sent when the deployment's public URL is https, and only then."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from telehealth.app import create_app
from tests.e2e.conftest import settings_for


@pytest.mark.parametrize(
    ("public_url", "hsts"),
    [
        ("https://video.example.org", "max-age=63072000; includeSubDomains"),
        ("", None),  # plain http on loopback: a browser would ignore it, and it must not stick
    ],
)
async def test_hsts_follows_the_public_url(
    http: aiohttp.ClientSession, public_url: str, hsts: str | None
) -> None:
    server = TestServer(create_app(settings_for(public_url=public_url)), host="127.0.0.1")
    await server.start_server()
    try:
        for path in ("/", "/healthz", "/api/nothing"):
            async with http.get(server.make_url(path)) as resp:
                assert resp.headers.get("Strict-Transport-Security") == hsts, path
    finally:
        await server.close()
