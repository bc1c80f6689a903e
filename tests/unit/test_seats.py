"""Seats and devices in the room domain (rooms/seats.py, RoomService.join_client) on
MemoryPresence: which seat a claim takes, and what admitting, denying and withdrawing do to a
link's devices. The same over real sockets: tests/e2e/test_seats.py."""

from __future__ import annotations

import pytest

from signaling.errors import Code, RapportError
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import Actor, ActorRole, RoomChange
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Snapshot
from telehealth.rooms.seats import SeatClaim
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Event, Reason, Role, State
from telehealth.routing.local import LocalRouter

ROOM = "room-seats"
LINK = "jti-1"
T = Actor(role=ActorRole.THERAPIST, sub="dr-1", participant="t-1")
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")


def claim(presented: str = "", fresh: str = "h-fresh", single: bool = False) -> SeatClaim:
    return SeatClaim(
        link=LINK,
        primary="c-link",
        device_id=lambda secret_hash: f"c-dev-{secret_hash}",
        presented=presented,
        fresh=fresh,
        single_device=single,
    )


@pytest.fixture
def service() -> RoomService:
    return RoomService(
        MemoryPresence(), LocalRouter(), Hub(show_position=False), RoomRules(node_id="n-1")
    )


async def seat(service: RoomService, c: SeatClaim, conn: str = "conn") -> tuple[str, bool]:
    actor = Actor(role=ActorRole.CLIENT, sub="link-sub")
    joined, chosen = await service.join_client(ROOM, actor, "Alex", conn, c)
    assert joined.participant.id == chosen.participant
    return chosen.participant, joined.resumed


async def room(service: RoomService) -> Snapshot:
    return await service.presence.load(ROOM)


async def test_the_first_device_takes_the_link_and_its_secret_resumes_it(
    service: RoomService,
) -> None:
    assert await seat(service, claim(fresh="h-1")) == ("c-link", False)
    assert (await room(service)).participants["c-link"].secret == "h-1"
    assert await seat(service, claim(presented="h-1", fresh="h-x"), "conn-2") == ("c-link", True)
    assert (await room(service)).participants["c-link"].secret == "h-1"  # kept, not rotated


async def test_without_the_secret_a_seated_link_opens_a_second_device(
    service: RoomService,
) -> None:
    await seat(service, claim(fresh="h-1"))
    changes: list[RoomChange] = []

    def record(change: RoomChange) -> None:
        changes.append(change)

    service.listen(record)
    assert await seat(service, claim(presented="h-wrong", fresh="h-2"), "c2") == (
        "c-dev-h-2",
        False,
    )
    second = (await room(service)).participants["c-dev-h-2"]
    assert (second.state, second.second_device, second.link) == (State.WAITING, True, LINK)
    (event,) = changes[-1].events
    assert (event.event, event.reason) == (Event.JOIN, Reason.SECOND_DEVICE)
    first = (await room(service)).participants["c-link"]
    assert first.connected and first.conn == "conn"  # left alone
    # The second device resumes its own seat with its own secret.
    assert await seat(service, claim(presented="h-2", fresh="h-3"), "c3") == ("c-dev-h-2", True)


async def test_single_device_links_refuse_the_second_device(service: RoomService) -> None:
    await seat(service, claim(fresh="h-1"))
    before = await room(service)
    with pytest.raises(RapportError) as info:
        await seat(service, claim(fresh="h-2", single=True), "c2")
    assert info.value.code is Code.LINK_IN_USE
    assert await room(service) == before  # nothing committed
    assert await seat(service, claim(presented="h-1", single=True), "c3") == ("c-link", True)


async def test_a_free_seat_is_taken_by_a_device_without_the_secret(service: RoomService) -> None:
    await seat(service, claim(fresh="h-1"))
    await service.leave(ROOM, Actor(role=ActorRole.CLIENT, sub="x", participant="c-link"), "conn")
    assert await seat(service, claim(fresh="h-2"), "c2") == ("c-link", False)
    assert (await room(service)).participants["c-link"].secret == "h-2"


async def test_admitting_one_device_turns_the_others_away(service: RoomService) -> None:
    await service.join(ROOM, T, Role.THERAPIST, "Dr", "conn-t")
    await seat(service, claim(fresh="h-1"))
    await seat(service, claim(fresh="h-2"), "c2")
    before = await room(service)
    with pytest.raises(RapportError) as info:
        await service.admit(ROOM, T, ["c-link", "c-dev-h-2"])
    assert info.value.code is Code.INVALID_TRANSITION
    assert await room(service) == before
    after = await service.admit(ROOM, T, ["c-dev-h-2"])
    assert after.participants["c-dev-h-2"].state is State.ADMITTED
    assert after.participants["c-link"].state is State.REMOVED
    # The link's seat moved: the old device cannot come back, with or without its secret.
    for c in (claim(presented="h-1"), claim(fresh="h-9")):
        with pytest.raises(RapportError) as refused:
            await seat(service, c, "c3")
        assert refused.value.code is Code.REMOVED


async def test_a_withdrawn_link_takes_its_second_devices_with_it(service: RoomService) -> None:
    await seat(service, claim(fresh="h-1"))
    await seat(service, claim(fresh="h-2"), "c2")
    assert await service.withdraw(ROOM, "c-link", ADMIN)
    states = {p.id: p.state for p in (await room(service)).participants.values()}
    assert states == {"c-link": State.REMOVED, "c-dev-h-2": State.REMOVED}


async def test_one_link_has_at_most_three_devices(service: RoomService) -> None:
    for i in range(3):
        await seat(service, claim(fresh=f"h-{i}"), f"c{i}")
    with pytest.raises(RapportError) as info:
        await seat(service, claim(fresh="h-3"), "c3")
    assert info.value.code is Code.LINK_IN_USE
