"""Session links: made and copied from the console; and every kind of bad link gets a kind page
that says what happened and what to do, before the person types anything."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
import pytest
from playwright.async_api import expect

from telehealth.auth.tokens import TokenMinter

from .conftest import ROOM, OpenPage, Service
from .helpers import join_waiting_room, open_console

pytestmark = pytest.mark.browser


def tampered(token: str) -> str:
    """The same link with one character of its signature changed."""
    i = len(token) - 10
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def _past(service: Service) -> TokenMinter:
    return TokenMinter(service.settings, clock=lambda: time.time() - 7200)


BAD_LINKS: dict[str, tuple[Callable[[Service], str], str]] = {
    "no-token": (lambda s: "/join", "This page needs a link"),
    "garbage": (lambda s: "/join#not-a-token", "This link does not work"),
    "tampered": (
        lambda s: "/join#" + tampered(s.minter.mint_client(ROOM, ttl=600)),
        "This link does not work",
    ),
    "expired": (lambda s: "/join#" + _past(s).mint_client(ROOM, ttl=60), "This link has expired"),
    "not-yet-valid": (
        lambda s: "/join#" + s.minter.mint_client(ROOM, ttl=600, not_before=time.time() + 3600),
        "It is a little early",
    ),
    "therapist-token-on-join": (
        lambda s: "/join#" + s.minter.mint_therapist("t1", [ROOM], 600),
        "This link is for another page",
    ),
    "client-token-on-console": (
        lambda s: "/therapist#" + s.minter.mint_client(ROOM, ttl=600),
        "This link is for another page",
    ),
}


@pytest.mark.parametrize("kind", BAD_LINKS)
async def test_bad_link_gets_a_kind_page(service: Service, open_page: OpenPage, kind: str) -> None:
    make_path, heading = BAD_LINKS[kind]
    page = await open_page(service.url + make_path(service), label=kind)
    error = page.get_by_test_id("error-page")
    await expect(error).to_be_visible()
    await expect(error.locator("h1")).to_have_text(heading)
    await expect(error.locator("#error-text")).not_to_be_empty()
    await expect(page.get_by_test_id("welcome")).to_be_hidden()
    assert "#" not in page.url


async def test_withdrawn_link_gets_a_kind_page(service: Service, open_page: OpenPage) -> None:
    token = service.minter.mint_client(ROOM, ttl=600)
    therapist_token = service.minter.mint_therapist("t1", [ROOM], 600)
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{service.url}/api/session-links/revoke",
            json={"token": token},
            headers={"Authorization": f"Bearer {therapist_token}"},
        )
        assert response.status == 200, await response.text()
    page = await open_page(f"{service.url}/join#{token}", label="client")
    await expect(page.get_by_test_id("error-page").locator("h1")).to_have_text(
        "This link was withdrawn"
    )
    await expect(page.get_by_test_id("error-page")).to_contain_text("contact your therapist")


async def test_session_link_created_and_copied(service: Service, open_page: OpenPage) -> None:
    therapist = await open_page(
        service.console_link(rooms=[ROOM, "other"]),
        label="therapist",
        permissions=["clipboard-read", "clipboard-write"],
    )
    await expect(therapist.get_by_test_id("room-picker")).to_be_visible()
    await therapist.get_by_test_id(f"pick-{ROOM}").click()
    await open_console(therapist)
    await therapist.get_by_test_id("link-ttl").select_option("7200")
    await therapist.get_by_test_id("create-link").click()
    await expect(therapist.get_by_test_id("link-expiry")).to_contain_text("Valid until")
    url = await therapist.get_by_test_id("link-url").input_value()
    assert "/s/" in url  # the short link (telehealth/links.py)
    await therapist.get_by_test_id("copy-link").click()
    await expect(therapist.get_by_test_id("link-status")).to_have_text("Link copied.")
    assert await therapist.evaluate("navigator.clipboard.readText()") == url

    # The link names the deployment's public address; here the page is on the test server.
    client = await open_page(f"{service.url}/s/{url.split('/s/', 1)[1]}", label="client")
    await join_waiting_room(client, "Kim")
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_contain_text("Kim")
