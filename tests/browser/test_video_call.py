"""The whole visit in real browsers: a therapist and a client meet by video.

Each person has their own browser context (storage, fake camera). The service runs in-process.
Screenshots of each step go to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from telehealth.auth.tokens import TokenMinter

from .conftest import SCREENSHOTS, OpenPage, Server

pytestmark = pytest.mark.browser

ROOM = "demo"

#: Video frames decoded so far over all of the page's RTCPeerConnections (call.js exposes them).
FRAMES_DECODED_JS = """async () => {
  const pcs = window.__rapport && window.__rapport.pcs;
  if (!pcs) return 0;
  let frames = 0;
  for (const pc of pcs.values()) {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
  }
  return frames;
}"""


#: Video frames decoded per RTCPeerConnection (one number per peer).
FRAMES_PER_PC_JS = """async () => {
  const out = [];
  for (const pc of window.__rapport.pcs.values()) {
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
    out.push(frames);
  }
  return out;
}"""


async def frames_decoded(page: Page, timeout: float = 15.0) -> int:
    """Wait until the page has decoded remote video; return how many frames."""
    deadline = time.monotonic() + timeout
    frames = 0
    while time.monotonic() < deadline:
        frames = int(await page.evaluate(FRAMES_DECODED_JS))
        if frames > 0:
            return frames
        await asyncio.sleep(0.25)
    raise AssertionError(f"no remote video decoded within {timeout} s on {page.url}")


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def join_waiting_room(client: Page, name: str) -> None:
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await client.get_by_test_id("name").fill(name)
    await client.get_by_test_id("consent").check()
    await client.get_by_test_id("join").click()
    await expect(client.get_by_test_id("waiting")).to_be_visible()


async def test_therapist_admits_client_and_they_see_each_other(
    server: Server, open_page: OpenPage
) -> None:
    therapist_token = server.minter.mint_therapist("t1", [ROOM], 600)
    client_token = server.minter.mint_client(ROOM, ttl=600)

    therapist = await open_page(f"/therapist#{therapist_token}", label="therapist")
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    assert "#" not in therapist.url, "the token must leave the address bar"

    client = await open_page(f"/join#{client_token}", label="client")
    assert "#" not in client.url
    await expect(client.get_by_test_id("consent-text")).not_to_be_empty()
    await shot(client, "client-welcome.png")
    await join_waiting_room(client, "Alex")
    await expect(client.get_by_test_id("therapist-status")).to_have_attribute("data-state", "ready")
    await expect(client.get_by_test_id("status")).not_to_be_empty()
    await shot(client, "client-waiting.png")

    waiting = therapist.locator('[data-testid^="waiting-c-"]')
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("Alex")
    pid = await waiting.get_attribute("data-pid")
    assert pid and pid.startswith("c-")
    await expect(therapist).to_have_title("(1) Console — Rapport")
    await shot(therapist, "therapist-console.png")

    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    await expect(waiting).to_have_count(0)
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_be_visible()

    assert await frames_decoded(client) > 0
    assert await frames_decoded(therapist) > 0
    await expect(client.get_by_test_id("remote-video")).to_have_count(1)
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)

    # Mute shows on the other side.
    await client.get_by_test_id("mic").click()
    await expect(therapist.get_by_test_id("muted-badge").first).to_be_visible()
    await client.get_by_test_id("mic").click()

    # Chat both ways.
    await client.get_by_test_id("chat-input").fill("Hello there")
    await client.get_by_test_id("chat-send").click()
    await expect(therapist.get_by_test_id("chat-log")).to_contain_text("Hello there")

    await asyncio.sleep(0.5)  # a few more frames for the pictures
    await shot(client, "client-call.png")
    await shot(therapist, "therapist-call.png")

    await therapist.get_by_test_id("end-session").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("closing")).to_be_visible()
    await expect(client.get_by_test_id("closing")).to_contain_text("Your session has ended")
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)
    await shot(client, "client-closing.png")


async def test_refresh_resumes_without_asking_again(server: Server, open_page: OpenPage) -> None:
    therapist_token = server.minter.mint_therapist("t1", [ROOM], 600)
    client_token = server.minter.mint_client(ROOM, ttl=600)
    therapist = await open_page(f"/therapist#{therapist_token}", label="therapist")
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{client_token}", label="client")
    await join_waiting_room(client, "Sam")

    await client.reload()
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    await expect(client.get_by_test_id("welcome")).to_be_hidden()
    waiting = therapist.locator('[data-testid^="waiting-c-"]')
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("Sam")
    await expect(waiting).to_contain_text("connected")

    # A refresh in the call also comes back into the call, with video again.
    pid = await waiting.get_attribute("data-pid")
    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    assert await frames_decoded(client) > 0
    await client.reload()
    await expect(client.get_by_test_id("call")).to_be_visible()
    assert await frames_decoded(client) > 0
    assert await frames_decoded(therapist) > 0
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)

    # And so does the therapist's.
    await therapist.reload()
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    assert await frames_decoded(therapist) > 0
    assert await frames_decoded(client) > 0
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)
    await expect(client.get_by_test_id("remote-video")).to_have_count(1)


async def test_lost_connection_reconnects_by_itself(server: Server, open_page: OpenPage) -> None:
    therapist = await open_page(
        f"/therapist#{server.minter.mint_therapist('t1', [ROOM], 600)}", label="therapist"
    )
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await join_waiting_room(client, "Alex")

    # Drop the socket as a flaky network would (no bye): the page reconnects and resumes.
    await client.evaluate("window.__rapport.signaling._ws.close(4000, 'test')")
    await expect(client.get_by_test_id("connection-banner")).to_contain_text("Connected again")
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    waiting = therapist.locator('[data-testid^="waiting-c-"]')
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("connected")


async def test_couple_admitted_together_forms_a_mesh(server: Server, open_page: OpenPage) -> None:
    therapist = await open_page(
        f"/therapist#{server.minter.mint_therapist('t1', [ROOM], 600)}", label="therapist"
    )
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    clients = []
    for name in ("Alex", "Sam"):
        page = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label=name)
        await join_waiting_room(page, name)
        clients.append(page)

    waiting = therapist.locator('[data-testid^="waiting-c-"]')
    await expect(waiting).to_have_count(2)
    for pid in [await item.get_attribute("data-pid") for item in await waiting.all()]:
        await therapist.get_by_test_id(f"select-{pid}").check()
    await expect(therapist.get_by_test_id("admit-selected")).to_have_text("Admit selected (2)")
    await therapist.get_by_test_id("admit-selected").click()

    for page in (therapist, *clients):
        await expect(page.get_by_test_id("remote-video")).to_have_count(2, timeout=15000)
        deadline = time.monotonic() + 15
        while True:
            per_pc = await page.evaluate(FRAMES_PER_PC_JS)
            if len(per_pc) == 2 and all(frames > 0 for frames in per_pc):
                break
            assert time.monotonic() < deadline, f"frames per connection on {page.url}: {per_pc}"
            await asyncio.sleep(0.25)
    await shot(therapist, "therapist-couple.png")


async def test_therapist_messages_and_denies(server: Server, open_page: OpenPage) -> None:
    therapist_token = server.minter.mint_therapist("t1", [ROOM], 600)
    therapist = await open_page(f"/therapist#{therapist_token}", label="therapist")
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await join_waiting_room(client, "Robin")

    await therapist.get_by_test_id("message-all-input").fill("Running 5 minutes late")
    await therapist.get_by_test_id("message-all").click()
    await expect(client.get_by_test_id("messages")).to_contain_text("Running 5 minutes late")

    pid = await therapist.locator('[data-testid^="waiting-c-"]').get_attribute("data-pid")
    await therapist.get_by_test_id(f"deny-{pid}").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("error-page")).to_be_visible()
    await expect(client.get_by_test_id("error-page")).to_contain_text("not admitted")


async def test_session_link_created_from_the_console(server: Server, open_page: OpenPage) -> None:
    therapist_token = server.minter.mint_therapist("t1", [ROOM, "other"], 600)
    therapist = await open_page(f"/therapist#{therapist_token}", label="therapist")
    await expect(therapist.get_by_test_id("room-picker")).to_be_visible()
    await therapist.get_by_test_id(f"pick-{ROOM}").click()
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    await therapist.get_by_test_id("create-link").click()
    link = therapist.get_by_test_id("link-url")
    await expect(therapist.get_by_test_id("link-expiry")).not_to_be_empty()
    url = await link.input_value()
    assert "/join#" in url

    client = await open_page("/join#" + url.split("#", 1)[1], label="client")
    await join_waiting_room(client, "Kim")
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_contain_text("Kim")


def _past_minter(server: Server) -> TokenMinter:
    return TokenMinter(server.settings, clock=lambda: time.time() - 7200)


@pytest.mark.parametrize(
    ("make_path", "text"),
    [
        (lambda s: "/join", "needs a link"),
        (lambda s: "/join#not-a-token", "does not work"),
        (lambda s: "/join#" + _past_minter(s).mint_client(ROOM, ttl=60), "expired"),
        (
            lambda s: "/join#" + s.minter.mint_client(ROOM, ttl=600, not_before=time.time() + 3600),
            "a little early",
        ),
        (lambda s: "/join#" + s.minter.mint_therapist("t1", [ROOM], 600), "another page"),
        (lambda s: "/therapist#" + s.minter.mint_client(ROOM, ttl=600), "another page"),
    ],
    ids=[
        "no-token",
        "garbage",
        "expired",
        "not-yet",
        "therapist-token-on-join",
        "client-token-on-console",
    ],
)
async def test_kind_error_pages(
    server: Server, open_page: OpenPage, make_path: Callable[[Server], str], text: str
) -> None:
    page = await open_page(make_path(server), label="page")
    await expect(page.get_by_test_id("error-page")).to_be_visible()
    await expect(page.get_by_test_id("error-page")).to_contain_text(text)
    assert "#" not in page.url


async def test_small_screen_waiting_room(server: Server, open_page: OpenPage) -> None:
    client = await open_page(
        f"/join#{server.minter.mint_client(ROOM, ttl=600)}", width=375, height=740, label="client"
    )
    await join_waiting_room(client, "Alex")
    overflow = await client.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not overflow, "the page must not scroll sideways at 375 px"
    await shot(client, "client-waiting-mobile.png")


async def test_admin_monitor_shows_rooms_and_ends_one(server: Server, open_page: OpenPage) -> None:
    therapist = await open_page(
        f"/therapist#{server.minter.mint_therapist('t1', [ROOM], 600)}", label="therapist"
    )
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await join_waiting_room(client, "Alex")

    admin = await open_page(f"/admin#{server.minter.mint_admin('a1', 600)}", label="admin")
    await expect(admin.get_by_test_id("monitor")).to_be_visible()
    row = admin.get_by_test_id(f"room-{ROOM}")
    await expect(row).to_be_visible()
    await expect(admin.get_by_test_id(f"waiting-{ROOM}")).to_have_text("1")
    await expect(row).to_contain_text("present")
    await shot(admin, "admin-monitor.png")

    await admin.get_by_test_id(f"end-room-{ROOM}").click()
    await admin.get_by_test_id("confirm-yes").click()
    await expect(admin.get_by_test_id("admin-status")).to_contain_text("ended")
    await expect(client.get_by_test_id("closing")).to_be_visible()
    await expect(therapist.get_by_test_id("error-page")).to_contain_text("closed")
    await expect(row).to_have_count(0, timeout=8000)


@pytest.mark.parametrize("path", ["/", "/join", "/therapist", "/admin"])
async def test_pages_load_under_the_csp(server: Server, open_page: OpenPage, path: str) -> None:
    page = await open_page(path, label=path)
    await expect(page.locator("h1:visible").first).not_to_be_empty()
    await page.wait_for_load_state("networkidle")
    problems = [
        line
        for line in open_page.console
        if "Content Security Policy" in line or "pageerror" in line
    ]
    assert not problems, problems


async def test_send_back_then_remove(server: Server, open_page: OpenPage) -> None:
    therapist = await open_page(
        f"/therapist#{server.minter.mint_therapist('t1', [ROOM], 600)}", label="therapist"
    )
    await expect(therapist.get_by_test_id("console")).to_be_visible()
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await join_waiting_room(client, "Alex")
    waiting = therapist.locator('[data-testid^="waiting-c-"]')
    pid = await waiting.get_attribute("data-pid")

    await therapist.get_by_test_id(f"admit-{pid}").click()
    assert await frames_decoded(client) > 0
    await therapist.get_by_test_id(f"send-back-{pid}").click()
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    await expect(client.get_by_test_id("status")).to_contain_text("moved you back")
    await expect(waiting).to_have_count(1)
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)

    await therapist.get_by_test_id(f"admit-{pid}").click()
    await expect(client.get_by_test_id("call")).to_be_visible()
    await therapist.get_by_test_id(f"remove-{pid}").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("error-page")).to_contain_text("removed")
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)


async def test_client_leaves_and_can_rejoin(server: Server, open_page: OpenPage) -> None:
    client = await open_page(f"/join#{server.minter.mint_client(ROOM, ttl=600)}", label="client")
    await join_waiting_room(client, "Alex")
    await client.get_by_test_id("leave-waiting").click()
    await client.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("closing")).to_contain_text("You have left")
    await client.get_by_test_id("rejoin").click()
    await join_waiting_room(client, "Alex")
