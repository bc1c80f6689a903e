"""Short links over HTTP: trading a code for its session link, and a room's list of links.

``POST /api/short-links/resolve`` is public, like a session link's status: the code is the
credential, sent in the body; each lookup counts as a connection attempt of the caller's address
(web/limiting.py), and only a well-formed code is looked up. ``GET /api/rooms/{room}/links``
lists the room's links for its therapist or an admin: ids and times only, never a name. The
handlers are in web/api.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth import links
from telehealth.rooms.ports import IssuedLink
from telehealth.web import keys

DAY_S = 24 * 3600


async def resolve(app: web.Application, code: str) -> str:
    """The session link token behind ``code``, or not_found: unknown, expired, withdrawn and
    malformed codes get the same answer, and a malformed one is never looked up."""
    token = await app[keys.PRESENCE].short_link(code) if links.is_code(code) else None
    if token is None:
        raise RapportError(Code.NOT_FOUND, "This link does not work.")
    return token


def since_param(query: Mapping[str, str]) -> float:
    """``?since=`` (epoch seconds, within a day or two of now), else a day ago."""
    unknown = set(query) - {"since"}
    if unknown:
        raise RapportError(Code.UNKNOWN_FIELD, f"Unknown parameter: {sorted(unknown)[0]}.")
    now = time.time()
    raw = query.get("since")
    if raw is None:
        return now - DAY_S
    try:
        since = float(raw)
    except ValueError:
        raise RapportError(Code.INVALID_MESSAGE, "since must be epoch seconds.") from None
    if not now - 2 * DAY_S <= since <= now + DAY_S:
        raise RapportError(Code.INVALID_MESSAGE, "since must be within two days before now.")
    return since


async def room_links(app: web.Application, room: str, since: float) -> list[dict[str, Any]]:
    """The room's links made at or after ``since``, oldest first, as the API shows them."""
    settings = app[keys.SETTINGS]

    def entry(link: IssuedLink) -> dict[str, Any]:
        return {
            "jti": link.jti,
            "short_url": links.short_url(settings, link.code) if link.code else None,
            "not_before": link.not_before / 1000,
            "expires_at": link.expires_at / 1000,
            "created_at": link.created_at / 1000,
            "withdrawn": bool(link.withdrawn_at),
            "starts_at": link.starts_at / 1000 if link.starts_at else None,
        }

    kept = await app[keys.PRESENCE].room_links(room)
    return [entry(link) for link in kept if link.created_at >= since * 1000]
