"""Devices: clear guidance when the camera is blocked or missing; in the call, switching camera,
microphone and speaker, sharing the screen, and the connection-quality indicator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Service
from .helpers import (
    admit,
    frames_decoded,
    frames_keep_coming,
    join_waiting_room,
    meet,
    open_console,
    page_value,
    waiting_pid,
    welcome_to_devices,
)

pytestmark = pytest.mark.browser


def refuse_media(error: str) -> str:
    """An init script under which getUserMedia fails as it does in a real browser with ``error``."""
    return f"""
    navigator.mediaDevices.getUserMedia = async () => {{
      throw new DOMException("refused by the test", "{error}");
    }};
    """


SENT_TRACK_JS = """(kind) => {
  const pc = [...window.__rapport.pcs.values()][0];
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === kind);
  return sender ? sender.track.label : null;
}"""


async def sent_track_becomes(page: Page, kind: str, label: str, timeout: float = 15.0) -> None:
    """Wait until the track sent for ``kind`` is ``label`` (a loaded machine is slow)."""
    async with asyncio.timeout(timeout):
        while True:
            if await sent_track(page, kind) == label:
                return
            await asyncio.sleep(0.1)


async def sent_track(page: Page, kind: str) -> Any:
    return await page.evaluate(SENT_TRACK_JS, kind)


async def sending(page: Page, kind: str, label: str) -> None:
    """Wait until the page sends its peer the ``kind`` track of the device called ``label``."""
    await page_value(page, f"({SENT_TRACK_JS})({kind!r})", lambda sent: sent == label)


async def test_blocked_camera_gets_steps_to_fix_it(service: Service, open_page: OpenPage) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(
        service.client_link(), label="client", init_script=refuse_media("NotAllowedError")
    )
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("device-check").click()
    status = client.get_by_test_id("device-status")
    await expect(status).to_contain_text("not allowed to use your camera and microphone")
    await expect(status.locator("li")).to_have_count(3)
    await expect(status).to_contain_text("You can still join without them")
    await expect(client.get_by_test_id("device-check")).to_have_text("Try again")

    # Joining anyway works, and the therapist sees why there is no picture.
    await join_waiting_room(client, "Alex")
    pid = await waiting_pid(therapist, "Alex")
    await expect(
        therapist.get_by_test_id(f"waiting-{pid}").get_by_test_id("device-result")
    ).to_have_text("Camera blocked, microphone blocked")
    await expect(client.get_by_test_id("mic-waiting")).to_be_disabled()


async def test_missing_devices_get_steps_to_fix_it(service: Service, open_page: OpenPage) -> None:
    client = await open_page(
        service.client_link(), label="client", init_script=refuse_media("NotFoundError")
    )
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("device-check").click()
    status = client.get_by_test_id("device-status")
    await expect(status).to_contain_text("No camera or microphone was found")
    await expect(status).to_contain_text("Plug in a webcam or headset")


async def test_switch_devices_share_screen_and_quality(
    service: Service, open_page: OpenPage
) -> None:
    therapist, (client,) = await meet(service, open_page, "Alex")
    await admit(therapist, client, "Alex")
    assert await frames_decoded(therapist) > 0
    assert await sent_track(client, "video") == "fake_device_0"

    # The connection-quality indicator, in words.
    quality = therapist.get_by_test_id("remote-tile").get_by_test_id("quality")
    await expect(quality).to_contain_text("Good connection")
    await expect(quality).to_have_attribute("data-level", "good")

    # Another camera and microphone, replaced on the live connection (no renegotiation needed).
    await client.get_by_test_id("devices-toggle").click()
    await expect(client.get_by_test_id("device-panel")).to_be_visible()
    await expect(client.get_by_test_id("devices-toggle")).to_have_attribute("aria-expanded", "true")
    await client.get_by_test_id("call-camera").select_option(label="fake_device_2")
    await sending(client, "video", "fake_device_2")
    await frames_keep_coming(therapist)
    await client.get_by_test_id("call-microphone").select_option(label="Fake Audio Input 1")
    await sending(client, "audio", "Fake Audio Input 1")

    # The speaker: the therapist's voice plays on the chosen output.
    speaker = client.get_by_test_id("call-speaker")
    await speaker.select_option(label="Fake Audio Output 1")
    chosen = await speaker.input_value()
    await expect(client.get_by_test_id("remote-video")).to_have_js_property("sinkId", chosen)

    # Screen share: the picture becomes the screen, and the therapist is told.
    await client.get_by_test_id("share-screen").click()
    await expect(client.get_by_test_id("share-screen")).to_have_text("Stop sharing")
    await expect(client.get_by_test_id("sharing-note")).to_be_visible()
    await expect(
        therapist.get_by_test_id("remote-tile").get_by_test_id("screen-badge")
    ).to_be_visible()
    label = await sent_track(client, "video")
    assert label and label.startswith("screen"), label
    await frames_keep_coming(therapist)
    await client.get_by_test_id("share-screen").click()
    await expect(
        therapist.get_by_test_id("remote-tile").get_by_test_id("screen-badge")
    ).to_be_hidden()
    # The badge can hide before replaceTrack() has settled: wait for the camera to be sent.
    await sent_track_becomes(client, "video", "fake_device_2")

    # The choices survive a refresh.
    await client.reload()
    await expect(client.get_by_test_id("call")).to_be_visible()
    await frames_keep_coming(therapist)
    await sent_track_becomes(client, "video", "fake_device_2")


QUALITY_JS = """async () => {
  const { qualityLevel } = await import("/static/js/quality.js");
  return [
    qualityLevel({ rtt: 0.03, loss: 0, kbps: 900 }),
    qualityLevel({ rtt: 0.3, loss: 0, kbps: 900 }),
    qualityLevel({ rtt: 0.03, loss: 0.05, kbps: 900 }),
    qualityLevel({ rtt: 0.03, loss: 0, kbps: 100 }),
    qualityLevel({ rtt: 0.5, loss: 0, kbps: 900 }),
    qualityLevel({ rtt: 0.03, loss: 0.1, kbps: 900 }),
    qualityLevel({ rtt: 0.03, loss: 0, kbps: 20 }),
    qualityLevel({ rtt: 0.03, loss: 0, kbps: 20 }, { expectVideo: false }),
    qualityLevel({ rtt: null, loss: 0, kbps: null }),
  ];
}"""


async def test_quality_levels(service: Service, open_page: OpenPage) -> None:
    page = await open_page(service.url + "/", label="landing")
    assert await page.evaluate(QUALITY_JS) == [
        "good",
        "fair",
        "fair",
        "fair",
        "poor",
        "poor",
        "poor",
        "good",
        "good",
    ]
