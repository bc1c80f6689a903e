"""Couples and families: a second client joins a running session and all three see each other."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import OpenPage, StartService
from .helpers import admit, frames_per_peer, join_waiting_room, meet, waiting_pid

pytestmark = pytest.mark.browser


# Three clients check in through the welcome's steps around a three-way video call: on a
# loaded 2-core machine that outlasts the suite's 120 s per test.
@pytest.mark.timeout(240)
async def test_second_client_joins_mid_session(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(max_participants=3)
    therapist, (alex, sam) = await meet(service, open_page, "Alex", "Sam")

    await admit(therapist, alex, "Alex")
    await frames_per_peer(therapist, 1)
    sam_pid = await waiting_pid(therapist, "Sam")
    add = therapist.get_by_test_id(f"admit-{sam_pid}")
    await expect(add).to_have_text("Add to session")
    await add.click()
    await expect(sam.get_by_test_id("call")).to_be_visible()

    for page in (therapist, alex, sam):
        await expect(page.get_by_test_id("remote-video")).to_have_count(2, timeout=15000)
        await frames_per_peer(page, 2)
    await expect(alex.get_by_test_id("remote-tile").filter(has_text="Sam")).to_have_count(1)
    await expect(therapist.get_by_test_id("console-status")).to_contain_text("Sam joined")

    # The session is full at three: a third client can wait but not be added.
    kim = await open_page(service.client_link(), label="Kim")
    await join_waiting_room(kim, "Kim")
    kim_pid = await waiting_pid(therapist, "Kim")
    await expect(therapist.get_by_test_id(f"admit-{kim_pid}")).to_be_disabled()
    await expect(therapist.get_by_test_id("session-full")).to_contain_text("at most 3 people")
    await expect(kim.get_by_test_id("therapist-status")).to_have_attribute(
        "data-state", "in_session"
    )

    # Chat reaches everyone in the session.
    await sam.get_by_test_id("chat-input").fill("Hello both")
    await sam.get_by_test_id("chat-send").click()
    await expect(alex.get_by_test_id("chat-log")).to_contain_text("Hello both")
    await expect(therapist.get_by_test_id("chat-log")).to_contain_text("Hello both")
