"""Every screen, as people see it: axe-core (WCAG 2.x A and AA) finds no serious or critical
violation on any, none scrolls sideways at 375 px, and each is pictured at desktop (1280x800)
and phone (375x812) sizes: in test-artifacts/screenshots/ on a test run, in docs/screenshots/
(shown in the README) with `make screenshots`.
"""

from __future__ import annotations

import time

import aiohttp
import pytest
from playwright.async_api import Page, expect

from telehealth.auth.tokens import TokenMinter
from tests.conftest import REPO_ROOT

from .conftest import DESKTOP, PHONE, ROOM, OpenPage, Screens, StartService
from .helpers import admit, frames_per_peer, join_waiting_room, open_console, waiting_pid
from .test_devices import refuse_media
from .test_links import tampered
from .test_refresh import CUT_SIGNALING, RESTORE_SIGNALING

pytestmark = pytest.mark.browser


async def capture_at_both_widths(screens: Screens, page: Page, name: str) -> None:
    """The pictures, with axe run on the phone layout too (it differs: one column, wrapping)."""
    await screens.capture(page, name)
    await page.set_viewport_size(PHONE)
    await screens.audit(page, f"{name} at {PHONE['width']} px")
    await page.set_viewport_size(DESKTOP)


# Many screens (or people) in one test: more than the default 120 s on a loaded machine.
@pytest.mark.timeout(360)
async def test_every_screen(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    # A wait alert after 1 s, so that the monitor shows one (room-2 has no therapist).
    service = await start_service(show_queue_position=True, wait_alert=1)

    landing = await open_page(service.url + "/", label="landing")
    await screens.capture(landing, "landing")

    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    await screens.capture(therapist, "therapist-console-empty")

    # Welcome, one step at a time: the name; where the client is; consent; the device check
    # done (and, with a blocked camera, the steps to fix it) with Join.
    async def welcome(name: str, found: str, screen: str, init_script: str | None = None) -> Page:
        page = await open_page(service.client_link(), label=name, init_script=init_script)
        await page.get_by_test_id("name").fill(name)
        if screen == "client-welcome":
            await screens.capture(page, "client-welcome-name")
        await page.get_by_test_id("step-next").click()
        if name != "Sam":  # Sam leaves it out: the therapist's card says "not given"
            await page.get_by_test_id("location").fill("At home, 12 Park Road, Leeds")
            await page.get_by_test_id("phone").fill("0113 496 0000")
        if screen == "client-welcome":
            await screens.capture(page, "client-welcome-where")
        await page.get_by_test_id("step-next").click()
        await page.get_by_test_id("consent").check()
        if screen == "client-welcome":
            await screens.capture(page, "client-welcome-consent")
        await page.get_by_test_id("step-next").click()
        await page.get_by_test_id("device-check").click()
        await expect(page.get_by_test_id("device-status")).to_contain_text(found)
        await screens.capture(page, screen)
        await page.get_by_test_id("join").click()
        await expect(page.get_by_test_id("waiting")).to_be_visible()
        return page

    sam = await welcome(
        "Sam", "Try again", "client-devices-blocked", refuse_media("NotAllowedError")
    )
    alex = await welcome("Alex Morgan", "working", "client-welcome")

    # Waiting, with a message from the therapist; the console with two people waiting.
    await therapist.get_by_test_id("message-all-input").fill(
        "Welcome! I'll be with you in a few minutes."
    )
    await therapist.get_by_test_id("message-all").click()
    await expect(alex.get_by_test_id("messages")).to_contain_text("Welcome!")
    await expect(alex.get_by_test_id("position")).to_be_visible()
    await screens.capture(alex, "client-waiting")

    # Running late: the notice with its countdown; Alex's reply reaches the therapist's card.
    await therapist.get_by_test_id("late-10").click()
    await expect(alex.get_by_test_id("late-countdown")).to_be_visible()
    await alex.get_by_test_id("reply-input").fill("Thank you, no problem.")
    await alex.get_by_test_id("reply-send").click()
    await expect(therapist.locator('[data-testid^="reply-c-"]')).to_have_count(1)
    await screens.capture(alex, "client-waiting-late")
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(2)
    await screens.capture(therapist, "therapist-console-waiting")

    # The admin monitor: this room, and another where someone waits with no therapist yet.
    kim = await open_page(
        service.client_link(room="room-2"), label="Kim", init_script=refuse_media("NotFoundError")
    )
    await join_waiting_room(kim, "Kim")
    admin = await open_page(service.admin_link(), label="admin")
    await expect(admin.get_by_test_id(f"room-{ROOM}")).to_be_visible()
    await expect(admin.get_by_test_id("room-room-2")).to_be_visible()
    await expect(admin.get_by_test_id("alert-room-2")).to_be_visible()
    await expect(admin.get_by_test_id("chart-waiting")).to_have_count(3)
    await screens.capture(admin, "admin-monitor")

    # The call, with a little chat.
    await admit(therapist, alex, "Alex Morgan")
    await frames_per_peer(alex, 1)
    await frames_per_peer(therapist, 1)
    await alex.get_by_test_id("chat-input").fill("Hello, can you hear me?")
    await alex.get_by_test_id("chat-send").click()
    await therapist.get_by_test_id("chat-input").fill("Yes, loud and clear.")
    await therapist.get_by_test_id("chat-send").click()
    await expect(alex.get_by_test_id("chat-log")).to_contain_text("loud and clear")
    await expect(alex.get_by_test_id("remote-tile").get_by_test_id("quality")).to_be_visible()
    await screens.capture(alex, "client-call")
    await screens.capture(therapist, "therapist-call")

    # The monitor again: Alex's wait is on the chart, and the room's timeline is open.
    await expect(admin.get_by_test_id("chart-admitted")).to_have_count(1)
    await admin.get_by_test_id(f"timeline-{ROOM}").click()
    admitted = admin.get_by_test_id("timeline-entry").filter(has_text="Admitted")
    await expect(admitted).to_have_count(1)
    await screens.capture(admin, "admin-timeline")

    # The therapist's connection drops for a moment.
    await therapist.evaluate(CUT_SIGNALING)
    await expect(alex.get_by_test_id("remote-tile").get_by_test_id("reconnecting")).to_be_visible()
    await screens.capture(alex, "client-call-reconnecting")
    await therapist.evaluate(RESTORE_SIGNALING)
    await expect(alex.get_by_test_id("remote-tile").get_by_test_id("reconnecting")).to_be_hidden()

    # A couple: adding Sam to the running session asks first; then three in the call (Sam
    # without a camera), the self view beside the others and not over them.
    for page in (therapist, alex):
        await expect(page.get_by_test_id("connection-banner")).to_be_hidden()  # "Connected again"
    await therapist.get_by_test_id(f"admit-{await waiting_pid(therapist, 'Sam')}").click()
    await expect(therapist.get_by_role("dialog")).to_contain_text(
        "Add Sam to your session with Alex Morgan?"
    )
    await capture_at_both_widths(screens, therapist, "therapist-add-confirm")
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(sam.get_by_test_id("call")).to_be_visible()
    sam_tile = alex.get_by_test_id("remote-tile").filter(has_text="Sam")
    await expect(sam_tile.get_by_test_id("camera-off")).to_be_visible()
    await expect(therapist.get_by_test_id("remote-tile")).to_have_count(2)
    await capture_at_both_widths(screens, alex, "client-call-three")
    await capture_at_both_widths(screens, therapist, "therapist-call-three")

    # The end.
    await therapist.get_by_test_id("end-session").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(alex.get_by_test_id("closing")).to_be_visible()
    await screens.capture(alex, "client-closing")

    # The kind error pages.
    past = TokenMinter(service.settings, clock=lambda: time.time() - 7200)
    withdrawn = service.minter.mint_client(ROOM, ttl=600)
    async with aiohttp.ClientSession() as http:
        bearer = {"Authorization": f"Bearer {service.minter.mint_therapist('t1', [ROOM], 600)}"}
        revoke = f"{service.url}/api/session-links/revoke"
        async with http.post(revoke, json={"token": withdrawn}, headers=bearer) as response:
            assert response.status == 200
    errors = {
        "expired": past.mint_client(ROOM, ttl=60),
        "not-yet-valid": service.minter.mint_client(ROOM, ttl=600, not_before=time.time() + 3600),
        "withdrawn": withdrawn,
        "invalid": tampered(service.minter.mint_client(ROOM, ttl=600)),
    }
    for name, token in errors.items():
        page = await open_page(f"{service.url}/join#{token}", label=name)
        await expect(page.get_by_test_id("error-page")).to_be_visible()
        await screens.capture(page, f"client-error-{name}")

    screens.check()
    readme_shows(screens)


def readme_shows(screens: Screens) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name in screens.taken if f"docs/screenshots/{name}-phone.png" not in readme]
    assert not missing, f"README.md does not show {missing}"


