"""A therapist's personal room link in real Chromium: published from the console, opened by a
visitor at /r/<slug> who checks in and waits, marked "came through your room link" on the
waiting card, admitted into a call; and the lock: a locked link shows "not open right now",
and opens again when unlocked. Pictures and axe at desktop and phone sizes."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Screens, StartService
from .helpers import admit, frames_decoded, join_waiting_room, open_console

pytestmark = pytest.mark.browser


async def publish(therapist: Page, slug: str) -> None:
    panel = therapist.get_by_test_id("roomlink-panel")
    await expect(panel).to_be_visible()
    await panel.get_by_test_id("roomlink-slug").fill(slug)
    await panel.get_by_test_id("roomlink-publish").click()
    # The address is built from the deployment's public URL (TELEHEALTH_PUBLIC_URL).
    await expect(panel.get_by_test_id("roomlink-url")).to_have_value(re.compile(f"/r/{slug}$"))


@pytest.mark.timeout(240)
async def test_a_visit_through_the_room_link(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    service = await start_service(room_links=True)
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    panel = therapist.get_by_test_id("roomlink-panel")
    await expect(panel).to_be_visible()

    # A slug the rules refuse is said at once, and nothing is published.
    await panel.get_by_test_id("roomlink-slug").fill("Dr Rivera!")
    await panel.get_by_test_id("roomlink-publish").click()
    await expect(panel.get_by_test_id("roomlink-error")).to_be_visible()
    await expect(panel.get_by_test_id("roomlink-url")).to_be_hidden()
    # A reserved word gets the server's reason.
    await panel.get_by_test_id("roomlink-slug").fill("admin")
    await panel.get_by_test_id("roomlink-publish").click()
    await expect(panel.get_by_test_id("roomlink-error")).to_contain_text("reserved")

    await publish(therapist, "dr-rivera")
    await expect(panel.get_by_test_id("roomlink-lock-state")).to_contain_text("Open")
    await screens.capture(therapist, "therapist-room-link")

    visitor = await open_page(f"{service.url}/r/dr-rivera", label="visitor")
    await join_waiting_room(visitor, "Robin Visitor")
    item = therapist.locator('[data-testid^="waiting-c-"]').filter(has_text="Robin Visitor")
    await expect(item.get_by_test_id("via-room-link")).to_have_text("Came through your room link")
    await screens.capture(therapist, "therapist-room-link-visitor")

    # A session link's client on the same card list is not marked.
    plain = await open_page(service.client_link(), label="plain")
    await join_waiting_room(plain, "Sam Session")
    plain_item = therapist.locator('[data-testid^="waiting-c-"]').filter(has_text="Sam Session")
    await expect(plain_item).to_be_visible()
    await expect(plain_item.get_by_test_id("via-room-link")).to_have_count(0)

    # A refresh keeps the visitor's place (the same token, not a second knock).
    await visitor.reload()
    await expect(visitor.get_by_test_id("waiting")).to_be_visible(timeout=30_000)
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(2)

    await admit(therapist, visitor, "Robin Visitor")
    assert await frames_decoded(visitor) > 0
    assert await frames_decoded(therapist) > 0
    screens.check()


@pytest.mark.timeout(240)
async def test_the_lock_shows_not_open_right_now_until_unlocked(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    service = await start_service(room_links=True)
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    await publish(therapist, "lock-test")
    panel = therapist.get_by_test_id("roomlink-panel")
    await panel.get_by_test_id("roomlink-lock").check()
    await expect(panel.get_by_test_id("roomlink-lock-state")).to_contain_text("Locked")
    await expect(panel.get_by_test_id("roomlink-status")).to_have_text("Room link locked.")
    await screens.capture(therapist, "therapist-room-link-locked")

    visitor = await open_page(f"{service.url}/r/lock-test", label="visitor")
    error = visitor.get_by_test_id("error-page")
    await expect(error).to_be_visible()
    await expect(error.locator("h1")).to_have_text("This room is not open right now")
    await screens.capture(visitor, "client-room-link-locked")

    # An address nobody published gets its own kind page.
    stranger = await open_page(f"{service.url}/r/no-such-room", label="stranger")
    await expect(stranger.get_by_test_id("error-page").locator("h1")).to_have_text(
        "This room address does not work"
    )

    await panel.get_by_test_id("roomlink-lock").uncheck()
    await expect(panel.get_by_test_id("roomlink-status")).to_have_text("Room link open again.")
    await visitor.get_by_test_id("error-action").click()  # "Try again"
    await join_waiting_room(visitor, "Kim Later")
    item = therapist.locator('[data-testid^="waiting-c-"]').filter(has_text="Kim Later")
    await expect(item.get_by_test_id("via-room-link")).to_be_visible()
    screens.check()
