"""The admin monitor's REST endpoints beside the live feed (web/admin.py): the chart of recent
waits, and one room's audit timeline.

Both are admin-only. Opening a room's timeline is an admin's view of that room, so each request
is audited as ``room_viewed``; the chart is not (it is refreshed every minute or so and carries
room ids and durations only, no participant), and opening the monitor is audited by its feed.
"""

from __future__ import annotations

import time

from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.audit import export as audit_export
from telehealth.audit import timeline, waits
from telehealth.auth.principal import Kind, is_room_id
from telehealth.rooms.events import AuditAction
from telehealth.rooms.quality import KEEP
from telehealth.web import keys

# Shared with the rest of the REST API: the bearer check, the JSON body, whole-number queries.
from telehealth.web.api import actor_of, int_param, json_response, principal_of
from telehealth.web.quality import session_quality

DEFAULT_SPAN_MIN = 60


def _only(request: web.Request, *known: str) -> None:
    unknown = set(request.query) - set(known)
    if unknown:
        raise RapportError(Code.UNKNOWN_FIELD, f"Unknown parameter: {sorted(unknown)[0]}.")


async def recent_waits(request: web.Request) -> web.Response:
    """``GET /api/monitor/waits?minutes=60``: admitted clients' waits over the last minutes."""
    await principal_of(request, Kind.ADMIN)
    _only(request, "minutes")
    minutes = int_param(
        request.query.get("minutes"), "minutes", 1, waits.MAX_SPAN_MIN, DEFAULT_SPAN_MIN
    )
    until = int(time.time() * 1000)
    found = await waits.admitted_waits(
        request.app[keys.PRESENCE], since_ms=until - minutes * 60_000, until_ms=until
    )
    return json_response(found)


async def room_timeline(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room}/timeline``: the room's events, oldest first, a page at a time."""
    principal = await principal_of(request, Kind.ADMIN)
    room = request.match_info["room"]
    if not is_room_id(room):
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    _only(request, "since", "until", "after", "limit")
    query = request.query
    limit = int_param(query.get("limit"), "limit", 1, timeline.MAX_LIMIT, timeline.DEFAULT_LIMIT)
    now = int(time.time() * 1000)
    since, until = audit_export.query_range(query.get("since"), query.get("until"), now)
    audit_export.check_range(since, until)
    after = timeline.check_after(query["after"]) if query.get("after") else ""
    page = await timeline.read_timeline(
        request.app[keys.PRESENCE], room, since_ms=since, until_ms=until, after=after, limit=limit
    )
    # Audited once the entries are in hand: what was shown, not what was asked for.
    await request.app[keys.AUDIT].record(AuditAction.ROOM_VIEWED, actor_of(principal), room=room)
    return json_response(page)


async def room_quality(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room}/quality``: the call quality of everyone in the room's session,
    each with their whole stored timeline (figures only). Not audited, like the chart: it
    holds no person's data, and the feed shows the same every two seconds."""
    await principal_of(request, Kind.ADMIN)
    room = request.match_info["room"]
    if not is_room_id(room):
        raise RapportError(Code.INVALID_MESSAGE, "room must be a room id.")
    _only(request)
    snapshot = await request.app[keys.PRESENCE].load(room)
    members, poor = await session_quality(request.app, snapshot, recent=KEEP)
    return json_response(
        {
            "room": room,
            "interval": request.app[keys.SETTINGS].quality_interval,
            "poor_quality": poor,
            "participants": members,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/monitor/waits", recent_waits)
    app.router.add_get("/api/rooms/{room}/quality", room_quality)
    app.router.add_get("/api/rooms/{room}/timeline", room_timeline)
