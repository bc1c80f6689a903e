"""Check-in in Chromium: on a phone (375x812) the welcome is a few short steps and Join is on
screen at the last one (bounding boxes), with a step indicator and the focus on each step's
heading; axe finds nothing serious at 375 and 1280 px on any step. The therapist's card shows
where the client is and their phone number ("not given" when left out). A consent text that
changed since the page loaded is refused with words that say why, and checking in again works.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from .conftest import DESKTOP, PHONE, OpenPage, Screens, Service, StartService
from .helpers import join_waiting_room, open_console, waiting_pid, welcome_to_devices

pytestmark = pytest.mark.browser

LOCATION = "At home, 12 Park Road, Leeds"
TEL = "0113 496 0000"
CONSENT = "I agree to a video session with my therapist. It is not recorded."

IN_VIEW_JS = """(testid) => {
  const box = document.querySelector(`[data-testid="${testid}"]`).getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, left: box.left, right: box.right,
          width: box.width, height: box.height,
          vw: document.documentElement.clientWidth, vh: window.innerHeight};
}"""


async def in_view(page: Page, testid: str) -> None:
    """The element is wholly on screen as the page stands (no scrolling)."""
    box: dict[str, Any] = await page.evaluate(IN_VIEW_JS, testid)
    assert box["width"] > 0 and box["height"] > 0, box
    assert box["top"] >= 0 and box["bottom"] <= box["vh"], f"{testid} off screen: {box}"
    assert box["left"] >= 0 and box["right"] <= box["vw"], f"{testid} off screen: {box}"


async def current_step(page: Page) -> str:
    current = page.locator('#stepper li[aria-current="step"]')
    await expect(current).to_have_count(1)
    return str(await current.get_attribute("data-step"))


async def audit_both_widths(screens: Screens, page: Page, name: str) -> None:
    for size in (PHONE, DESKTOP):
        await page.set_viewport_size(size)
        await screens.audit(page, f"{name}-{size['width']}")
    await page.set_viewport_size(PHONE)


async def test_the_welcome_fits_a_phone_in_steps(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(service.client_link(), label="client", **PHONE)
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    assert await current_step(client) == "name"
    await expect(client.locator("#stepper li")).to_have_count(4)
    await expect(client.get_by_test_id("name")).to_be_focused()
    await expect(client.get_by_test_id("join")).to_be_hidden()
    await expect(client.get_by_test_id("step-back")).to_be_hidden()
    await in_view(client, "step-next")
    await audit_both_widths(screens, client, "welcome-name")

    # Next without a name: told so, and still on the first step.
    await client.get_by_test_id("step-next").click()
    await expect(client.locator("#name-error")).to_be_visible()
    assert await current_step(client) == "name"
    await client.get_by_test_id("name").fill("Alex")
    await client.keyboard.press("Enter")

    # 2. Where: said kindly, with why; the heading has the focus and names the step.
    heading = client.locator("#step-where-heading")
    await expect(heading).to_be_focused()
    await expect(heading).to_contain_text("Step 2 of 4")
    assert await current_step(client) == "where"
    await expect(client.get_by_test_id("step-where")).to_contain_text("If the call drops")
    await client.get_by_test_id("location").fill(LOCATION)
    await client.get_by_test_id("phone").fill("call me")
    await client.get_by_test_id("step-next").click()
    await expect(client.locator("#emergency-error")).to_be_visible()
    await expect(client.get_by_test_id("phone")).to_be_focused()
    assert await current_step(client) == "where"
    await client.get_by_test_id("phone").fill(TEL)
    await in_view(client, "step-next")
    await audit_both_widths(screens, client, "welcome-where")
    await client.get_by_test_id("step-next").click()

    # 3. Consent.
    await expect(client.locator("#step-consent-heading")).to_be_focused()
    await client.get_by_test_id("consent").check()
    await in_view(client, "step-next")
    await audit_both_widths(screens, client, "welcome-consent")
    await client.get_by_test_id("step-next").click()

    # 4. Devices and Join: Join is on screen before the check, and after it (the preview and
    # the device choices above it).
    await expect(client.locator("#step-devices-heading")).to_be_focused()
    assert await current_step(client) == "devices"
    await expect(client.get_by_test_id("step-next")).to_be_hidden()
    await in_view(client, "join")
    await client.get_by_test_id("device-check").click()
    await expect(client.get_by_test_id("device-status")).to_contain_text("working")
    await in_view(client, "join")
    await client.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await in_view(client, "join")
    await audit_both_widths(screens, client, "welcome-devices")
    screens.check()

    # Back keeps what was typed.
    await client.get_by_test_id("step-back").click()
    await client.get_by_test_id("step-back").click()
    await expect(client.get_by_test_id("location")).to_have_value(LOCATION)
    await client.get_by_test_id("step-next").click()
    await client.get_by_test_id("step-next").click()
    await in_view(client, "join")
    await client.get_by_test_id("join").click()
    await expect(client.get_by_test_id("waiting")).to_be_visible(timeout=30_000)

    # The therapist's card: where the client is, and a number to call.
    pid = await waiting_pid(therapist, "Alex")
    card = therapist.get_by_test_id(f"waiting-{pid}")
    await expect(card.get_by_test_id("emergency-location")).to_have_text(LOCATION)
    await expect(card.get_by_test_id("emergency-phone")).to_have_text(TEL)
    link = card.get_by_test_id("emergency-phone").locator("a")
    await expect(link).to_have_attribute("href", "tel:01134960000")

    # A refresh checks in again with the same answers (kept for this tab).
    await client.reload()
    await expect(client.get_by_test_id("waiting")).to_be_visible(timeout=30_000)
    await expect(card.get_by_test_id("emergency-phone")).to_have_text(TEL)

    # In session, the card keeps it.
    await therapist.get_by_test_id(f"admit-{pid}").click()
    session_card = therapist.get_by_test_id(f"session-{pid}")
    await expect(session_card.get_by_test_id("emergency-location")).to_have_text(LOCATION)


async def test_left_out_it_says_not_given(service: Service, open_page: OpenPage) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(service.client_link(), label="client")
    await join_waiting_room(client, "Sam")
    card = therapist.get_by_test_id(f"waiting-{await waiting_pid(therapist, 'Sam')}")
    await expect(card.get_by_test_id("emergency-location")).to_have_text("not given")
    await expect(card.get_by_test_id("emergency-phone")).to_have_text("not given")


async def test_a_deployment_that_does_not_ask(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(emergency_info=False)
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(service.client_link(), label="client", **PHONE)
    await expect(client.locator("#stepper li")).to_have_count(3)
    await welcome_to_devices(client, "Sam")
    await in_view(client, "join")
    await join_waiting_room(client, "Sam")
    card = therapist.get_by_test_id(f"waiting-{await waiting_pid(therapist, 'Sam')}")
    await expect(card).to_be_visible()
    await expect(card.get_by_test_id("emergency")).to_have_count(0)


async def test_a_changed_consent_text_is_refused_with_words_that_say_why(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(consent_text=CONSENT)
    client = await open_page(service.client_link(), label="client")

    # The text the page was given is older than the server's (it changed since the page was
    # loaded): the page stands for that by answering /api/checkin with the old text.
    async def old_text(route: Route) -> None:
        body = {"consent": {"version": "0" * 16, "text": "An older text."}, "emergency_info": True}
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    await client.route("**/api/checkin", old_text)
    await client.reload()
    await expect(client.get_by_test_id("consent-text")).to_have_text("An older text.")
    await join_waiting_room_refused(client)
    await expect(client.get_by_test_id("error-page")).to_contain_text(
        "Please read the consent again"
    )

    # Checking in again reads the text as it is now, and joins.
    await client.unroute("**/api/checkin")
    await client.get_by_test_id("error-action").click()
    await expect(client.get_by_test_id("consent-text")).to_have_text(CONSENT)
    await join_waiting_room(client, "Alex")


async def join_waiting_room_refused(client: Page) -> None:
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("join").click()
    await expect(client.get_by_test_id("error-page")).to_be_visible(timeout=30_000)
