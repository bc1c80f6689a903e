"""What the browser tests do again and again: join, admit, and measure decoded video."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import Page, expect

from .conftest import OpenPage, Service

#: Video frames decoded per RTCPeerConnection (call.js exposes the page's connections).
FRAMES_PER_PC_JS = """async () => {
  const pcs = window.__rapport && window.__rapport.pcs;
  const out = [];
  for (const pc of pcs ? pcs.values() : []) {
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
    out.push(frames);
  }
  return out;
}"""

#: Counts the page's sounds (each chime starts oscillators), its desktop notifications, and lets
#: a test say the page is not in front (document.hasFocus), as when the therapist works in
#: another window. Installed with ``open_page(..., init_script=...)``.
WATCH_ALERTS_JS = """
window.__sounds = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__sounds += 1;
  return start.apply(this, args);
};
window.__notices = [];
const Real = window.Notification;
if (Real) {
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notices.push({ title, body: options && options.body });
    }
  };
  Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
  window.Notification.requestPermission = (...a) => Real.requestPermission(...a);
}
window.__inFront = true;
document.hasFocus = () => window.__inFront;
"""


async def page_value(
    page: Page, js: str, check: Callable[[Any], bool], timeout: float = 15.0
) -> Any:
    """Evaluate ``js`` on the page until ``check`` holds for its value; the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await page.evaluate(js)
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{js} on {page.url} is still {value!r}")
        await asyncio.sleep(0.1)


async def frames_per_peer(page: Page, peers: int = 1, timeout: float = 15.0) -> list[int]:
    """Wait until the page decodes video from ``peers`` connections; frames per connection."""
    deadline = time.monotonic() + timeout
    per_pc: list[int] = []
    while time.monotonic() < deadline:
        per_pc = await page.evaluate(FRAMES_PER_PC_JS)
        if len(per_pc) == peers and all(frames > 0 for frames in per_pc):
            return per_pc
        await asyncio.sleep(0.2)
    states = await page.evaluate(
        "[...window.__rapport.pcs.values()].map((pc) => [pc.connectionState, pc.signalingState])"
    )
    raise AssertionError(
        f"frames decoded per connection on {page.url}: {per_pc} ({states}), want {peers} > 0"
    )


async def frames_decoded(page: Page, timeout: float = 15.0) -> int:
    """Wait until the page has decoded remote video from its one peer; how many frames."""
    return sum(await frames_per_peer(page, 1, timeout))


async def frames_keep_coming(page: Page, timeout: float = 15.0) -> None:
    """The remote video is live: more frames are decoded than a moment ago."""
    before = sum(await frames_per_peer(page, 1, timeout))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        now = await page.evaluate(FRAMES_PER_PC_JS)
        if len(now) == 1 and now[0] > before:
            return
    raise AssertionError(f"remote video on {page.url} is frozen at {before} frames")


async def welcome_to_devices(
    client: Page, name: str, *, location: str = "", phone: str = ""
) -> None:
    """Through the welcome's first steps (name; where, when the deployment asks; consent) to
    its last: the camera and microphone, with Join."""
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await client.get_by_test_id("name").fill(name)
    await client.get_by_test_id("step-next").click()
    await expect(client.get_by_test_id("step-name")).to_be_hidden()
    if await client.get_by_test_id("step-where").is_visible():
        await client.get_by_test_id("location").fill(location)
        await client.get_by_test_id("phone").fill(phone)
        await client.get_by_test_id("step-next").click()
    await client.get_by_test_id("consent").check()
    await client.get_by_test_id("step-next").click()
    await expect(client.get_by_test_id("step-devices")).to_be_visible()


async def join_waiting_room(
    client: Page, name: str, *, location: str = "", phone: str = ""
) -> None:
    """Through the welcome's steps and Join (the devices are asked for on joining, when not
    checked before); wait for the waiting room."""
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    if not await client.get_by_test_id("step-devices").is_visible():
        await welcome_to_devices(client, name, location=location, phone=phone)
    await client.get_by_test_id("join").click()
    # Joining asks for the camera and opens the socket: on a 2-core machine already running a
    # three-way video call (the couples tests) and other work, 15 s was seen to run out.
    await expect(client.get_by_test_id("waiting")).to_be_visible(timeout=30_000)


async def open_console(page: Page) -> None:
    await expect(page.get_by_test_id("console")).to_be_visible()


async def meet(service: Service, open_page: OpenPage, *names: str) -> tuple[Page, list[Page]]:
    """The therapist's console open, and a client page per name, each in the waiting room."""
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    clients = []
    for name in names:
        client = await open_page(service.client_link(), label=name)
        await join_waiting_room(client, name)
        clients.append(client)
    return therapist, clients


async def waiting_pid(therapist: Page, name: str) -> str:
    """The participant id of the waiting client called ``name``, once they are listed."""
    item = therapist.locator('[data-testid^="waiting-c-"]').filter(has_text=name)
    await expect(item).to_have_count(1)
    pid = await item.get_attribute("data-pid")
    assert pid and pid.startswith("c-"), pid
    return pid


async def admit(therapist: Page, client: Page, name: str) -> str:
    """Admit ``name`` from the console; returns their participant id once they are in the call."""
    pid = await waiting_pid(therapist, name)
    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    return pid
