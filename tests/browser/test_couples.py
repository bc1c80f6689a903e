"""Couples and families: a second client joins a running session and all three see each other;
adding someone to a running session asks first, naming who is already in it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, StartService
from .helpers import admit, frames_per_peer, join_waiting_room, meet, waiting_pid

pytestmark = pytest.mark.browser

PRIMARY = re.compile(r"\bbutton-primary\b")


async def add_to_session(therapist: Page, client: Page, name: str, question: str) -> str:
    """Add ``name`` to the running session: the console asks ``question`` first."""
    pid = await waiting_pid(therapist, name)
    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(therapist.get_by_role("dialog")).to_contain_text(question)
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    return pid


# Three-way video: more than the default 120 s on a loaded machine.
@pytest.mark.timeout(300)
async def test_second_client_joins_mid_session(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(max_participants=3)
    therapist, (alex, sam) = await meet(service, open_page, "Alex", "Sam")

    await admit(therapist, alex, "Alex")
    await frames_per_peer(therapist, 1)
    sam_pid = await waiting_pid(therapist, "Sam")
    await expect(therapist.get_by_test_id(f"admit-{sam_pid}")).to_have_text("Add to session…")
    await add_to_session(
        therapist,
        sam,
        "Sam",
        "Add Sam to your session with Alex? Alex and Sam will see and hear each other.",
    )

    for page in (therapist, alex, sam):
        await expect(page.get_by_test_id("remote-video")).to_have_count(2, timeout=15000)
        await frames_per_peer(page, 2, timeout=45)  # three-way video on a loaded machine
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


async def test_a_newcomer_is_never_added_to_a_running_session_by_one_click(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(max_participants=3)
    therapist, (alex, sam) = await meet(service, open_page, "Alex", "Sam")
    sam_pid = await waiting_pid(therapist, "Sam")
    actions = therapist.get_by_test_id(f"waiting-{sam_pid}").locator(".item-actions > button")
    # Nobody in the session yet: admitting is the main action.
    await expect(actions.first).to_have_text("Admit")
    await expect(actions.first).to_have_class(PRIMARY)

    await admit(therapist, alex, "Alex")
    # Now the main action is a message; adding Sam comes second and asks first.
    await expect(actions.first).to_have_text("Message")
    await expect(actions.first).to_have_class(PRIMARY)
    add = therapist.get_by_test_id(f"admit-{sam_pid}")
    await expect(add).to_have_text("Add to session…")
    await expect(add).not_to_have_class(PRIMARY)

    await add.click()
    dialog = therapist.get_by_role("dialog")
    await expect(dialog).to_contain_text(
        "Add Sam to your session with Alex? Alex and Sam will see and hear each other."
    )
    await expect(therapist.get_by_test_id("confirm-no")).to_be_focused()
    await therapist.get_by_test_id("confirm-no").click()
    await expect(dialog).to_have_count(0)

    # Still waiting: a message sent after the cancel reaches Sam in the waiting room (the
    # console's messages are handled in order, so an admit would have come first).
    await therapist.get_by_test_id(f"message-{sam_pid}").click()
    await therapist.get_by_test_id(f"message-input-{sam_pid}").fill("Nearly there")
    await therapist.get_by_test_id(f"message-input-{sam_pid}").press("Enter")
    await expect(sam.get_by_test_id("messages")).to_contain_text("Nearly there")
    await expect(sam.get_by_test_id("waiting")).to_be_visible()
    await expect(therapist.get_by_test_id("session-count")).to_have_text("1 client in the session")
    await expect(alex.get_by_test_id("remote-tile")).to_have_count(1)

    # Asked again and confirmed, Sam joins.
    await add.click()
    await expect(dialog).to_contain_text("Add Sam to your session with Alex?")
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(sam.get_by_test_id("call")).to_be_visible()
    await expect(alex.get_by_test_id("remote-tile")).to_have_count(2)
