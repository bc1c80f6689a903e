"""One room's timeline for the admin monitor: its stream, a page at a time, as rows a person
reads (when, what, to whom, by which role, how it ended).

Each row is cut from the entry's ECS document (audit/ecs.py), so the monitor and the export
name every action alike. Rows carry ids, states and codes only: never a name or a text.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from signaling.errors import Code, RapportError
from telehealth.audit.ecs import to_ecs
from telehealth.rooms.events import StoredEvent
from telehealth.rooms.ports import PresenceStore

DEFAULT_LIMIT = 200
MAX_LIMIT = 500
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


class TimelineEntry(msgspec.Struct, frozen=True):
    id: str  # the stream id: pass the last one as ``after`` for the next page
    at: float  # epoch seconds
    action: str  # ECS event.action: participant.admitted, session.started, rapport.room_viewed
    actor_role: str  # client, therapist, admin or system
    outcome: str  # success or failure
    participant: str = ""  # the participant moved or acted on, when there is one
    reason: str = ""  # why, where the action alone does not say (or an error code)
    from_state: str = ""
    to_state: str = ""
    wait_s: float | None = None  # for a move out of the waiting room


class Timeline(msgspec.Struct, frozen=True):
    room: str
    entries: list[TimelineEntry]  # oldest first
    next: str | None  # ``after`` for the next page; None at the end


def timeline_entry(stored: StoredEvent) -> TimelineEntry:
    doc = to_ecs(stored)
    event: dict[str, Any] = doc["event"]
    rapport: dict[str, Any] = doc["rapport"]
    wait_ms = rapport.get("wait_ms")
    return TimelineEntry(
        id=stored.id,
        at=stored.at / 1000,
        action=event["action"],
        actor_role=rapport["actor_role"],
        outcome=event["outcome"],
        participant=doc.get("entity", {}).get("target", {}).get("id", ""),
        reason=event.get("reason", ""),
        from_state=rapport.get("from_state", ""),
        to_state=rapport.get("to_state", ""),
        wait_s=None if wait_ms is None else round(wait_ms / 1000, 1),
    )


def check_after(after: str) -> str:
    """A stream id from an earlier page's ``next``; anything else is refused before it reaches
    the store (Redis would answer a malformed one with an error)."""
    if not _STREAM_ID.fullmatch(after):
        raise RapportError(Code.INVALID_MESSAGE, "after must be a stream id from next.")
    return after


async def read_timeline(
    presence: PresenceStore,
    room: str,
    *,
    since_ms: int,
    until_ms: int,
    after: str = "",
    limit: int = DEFAULT_LIMIT,
) -> Timeline:
    """Up to ``limit`` entries of ``room``'s stream from ``since_ms`` (or after the stream id
    ``after``) to ``until_ms``, oldest first."""
    got = await presence.events(
        room, after=after, since_ms=since_ms, until_ms=until_ms, limit=limit + 1
    )
    more = len(got) > limit
    page = got[:limit]
    return Timeline(
        room=room,
        entries=[timeline_entry(e) for e in page],
        next=page[-1].id if more else None,
    )