async def test_the_truthful_screens(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    """Back in the waiting room because the therapist's connection was lost; a link whose
    session ended, opened again: its page before anyone types (issue 12)."""
    service = await start_service(grace=2.0)
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    token = service.minter.mint_client(ROOM, ttl=600)
    alex = await open_page(f"{service.url}/join#{token}", label="Alex")
    await join_waiting_room(alex, "Alex Morgan")
    await admit(therapist, alex, "Alex Morgan")
    await therapist.close()  # the therapist's browser closes, and the grace period lapses
    await expect(alex.get_by_test_id("therapist-status")).to_have_attribute("data-state", "lost")
    await expect(alex.get_by_test_id("status")).to_contain_text("connection was lost")
    await screens.capture(alex, "client-therapist-lost")

    again = await open_page(service.console_link(), label="therapist-again")
    await open_console(again)
    await admit(again, alex, "Alex Morgan")
    await again.get_by_test_id("end-session").click()
    await again.get_by_test_id("confirm-yes").click()
    await expect(alex.get_by_test_id("closing")).to_be_visible()
    ended = await open_page(f"{service.url}/join#{token}", label="Alex-again")
    await expect(ended.get_by_test_id("error-page")).to_contain_text("This session has ended")
    await screens.capture(ended, "client-link-ended")

    screens.check()
    readme_shows(screens)
