"""How long admitted clients waited, across rooms, over a recent span: the monitor's chart.

Read from the rooms' durable streams (every admit there carries its ``wait_ms``), so every node
draws the same chart. The monitor asks again every minute or so: the read is bounded in rooms
and in entries per room, and says when it stopped short, so a busy practice costs no more than
``MAX_ROOMS`` short reads.
"""

from __future__ import annotations

import msgspec

from telehealth.auth.principal import is_room_id
from telehealth.rooms.events import RoomEvent
from telehealth.rooms.ports import PresenceStore
from telehealth.rooms.states import Event

MAX_ROOMS = 100  # rooms read per request
PER_ROOM = 200  # stream entries read per room (joins, drops, views... not only admits)
MAX_SPAN_MIN = 180


class AdmittedWait(msgspec.Struct, frozen=True):
    at: float  # epoch seconds of the admit
    wait_s: float
    room: str


class Waits(msgspec.Struct, frozen=True):
    since: float
    until: float
    admitted: list[AdmittedWait]  # oldest admit first
    truncated: bool  # a room or the room count hit its bound: there may be more


async def admitted_waits(
    presence: PresenceStore,
    *,
    since_ms: int,
    until_ms: int,
    max_rooms: int = MAX_ROOMS,
    per_room: int = PER_ROOM,
) -> Waits:
    """Every admit from ``since_ms`` to ``until_ms`` with its wait, within the bounds."""
    # Audited actions that belong to no room (the practice's stream) are not room ids.
    rooms = [r for r in await presence.event_rooms(since_ms) if is_room_id(r)]
    truncated = len(rooms) > max_rooms
    admitted: list[AdmittedWait] = []
    for room in rooms[:max_rooms]:
        entries = await presence.events(room, since_ms=since_ms, until_ms=until_ms, limit=per_room)
        truncated = truncated or len(entries) >= per_room
        for stored in entries:
            record = stored.entry.record
            if (
                isinstance(record, RoomEvent)
                and record.event is Event.ADMIT
                and record.wait_ms is not None
            ):
                admitted.append(
                    AdmittedWait(
                        at=stored.at / 1000, wait_s=round(record.wait_ms / 1000, 1), room=room
                    )
                )
    admitted.sort(key=lambda w: (w.at, w.room))
    return Waits(
        since=since_ms / 1000, until=until_ms / 1000, admitted=admitted, truncated=truncated
    )
