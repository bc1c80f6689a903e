"""A console's sign-in ends: a quiet console locks itself (TELEHEALTH_CONSOLE_IDLE_LOGOFF), and
a console whose token has run out asks to sign in again; a fresh link in the same tab renews the
sign-in over the open socket."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import ROOM, OpenPage, StartService
from .helpers import open_console

pytestmark = pytest.mark.browser


async def test_quiet_consoles_lock_and_ask_for_the_link(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(console_idle_logoff=2.0)
    for link, label in ((service.console_link(), "therapist"), (service.admin_link(), "admin")):
        page = await open_page(link, label=label)
        error = page.get_by_test_id("error-page")
        await expect(error.locator("h1")).to_have_text(
            "Signed out after a quiet spell", timeout=10_000
        )
        # The token is gone from the tab: a reload asks for the link instead of signing in.
        await page.reload()
        await expect(error.locator("h1")).to_have_text("This page needs a link")


async def test_an_expired_sign_in_asks_to_sign_in_again_and_a_new_link_renews_it(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(jwt_leeway=0, token_refresh=False)
    # Minted together: both end at the same second, and one sweep looks at both. (8 s: both
    # pages must be open and the console renewed before then, on a loaded machine too.)
    token = service.minter.mint_therapist("t1", [ROOM], 8)
    admin_token = service.minter.mint_admin("a1", 8)
    expiring = await open_page(f"{service.url}/admin#{admin_token}", label="expiring")
    await expect(expiring.get_by_test_id("monitor")).to_be_visible()
    renewed = await open_page(f"{service.url}/therapist#{token}", label="renewed")
    await open_console(renewed)
    fresh = service.minter.mint_therapist("t1", [ROOM], 600)
    await renewed.evaluate("(token) => { location.hash = token; }", fresh)
    await expect(renewed.locator("#connection-banner")).to_have_text("You are signed in again.")

    error = expiring.get_by_test_id("error-page")
    await expect(error.locator("h1")).to_have_text("Please sign in again", timeout=15_000)
    # The console's first token has run out too, and it is still signed in.
    await expect(renewed.get_by_test_id("console")).to_be_visible()
    await expect(renewed.get_by_test_id("error-page")).to_be_hidden()
