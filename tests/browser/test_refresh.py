"""Coming back: a refresh or a brief network loss returns each person where they were (the call,
or their place in the queue) without being admitted again."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from .conftest import OpenPage, Service, StartService
from .helpers import (
    admit,
    frames_decoded,
    frames_keep_coming,
    meet,
    open_console,
    page_value,
    waiting_pid,
)

pytestmark = pytest.mark.browser

#: Cut a page's signaling as a network loss would: the socket drops and reconnecting fails
#: until ``RESTORE_SIGNALING`` (the page keeps its WebRTC connections meanwhile).
CUT_SIGNALING = """() => {
  const s = window.__rapport.signaling;
  s.__url = s.url;
  s.url = "ws://127.0.0.1:9/ws";
  s._ws.close(4000, "network lost");
}"""
RESTORE_SIGNALING = """() => {
  const s = window.__rapport.signaling;
  s.url = s.__url;
  s._retryNow();
}"""


async def in_call(service: Service, open_page: OpenPage) -> tuple[Page, Page, str]:
    therapist, (client,) = await meet(service, open_page, "Sam")
    pid = await admit(therapist, client, "Sam")
    assert await frames_decoded(client) > 0
    assert await frames_decoded(therapist) > 0
    return therapist, client, pid


async def test_refresh_mid_call_returns_to_the_call(service: Service, open_page: OpenPage) -> None:
    therapist, client, pid = await in_call(service, open_page)
    waiting = therapist.locator('[data-testid^="waiting-c-"]')

    # The client's refresh: straight back into the call, with video both ways.
    await client.reload()
    await expect(client.get_by_test_id("call")).to_be_visible()
    await expect(client.get_by_test_id("welcome")).to_be_hidden()
    await frames_keep_coming(client)
    await frames_keep_coming(therapist)
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)
    await expect(waiting).to_have_count(0)  # never back in the queue: no re-admission
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_contain_text("connected")

    # The therapist's refresh: the console comes back in the session.
    await therapist.reload()
    await open_console(therapist)
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_be_visible()
    await frames_keep_coming(therapist)
    await frames_keep_coming(client)
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)
    await expect(client.get_by_test_id("remote-video")).to_have_count(1)
    await expect(client.get_by_test_id("call")).to_be_visible()


async def test_waiting_client_refresh_keeps_their_place(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(show_queue_position=True)
    therapist, (first, second) = await meet(service, open_page, "Robin", "Kim")
    await expect(first.get_by_test_id("position")).to_have_text("You are next in line.")
    await expect(second.get_by_test_id("position")).to_have_text("You are number 2 in line.")

    await first.reload()
    await expect(first.get_by_test_id("waiting")).to_be_visible()
    await expect(first.get_by_test_id("position")).to_have_text("You are next in line.")
    await expect(second.get_by_test_id("position")).to_have_text("You are number 2 in line.")
    names = therapist.locator('[data-testid^="waiting-c-"] .name')
    await expect(names).to_have_text(["Robin", "Kim"])


async def outage(dropped: Page, other: Page) -> None:
    """``dropped`` loses its network for a moment: the other side shows it, and it comes back."""
    away = other.get_by_test_id("remote-tile").get_by_test_id("reconnecting")
    await dropped.evaluate(CUT_SIGNALING)
    await expect(dropped.get_by_test_id("connection-banner")).to_contain_text("Reconnecting")
    await expect(away).to_be_visible()
    await expect(other.get_by_test_id("call-status")).to_contain_text("connection dropped")
    await dropped.evaluate(RESTORE_SIGNALING)
    await expect(dropped.get_by_test_id("connection-banner")).to_contain_text("Connected again")
    await expect(away).to_be_hidden()
    await frames_keep_coming(dropped)
    await frames_keep_coming(other)


async def test_brief_network_loss_mid_call(service: Service, open_page: OpenPage) -> None:
    therapist, client, pid = await in_call(service, open_page)
    session_entry = therapist.get_by_test_id(f"session-{pid}")

    await outage(client, therapist)
    await expect(therapist.get_by_test_id("call-status")).to_contain_text("Sam is back")
    await expect(session_entry).to_contain_text("connected")
    await expect(client.get_by_test_id("call")).to_be_visible()

    await outage(therapist, client)
    await expect(session_entry).to_contain_text("connected")
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(0)


async def test_lost_connection_while_waiting(service: Service, open_page: OpenPage) -> None:
    therapist, (client,) = await meet(service, open_page, "Alex")
    pid = await waiting_pid(therapist, "Alex")

    await client.evaluate(CUT_SIGNALING)
    await expect(therapist.get_by_test_id(f"waiting-{pid}")).to_contain_text("reconnecting")
    await client.evaluate(RESTORE_SIGNALING)
    await expect(client.get_by_test_id("connection-banner")).to_contain_text("Connected again")
    await expect(client.get_by_test_id("waiting")).to_be_visible()
    await expect(therapist.get_by_test_id(f"waiting-{pid}")).to_contain_text("connected")


#: The ICE username fragment of each of the page's connections, local and remote.
UFRAGS_JS = """() => [...window.__rapport.pcs.values()].map((pc) => [
  /a=ice-ufrag:(\\S+)/.exec(pc.localDescription.sdp)[1],
  /a=ice-ufrag:(\\S+)/.exec(pc.remoteDescription.sdp)[1],
  pc.signalingState,
])"""


async def test_ice_restart_lost_in_an_outage_is_made_again(
    service: Service, open_page: OpenPage
) -> None:
    therapist, client, _ = await in_call(service, open_page)
    [(local, remote, _state)] = await client.evaluate(UFRAGS_JS)

    # The client's network drops, and its browser restarts ICE meanwhile: that offer is lost.
    await client.evaluate(CUT_SIGNALING)
    await client.evaluate("() => [...window.__rapport.pcs.values()][0].restartIce()")
    await page_value(client, UFRAGS_JS, lambda pcs: pcs[0][2] == "have-local-offer")
    await client.evaluate(RESTORE_SIGNALING)

    # Back online, the offer is made again and answered: new ICE credentials on both sides.
    after = await page_value(
        client, UFRAGS_JS, lambda pcs: pcs[0][2] == "stable" and pcs[0][0] != local
    )
    assert after[0][1] != remote, "the therapist's side restarted ICE too"
    [(_, their_remote, _)] = await therapist.evaluate(UFRAGS_JS)
    assert their_remote == after[0][0]
    await frames_keep_coming(therapist)
    await frames_keep_coming(client)


#: What this tab keeps of the chat: every sessionStorage entry that is, or holds, a chat.
KEPT_CHAT_JS = """() => Object.entries(sessionStorage)
  .filter(([key, value]) => key.startsWith("rapport.chat.") || value.includes("Hello"))
  .map(([key]) => key)"""


async def test_chat_survives_a_refresh_and_ends_with_the_session(
    service: Service, open_page: OpenPage
) -> None:
    therapist, client, pid = await in_call(service, open_page)
    for sender, text in ((client, "Hello from Sam"), (therapist, "Hello Sam, welcome")):
        await sender.get_by_test_id("chat-input").fill(text)
        await sender.get_by_test_id("chat-send").click()
    for page in (client, therapist):
        await expect(page.get_by_test_id("chat-message")).to_have_count(2)

    # Each side refreshes in turn: the chat so far is still there, in order.
    for page in (client, therapist):
        await page.reload()
        await expect(page.get_by_test_id("remote-tile")).to_have_count(1)
        messages = page.get_by_test_id("chat-message")
        await expect(messages).to_have_count(2)
        await expect(messages.nth(0)).to_contain_text("Hello from Sam")
        await expect(messages.nth(1)).to_contain_text("Hello Sam, welcome")
    # ... kept by the tab, for this room and this participant only.
    assert await client.evaluate(KEPT_CHAT_JS) == [f"rapport.chat.demo.{pid}"]
    await expect(client.get_by_test_id("chat-message").nth(0)).to_contain_text("You")

    # The session ends: nothing of the chat is left in either tab.
    await therapist.get_by_test_id("end-session").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("closing")).to_be_visible()
    for page in (client, therapist):
        await page_value(page, KEPT_CHAT_JS, lambda kept: kept == [])
    await expect(therapist.get_by_test_id("chat-message")).to_have_count(0)
