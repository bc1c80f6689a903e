"""The running-late notice and waiting clients' replies, below the socket: the codec's limits,
what each participant is shown, the decision (through the service on in-memory presence), the
on/off setting and the audit record's shape."""

from __future__ import annotations

import json

import pytest

from signaling.errors import Code, RapportError
from signaling.messages import MAX_REPLY, Reply, RunningLate, decode
from telehealth.audit.ecs import to_ecs
from telehealth.config import ConfigError, from_env
from telehealth.presence.memory import MemoryPresence
from telehealth.rooms.events import (
    Actor,
    ActorRole,
    AuditAction,
    Audited,
    StoredEvent,
    StreamEntry,
)
from telehealth.rooms.hub import Hub
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.service import RoomRules, RoomService
from telehealth.rooms.states import Role, State
from telehealth.rooms.views import views_for
from telehealth.routing.local import LocalRouter

ROOM = "room-late"
NOW_MS = 1_764_400_000_000


@pytest.mark.parametrize("minutes", [0, 1, 10, 120])
def test_running_late_takes_whole_minutes_up_to_two_hours(minutes: int) -> None:
    assert decode(json.dumps({"type": "running_late", "minutes": minutes})) == RunningLate(
        minutes=minutes
    )


@pytest.mark.parametrize("minutes", [-1, 121, 10.5, "10", True, None, 10**12])
def test_other_minutes_are_refused_with_a_code(minutes: object) -> None:
    with pytest.raises(RapportError) as info:
        decode(json.dumps({"type": "running_late", "minutes": minutes}))
    assert info.value.code is Code.INVALID_MESSAGE


def test_a_reply_is_short_text() -> None:
    assert decode(json.dumps({"type": "reply", "text": "x" * MAX_REPLY})) == Reply(
        text="x" * MAX_REPLY
    )
    for text in ("", " \n\t ", "x" * (MAX_REPLY + 1)):
        with pytest.raises(RapportError) as info:
            decode(json.dumps({"type": "reply", "text": text}))
        assert info.value.code is Code.INVALID_MESSAGE


def person(pid: str, role: Role, state: State, late_until: int = 0) -> Participant:
    return Participant(
        id=pid, role=role, state=state, name=pid, node="n-1", connected=True, late_until=late_until
    )


def test_a_waiting_client_sees_the_eta_and_an_admitted_one_does_not() -> None:
    eta_ms = NOW_MS + 600_000
    people = [
        person("t-1", Role.THERAPIST, State.PRESENT, late_until=eta_ms),
        person("c-wait", Role.CLIENT, State.WAITING),
        person("c-in", Role.CLIENT, State.ADMITTED),
    ]
    s = Snapshot(room=ROOM, version=3, participants={p.id: p for p in people})
    waiting = views_for(s, "c-wait", show_position=False)[0]
    admitted = views_for(s, "c-in", show_position=False)[0]
    therapist = views_for(s, "t-1", show_position=False)[0]
    assert getattr(waiting, "eta", None) == eta_ms / 1000
    assert getattr(admitted, "eta", "missing") is None
    assert getattr(therapist, "eta", None) == eta_ms / 1000  # the console shows its own notice


def test_no_eta_without_a_present_therapist() -> None:
    people = [
        person("t-1", Role.THERAPIST, State.LEFT, late_until=NOW_MS),
        person("c-wait", Role.CLIENT, State.WAITING),
    ]
    s = Snapshot(room=ROOM, version=3, participants={p.id: p for p in people})
    assert getattr(views_for(s, "c-wait", show_position=False)[0], "eta", "missing") is None


async def test_the_notice_is_set_cleared_and_ended_by_an_admit() -> None:
    clock = [NOW_MS]
    service = RoomService(
        MemoryPresence(),
        LocalRouter(),
        Hub(show_position=False),
        RoomRules(node_id="n-1"),
        clock=lambda: clock[0],
    )
    therapist = Actor(role=ActorRole.THERAPIST, sub="dr", participant="t-1")
    client = Actor(role=ActorRole.CLIENT, sub="link", participant="c-1")
    await service.join(ROOM, therapist, Role.THERAPIST, "Dr", "conn-t")
    await service.join(ROOM, client, Role.CLIENT, "Alex", "conn-c", link="jti-1")

    after = await service.running_late(ROOM, therapist, 10)
    assert after.therapist_eta() == NOW_MS + 600_000
    again = await service.running_late(ROOM, therapist, 10)  # the same ETA: nothing to commit
    assert again.version == after.version
    assert (await service.running_late(ROOM, therapist, 0)).therapist_eta() == 0

    await service.running_late(ROOM, therapist, 15)
    with pytest.raises(RapportError) as info:  # only the therapist
        await service.running_late(ROOM, client, 5)
    assert info.value.code is Code.FORBIDDEN
    assert (await service.presence.load(ROOM)).therapist_eta() == NOW_MS + 900_000
    admitted = await service.admit(ROOM, therapist, ["c-1"])
    assert admitted.therapist_eta() == 0


def test_replies_are_on_unless_turned_off() -> None:
    assert from_env({}).client_replies is True
    assert from_env({"TELEHEALTH_CLIENT_REPLIES": "off"}).client_replies is False
    assert from_env({"TELEHEALTH_CLIENT_REPLIES": "On"}).client_replies is True
    with pytest.raises(ConfigError, match="TELEHEALTH_CLIENT_REPLIES"):
        from_env({"TELEHEALTH_CLIENT_REPLIES": "sometimes"})


def test_the_audit_record_carries_the_minutes_and_no_text() -> None:
    record = Audited(
        action=AuditAction.RUNNING_LATE,
        actor=Actor(role=ActorRole.THERAPIST, sub="dr", participant="t-1"),
        participant="t-1",
        minutes=10,
    )
    assert "text" not in Audited.__struct_fields__  # nothing typed can be put in it
    stored = StoredEvent(
        id="1-0",
        entry=StreamEntry(room=ROOM, version=0, at=NOW_MS, node="n-1", record=record),
        hash="h",
        body=b"",
    )
    doc = to_ecs(stored)
    assert doc["event"]["action"] == "rapport.running_late"
    assert doc["rapport"]["minutes"] == 10
