"""The admin monitor in Chromium: a client waits with no therapist, the room shows the wait and
then the alert (announced); the therapist arrives and the alert clears; the chart marks the
waiting client, then the admitted wait; the room's timeline lists the joins. No name reaches the
page, and at phone width it does not scroll sideways."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import PHONE, ROOM, OpenPage, StartService
from .helpers import admit, join_waiting_room, open_console, page_value

pytestmark = pytest.mark.browser

NAME = "Robin Quixote"
NO_SIDEWAYS_JS = "document.scrollingElement.scrollWidth <= innerWidth"


async def test_a_long_wait_alerts_until_the_therapist_comes(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(wait_alert=1)
    admin = await open_page(service.admin_link(), label="admin")
    await expect(admin.get_by_test_id("monitor")).to_be_visible()
    await expect(admin.get_by_test_id("rooms-empty")).to_be_visible()

    client = await open_page(service.client_link(), label="client")
    await join_waiting_room(client, NAME)
    await expect(admin.get_by_test_id(f"room-{ROOM}")).to_be_visible()
    await expect(admin.get_by_test_id(f"waiting-{ROOM}")).to_have_text("1")
    waiters = admin.get_by_test_id(f"waiters-{ROOM}").locator("li")
    await expect(waiters).to_have_count(1)
    await expect(waiters).to_contain_text("c-")
    await expect(admin.get_by_test_id(f"therapist-{ROOM}")).to_have_text("absent")

    # Past TELEHEALTH_WAIT_ALERT (1 s here) with no therapist: the server says alert.
    await expect(admin.get_by_test_id(f"alert-tag-{ROOM}")).to_have_text("alert: no therapist")
    await expect(admin.get_by_test_id(f"alert-{ROOM}")).to_contain_text(f"Room {ROOM}")
    await expect(admin.get_by_test_id("announcer")).to_contain_text(f"Alert: in room {ROOM}")
    await expect(admin.get_by_test_id("chart-waiting")).to_have_count(1)
    await expect(admin.get_by_test_id("chart-desc")).to_contain_text("1 client is waiting now")

    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    await expect(admin.get_by_test_id(f"therapist-{ROOM}")).to_have_text("present")
    await expect(admin.get_by_test_id(f"alert-tag-{ROOM}")).to_have_count(0)
    await expect(admin.get_by_test_id("alerts")).to_be_hidden()
    await expect(admin.get_by_test_id("announcer")).to_contain_text("no longer in alert")

    # Admitted: the wait moves from "waiting now" to the admitted points.
    await admit(therapist, client, NAME)
    await expect(admin.get_by_test_id("chart-waiting")).to_have_count(0)
    await expect(admin.get_by_test_id("chart-admitted")).to_have_count(1)
    await expect(admin.get_by_test_id("chart-desc")).to_contain_text("1 client was admitted")

    # The room's timeline: the joins and the admit; closing it gives focus back.
    opener = admin.get_by_test_id(f"timeline-{ROOM}")
    await opener.click()
    await expect(admin.get_by_test_id("timeline-heading")).to_be_focused()
    entries = admin.get_by_test_id("timeline-entry")
    await expect(entries.filter(has_text="Joined")).to_have_count(2)  # the client, the therapist
    admitted = entries.filter(has_text="Admitted")
    await expect(admitted).to_have_count(1)
    await expect(admitted).to_contain_text("Therapist")
    await admin.get_by_test_id("timeline-close").click()
    await expect(admin.get_by_test_id("timeline")).to_be_hidden()
    await expect(opener).to_be_focused()

    assert NAME not in await admin.content()
    await admin.set_viewport_size(PHONE)
    await opener.click()
    await expect(entries.filter(has_text="Admitted")).to_have_count(1)
    assert await page_value(admin, NO_SIDEWAYS_JS, bool)
