"""The OpenAPI document of the REST API: a valid OpenAPI 3.1 document, served at
``GET /api/openapi.json`` without a token, and naming exactly the routes the app registers."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate

from signaling.errors import ERRORS
from telehealth.app import create_app
from telehealth.web.api import openapi_document
from telehealth.web.pages import PAGES
from tests.e2e.conftest import settings_for

# Not REST: the signaling WebSocket and the browser pages (docs/protocol.md describes them).
NOT_REST = {"/ws", *PAGES}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(openapi_document())
    return doc


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


def test_no_object_in_the_document_names_a_key_twice() -> None:
    """JSON keeps the last of two equal keys without a word: two schemas of one name (as two
    branches once both added a ``RoomLink``) would silently leave one set of routes wrong."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(items)

    json.loads(openapi_document(), object_pairs_hook=pairs)
    assert repeated == []


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app = create_app(settings_for(metrics_token="m" * 32))
    registered = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path is None or path in NOT_REST or route.method == "HEAD":
            continue  # a prefix (the static files) has neither; HEAD comes with every GET
        registered.add((route.method.lower(), path))
    documented = {
        (method, path)
        for path, item in document()["paths"].items()
        for method in item
        if method in METHODS
    }
    assert registered == documented


def test_every_error_status_is_one_the_error_table_can_give() -> None:
    statuses = {spec.http_status for spec in ERRORS.values()} | {405}
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status in operation["responses"]:
                if int(status) >= 400:
                    assert int(status) in statuses, (method, path, status)


async def test_the_document_is_served_without_a_token() -> None:
    server = TestServer(create_app(settings_for()), host="127.0.0.1")
    await server.start_server()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.make_url("/api/openapi.json")) as resp,
        ):
            assert resp.status == 200
            assert resp.content_type == "application/json"
            assert await resp.read() == openapi_document()
    finally:
        await server.close()


@pytest.mark.parametrize("status", ["401", "403", "400"])
def test_error_responses_have_the_error_shape(status: str) -> None:
    responses = document()["components"]["responses"]
    names = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden"}
    schema = responses[names[status]]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}
