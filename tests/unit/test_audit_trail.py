"""The audit trail on the in-memory store: ECS documents, paging across rooms, the chain."""

from __future__ import annotations

import time

import msgspec
import pytest

from signaling.errors import Code, RapportError
from telehealth.audit.ecs import MOVE_ACTIONS, to_ecs
from telehealth.audit.export import check_chain, decode_cursor, parse_time, read_page, verify
from telehealth.audit.trail import PRACTICE, AuditTrail
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import Actor, ActorRole, AuditAction, Outcome
from telehealth.rooms.hub import Hub
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Event, Role
from telehealth.routing.local import LocalRouter

T = Actor(role=ActorRole.THERAPIST, sub="dr-1", participant="t-1")
C = Actor(role=ActorRole.CLIENT, sub="link-1", participant="c-1")
ADMIN = Actor(role=ActorRole.ADMIN, sub="admin-1")
SOON = int(time.time() * 1000) + 3_600_000
DAY_AGO = SOON - 25 * 3_600_000


async def visit(presence: MemoryPresence, room: str) -> None:
    service = RoomService(presence, LocalRouter(), Hub(show_position=False), RoomRules("n-1"))
    await service.join(room, T, Role.THERAPIST, "Dr Who", conn="ct")
    await service.join(room, C, Role.CLIENT, "Ada Lovelace", conn="cc")
    await service.admit(room, T, ["c-1"])


def test_every_event_has_an_ecs_action() -> None:
    assert set(MOVE_ACTIONS) == set(Event)


async def test_a_move_as_an_ecs_document() -> None:
    presence = MemoryPresence()
    await visit(presence, "r1")
    *_, admit, mark = await presence.events("r1")
    assert to_ecs(mark)["event"]["action"] == "session.started"
    assert to_ecs(mark)["rapport"]["participants"] == 2
    assert [e.entry.seq for e in await presence.events("r1")] == [1, 2, 3, 4]
    doc = to_ecs(admit)
    assert doc["event"]["action"] == "participant.admitted"
    assert doc["event"]["outcome"] == "success"
    assert doc["user"] == {"id": "dr-1", "roles": ["therapist"]}
    assert doc["entity"] == {"target": {"id": "c-1", "type": "participant"}}
    assert doc["rapport"]["from_state"] == "waiting" and doc["rapport"]["to_state"] == "admitted"
    assert doc["rapport"]["hash"] == admit.hash and doc["rapport"]["prev"] == admit.entry.prev
    encoded = msgspec.json.encode(doc)
    assert b"Ada" not in encoded and b"Dr Who" not in encoded


async def test_an_audited_action_lands_in_its_room_or_the_practice() -> None:
    presence = MemoryPresence()
    trail = AuditTrail(presence, "n-1")
    assert await trail.record(
        AuditAction.JOIN_REFUSED, C, room="r1", outcome=Outcome.FAILURE, reason="token_expired"
    )
    assert await trail.record(AuditAction.ROOM_VIEWED, ADMIN)
    assert await trail.record(AuditAction.ROOM_VIEWED, ADMIN, room="../not a room")
    doc = to_ecs((await presence.events("r1"))[0])
    assert (doc["event"]["action"], doc["event"]["outcome"], doc["event"]["reason"]) == (
        "rapport.join_refused",
        "failure",
        "token_expired",
    )
    assert len(await presence.events(PRACTICE)) == 2


async def test_pages_run_across_rooms_without_repeats() -> None:
    presence = MemoryPresence()
    for room in ("r1", "r2", "r3"):
        await visit(presence, room)
    everything = await read_page(presence, room=None, since_ms=DAY_AGO, until_ms=SOON)
    assert len(everything.entries) == 12 and everything.cursor is None
    seen = []
    page = await read_page(presence, room=None, since_ms=DAY_AGO, until_ms=SOON, limit=4)
    while True:
        seen += [(e.room, e.id) for e in page.entries]
        if page.cursor is None:
            break
        page = await read_page(
            presence, room=None, since_ms=0, until_ms=0, cursor=decode_cursor(page.cursor), limit=4
        )
    assert seen == [(e.room, e.id) for e in everything.entries]


def test_bad_queries_are_named_errors() -> None:
    for bad in ("tomorrow", "", "12:00"):
        with pytest.raises(RapportError) as err:
            parse_time(bad)
        assert err.value.code is Code.INVALID_MESSAGE
    assert parse_time("1700000000") == 1_700_000_000_000
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000_000
    with pytest.raises(RapportError):
        decode_cursor("AAAA")


async def test_the_chain_catches_an_edit_and_a_removal() -> None:
    presence = MemoryPresence()
    await visit(presence, "r1")
    entries = await presence.events("r1")
    assert check_chain("r1", entries).problems == []
    assert (await verify(presence))[0].problems == []
    edited = msgspec.structs.replace(entries[1], body=entries[1].body.replace(b"link-1", b"link-9"))
    report = check_chain("r1", [entries[0], edited, entries[2]])
    assert report.problems == [f"{edited.id}: the entry does not match its hash (edited)"]
    removed = check_chain("r1", [entries[0], entries[2]])
    assert removed.problems == [
        f"{entries[2].id}: the chain is broken before it (removed or reordered)"
    ]
