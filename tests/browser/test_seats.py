"""A seat belongs to a device: the same link opened on a second device waits, marked for the
therapist, while the first device keeps its place in the call and takes it back on a reload
(its tab keeps the resume secret)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .conftest import OpenPage, Service
from .helpers import admit, join_waiting_room, open_console

pytestmark = pytest.mark.browser


async def test_the_same_link_on_a_second_device_waits_for_the_therapist(
    service: Service, open_page: OpenPage
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    link = service.client_link()
    first = await open_page(link, label="laptop")
    await join_waiting_room(first, "Sam")
    pid = await admit(therapist, first, "Sam")

    second = await open_page(link, label="phone")  # another browser: no resume secret
    await join_waiting_room(second, "Sam")
    item = therapist.locator('[data-testid^="waiting-c-"]').filter(has_text="Sam")
    await expect(item.get_by_test_id("second-device")).to_be_visible()
    await expect(first.get_by_test_id("call")).to_be_visible()  # not replaced

    await first.reload()  # the same tab: its secret takes the seat back, into the call
    await expect(first.get_by_test_id("call")).to_be_visible()
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_be_visible()
    await expect(item).to_have_count(1)  # the phone still waits, for the therapist to decide
