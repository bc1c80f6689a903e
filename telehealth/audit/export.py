"""Reading the audit trail back: a time range over one room or all, paged by an opaque cursor,
and the check of each room's hash chain."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from signaling.errors import Code, RapportError
from telehealth.audit.trail import PRACTICE
from telehealth.auth.principal import is_room_id
from telehealth.rooms.events import StoredEvent, digest
from telehealth.rooms.ports import PresenceStore

MAX_RANGE_MS = 31 * 24 * 3600 * 1000  # one query covers at most this much time
DEFAULT_SPAN_MS = 24 * 3600 * 1000  # without since: the last day
PAGE = 500


# Stream ids are milliseconds since 1970 (unsigned): times outside these bounds, infinities and
# NaN are refused here rather than reaching the store as an id it cannot read.
LATEST_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def parse_time(value: str) -> int:
    """Epoch seconds or an ISO 8601 time (with a zone, or UTC) as epoch milliseconds."""
    text = value.strip()
    ms: float | None = None
    with contextlib.suppress(ValueError):
        ms = float(text) * 1000
    if ms is None:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RapportError(
                Code.INVALID_MESSAGE, f"{value!r} is neither epoch seconds nor an ISO 8601 time."
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        ms = when.timestamp() * 1000
    if not 0 <= ms <= LATEST_MS:  # NaN fails this too
        raise RapportError(Code.INVALID_MESSAGE, "A time must be from 1970 to the year 9999.")
    return int(ms)


def query_range(since: str | None, until: str | None, now_ms: int) -> tuple[int, int]:
    """The span a query asks for, in epoch ms: ``until`` defaults to now, ``since`` to a day
    before ``until``."""
    end = parse_time(until) if until is not None else now_ms
    start = parse_time(since) if since is not None else end - DEFAULT_SPAN_MS
    return start, end


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    room: str  # the room the page stopped in
    after: str  # the last stream id handed out in that room
    since: int
    until: int
    only: str  # the room asked for, or "" for all


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.msgpack.encode(cursor)).decode().rstrip("=")


def decode_cursor(raw: str) -> Cursor:
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        cursor = msgspec.msgpack.decode(data, type=Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        cursor = None
    # A cursor is opaque but not trusted: what it carries goes into stream ids and keys.
    if (
        cursor is None
        or not (cursor.room == PRACTICE or is_room_id(cursor.room))
        or not (cursor.only == "" or cursor.only == PRACTICE or is_room_id(cursor.only))
        or _STREAM_ID.fullmatch(cursor.after) is None
        or not 0 <= cursor.since <= LATEST_MS
        or not 0 <= cursor.until <= LATEST_MS
    ):
        raise RapportError(Code.INVALID_MESSAGE, "The cursor is not one this API gave.")
    return cursor


@dataclass(frozen=True)
class Page:
    entries: list[StoredEvent]
    cursor: str | None  # where the next page starts; None at the end


def check_range(since_ms: int, until_ms: int) -> None:
    if until_ms < since_ms:
        raise RapportError(Code.INVALID_MESSAGE, "until is before since.")
    if until_ms - since_ms > MAX_RANGE_MS:
        raise RapportError(
            Code.INVALID_MESSAGE, "The range is too large: ask for at most 31 days at a time."
        )


async def read_page(
    presence: PresenceStore,
    *,
    room: str | None,
    since_ms: int,
    until_ms: int,
    cursor: Cursor | None = None,
    limit: int = PAGE,
) -> Page:
    """Up to ``limit`` entries from ``since_ms`` to ``until_ms``, room by room in name order
    (each room's entries in stream order), starting where ``cursor`` stopped."""
    if cursor is not None:
        room, since_ms, until_ms = cursor.only or None, cursor.since, cursor.until
    check_range(since_ms, until_ms)
    rooms = [room] if room else await presence.event_rooms(since_ms)
    if cursor is not None:
        rooms = [r for r in rooms if r >= cursor.room]
    entries: list[StoredEvent] = []
    for name in rooms:
        after = cursor.after if cursor is not None and name == cursor.room else ""
        got = await presence.events(
            name, after=after, since_ms=since_ms, until_ms=until_ms, limit=limit - len(entries)
        )
        entries += got
        if len(entries) >= limit:
            last = entries[-1]
            next_cursor = Cursor(last.room, last.id, since_ms, until_ms, room or "")
            return Page(entries, encode_cursor(next_cursor))
    return Page(entries, None)


@dataclass(frozen=True)
class ChainReport:
    room: str
    entries: int
    problems: list[str]


def check_chain(room: str, entries: list[StoredEvent]) -> ChainReport:
    """Each entry's hash must be the SHA-256 of its body, and each body must name the hash of
    the entry before it. The first entry's ``prev`` is taken as given: entries before it were
    trimmed by retention (an export is how a practice keeps them longer)."""
    problems = []
    prev: str | None = None
    for stored in entries:
        if digest(stored.body) != stored.hash:
            problems.append(f"{stored.id}: the entry does not match its hash (edited)")
        if prev is not None and stored.entry.prev != prev:
            problems.append(f"{stored.id}: the chain is broken before it (removed or reordered)")
        prev = stored.hash
    return ChainReport(room, len(entries), problems)


async def verify(presence: PresenceStore, room: str | None = None) -> list[ChainReport]:
    rooms = [room] if room else await presence.event_rooms(0)
    reports = []
    for name in rooms:
        entries: list[StoredEvent] = []
        after = ""
        while True:
            page = await presence.events(name, after=after, limit=PAGE)
            entries += page
            if len(page) < PAGE:
                break
            after = page[-1].id
        reports.append(check_chain(name, entries))
    return reports
