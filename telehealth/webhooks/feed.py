"""The webhook events read back from the streams, for a receiver that missed some.

The same events and payloads (and ``webhook-id``s) as the deliveries, whether or not they were
delivered: a time range over one room or all, room by room in name order, each room in stream
order, paged by the audit trail's opaque cursor (audit/export.py). A page reads up to ``limit``
stream entries, and not every entry is an event, so a page may hold fewer events, even none,
and still have a next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from telehealth.audit import export
from telehealth.presence.groups import id_before, stream_key
from telehealth.rooms.events import StoredEvent
from telehealth.rooms.ports import PresenceStore
from telehealth.webhooks.payloads import Webhook, translate


@dataclass(frozen=True)
class FeedPage:
    events: list[Webhook]
    cursor: str | None  # where the next page starts; None at the end


def _id_before(stream_id: str) -> str:
    ms, seq = stream_key(stream_id)
    return f"{ms}-{seq - 1}" if seq else id_before(ms)


async def read_feed(
    presence: PresenceStore,
    *,
    room: str | None,
    since_ms: int,
    until_ms: int,
    cursor: export.Cursor | None = None,
    limit: int = export.PAGE,
) -> FeedPage:
    page = await export.read_page(
        presence, room=room, since_ms=since_ms, until_ms=until_ms, cursor=cursor, limit=limit
    )
    before: StoredEvent | None = None
    if cursor is not None:
        # The entry the last page ended with: whether a room's end began there.
        at = await presence.events(cursor.room, after=_id_before(cursor.after), limit=1)
        before = at[0] if at and at[0].id == cursor.after else None
    events: list[Webhook] = []
    for stored in page.entries:
        if before is not None and before.room != stored.room:
            before = None
        events += translate(stored, before)
        before = stored
    return FeedPage(events, page.cursor)
