"""Keyboard only: the client gets from the link to the waiting room and back out without a
mouse, every stop shows where the focus is, and dialogs keep the focus and close with Escape."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Service

pytestmark = pytest.mark.browser

FOCUS_RING_JS = """() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
}"""


async def tab_to(page: Page, testid: str, most: int = 15) -> None:
    """Press Tab until the element with this test id has the focus, checking the focus ring."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.dataset.testid") == testid:
            assert await page.evaluate(FOCUS_RING_JS), f"no visible focus on {testid}"
            return
    raise AssertionError(f"{testid} is not reachable with Tab")


async def test_client_by_keyboard(service: Service, open_page: OpenPage) -> None:
    client = await open_page(service.client_link(), label="client")
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await expect(client.get_by_test_id("name")).to_be_focused()
    await client.keyboard.type("Alex")

    # The welcome's steps: Enter goes on, and the next step's heading takes the focus.
    await client.keyboard.press("Enter")
    await expect(client.locator("#step-where-heading")).to_be_focused()
    await tab_to(client, "location", most=1)
    await client.keyboard.type("At home")
    await tab_to(client, "phone", most=1)
    await client.keyboard.type("0113 496 0000")
    await tab_to(client, "step-back", most=1)
    await client.keyboard.press("Enter")  # back to the name, and forward again
    await expect(client.locator("#step-name-heading")).to_be_focused()
    await tab_to(client, "name", most=1)
    await client.keyboard.press("Enter")
    await expect(client.locator("#step-where-heading")).to_be_focused()
    await expect(client.get_by_test_id("location")).to_have_value("At home")
    await tab_to(client, "step-next")
    await client.keyboard.press("Enter")
    await expect(client.locator("#step-consent-heading")).to_be_focused()
    await tab_to(client, "step-next")
    await client.keyboard.press("Enter")  # without consent: told so, and taken to the box
    await expect(client.locator("#consent-error")).to_be_visible()
    await expect(client.get_by_test_id("consent")).to_be_focused()
    await client.keyboard.press("Space")
    await tab_to(client, "step-next")
    await client.keyboard.press("Enter")
    await expect(client.locator("#step-devices-heading")).to_be_focused()

    await tab_to(client, "device-check")
    await client.keyboard.press("Enter")
    await expect(client.get_by_test_id("device-status")).to_contain_text("working")
    await tab_to(client, "welcome-camera", most=1)  # the device choices come next
    await tab_to(client, "join")
    await client.keyboard.press("Enter")
    await expect(client.get_by_test_id("waiting")).to_be_visible()

    await tab_to(client, "leave-waiting")
    await client.keyboard.press("Enter")
    await expect(client.get_by_test_id("confirm-no")).to_be_focused()  # the safe choice first
    await client.keyboard.press("Escape")
    await expect(client.locator("dialog")).to_have_count(0)
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    await tab_to(client, "leave-waiting")
    await client.keyboard.press("Enter")
    await client.keyboard.press("Tab")
    await expect(client.get_by_test_id("confirm-yes")).to_be_focused()
    await client.keyboard.press("Enter")
    await expect(client.get_by_test_id("closing")).to_contain_text("You have left")
