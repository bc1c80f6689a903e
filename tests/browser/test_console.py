"""The therapist's console and the admin monitor: messages, deny, send back, remove, admitting a
couple together, arrival alerts; the live rooms table and ending a room; every page under the
service's CSP."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import ROOM, OpenPage, Service
from .helpers import WATCH_ALERTS_JS, admit, frames_decoded, meet, open_console, waiting_pid

pytestmark = pytest.mark.browser


async def test_message_one_and_deny(service: Service, open_page: OpenPage) -> None:
    therapist, (robin, kim) = await meet(service, open_page, "Robin", "Kim")

    pid = await waiting_pid(therapist, "Robin")
    await therapist.get_by_test_id(f"message-{pid}").click()
    await therapist.get_by_test_id(f"message-input-{pid}").fill("I'll be with you in a minute")
    await therapist.get_by_test_id(f"message-input-{pid}").press("Enter")
    await expect(robin.get_by_test_id("messages")).to_contain_text("with you in a minute")
    await expect(therapist.get_by_test_id("waiting-status")).to_have_text("Message sent.")
    await expect(therapist.get_by_test_id(f"message-{pid}")).to_be_focused()
    await expect(kim.get_by_test_id("message")).to_have_count(0)  # only Robin was written to

    await therapist.get_by_test_id(f"deny-{pid}").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(robin.get_by_test_id("error-page")).to_contain_text("You were not admitted")
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(1)


async def test_send_back_then_remove(service: Service, open_page: OpenPage) -> None:
    therapist, (client,) = await meet(service, open_page, "Alex")
    pid = await admit(therapist, client, "Alex")
    assert await frames_decoded(client) > 0

    await therapist.get_by_test_id(f"send-back-{pid}").click()
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    await expect(client.get_by_test_id("status")).to_contain_text("moved you back")
    await expect(therapist.get_by_test_id(f"waiting-{pid}")).to_be_visible()
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)

    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    await therapist.get_by_test_id(f"remove-{pid}").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("error-page")).to_contain_text("removed")
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)


async def test_couple_admitted_together(service: Service, open_page: OpenPage) -> None:
    therapist, clients = await meet(service, open_page, "Alex", "Sam")
    for name in ("Alex", "Sam"):
        await therapist.get_by_test_id(f"select-{await waiting_pid(therapist, name)}").check()
    await expect(therapist.get_by_test_id("admit-selected")).to_have_text("Admit selected (2)")
    await therapist.get_by_test_id("admit-selected").click()
    for page in clients:
        await expect(page.get_by_test_id("call")).to_be_visible()
    await expect(therapist.get_by_test_id("session-count")).to_have_text("2 clients in the session")


async def test_arrival_alerts_can_be_turned_on(service: Service, open_page: OpenPage) -> None:
    therapist = await open_page(
        service.console_link(), label="therapist", init_script=WATCH_ALERTS_JS
    )
    await open_console(therapist)
    button = therapist.get_by_test_id("alerts-enable")
    await expect(button).to_be_visible()
    await button.click()  # asks for notifications (refused here) and plays a sample chime
    status = therapist.get_by_test_id("alerts-status")
    await expect(status).to_contain_text("notifications are blocked")
    await expect(button).to_be_hidden()
    assert await therapist.evaluate("window.__sounds") > 0


async def test_admin_monitor_shows_rooms_and_ends_one(
    service: Service, open_page: OpenPage
) -> None:
    therapist, (client,) = await meet(service, open_page, "Alex")
    admin = await open_page(service.admin_link(), label="admin")
    await expect(admin.get_by_test_id("monitor")).to_be_visible()
    row = admin.get_by_test_id(f"room-{ROOM}")
    await expect(row).to_be_visible()
    await expect(admin.get_by_test_id(f"waiting-{ROOM}")).to_have_text("1")
    await expect(row).to_contain_text("present")
    await expect(row.get_by_test_id("longest-tag")).to_have_text("longest wait")

    await admin.get_by_test_id(f"end-room-{ROOM}").click()
    await admin.get_by_test_id("confirm-yes").click()
    await expect(admin.get_by_test_id("admin-status")).to_contain_text("ended")
    await expect(client.get_by_test_id("closing")).to_be_visible()
    await expect(therapist.get_by_test_id("error-page")).to_contain_text("closed")
    await expect(row).to_have_count(0)


@pytest.mark.parametrize("path", ["/", "/join", "/therapist", "/admin"])
async def test_pages_load_under_the_csp(service: Service, open_page: OpenPage, path: str) -> None:
    page = await open_page(service.url + path, label=path)
    await expect(page.locator("h1:visible").first).not_to_be_empty()
    await page.wait_for_load_state("networkidle")
    problems = [
        line
        for line in open_page.console
        if "Content Security Policy" in line or "pageerror" in line
    ]
    assert not problems, problems
