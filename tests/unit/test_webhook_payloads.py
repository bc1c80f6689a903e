"""Webhooks without a network: each stream entry maps to its events (ids only), the backoff
grows with jitter, and the signature is the specification's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from typing import Any

import msgspec
import pytest
from standardwebhooks import Webhook as Verifier

from telehealth.rooms.events import (
    Actor,
    ActorRole,
    AuditAction,
    Audited,
    Record,
    RoomEvent,
    SessionMark,
    StoredEvent,
    StreamEntry,
    encode_entry,
)
from telehealth.rooms.states import Event, Reason, State
from telehealth.webhooks.delivery import BACKOFF_CAP_S, backoff
from telehealth.webhooks.payloads import translate
from telehealth.webhooks.sender import Sender

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
THERAPIST = Actor(role=ActorRole.THERAPIST, sub="dr-who", participant="t-1")


def stored(record: Record, seq: int, version: int = 7) -> StoredEvent:
    entry = StreamEntry(
        room="r1", version=version, at=1_764_400_000_123, node="n", record=record, seq=seq
    )
    body = encode_entry(entry)
    return StoredEvent(id=f"1764400000123-{seq}", entry=entry, hash="h", body=body)


def move(
    event: Event, from_: State, to: State, pid: str = "c-1", reason: Reason = Reason.NONE
) -> RoomEvent:
    return RoomEvent(
        participant=pid,
        event=event,
        from_state=from_,
        to_state=to,
        actor=THERAPIST,
        reason=reason,
        wait_ms=1500 if from_ is State.WAITING else None,
        link="jti-1" if pid.startswith("c-") else "",
    )


def events(*records: Record) -> list[tuple[str, dict[str, Any]]]:
    out = []
    before = None
    for seq, record in enumerate(records, 1):
        s = stored(record, seq)
        out += [(h.type.value, json.loads(h.body)["data"]) for h in translate(s, before)]
        before = s
    return out


def test_each_move_of_a_client_is_one_event_with_ids_only() -> None:
    W, A, L = State.WAITING, State.ADMITTED, State.LEFT
    got = events(
        move(Event.JOIN, State.NEW, State.PRESENT, pid="t-1"),  # the therapist: nothing
        move(Event.JOIN, State.NEW, W),
        move(Event.DROP, W, W),  # a blip: nothing
        move(Event.RESUME, W, W),
        move(Event.ADMIT, W, A),
        SessionMark(started=True, actor=THERAPIST, participants=2),
        move(Event.SEND_BACK, A, W, reason=Reason.THERAPIST_LEFT),
        move(Event.LEAVE, W, L),
    )
    assert [t for t, _ in got] == [
        "participant.waiting",
        "participant.admitted",
        "session.started",
        "participant.waiting",
        "participant.left",
    ]
    waiting, admitted, started, back, left = (d for _, d in got)
    assert waiting == {
        "room": "r1",
        "sequence": 2,
        "version": 7,
        "at": 1_764_400_000_123,
        "participant": "c-1",
        "link": "jti-1",
        "reason": "joined",
    }
    assert admitted["wait_ms"] == 1500 and admitted["sequence"] == 5
    assert started["participants"] == 2 and "participant" not in started
    assert back["reason"] == "therapist_left"
    assert (left["reason"], left["from_state"], left["wait_ms"]) == ("left", "waiting", 1500)
    assert "dr-who" not in json.dumps(got)  # nobody's subject


@pytest.mark.parametrize(
    ("event", "reason", "expected"),
    [
        (Event.DENY, Reason.NONE, "denied"),
        (Event.REMOVE, Reason.NONE, "removed"),
        (Event.REMOVE, Reason.LINK_WITHDRAWN, "link_withdrawn"),
        (Event.END_SESSION, Reason.NONE, "session_ended"),
        (Event.EXPIRE, Reason.NONE, "expired"),
    ],
)
def test_why_a_client_left(event: Event, reason: Reason, expected: str) -> None:
    to = {Event.DENY: State.DENIED, Event.EXPIRE: State.EXPIRED}.get(event, State.REMOVED)
    [(kind, data)] = events(move(event, State.ADMITTED, to, reason=reason))
    assert (kind, data["reason"]) == ("participant.left", expected)


def test_a_room_ends_once_per_change_not_once_per_participant() -> None:
    end = Event.END_ROOM
    got = events(
        move(end, State.PRESENT, State.CLOSED, pid="t-1"),
        move(end, State.WAITING, State.CLOSED, pid="c-1"),
        move(end, State.ADMITTED, State.CLOSED, pid="c-2"),
    )
    assert [t for t, _ in got] == ["room.ended", "participant.left", "participant.left"]
    # The entry before is what tells: the second entry of the change on its own (a page or a
    # claim that starts there) does not end the room again.
    first = stored(move(end, State.PRESENT, State.CLOSED, pid="t-1"), 1)
    second = stored(move(end, State.WAITING, State.CLOSED, pid="c-1"), 2)
    assert [h.type.value for h in translate(second, first)] == ["participant.left"]
    other_change = stored(move(end, State.WAITING, State.CLOSED, pid="c-1"), 2, version=8)
    assert [h.type.value for h in translate(other_change, first)] == [
        "room.ended",
        "participant.left",
    ]


def test_a_withdrawn_link_is_an_event_and_other_audited_actions_are_not() -> None:
    withdrawn = Audited(
        action=AuditAction.LINK_WITHDRAWN, actor=THERAPIST, participant="c-1", link="jti-1"
    )
    viewed = Audited(action=AuditAction.ROOM_VIEWED, actor=THERAPIST)
    got = events(viewed, withdrawn)
    assert [t for t, _ in got] == ["link.withdrawn"]
    assert got[0][1]["link"] == "jti-1" and got[0][1]["participant"] == "c-1"


def test_the_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    for attempt, full in [(1, 5.0), (2, 10.0), (3, 20.0), (9, 1280.0), (40, BACKOFF_CAP_S)]:
        delays = [backoff(attempt, 5.0, rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1


def test_the_signature_is_the_specification_s() -> None:
    [hook] = translate(stored(move(Event.JOIN, State.NEW, State.WAITING), 1))
    headers = Sender("http://127.0.0.1:9/", SECRET, 1.0).headers(hook, now=1_764_400_000)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{hook.id}.1764400000.".encode() + hook.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert headers["webhook-id"] == hook.id and headers["webhook-timestamp"] == "1764400000"
    fresh = Sender("http://127.0.0.1:9/", SECRET, 1.0).headers(hook)
    Verifier(SECRET).verify(hook.body, fresh)  # and the package's own check agrees


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (AuditAction.ROOM_LINK_PUBLISHED, "room_link.published"),
        (AuditAction.ROOM_LINK_CHANGED, "room_link.changed"),
        (AuditAction.ROOM_LINK_REMOVED, "room_link.removed"),
        (AuditAction.ROOM_LINK_LOCKED, "room_link.locked"),
        (AuditAction.ROOM_LINK_UNLOCKED, "room_link.unlocked"),
    ],
)
def test_the_room_links_changes_are_events_with_ids_only(action: AuditAction, kind: str) -> None:
    [(type_, data)] = events(Audited(action=action, actor=THERAPIST))
    assert type_ == kind
    assert set(data) == {"room", "sequence", "version", "at"}  # never the slug, nor who


def test_a_visit_through_the_room_link_is_not_itself_an_event_but_its_join_says_via() -> None:
    visit = Audited(action=AuditAction.ROOM_LINK_VISIT, actor=THERAPIST, link="jti-9")
    assert events(visit) == []
    joined = msgspec.structs.replace(
        move(Event.JOIN, State.NEW, State.WAITING), actor=THERAPIST, via="room_link"
    )
    [(type_, data)] = events(joined)
    assert (type_, data["via"], data["reason"]) == ("participant.waiting", "room_link", "joined")
    [(_, plain)] = events(move(Event.JOIN, State.NEW, State.WAITING))
    assert "via" not in plain
