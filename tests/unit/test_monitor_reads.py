"""What the monitor reads back from the rooms' streams: a room's timeline, a page at a time
(audit/timeline.py), and the chart's admitted waits across rooms, within bounds
(audit/waits.py). Ids only, never a name."""

from __future__ import annotations

import time

import msgspec
import pytest

from signaling.errors import Code, RapportError
from telehealth.audit.timeline import check_after, read_timeline
from telehealth.audit.trail import AuditTrail
from telehealth.audit.waits import admitted_waits
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import Actor, ActorRole, AuditAction
from telehealth.rooms.hub import Hub
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Role
from telehealth.routing.local import LocalRouter

T = Actor(role=ActorRole.THERAPIST, sub="dr-1", participant="t-1")
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")
SOON = int(time.time() * 1000) + 3_600_000


async def visit(presence: MemoryPresence, name: str) -> None:
    """The therapist arrives, a client joins and is admitted."""
    service = RoomService(presence, LocalRouter(), Hub(show_position=False), RoomRules("n-1"))
    client = Actor(role=ActorRole.CLIENT, sub="link-1", participant="c-1")
    await service.join(name, T, Role.THERAPIST, "Dr Who", conn="ct")
    await service.join(name, client, Role.CLIENT, "Ada Lovelace", conn="cc")
    await service.admit(name, T, ["c-1"])


async def test_a_timeline_reads_the_stream_a_page_at_a_time() -> None:
    presence = MemoryPresence()
    await visit(presence, "r1")
    await AuditTrail(presence, "n-1").record(AuditAction.ROOM_VIEWED, ADMIN, room="r1")

    first = await read_timeline(presence, "r1", since_ms=0, until_ms=SOON, limit=2)
    assert [e.action for e in first.entries] == ["participant.joined", "participant.joined"]
    assert first.next == first.entries[-1].id
    rest = await read_timeline(
        presence, "r1", since_ms=0, until_ms=SOON, after=first.next, limit=10
    )
    assert rest.next is None
    admit, mark, viewed = rest.entries
    assert (admit.action, admit.actor_role, admit.participant) == (
        "participant.admitted",
        "therapist",
        "c-1",
    )
    assert (admit.from_state, admit.to_state, admit.outcome) == ("waiting", "admitted", "success")
    assert admit.wait_s is not None and admit.wait_s >= 0
    assert mark.action == "session.started" and mark.participant == ""
    assert (viewed.action, viewed.actor_role) == ("rapport.room_viewed", "admin")
    encoded = msgspec.json.encode(first) + msgspec.json.encode(rest)
    assert b"Ada" not in encoded and b"Dr Who" not in encoded


@pytest.mark.parametrize("after", ["", "abc", "1-", "-1", "1-2-3", "1 -2", "9" * 30 + "-0"])
def test_a_timeline_page_starts_only_after_a_stream_id(after: str) -> None:
    with pytest.raises(RapportError) as caught:
        check_after(after)
    assert caught.value.code is Code.INVALID_MESSAGE


async def test_admitted_waits_across_rooms_within_bounds() -> None:
    presence = MemoryPresence()
    for name in ("r1", "r2"):
        await visit(presence, name)
    # An action of no room (the practice's stream) is not a room to read.
    await AuditTrail(presence, "n-1").record(AuditAction.ROOM_VIEWED, ADMIN)

    found = await admitted_waits(presence, since_ms=0, until_ms=SOON)
    assert [w.room for w in found.admitted] == ["r1", "r2"]
    assert all(w.wait_s >= 0 for w in found.admitted)
    assert not found.truncated
    assert "Ada" not in msgspec.json.encode(found).decode()

    fewer_rooms = await admitted_waits(presence, since_ms=0, until_ms=SOON, max_rooms=1)
    assert [w.room for w in fewer_rooms.admitted] == ["r1"] and fewer_rooms.truncated
    short = await admitted_waits(presence, since_ms=0, until_ms=SOON, per_room=2)
    assert short.admitted == [] and short.truncated  # the admits come after two joins
    later = await admitted_waits(presence, since_ms=SOON, until_ms=SOON + 1)
    assert later.admitted == [] and not later.truncated
