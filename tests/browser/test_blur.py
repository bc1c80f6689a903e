"""Background blur with Chromium's fake camera: the switch in the device check and in the call
sends a processed track (MediaPipe selfie segmentation on a canvas), not the camera's; frames go
out; the picture is blurred; toggling in the call needs no renegotiation; the choice survives a
reload; and blur turns itself off, saying so, when frames take longer than the budget."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Screens, StartService
from .helpers import admit, join_waiting_room, open_console, page_value, welcome_to_devices
from .test_screens import capture_at_both_widths, readme_shows

pytestmark = pytest.mark.browser

#: A budget no frame reaches, so blur stays on however loaded the machine (the auto-off test
#: sets its own). Measured here: ~220 ms a frame at 640x480 on 2 shared cores (software WebGL).
NO_LIMIT_MS = 60_000

#: What the page sends for video, and whether it is blur's processed track or the raw camera.
SENDER_JS = """() => {
  const pc = [...window.__rapport.pcs.values()][0];
  const media = window.__rapport.blur.media;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
  if (!sender) return null;
  return {
    processed: Boolean(media.processed) && sender.track === media.processed.track
      && sender.track !== media.camera,
    camera: sender.track === media.camera,
    local: pc.localDescription?.sdp ?? null,
    remote: pc.remoteDescription?.sdp ?? null,
    signaling: pc.signalingState,
  };
}"""

FRAMES_ENCODED_JS = """async () => {
  const pc = [...window.__rapport.pcs.values()][0];
  let frames = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video") frames += r.framesEncoded || 0;
  });
  return frames;
}"""

#: How sharp a picture is: how many neighbouring pixels differ strongly (an edge), in the self
#: view (what is sent) and in the raw camera. Chromium's fake camera shows a flat green with a
#: sharp-edged disc and a clock; blurred, hardly any strong edge is left.
SHARPNESS_JS = """async () => {
  const sharpness = (source) => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 640, height: 480 });
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, 640, 480);
    const d = ctx.getImageData(0, 0, 640, 480).data;
    let edges = 0;
    for (let y = 0; y < 480; y += 1) {
      for (let x = 0; x < 639; x += 1) {
        const p = (y * 640 + x) * 4;
        const step = Math.abs(d[p] - d[p + 4]) + Math.abs(d[p + 1] - d[p + 5])
          + Math.abs(d[p + 2] - d[p + 6]);
        if (step > 60) edges += 1;
      }
    }
    return edges;
  };
  const media = window.__rapport.blur.media;
  const self = [...document.querySelectorAll('[data-testid="self-video"]')]
    .find((v) => v.offsetParent && v.videoWidth
      && v.srcObject.getVideoTracks()[0] === media.processed?.track);
  if (!self) return null;
  const raw = Object.assign(document.createElement("video"), { muted: true });
  raw.srcObject = new MediaStream([media.camera]);
  await raw.play();
  while (!raw.videoWidth) await new Promise((r) => setTimeout(r, 20));
  return { self: sharpness(self), raw: sharpness(raw) };
}"""


async def sender(page: Page, check: Any) -> dict[str, Any]:
    value: dict[str, Any] = await page_value(
        page, f"({SENDER_JS})()", lambda v: v and v["signaling"] == "stable" and check(v), 60
    )
    return value


def origin(sdp: str) -> str:
    """An SDP's o= line: its session version goes up with every new offer or answer (the
    candidates gathered meanwhile change the rest of a local description, not this line)."""
    return next(line for line in sdp.splitlines() if line.startswith("o="))


def same_session(now: dict[str, Any], before: dict[str, Any]) -> None:
    """No renegotiation happened: neither side made a new offer or answer."""
    for side in ("local", "remote"):
        assert origin(now[side]) == origin(before[side]), side


async def frames_rise(page: Page) -> None:
    """The sender encodes more frames than a moment ago."""
    before = await page.evaluate(FRAMES_ENCODED_JS)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        if await page.evaluate(FRAMES_ENCODED_JS) > before:
            return
    raise AssertionError(f"the sender is stuck at {before} frames")


async def blurred_self_view(page: Page) -> None:
    """What the self view shows (the sent picture) is far less sharp than the raw camera."""
    found = await page_value(page, f"({SHARPNESS_JS})()", lambda v: v is not None, 30)
    # Not zero: the segmentation takes parts of the fake camera's disc for a person, and keeps
    # them sharp (seen: a fifth to a quarter of the raw edges).
    assert found["raw"] > 100 and found["self"] < 0.5 * found["raw"], found


async def blur_stats(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page_value(
        page,
        "window.__rapport.blur.stats()",
        lambda s: s is not None and s["frames"] > 8 and s["msPerFrame"] > 0,
        60,
    )
    return stats


# Under load (seen: load average 36 on 2 cores) a blurred frame takes 2 s: the long steps add up.
@pytest.mark.timeout(420)
async def test_blur_in_the_device_check_and_the_call(
    start_service: StartService, open_page: OpenPage, screens: Screens
) -> None:
    service = await start_service(blur_frame_budget_ms=NO_LIMIT_MS)
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    client = await open_page(service.client_link(), label="client")
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("device-check").click()
    await expect(client.get_by_test_id("device-status")).to_contain_text("are working")

    # The device check: the switch, and what it says once the blurred picture is ready.
    switch = client.get_by_role("switch", name="Blur my background")
    await expect(switch).not_to_be_checked()
    await switch.check()
    status = client.get_by_test_id("welcome-blur-status")
    await expect(status).to_have_text("Your background is blurred.", timeout=60_000)
    stats = await blur_stats(client)
    # The fake camera opens at 1280x720 (the page's ideal); blur works on it at 640x360.
    assert stats["mode"] == "mediapipe" and (stats["width"], stats["height"]) == (640, 360), stats
    print(f"blur at the device check: {stats}")
    await capture_at_both_widths(screens, client, "client-blur")
    readme_shows(screens)
    await blurred_self_view(client)

    # In the call, the processed track is what goes out, and frames keep going.
    await join_waiting_room(client, "Alex")
    await admit(therapist, client, "Alex")
    on = await sender(client, lambda v: v["processed"] and v["remote"])
    # The therapist's console offers it too (the same module), and has not turned it on.
    await expect(therapist.get_by_test_id("blur-toggle")).to_have_text("Blur background")
    await frames_rise(client)
    await blurred_self_view(client)
    print(f"blur in the call: {await blur_stats(client)}")

    # Off from the call's controls: the camera again, the blurred track stopped, no new offer.
    await client.evaluate("window.__blurred = window.__rapport.blur.media.processed.track")
    toggle = client.get_by_test_id("blur-toggle")
    await expect(toggle).to_have_text("Stop blurring")
    await toggle.click()
    await expect(toggle).to_have_text("Blur background")
    off = await sender(client, lambda v: v["camera"])
    same_session(off, on)
    await page_value(client, "window.__blurred.readyState", lambda state: state == "ended")
    await frames_rise(client)

    # On again, still without renegotiating.
    await toggle.click()
    again = await sender(client, lambda v: v["processed"])
    same_session(again, on)
    await frames_rise(client)

    # Another camera, from the call's device panel (and its switch says blur is on): the new
    # camera's picture is blurred and sent, the old blurred track is stopped.
    await client.evaluate("window.__blurred = window.__rapport.blur.media.processed.track")
    await client.get_by_test_id("devices-toggle").click()
    await expect(client.get_by_test_id("call-blur")).to_be_checked()
    await client.get_by_test_id("call-camera").select_option(label="fake_device_2")
    await page_value(
        client,
        "(() => { const m = window.__rapport.blur.media;"
        " return m.camera.label === 'fake_device_2' && m.processed?.source === m.camera; })()",
        bool,
        60,
    )
    await sender(client, lambda v: v["processed"])
    await page_value(client, "window.__blurred.readyState", lambda state: state == "ended")
    await frames_rise(client)

    # Remembered for the tab: after a reload the client is back in the call, blurred.
    assert await client.evaluate("sessionStorage.getItem('rapport.client.blur')") == "true"
    await client.reload()
    await expect(client.get_by_test_id("call")).to_be_visible(timeout=30_000)
    await sender(client, lambda v: v["processed"])
    await expect(client.get_by_test_id("blur-toggle")).to_have_text("Stop blurring")
    await frames_rise(client)


@pytest.mark.timeout(180)
async def test_blur_turns_itself_off_when_frames_fall_behind(
    start_service: StartService, open_page: OpenPage
) -> None:
    # A 1 ms budget: no frame is that quick, so blur must give up after a few seconds.
    service = await start_service(blur_frame_budget_ms=1)
    client = await open_page(service.client_link(), label="client")
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("device-check").click()
    await expect(client.get_by_test_id("device-status")).to_contain_text("are working")
    switch = client.get_by_role("switch", name="Blur my background")
    await switch.check()
    status = client.get_by_test_id("welcome-blur-status")
    await expect(status).to_have_text(
        "Background blur was turned off because this device could not keep up. "
        "Your background is visible again.",
        timeout=60_000,
    )
    await expect(switch).not_to_be_checked()
    slow = await client.evaluate("window.__rapport.blur.lastSlow")
    assert slow["msPerFrame"] > slow["budgetMs"] == 1, slow
    # The camera is what the preview (and a call) shows again, and blur's track is stopped.
    assert await client.evaluate(
        "(() => { const m = window.__rapport.blur.media;"
        " return m.stream.getVideoTracks()[0] === m.camera && m.processed === null; })()"
    )
    assert await client.evaluate("sessionStorage.getItem('rapport.client.blur')") == "false"
