"""The practice's front door in Chromium: a branded deployment (name, logo, accent colour, support
contact) and a room whose therapist set their display name and welcome note in the console.

The client's welcome and waiting pages show whose room this is, the note as text with its line
breaks (never HTML), the logo served by the node, the accent on the buttons; an error page shows
the support contact; axe finds nothing serious at desktop and phone widths. With nothing set, the
pages look as they always did.

And the way to try it on a phone (``serve --dev --lan``): over HTTPS with the kept self-signed
certificate, a page is a secure context, gets the (fake) camera and reaches the waiting room
over wss, as a phone does once its person has accepted the browser's warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from telehealth import lan
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import from_env
from tests.conftest import free_port

from .conftest import PHONE, ROOM, OpenPage, Screens, Service, StartService
from .helpers import join_waiting_room, open_console

pytestmark = pytest.mark.browser

PRACTICE = "Harbour Street Therapy"
SUPPORT = "Call 0113 496 0000 or email help@harbour.example"
ACCENT = "#7b2cbf"
ACCENT_RGB = "rgb(123, 44, 191)"
NEUTRAL_RGB = "rgb(15, 110, 102)"  # the stylesheet's own --primary, #0f6e66
DISPLAY_NAME = "Dr. Imogen Vasquez"
NOTE_LINES = ["Welcome, and thank you for coming.", "", "Tea is on me: <b>really</b>."]
NOTE = "\n".join(NOTE_LINES)
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<rect width="120" height="40" rx="8" fill="#7b2cbf"/>'
    b'<circle cx="20" cy="20" r="10" fill="#fff"/></svg>'
)

BUTTON_BG_JS = (
    "(id) => getComputedStyle(document.querySelector(`[data-testid='${id}']`)).backgroundColor"
)
LOGO_LOADED_JS = (
    "() => { const i = document.querySelector('[data-testid=practice-logo]');"
    " return i.complete && i.naturalWidth > 0; }"
)


async def branded(start_service: StartService, tmp_path: Path) -> Service:
    logo = tmp_path / "logo.svg"
    logo.write_bytes(LOGO)
    return await start_service(
        practice_name=PRACTICE,
        practice_logo=str(logo),
        accent_color=ACCENT,
        support_contact=SUPPORT,
    )


async def set_profile_in_console(therapist: Page) -> None:
    await open_console(therapist)
    panel = therapist.get_by_test_id("profile-panel")
    await expect(panel).to_be_visible()
    await therapist.get_by_test_id("profile-name").fill(DISPLAY_NAME)
    await therapist.get_by_test_id("profile-note").fill(NOTE)
    await expect(therapist.get_by_test_id("profile-note-count")).to_have_text(
        f"{len(NOTE)} of 500 characters"
    )
    await therapist.get_by_test_id("profile-save").click()
    await expect(therapist.get_by_test_id("profile-status")).to_contain_text("Saved")


async def expect_room_intro(page: Page, view: str) -> None:
    intro = page.get_by_test_id(f"room-intro-{view}")
    await expect(intro.get_by_test_id("room-host")).to_have_text(
        f"Your session with {DISPLAY_NAME}"
    )
    note = intro.get_by_test_id("welcome-note")
    await expect(note).to_be_visible()
    # Text, never HTML: the tags are shown as typed, and the line breaks are kept.
    assert await note.text_content() == NOTE
    assert await note.locator("b").count() == 0
    assert await note.evaluate("(n) => getComputedStyle(n).whiteSpace") == "pre-line"
    assert (await note.inner_text()).split("\n") == NOTE_LINES


async def test_a_branded_welcome_and_waiting_room(
    start_service: StartService, open_page: OpenPage, screens: Screens, tmp_path: Path
) -> None:
    service = await branded(start_service, tmp_path)
    therapist = await open_page(service.console_link(), label="therapist")
    await set_profile_in_console(therapist)
    await expect(therapist.get_by_test_id("practice-name")).to_have_text(PRACTICE)
    await screens.capture(therapist, "therapist-room-profile")

    client = await open_page(service.client_link(), label="client", **PHONE)
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await expect(client.get_by_test_id("practice-name")).to_have_text(PRACTICE)
    logo = client.get_by_test_id("practice-logo")
    await expect(logo).to_have_attribute("src", "/brand/logo")
    await expect(logo).to_have_attribute("alt", "")  # the name beside it says it all
    await client.wait_for_function(LOGO_LOADED_JS)
    await expect_room_intro(client, "welcome")
    assert await client.evaluate(BUTTON_BG_JS, "step-next") == ACCENT_RGB
    await screens.capture(client, "client-welcome-branded")

    await join_waiting_room(client, "Alex")
    await expect_room_intro(client, "waiting")
    await screens.capture(client, "client-waiting-branded")

    # A link that does not work says whom to call.
    broken = await open_page(f"{service.url}/join#not-a-token", label="broken", **PHONE)
    await expect(broken.get_by_test_id("error-page")).to_be_visible()
    support = broken.get_by_test_id("error-page").get_by_test_id("support-contact")
    await expect(support).to_have_text(f"Need help? {SUPPORT}")
    await expect(broken.get_by_test_id("practice-name")).to_have_text(PRACTICE)
    await screens.capture(broken, "client-error-branded")
    screens.check()


async def test_a_bad_note_is_refused_in_the_console_and_nothing_changes(
    start_service: StartService, open_page: OpenPage, tmp_path: Path
) -> None:
    service = await branded(start_service, tmp_path)
    therapist = await open_page(service.console_link(), label="therapist")
    await set_profile_in_console(therapist)
    # A control character the textarea lets through: the server refuses it and says why.
    await therapist.get_by_test_id("profile-note").evaluate(
        "(n) => { n.value = 'ring the bell\\u0007'; }"
    )
    await therapist.get_by_test_id("profile-save").click()
    await expect(therapist.get_by_test_id("profile-error")).to_contain_text("plain text")
    await expect(therapist.get_by_test_id("profile-note")).to_have_attribute("aria-invalid", "true")
    client = await open_page(service.client_link(room=ROOM), label="client")
    await expect_room_intro(client, "welcome")


async def test_with_nothing_set_the_look_is_unchanged(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    client = await open_page(service.client_link(), label="client")
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await expect(client.locator(".site-header .brand")).to_have_text("Rapport")
    await expect(client.get_by_test_id("practice-logo")).to_have_count(0)
    await expect(client.locator(".room-intro")).to_have_count(0)
    assert await client.evaluate(BUTTON_BG_JS, "step-next") == NEUTRAL_RGB
    broken = await open_page(f"{service.url}/join#not-a-token", label="broken")
    await expect(broken.get_by_test_id("error-page")).to_be_visible()
    await expect(broken.get_by_test_id("support-contact")).to_have_count(0)
    await screens.audit(client, "client-welcome-neutral")
    screens.check()


async def test_a_phone_joins_over_https_with_the_lan_certificate(
    browser: Browser, tmp_path: Path
) -> None:
    cert = lan.ensure_certificate(tmp_path, "127.0.0.1")
    port = free_port()
    settings = from_env({}, dev=True, public_url=f"https://127.0.0.1:{port}")
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server(ssl=cert.ssl_context())
    # ignore_https_errors: the person tapped "Proceed" on the browser's warning.
    context = await browser.new_context(viewport=PHONE, ignore_https_errors=True)
    try:
        page = await context.new_page()
        token = TokenMinter(settings).mint_client(ROOM, ttl=600)
        await page.goto(f"https://127.0.0.1:{port}/join#{token}")
        assert await page.evaluate("window.isSecureContext") is True
        await join_waiting_room(page, "Alex")  # the camera, then the socket over wss
        assert await page.evaluate("location.protocol") == "https:"
        await expect(page.get_by_test_id("connection-banner")).to_be_hidden()
    finally:
        await context.close()
        await server.close()
