"""Call quality in Chromium: in a call between two pages each page sends its summary (every
2 s here, TELEHEALTH_QUALITY_INTERVAL=2); the admin monitor shows the session with each
person's grade and chart; when the client's side turns poor (a poor summary sent over the
client's own socket, standing in for a poor network) the therapist is told and the monitor
flags the session; a good summary clears both. The monitor passes axe and shows no name."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from .conftest import PHONE, ROOM, OpenPage, Screens, StartService
from .helpers import admit, meet, page_value

pytestmark = pytest.mark.browser

NAME = "Robin Quixote"
SENT_JS = "() => (window.__rapport?.quality?.sent ?? 0) >= 2"
POOR: dict[str, Any] = {
    "type": "quality",
    "rtt_ms": 900,
    "loss_pct": 25,
    "jitter_ms": 80,
    "bitrate_kbps": 40,
    "frames_decoded": 20,
    "frames_dropped": 9,
    "width": 320,
    "height": 240,
    "candidate": "relay",
}
# A path type the pages' own summaries on loopback never have: the monitor shows when it landed.
GOOD = {
    **POOR,
    "rtt_ms": 12,
    "loss_pct": 0,
    "jitter_ms": 2,
    "bitrate_kbps": 900,
    "frames_dropped": 0,
    "candidate": "srflx",
}


async def send_until(page: Page, summary: dict[str, Any], seen: Locator) -> None:
    """Send ``summary`` over ``page``'s own socket until ``seen`` shows it arrived: a summary
    sooner than half an interval after the last is refused, so it may take a second try."""
    for _ in range(30):
        await page.evaluate("(m) => window.__rapport.quality.send(m)", summary)
        try:
            await expect(seen).to_be_visible(timeout=1_500)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{summary} never showed as {seen}")


@pytest.mark.timeout(300)  # three pages, two of them in a video call, on a loaded machine
async def test_quality_reaches_the_monitor_and_the_therapist(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    service = await start_service(quality_interval=2)
    therapist, (client,) = await meet(service, open_page, NAME)
    admin = await open_page(service.admin_link(), label="admin")
    pid = await admit(therapist, client, NAME)

    # Both pages report by themselves once their media connection is up.
    for page in (client, therapist):
        await page.wait_for_function(SENT_JS, timeout=30_000)
    member = admin.get_by_test_id(f"quality-member-{pid}")
    await expect(member).to_be_visible(timeout=15_000)
    chart = admin.get_by_test_id(f"quality-chart-{pid}")
    await expect(chart).to_have_attribute("role", "img")
    desc = chart.locator("desc")
    await expect(desc).to_contain_text(f"{pid}:")
    await expect(desc).to_contain_text("Latest:")
    therapist_members = admin.locator('[data-testid^="quality-member-t-"]')
    await expect(therapist_members).to_have_count(1)

    # The client's side turns poor: both pages stop their own reports (real figures on a loaded
    # machine may be anything; a person with no recent report is "no recent report", never
    # poor), and a poor summary goes over the client's socket.
    for page in (client, therapist):
        await page.evaluate("() => window.__rapport.quality.stop()")
    note = therapist.get_by_test_id("peer-quality")
    member_now = (
        '[data-testid="quality-member-{pid}"][data-level="{level}"][data-candidate="{path}"]'
    )
    await send_until(
        client, POOR, admin.locator(member_now.format(pid=pid, level="poor", path="relay"))
    )
    await expect(note).to_be_visible()
    await expect(note).to_contain_text(f"{NAME}'s connection is struggling")
    await expect(admin.get_by_test_id(f"poor-{ROOM}")).to_have_text("poor quality now")
    await expect(desc).to_contain_text("relayed")
    # The client is never shown the therapist's notice.
    await expect(client.get_by_test_id("peer-quality")).to_be_hidden()

    await screens.audit(admin, "monitor-quality")
    assert NAME not in await admin.content()
    await admin.set_viewport_size(PHONE)
    await expect(member).to_be_visible()
    assert await page_value(admin, "document.scrollingElement.scrollWidth <= innerWidth", bool)

    # Better again: the notice and the flag clear.
    good = admin.locator(member_now.format(pid=pid, level="good", path="srflx"))
    await send_until(client, GOOD, good)
    await expect(note).to_be_hidden()
    await expect(admin.get_by_test_id(f"poor-{ROOM}")).to_have_count(0, timeout=15_000)
    screens.check()
