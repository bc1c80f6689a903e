"""Short links and the console running the day, in Chromium: a full visit through a short link
(/s/<code>), a scheduled link made, listed, its invitation copied and then withdrawn, and the
session timer with the appointment's end."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Screens, Service
from .helpers import admit, frames_per_peer, join_waiting_room, open_console
from .test_screens import readme_shows


def on_test_server(service: Service, short_url: str) -> str:
    """The short link's path on the test server (links name the deployment's public address)."""
    path = urlsplit(short_url).path
    assert path.startswith("/s/") and len(path) <= 16, short_url
    return service.url + path


async def make_link(therapist: Page, *, start: datetime | None = None, label: str = "") -> str:
    """Create a link in the console (a start time and 50 minutes); its short URL."""
    if start is not None:
        await therapist.get_by_test_id("link-start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await therapist.get_by_test_id("link-ttl").select_option("3000")
    if label:
        await therapist.get_by_test_id("link-label").fill(label)
    await therapist.get_by_test_id("create-link").click()
    await expect(therapist.get_by_test_id("link-output")).to_be_visible()
    url = await therapist.get_by_test_id("link-url").input_value()
    assert "/s/" in url and "#" not in url, url
    return url


@pytest.mark.timeout(240)
async def test_a_full_visit_through_a_short_link_with_the_session_timer(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    short = await make_link(therapist)
    client = await open_page(on_test_server(service, short), label="client")
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    # The address bar no longer holds the code: a refresh goes on from this tab's storage.
    assert urlsplit(client.url).path == "/join"
    await client.reload()
    await join_waiting_room(client, "Robin")
    await admit(therapist, client, "Robin")
    await frames_per_peer(client)
    await frames_per_peer(therapist)

    timer = therapist.get_by_test_id("session-timer")
    await expect(timer).to_be_visible()
    await expect(therapist.get_by_test_id("timer-elapsed")).to_contain_text("Elapsed 0:0")
    await expect(therapist.get_by_test_id("timer-end")).to_contain_text("ends ")
    await screens.capture(therapist, "therapist-session-timer")
    screens.check()
    readme_shows(screens)


@pytest.mark.timeout(240)
async def test_a_scheduled_link_listed_invited_and_withdrawn(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist = await open_page(
        service.console_link(), label="therapist", permissions=["clipboard-read", "clipboard-write"]
    )
    await open_console(therapist)
    # Five minutes from now: a scheduled link opens ten minutes early, so it opens already.
    start = datetime.fromtimestamp(time.time() + 300)
    short = await make_link(therapist, start=start, label="Tuesday, R.")
    listed = therapist.get_by_test_id("today-links").locator("li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("Tuesday, R.")
    await expect(listed.get_by_test_id("link-state")).to_have_text("Open")

    await listed.get_by_test_id("link-invite").click()
    await expect(therapist.get_by_test_id("link-status")).to_have_text("Invitation copied.")
    invitation = await therapist.evaluate("navigator.clipboard.readText()")
    assert short in invitation and start.strftime("%Y") in invitation, invitation
    await screens.capture(therapist, "therapist-links-today")

    client = await open_page(on_test_server(service, short), label="client")
    await join_waiting_room(client, "Rae")
    await listed.get_by_test_id("link-withdraw").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(therapist.get_by_test_id("link-status")).to_have_text("Link withdrawn.")
    await expect(listed.get_by_test_id("link-state")).to_have_text("Withdrawn")
    # The waiting client is told at once.
    await expect(client.get_by_test_id("error-page")).to_contain_text("withdrawn")
    # The short link itself no longer opens anything.
    other = await open_page(on_test_server(service, short), label="late")
    await expect(other.get_by_test_id("error-page")).to_contain_text("This link does not work")
    await screens.capture(other, "client-short-link-unknown")
    screens.check()
    readme_shows(screens)


async def test_a_malformed_or_unknown_short_link_is_told_kindly(
    service: Service, open_page: OpenPage
) -> None:
    for path in ["/s/0000000000000", "/s/NOT-A-CODE"]:
        page = await open_page(service.url + path, label="stranger")
        await expect(page.get_by_test_id("error-page")).to_contain_text("This link does not work")


async def test_the_timer_tells_the_therapist_when_five_minutes_are_left(
    service: Service, open_page: OpenPage
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(service.client_link(ttl=240), label="client")  # 4 minutes left
    await join_waiting_room(client, "Noor")
    await admit(therapist, client, "Noor")
    await expect(therapist.get_by_test_id("timer-notice")).to_have_text(
        "5 minutes left in this appointment."
    )
    await expect(client.get_by_text("5 minutes left")).to_have_count(0)  # the therapist's only
