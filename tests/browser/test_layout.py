"""The call's layout: with two, three and four people, on a phone (375x812) and on a desktop
(1280x800), no video tile covers another, and a tile's name and badges never cover what its
"Camera off" (or "Reconnecting") cover says. Checked by the boxes the browser laid out."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import DESKTOP, PHONE, OpenPage, StartService
from .helpers import admit, meet, page_value, waiting_pid

pytestmark = pytest.mark.browser

#: The call's tiles, covers and badges as laid out: how many, and which boxes intersect.
LAYOUT_JS = """() => {
  const shown = (node) => {
    const r = node.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && !node.closest("[hidden]");
  };
  const box = (node) => node.getBoundingClientRect();
  const meet = (a, b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  const grid = [...document.querySelectorAll('[data-testid="video-grid"]')].find(shown);
  if (!grid) return { tiles: 0, covers: 0, badges: 0, problems: ["no call on screen"] };
  const tiles = [...grid.querySelectorAll(".tile")].filter(shown);
  const covers = [...grid.querySelectorAll(".tile-cover")].filter(shown);
  const badges = [...grid.querySelectorAll("figcaption > *")].filter(shown);
  const name = (node) => node.closest(".tile").dataset.peer + ":" + node.textContent.trim();
  const problems = [];
  tiles.forEach((a, i) => tiles.slice(i + 1).forEach((b) => {
    if (meet(box(a), box(b))) problems.push(`tile ${a.dataset.peer} overlaps ${b.dataset.peer}`);
  }));
  for (const badge of badges) {
    for (const cover of covers) {
      if (meet(box(badge), box(cover))) problems.push(`badge ${name(badge)} covers ${name(cover)}`);
    }
  }
  const width = document.documentElement.clientWidth;
  for (const tile of tiles) {
    if (box(tile).right > width + 0.5) problems.push(`tile ${tile.dataset.peer} is off screen`);
  }
  return { tiles: tiles.length, covers: covers.length, badges: badges.length, problems };
}"""


async def check_layout(pages: list[Page], people: int) -> None:
    """On every page of the call, at phone and desktop sizes: nothing covers anything."""
    for size in (PHONE, DESKTOP):
        for page in pages:
            await page.set_viewport_size(size)
            # Wait for every tile, and for the muted person's camera-off cover and badge.
            layout: dict[str, Any] = await page_value(
                page,
                LAYOUT_JS,
                lambda v: v["tiles"] == people and v["covers"] >= 1 and v["badges"] >= people + 1,
                timeout=30,
            )
            where = f"{people} people, {size['width']}x{size['height']}, {page.url}"
            assert layout["problems"] == [], f"{where}: {layout['problems']}"


# Many screens (or people) in one test: more than the default 120 s on a loaded machine.
@pytest.mark.timeout(300)
async def test_tiles_and_badges_never_overlap(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(max_participants=4)
    therapist, (alex, sam, kim) = await meet(service, open_page, "Alex", "Sam", "Kim")

    # Alex mutes and turns the camera off: "You" / "Alex", "Muted" and "Camera off" together.
    await alex.get_by_test_id("mic-waiting").click()
    await alex.get_by_test_id("camera-waiting").click()
    await expect(alex.get_by_test_id("camera-waiting")).to_have_attribute("data-on", "false")
    await expect(alex.get_by_test_id("mic-waiting")).to_have_attribute("data-on", "false")

    await admit(therapist, alex, "Alex")
    await check_layout([therapist, alex], 2)

    in_call = [therapist, alex]
    for client, name in ((sam, "Sam"), (kim, "Kim")):
        pid = await waiting_pid(therapist, name)
        await therapist.get_by_test_id(f"admit-{pid}").click()
        await therapist.get_by_test_id("confirm-yes").click()
        await expect(client.get_by_test_id("call")).to_be_visible()
        in_call.append(client)
        await check_layout(in_call, len(in_call))
