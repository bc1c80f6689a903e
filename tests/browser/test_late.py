"""The waiting room's conversation with the therapist, in Chromium: the running-late notice with
its countdown (and "any moment now" once the time has passed), a client's reply on the
therapist's card, the sound and tab title a therapist's message brings (none when muted), and
the word that nobody sees or hears the client before they are let in. axe clean on each."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from telehealth.web.limiting import REPLIES_PER_WINDOW

from .conftest import OpenPage, Screens, Service, StartService
from .helpers import (
    WATCH_ALERTS_JS,
    admit,
    join_waiting_room,
    meet,
    open_console,
    page_value,
    waiting_pid,
)

pytestmark = pytest.mark.browser

#: Eleven minutes from now, as far as the page's clock knows: a ten-minute notice has passed.
CLOCK_AHEAD_JS = "(() => { const real = Date.now; Date.now = () => real() + 11 * 60_000; })()"
FRONT_AGAIN_JS = "window.__inFront = true; window.dispatchEvent(new Event('focus'))"


async def test_running_late_shows_a_countdown_until_cleared_or_admitted(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist, (robin,) = await meet(service, open_page, "Robin")
    await expect(robin.get_by_test_id("late")).to_be_hidden()
    note = robin.get_by_test_id("private-note")
    await expect(note).to_be_visible()
    await expect(note).to_have_text(re.compile(r"Nobody can see or hear you yet"))

    await therapist.get_by_test_id("late-10").click()
    notice = robin.get_by_test_id("late-notice")
    await expect(notice).to_have_text(
        re.compile(
            r"^Your therapist is running about 10 minutes late \(expected \d{1,2}:\d\d.*\)\.$"
        )
    )
    countdown = robin.get_by_test_id("late-countdown")
    await expect(countdown).to_have_text(re.compile(r"^About (9|10) min \d\d s to go\.$"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "")  # it counts down
    await expect(therapist.get_by_test_id("late-state")).to_contain_text(
        "Waiting clients see: running about 10 minutes late"
    )
    await screens.audit(robin, "client-waiting-late")
    await screens.audit(therapist, "therapist-console-late")

    # A custom number; a bad one is caught in the console and nothing is sent.
    minutes = therapist.get_by_test_id("late-minutes")
    await minutes.fill("500")
    await therapist.get_by_test_id("late-set").click()
    await expect(therapist.get_by_text("Enter a number of minutes from 1 to 120.")).to_be_visible()
    await expect(notice).to_contain_text("about 10 minutes late")
    await minutes.fill("25")
    await therapist.get_by_test_id("late-set").click()
    await expect(notice).to_contain_text("about 25 minutes late")

    # Cleared by the therapist, then set again and ended by the admit.
    await therapist.get_by_test_id("late-clear").click()
    await expect(robin.get_by_test_id("late")).to_be_hidden()
    await expect(therapist.get_by_test_id("late-state")).to_have_text("No running-late notice.")
    await therapist.get_by_test_id("late-5").click()
    await expect(notice).to_contain_text("about 5 minutes late")
    await admit(therapist, robin, "Robin")
    await expect(robin.get_by_test_id("late")).to_be_hidden()
    await expect(therapist.get_by_test_id("late-state")).to_have_text("No running-late notice.")
    screens.check()


async def test_a_passed_eta_says_any_moment_now(service: Service, open_page: OpenPage) -> None:
    therapist, (robin,) = await meet(service, open_page, "Robin")
    await therapist.get_by_test_id("late-10").click()
    await expect(robin.get_by_test_id("late-notice")).to_contain_text("about 10 minutes late")
    await robin.evaluate(CLOCK_AHEAD_JS)
    await expect(robin.get_by_test_id("late-notice")).to_have_text(
        "Your therapist should be with you any moment now."
    )
    await expect(robin.get_by_test_id("late-countdown")).to_be_hidden()
    # A client who arrives after the time also sees no negative countdown.
    kim = await open_page(service.client_link(ttl=3600), label="Kim", init_script=CLOCK_AHEAD_JS)
    await join_waiting_room(kim, "Kim")
    await expect(kim.get_by_test_id("late-notice")).to_have_text(
        "Your therapist should be with you any moment now."
    )


async def test_a_client_reply_shows_on_the_therapists_card(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist = await open_page(
        service.console_link(), label="therapist", init_script=WATCH_ALERTS_JS
    )
    await open_console(therapist)
    robin = await open_page(service.client_link(), label="Robin")
    await join_waiting_room(robin, "Robin")
    pid = await waiting_pid(therapist, "Robin")
    await expect(robin.get_by_test_id("reply-form")).to_be_hidden()  # nothing to answer yet

    await therapist.get_by_test_id(f"message-{pid}").click()
    await therapist.get_by_test_id(f"message-input-{pid}").fill("Are you still there?")
    await therapist.get_by_test_id(f"message-input-{pid}").press("Enter")
    await expect(robin.get_by_test_id("reply-form")).to_be_visible()
    sounds = await therapist.evaluate("window.__sounds")
    await robin.get_by_test_id("reply-input").fill("Yes, I'm here whenever you're ready.")
    await robin.get_by_test_id("reply-send").click()
    await expect(robin.get_by_test_id("reply-status")).to_have_text("Reply sent.")
    await expect(robin.get_by_test_id("my-reply")).to_contain_text("whenever you're ready")

    reply = therapist.get_by_test_id(f"reply-{pid}")
    await expect(reply).to_contain_text("Yes, I'm here whenever you're ready.")
    await expect(therapist.get_by_test_id(f"waiting-{pid}")).to_contain_text(
        "whenever you're ready"
    )
    await page_value(therapist, "window.__sounds", lambda n: n > sounds)  # the reply chimed
    await screens.audit(robin, "client-waiting-replied")
    await screens.audit(therapist, "therapist-console-reply")
    screens.check()


async def test_replies_turned_off_hide_the_box(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(client_replies=False)
    therapist, (robin,) = await meet(service, open_page, "Robin")
    await therapist.get_by_test_id("message-all-input").fill("I'll be with you soon.")
    await therapist.get_by_test_id("message-all").click()
    await expect(robin.get_by_test_id("messages")).to_contain_text("with you soon")
    await expect(robin.get_by_test_id("reply-form")).to_be_hidden()


async def test_a_therapist_message_chimes_and_flags_the_tab(
    service: Service, open_page: OpenPage
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    robin = await open_page(service.client_link(), label="Robin", init_script=WATCH_ALERTS_JS)
    await join_waiting_room(robin, "Robin")
    await expect(robin).to_have_title("Waiting room — Rapport")

    async def message_all(text: str) -> None:
        await therapist.get_by_test_id("message-all-input").fill(text)
        await therapist.get_by_test_id("message-all").click()
        await expect(robin.get_by_test_id("messages")).to_contain_text(text)

    # Looking at the page: a sound, and the title stays.
    await message_all("Hello Robin")
    await page_value(robin, "window.__sounds", lambda n: n > 0)
    await expect(robin).to_have_title("Waiting room — Rapport")

    # Looking elsewhere: the title counts what was not seen, until the page is in front again.
    await robin.evaluate("window.__inFront = false")
    await message_all("Two minutes")
    await expect(robin).to_have_title("(1) New message — Rapport")
    await message_all("Nearly there")
    await expect(robin).to_have_title("(2) New messages — Rapport")
    await robin.evaluate(FRONT_AGAIN_JS)
    await expect(robin).to_have_title("Waiting room — Rapport")

    # Muted: neither sound nor title.
    mute = robin.get_by_test_id("mute-alerts")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    sounds = await robin.evaluate("window.__sounds")
    await robin.evaluate("window.__inFront = false")
    await message_all("Quietly now")
    await expect(robin).to_have_title("Waiting room — Rapport")
    assert await robin.evaluate("window.__sounds") == sounds


async def test_a_refused_reply_comes_back_to_the_box(service: Service, open_page: OpenPage) -> None:
    therapist, (robin,) = await meet(service, open_page, "Robin")
    await therapist.get_by_test_id("message-all-input").fill("Running a little behind.")
    await therapist.get_by_test_id("message-all").click()
    box = robin.get_by_test_id("reply-input")
    for i in range(REPLIES_PER_WINDOW):
        await box.fill(f"Okay {i}")
        await box.press("Enter")
        await expect(robin.get_by_test_id("my-reply")).to_have_count(i + 1)
    pid = await waiting_pid(therapist, "Robin")
    await expect(therapist.get_by_test_id(f"reply-{pid}")).to_have_count(3)  # the latest three
    await box.fill("One more")
    await box.press("Enter")
    await expect(robin.get_by_test_id("reply-status")).to_have_text(
        "Please wait a moment before sending another reply."
    )
    await expect(box).to_have_value("One more")
    await expect(robin.get_by_test_id("my-reply")).to_have_count(REPLIES_PER_WINDOW)
