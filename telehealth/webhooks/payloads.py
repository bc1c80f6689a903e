"""Which stream entry is which webhook event, and the payload each one carries.

A payload has the Standard Webhooks shape ``{"type", "timestamp", "data"}``. ``data`` holds
ids, times and counts only: the room, the per-room ``sequence`` (StreamEntry.seq), the room
``version``, the participant's id and their session link's jti. Never a name, a text, a token,
an address, or who acted.

Only clients (the people with session links) have ``participant.*`` events: the therapist's
own comings and goings show as ``session.*`` and ``room.ended``. Drops and resumes (a socket
lost and found within the grace period) are not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from telehealth.audit.ecs import timestamp
from telehealth.rooms.events import (
    AuditAction,
    Audited,
    Outcome,
    RoomEvent,
    SessionMark,
    StoredEvent,
)
from telehealth.rooms.states import Event, Reason, State


class EventType(StrEnum):
    PARTICIPANT_WAITING = "participant.waiting"
    PARTICIPANT_ADMITTED = "participant.admitted"
    PARTICIPANT_LEFT = "participant.left"
    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    ROOM_ENDED = "room.ended"
    LINK_WITHDRAWN = "link.withdrawn"
    ROOM_LINK_PUBLISHED = "room_link.published"
    ROOM_LINK_CHANGED = "room_link.changed"
    ROOM_LINK_REMOVED = "room_link.removed"
    ROOM_LINK_LOCKED = "room_link.locked"
    ROOM_LINK_UNLOCKED = "room_link.unlocked"


# The room link's audited actions that are webhook events too (ids only: never the slug).
ROOM_LINK_EVENTS: dict[AuditAction, EventType] = {
    AuditAction.ROOM_LINK_PUBLISHED: EventType.ROOM_LINK_PUBLISHED,
    AuditAction.ROOM_LINK_CHANGED: EventType.ROOM_LINK_CHANGED,
    AuditAction.ROOM_LINK_REMOVED: EventType.ROOM_LINK_REMOVED,
    AuditAction.ROOM_LINK_LOCKED: EventType.ROOM_LINK_LOCKED,
    AuditAction.ROOM_LINK_UNLOCKED: EventType.ROOM_LINK_UNLOCKED,
}


# participant.left's reason, by the move that ended a client's stay.
LEFT_REASONS: dict[Event, str] = {
    Event.LEAVE: "left",
    Event.DENY: "denied",
    Event.REMOVE: "removed",
    Event.END_SESSION: "session_ended",
    Event.END_ROOM: "room_ended",
    Event.EXPIRE: "expired",  # away for longer than the grace period
}


@dataclass(frozen=True)
class Webhook:
    """One event to deliver. ``id`` is the ``webhook-id``: the same on every attempt and on
    every node, so a receiver can drop a second delivery of one event."""

    id: str
    type: EventType
    room: str
    sequence: int
    body: bytes  # the payload, exactly as signed and sent


def webhook_id(stored: StoredEvent, type_: EventType) -> str:
    return f"{stored.room}:{stored.id}:{type_.value}"


def _webhook(stored: StoredEvent, type_: EventType, **data: Any) -> Webhook:
    entry = stored.entry
    payload = {
        "type": type_.value,
        "timestamp": timestamp(entry.at),
        "data": {
            "room": entry.room,
            "sequence": entry.seq,
            "version": entry.version,
            "at": entry.at,
            **data,
        },
    }
    return Webhook(
        id=webhook_id(stored, type_),
        type=type_,
        room=entry.room,
        sequence=entry.seq,
        body=msgspec.json.encode(payload),
    )


def is_client_move(event: RoomEvent) -> bool:
    # The therapist is "present" in their room, and only the therapist ever is.
    return State.PRESENT not in (event.from_state, event.to_state)


def starts_room_end(stored: StoredEvent, before: StoredEvent | None) -> bool:
    """An END_ROOM change moves every active participant, one entry each: the room ended at
    the first of them, the one whose entry before is not part of the same change."""
    record = stored.entry.record
    if not isinstance(record, RoomEvent) or record.event is not Event.END_ROOM:
        return False
    if before is None or before.entry.seq != stored.entry.seq - 1:
        return True  # the entry before is gone (trimmed): count this one as the first
    previous = before.entry.record
    return not (
        isinstance(previous, RoomEvent)
        and previous.event is Event.END_ROOM
        and before.entry.version == stored.entry.version
    )


def needs_before(stored: StoredEvent) -> bool:
    """Whether :func:`translate` needs the entry before this one to tell its events."""
    record = stored.entry.record
    return isinstance(record, RoomEvent) and record.event is Event.END_ROOM


def translate(stored: StoredEvent, before: StoredEvent | None = None) -> list[Webhook]:
    """The webhook events of one stream entry, in the order to send them (often none).
    ``before`` is the room's entry just before it, where :func:`needs_before` says so."""
    record = stored.entry.record
    if isinstance(record, SessionMark):
        kind = EventType.SESSION_STARTED if record.started else EventType.SESSION_ENDED
        return [_webhook(stored, kind, participants=record.participants)]
    if isinstance(record, Audited):
        if record.action is AuditAction.LINK_WITHDRAWN and record.outcome is Outcome.SUCCESS:
            return [
                _webhook(
                    stored,
                    EventType.LINK_WITHDRAWN,
                    participant=record.participant,
                    link=record.link,
                )
            ]
        room_link = ROOM_LINK_EVENTS.get(record.action)
        if room_link is not None and record.outcome is Outcome.SUCCESS:
            return [_webhook(stored, room_link)]
        return []
    hooks = []
    if starts_room_end(stored, before):
        hooks.append(_webhook(stored, EventType.ROOM_ENDED))
    if is_client_move(record):
        hook = _client_move(stored, record)
        if hook is not None:
            hooks.append(hook)
    return hooks


def _client_move(stored: StoredEvent, move: RoomEvent) -> Webhook | None:
    who = {"participant": move.participant, "link": move.link}
    if move.to_state is State.WAITING and move.event in (Event.JOIN, Event.SEND_BACK):
        reason = "joined" if move.event is Event.JOIN else move.reason.value or "sent_back"
        via = {"via": move.via} if move.via else {}
        return _webhook(stored, EventType.PARTICIPANT_WAITING, **who, reason=reason, **via)
    if move.event is Event.ADMIT:
        return _webhook(stored, EventType.PARTICIPANT_ADMITTED, **who, wait_ms=move.wait_ms)
    left = LEFT_REASONS.get(move.event)
    if left is None:
        return None  # a drop or a resume: the client is still where they were
    if move.reason is Reason.LINK_WITHDRAWN:
        left = "link_withdrawn"
    extra: dict[str, Any] = {"reason": left, "from_state": move.from_state.value}
    if move.wait_ms is not None:
        extra["wait_ms"] = move.wait_ms
    return _webhook(stored, EventType.PARTICIPANT_LEFT, **who, **extra)
