"""A client's socket takes its seat: the resume secret it proves, or a fresh one.

The domain decides which seat (rooms/seats.py); this module makes the ids and the secret, which
the domain never sees (it keeps only the secret's hash).
"""

from __future__ import annotations

import logging
from functools import partial

import msgspec
from aiohttp import web

from signaling import messages as m
from telehealth.ids import (
    client_participant_id,
    device_participant_id,
    resume_hash,
    resume_secret,
)
from telehealth.rooms.seats import SeatClaim
from telehealth.rooms.service import Joined
from telehealth.web import keys
from telehealth.web.connection import Connection

log = logging.getLogger("telehealth.ws")


async def seat_client(
    app: web.Application,
    conn: Connection,
    name: str,
    link: str,
    auth: m.Auth,
    emergency: m.Emergency | None = None,
    ends_at: int = 0,
    via: str = "",
) -> tuple[Joined, str]:
    """Join ``conn`` as the client of session link ``link`` (which expires at ``ends_at``,
    ms: the appointment's end). Returns the join and the resume
    secret to hand this device (the one it proved, or a fresh one)."""
    assert conn.actor is not None
    room = conn.room
    fresh = resume_secret()
    claim = SeatClaim(
        link=link,
        primary=client_participant_id(room, link),
        device_id=partial(device_participant_id, room, link),
        presented=resume_hash(auth.resume) if auth.resume else "",
        fresh=resume_hash(fresh),
        single_device=app[keys.SETTINGS].single_device_links,
        ends_at=ends_at,
    )
    joined, seat = await app[keys.SERVICE].join_client(
        room, conn.actor, name, conn.conn_id, claim, auth.device, emergency, via
    )
    conn.participant_id = seat.participant
    conn.actor = msgspec.structs.replace(conn.actor, participant=seat.participant)
    if seat.second_device and not seat.proved:
        log.info("participant %s: a second device of a seated link", seat.participant)
    assert auth.resume is not None or not seat.proved
    return joined, auth.resume if seat.proved and auth.resume else fresh
