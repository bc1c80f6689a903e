"""Audit entries as Elastic Common Schema documents, one JSON object per line.

Elastic, OpenSearch and Splunk take these without a mapping: ``@timestamp``, ``event.*``,
``user.*`` and ``entity.target`` are ECS fields; what ECS has no field for is under ``rapport``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telehealth.rooms.events import Audited, Outcome, RoomEvent, SessionMark, StoredEvent
from telehealth.rooms.states import Event

ECS_VERSION = "8.11.0"

# Each move's ECS event.action: what happened, in the product's words.
MOVE_ACTIONS: dict[Event, str] = {
    Event.JOIN: "participant.joined",
    Event.ADMIT: "participant.admitted",
    Event.DENY: "participant.denied",
    Event.REMOVE: "participant.removed",
    Event.SEND_BACK: "participant.sent_back",
    Event.LEAVE: "participant.left",
    Event.END_SESSION: "participant.session_ended",
    Event.END_ROOM: "room.ended",
    Event.EXPIRE: "participant.grace_lapsed",
    Event.DROP: "participant.dropped",
    Event.RESUME: "participant.resumed",
}


def timestamp(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def to_ecs(stored: StoredEvent) -> dict[str, Any]:
    entry = stored.entry
    record = entry.record
    rapport: dict[str, Any] = {
        "room": entry.room,
        "node": entry.node,
        "stream_id": stored.id,
        "seq": entry.seq,
        "hash": stored.hash,
        "prev": entry.prev,
        "actor_role": record.actor.role.value,
    }
    if isinstance(record, RoomEvent):
        action = MOVE_ACTIONS[record.event]
        outcome = Outcome.SUCCESS.value
        reason = record.reason.value
        target = record.participant
        rapport.update(
            version=entry.version,
            from_state=record.from_state.value,
            to_state=record.to_state.value,
        )
        if record.wait_ms is not None:
            rapport["wait_ms"] = record.wait_ms
        if record.link:
            rapport["link"] = record.link
        if record.via:
            rapport["via"] = record.via  # came through the therapist's room link
        category = ["session"]
    elif isinstance(record, SessionMark):
        action = "session.started" if record.started else "session.ended"
        outcome = Outcome.SUCCESS.value
        reason = ""
        target = ""
        rapport.update(version=entry.version, participants=record.participants)
        category = ["session"]
    else:
        assert isinstance(record, Audited)
        action = f"rapport.{record.action.value}"
        outcome = record.outcome.value
        reason = record.reason
        target = record.participant
        if record.link:
            rapport["link"] = record.link
        if record.consent:
            rapport["consent_version"] = record.consent
        if record.minutes is not None:
            rapport["minutes"] = record.minutes
        category = ["iam"] if record.action.value.startswith(("token", "link")) else ["session"]
    doc: dict[str, Any] = {
        "@timestamp": timestamp(entry.at),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "id": f"{entry.room}/{stored.id}",
            "kind": "event",
            "category": category,
            "action": action,
            "outcome": outcome,
            "dataset": "rapport.audit",
        },
        "user": {"id": record.actor.sub, "roles": [record.actor.role.value]},
        "rapport": rapport,
    }
    if reason:
        doc["event"]["reason"] = reason
    if target:
        doc["entity"] = {"target": {"id": target, "type": "participant"}}
    return doc
