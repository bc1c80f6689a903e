"""The pre-call connection test from the waiting room: the client sees a verdict in calm words,
the therapist's waiting card shows it with the figures behind a disclosure."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import OpenPage, Screens, Service
from .helpers import meet, waiting_pid

pytestmark = pytest.mark.browser


async def test_a_waiting_client_runs_the_test_and_the_therapist_sees_the_verdict(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    therapist, [client] = await meet(service, open_page, "Robin")
    panel = client.get_by_test_id("precall")
    await expect(panel.get_by_test_id("precall-run")).to_be_visible()
    await screens.audit(client, "precall-offered")
    await panel.get_by_test_id("precall-run").click()
    verdict = panel.get_by_test_id("precall-verdict")
    # Six seconds of pings and echo after connecting, on a loaded machine.
    await expect(verdict).to_be_visible(timeout=60_000)
    assert await verdict.get_attribute("data-verdict") in ("good", "fair", "poor")
    assert (await verdict.inner_text()).strip()
    await expect(panel.get_by_test_id("precall-run")).to_be_enabled()
    await screens.capture(client, "precall-verdict")

    pid = await waiting_pid(therapist, "Robin")
    card = therapist.get_by_test_id(f"waiting-{pid}").get_by_test_id("precall-card")
    await expect(card).to_be_visible()
    assert await card.get_attribute("data-verdict") == await verdict.get_attribute("data-verdict")
    figures = card.locator("dl")
    await expect(figures).to_be_hidden()  # behind the disclosure
    await card.locator("summary").click()
    await expect(figures).to_be_visible()
    await expect(figures).to_contain_text("ms")
    await expect(figures).to_contain_text("kb/s")
    await screens.capture(therapist, "precall-therapist-card")
    screens.check()
