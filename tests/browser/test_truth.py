"""What the client's page says is true (issue 12): the therapist's lost connection is not told
as a send-back, a withdrawn link is not told as a removal, and a link whose session ended says
so before anyone types. Each reason for being back in the waiting room or out of the room has
its own words; these tests read the words people see."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from rapport_sdk.rawsocket import RawSocket
from tests.e2e.conftest import join

from .conftest import ROOM, OpenPage, Service, StartService
from .helpers import admit, join_waiting_room, meet, open_console

pytestmark = pytest.mark.browser

SENT_BACK = "Your therapist has moved you back to the waiting room."
THERAPIST_LOST = "Your therapist's connection was lost, so you are back in the waiting room."
THERAPIST_LEFT = "Your therapist has left the session, so you are back in the waiting room."
NOT_ARRIVED = "Your therapist has not arrived yet."


async def api(service: Service, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST to the service as the room's therapist; the answer's JSON."""
    bearer = service.minter.mint_therapist("t1", [ROOM], 600)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{service.url}{path}", json=body, headers={"Authorization": f"Bearer {bearer}"}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


# -- defect 2: the therapist's browser closes ----------------------------------------------------


async def test_a_lost_therapist_is_not_told_as_a_send_back(
    start_service: StartService, open_page: OpenPage
) -> None:
    service = await start_service(grace=2.0)
    therapist, (alex, kim) = await meet(service, open_page, "Alex", "Kim")
    await admit(therapist, alex, "Alex")
    await therapist.close()  # the therapist's browser closes: no goodbye

    await expect(alex.get_by_test_id("waiting")).to_be_visible(timeout=30_000)
    status = alex.get_by_test_id("status")
    await expect(status).to_contain_text(THERAPIST_LOST)
    await expect(status).not_to_contain_text("moved you back")
    for page in (alex, kim):  # both know the therapist was here, and is gone for now
        line = page.get_by_test_id("therapist-status")
        await expect(line).to_have_attribute("data-state", "lost")
        await expect(line).to_contain_text("connection was lost")
        await expect(line).not_to_have_text(NOT_ARRIVED)
    await expect(kim.get_by_test_id("status")).not_to_contain_text("back in the waiting room")

    # The therapist comes back: ready again, and can let Alex in.
    again = await open_page(service.console_link(), label="therapist-again")
    await open_console(again)
    await expect(alex.get_by_test_id("therapist-status")).to_have_attribute("data-state", "ready")
    await admit(again, alex, "Alex")


async def test_sent_back_and_therapist_left_each_have_their_words(
    service: Service, open_page: OpenPage
) -> None:
    therapist = await open_page(service.console_link(rooms=[ROOM, "other"]), label="therapist")
    await therapist.get_by_test_id(f"pick-{ROOM}").click()
    await open_console(therapist)
    alex = await open_page(service.client_link(), label="Alex")
    await join_waiting_room(alex, "Alex")
    pid = await admit(therapist, alex, "Alex")

    await therapist.get_by_test_id(f"send-back-{pid}").click()
    await expect(alex.get_by_test_id("status")).to_have_text(SENT_BACK)
    await expect(alex.get_by_test_id("therapist-status")).to_have_attribute("data-state", "ready")

    await admit(therapist, alex, "Alex")
    await therapist.get_by_test_id("switch-room").click()  # the therapist leaves this room
    await expect(alex.get_by_test_id("status")).to_have_text(THERAPIST_LEFT)
    await expect(alex.get_by_test_id("therapist-status")).to_have_attribute("data-state", "left")


# -- defect 3: a link withdrawn while its client waits ------------------------------------------


async def test_a_link_withdrawn_while_waiting_says_withdrawn_not_removed(
    service: Service, open_page: OpenPage
) -> None:
    token = service.minter.mint_client(ROOM, ttl=600)
    client = await open_page(f"{service.url}/join#{token}", label="client")
    await join_waiting_room(client, "Alex")
    await api(service, "/api/session-links/revoke", {"token": token})
    error = client.get_by_test_id("error-page")
    await expect(error.locator("h1")).to_have_text("This link was withdrawn")
    await expect(error).not_to_contain_text("removed")


# -- defect 4: after "End session for all" -------------------------------------------------------


async def test_an_ended_session_link_says_so_before_anyone_types(
    service: Service, open_page: OpenPage
) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)
    token = service.minter.mint_client(ROOM, ttl=600)
    alex = await open_page(f"{service.url}/join#{token}", label="Alex")
    await join_waiting_room(alex, "Alex")
    await admit(therapist, alex, "Alex")

    await therapist.get_by_test_id("end-session").click()
    dialog = therapist.locator("dialog")
    await expect(dialog).to_contain_text("session links stop working")
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(alex.get_by_test_id("closing")).to_contain_text("Your session has ended")

    again = await open_page(f"{service.url}/join#{token}", label="Alex-again")
    error = again.get_by_test_id("error-page")
    await expect(error.locator("h1")).to_have_text("This session has ended")
    await expect(error).to_contain_text("no longer opens it")
    await expect(again.get_by_test_id("welcome")).to_be_hidden()
    await expect(again.get_by_test_id("name")).to_be_hidden()


# -- every closed link, before typing ------------------------------------------------------------


async def knock(service: Service, token: str, name: str) -> tuple[RawSocket, str]:
    """A client waiting with ``token`` over a raw socket: the socket and the participant id."""
    ws, welcome = await join(service.url + "/", "client", token, ROOM, name)
    return ws, str(welcome["participant_id"])


async def turned_away(service: Service, event: str) -> str:
    """A link whose client the therapist turned away (``deny`` or ``remove``) while waiting."""
    token = service.minter.mint_client(ROOM, ttl=600)
    bearer = service.minter.mint_therapist("t1", [ROOM], 600)
    therapist, _ = await join(service.url + "/", "therapist", bearer, ROOM)
    client, pid = await knock(service, token, "Robin")
    await therapist.until("room", lambda r: pid in [w["participant_id"] for w in r["waiting"]], 15)
    await therapist.send(type=event, participant_id=pid)
    await client.closed(timeout=15)
    await therapist.close()
    return token


async def room_closed(service: Service) -> str:
    token = service.minter.mint_client(ROOM, ttl=600)
    client, _ = await knock(service, token, "Robin")
    await api(service, f"/api/rooms/{ROOM}/end")
    await client.closed(timeout=15)
    return token


@pytest.mark.parametrize(
    ("reason", "heading"),
    [
        ("deny", "You were not admitted"),
        ("remove", "You were removed from the session"),
        ("room_ended", "This room has been closed"),
    ],
)
async def test_a_closed_link_is_told_apart_before_anyone_types(
    service: Service, open_page: OpenPage, reason: str, heading: str
) -> None:
    if reason == "room_ended":
        token = await room_closed(service)
    else:
        token = await turned_away(service, reason)
    page = await open_page(f"{service.url}/join#{token}", label=reason)
    await expect(page.get_by_test_id("error-page").locator("h1")).to_have_text(heading)
    await expect(page.get_by_test_id("welcome")).to_be_hidden()


async def test_a_room_closed_while_waiting_says_the_room_was_closed(
    service: Service, open_page: OpenPage
) -> None:
    client = await open_page(service.client_link(), label="client")
    await join_waiting_room(client, "Alex")
    await api(service, f"/api/rooms/{ROOM}/end")
    closing = client.get_by_test_id("closing")
    await expect(closing.locator("h1")).to_have_text("The room has been closed")
    await expect(closing).not_to_contain_text("Your session has ended")
