"""The whole visit in real browsers, on one node and on two nodes sharing Redis.

The client checks their devices and waits; the therapist is alerted, sends a message and admits
them; both see each other's video; they chat both ways; a mute shows on the other side; the
therapist ends the session and the client sees the closing page. On two nodes the client's page
is served by node A and the therapist's by node B.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.conftest import RedisServer

from .conftest import ROOM, OpenPage, Service, StartService
from .helpers import (
    WATCH_ALERTS_JS,
    admit,
    frames_decoded,
    join_waiting_room,
    open_console,
    page_value,
    waiting_pid,
    welcome_to_devices,
)

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture(loop_scope="session", params=["one-node", "two-nodes"])
async def topology(request: pytest.FixtureRequest, start_service: StartService) -> Service:
    if request.param == "one-node":
        return await start_service()
    redis: RedisServer = request.getfixturevalue("redis_server")
    return await start_service(nodes=2, redis_url=redis.url)


async def test_full_visit(topology: Service, open_page: OpenPage) -> None:
    therapist_node = len(topology.nodes) - 1  # node B when there are two
    therapist = await open_page(
        topology.console_link(node=therapist_node),
        label="therapist",
        permissions=["notifications"],
        init_script=WATCH_ALERTS_JS,
    )
    await open_console(therapist)
    assert "#" not in therapist.url, "the token must leave the address bar"
    await therapist.evaluate("window.__inFront = false")  # working in another window

    # 1. The client opens the link, passes the device check and waits.
    client = await open_page(
        topology.client_link(node=0), label="client", init_script=WATCH_ALERTS_JS
    )
    assert "#" not in client.url
    await expect(client.get_by_test_id("consent-text")).not_to_be_empty()
    await welcome_to_devices(client, "Alex")
    await client.get_by_test_id("device-check").click()
    await expect(client.get_by_test_id("device-status")).to_contain_text("working")
    await expect(client.get_by_test_id("self-video")).to_be_visible()
    await expect(client.get_by_test_id("welcome-camera")).not_to_be_empty()
    await page_value(client, "document.getElementById('mic-level').value", lambda v: v > 0)
    await join_waiting_room(client, "Alex")
    await expect(client.get_by_test_id("therapist-status")).to_have_attribute("data-state", "ready")
    await expect(client.get_by_test_id("status")).not_to_be_empty()
    await expect(client.get_by_test_id("position")).to_be_hidden()  # off by default
    await expect(client).to_have_title("Waiting room — Rapport")

    # 2. The console shows them, with an alert: title count, sound, notice, screen reader.
    pid = await waiting_pid(therapist, "Alex")
    item = therapist.get_by_test_id(f"waiting-{pid}")
    await expect(item).to_contain_text("Camera working, microphone working")
    await expect(item).to_contain_text("Arrived just now")
    await expect(therapist).to_have_title("(1) Console — Rapport")
    await expect(therapist.get_by_test_id("announcer")).to_contain_text("Alex has arrived")
    await page_value(therapist, "window.__sounds", lambda n: n > 0)
    notices = await therapist.evaluate("window.__notices")
    assert notices and "Alex" not in str(notices), notices  # no names on a desktop notice

    # The admin monitor, on node A, sees the room across nodes.
    admin = await open_page(topology.admin_link(node=0), label="admin")
    row = admin.get_by_test_id(f"room-{ROOM}")
    await expect(row).to_contain_text("present")
    await expect(admin.get_by_test_id(f"waiting-{ROOM}")).to_have_text("1")
    for node in ("node-a", "node-b") if len(topology.nodes) > 1 else ():
        await expect(row).to_contain_text(node)
    await admin.close()

    # 3. A message reaches the waiting client.
    await therapist.get_by_test_id("message-all-input").fill("Running 5 minutes late")
    await therapist.get_by_test_id("message-all").click()
    await expect(client.get_by_test_id("messages")).to_contain_text("Running 5 minutes late")

    # 4. Admitted: a sound and a new tab title, and both decode the other's video.
    sounds_before = await client.evaluate("window.__sounds")
    await admit(therapist, client, "Alex")
    await expect(client).to_have_title("You're in — Rapport")
    await page_value(client, "window.__sounds", lambda n: n > sounds_before)
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_be_visible()
    await expect(therapist.locator('[data-testid^="waiting-c-"]')).to_have_count(0)
    assert await frames_decoded(client) > 0
    assert await frames_decoded(therapist) > 0
    await expect(client.get_by_test_id("remote-video")).to_have_count(1)
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(1)

    # 5. Chat both ways.
    await client.get_by_test_id("chat-input").fill("Hello there")
    await client.get_by_test_id("chat-send").click()
    await expect(therapist.get_by_test_id("chat-log")).to_contain_text("Hello there")
    await therapist.get_by_test_id("chat-input").fill("Hi Alex, good to see you")
    await therapist.get_by_test_id("chat-send").click()
    await expect(client.get_by_test_id("chat-log")).to_contain_text("good to see you")

    # 6. Muting, and the camera, show on the other side.
    remote_on_therapist = therapist.get_by_test_id("remote-tile")
    await client.get_by_test_id("mic").click()
    await expect(remote_on_therapist.get_by_test_id("muted-badge")).to_be_visible()
    await client.get_by_test_id("mic").click()
    await expect(remote_on_therapist.get_by_test_id("muted-badge")).to_be_hidden()
    await therapist.get_by_test_id("camera").click()
    await expect(client.get_by_test_id("remote-tile")).to_contain_text("Camera off")
    await therapist.get_by_test_id("camera").click()

    # 7. The therapist ends the session; the client sees the closing page.
    await therapist.get_by_test_id("end-session").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("closing")).to_be_visible()
    await expect(client.get_by_test_id("closing")).to_contain_text("Your session has ended")
    await expect(client).to_have_title("Session ended — Rapport")
    await expect(therapist.get_by_test_id("remote-video")).to_have_count(0)
    await expect(therapist.locator("#session-empty")).to_be_visible()
