"""axe-core (WCAG 2.1 A and AA rules) on each page in the states people actually see."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Server
from .test_video_call import ROOM, join_waiting_room

pytestmark = pytest.mark.browser

AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


async def violations(page: Page, axe_js: str) -> list[dict[str, Any]]:
    # page.evaluate is not subject to the page's CSP, unlike an injected <script>.
    await page.evaluate(axe_js)
    found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
    return found


async def test_pages_pass_axe(server: Server, open_page: OpenPage, axe_js: str) -> None:
    problems: dict[str, list[dict[str, Any]]] = {}

    async def check(label: str, page: Page) -> None:
        found = await violations(page, axe_js)
        if found:
            problems[label] = found

    landing = await open_page("/", label="landing")
    await check("landing", landing)

    therapist = await open_page(
        f"/therapist#{server.minter.mint_therapist('t1', [ROOM], 600)}", label="therapist"
    )
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await check("client welcome", client)
    await join_waiting_room(client, "Alex")
    await check("client waiting", client)
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(1)
    await check("therapist console", therapist)

    pid = await therapist.locator('[data-testid^="waiting-c-"]').get_attribute("data-pid")
    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("remote-video")).to_have_count(1, timeout=15000)
    await check("client call", client)
    await check("therapist call", therapist)

    admin = await open_page(f"/admin#{server.minter.mint_admin('a1', 600)}", label="admin")
    await expect(admin.get_by_test_id(f"room-{ROOM}")).to_be_visible()
    await check("admin monitor", admin)

    broken = await open_page("/join#not-a-token", label="error")
    await expect(broken.get_by_test_id("error-page")).to_be_visible()
    await check("error page", broken)

    assert not problems, problems
