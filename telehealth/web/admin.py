"""Admin monitoring: summaries of every active room across all nodes, as REST and a live feed."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import msgspec
from aiohttp import WSMsgType, web

from signaling import messages as m
from signaling.errors import Code, RapportError
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import State
from telehealth.web import keys
from telehealth.web.authority import reauth
from telehealth.web.connection import Connection
from telehealth.web.quality import session_quality

FEED_INTERVAL_S = 2.0


def _member(p: Participant) -> m.Member:
    return m.Member(
        participant_id=p.id,
        role=p.role.value,
        state=p.state.value,
        since=(p.queued_at if p.state is State.WAITING else p.since) / 1000,
        node=p.node,
        connected=p.connected,
    )


def therapist_presence(snapshot: Snapshot) -> Literal["present", "reconnecting", "absent"]:
    """The room's therapist as the monitor shows them: here and connected, here but dropped
    (within their grace period), or not here."""
    therapist = snapshot.therapist()
    if therapist is None:
        return "absent"
    return "present" if therapist.connected else "reconnecting"


def summarize(snapshot: Snapshot, now: float, *, wait_alert_s: float) -> m.RoomSummary:
    """The admin's view of one room at ``now`` (epoch seconds): ids and roles, never names.

    The room is in alert when a client has waited ``wait_alert_s`` or more and no therapist is
    connected in it: one who dropped cannot see the waiting room either."""
    waiting = snapshot.waiting()  # arrival order: the longest wait first
    therapist = snapshot.therapist()
    active = [p for p in snapshot.participants.values() if p.active]
    waits = [
        m.WaitingClient(
            participant_id=p.id,
            wait_s=round(max(0.0, now - p.queued_at / 1000), 1),
            connected=p.connected,
        )
        for p in waiting
    ]
    longest = max((w.wait_s for w in waits), default=0.0)
    presence = therapist_presence(snapshot)
    return m.RoomSummary(
        room=snapshot.room,
        therapist_present=therapist is not None,
        therapist_connected=bool(therapist and therapist.connected),
        waiting=len(waiting),
        longest_wait_s=longest,
        in_session=[_member(p) for p in snapshot.in_session()],
        participants=[_member(p) for p in sorted(active, key=lambda p: p.id)],
        nodes=sorted(snapshot.nodes()),
        therapist=presence,
        waiting_clients=waits,
        alert=bool(waits) and presence != "present" and longest >= wait_alert_s,
    )


async def room_summary(app: web.Application, snapshot: Snapshot, now: float) -> m.RoomSummary:
    """``summarize`` with the session's call quality from presence (web/quality.py)."""
    summary = summarize(snapshot, now, wait_alert_s=app[keys.SETTINGS].wait_alert)
    quality, poor = await session_quality(app, snapshot)
    return msgspec.structs.replace(summary, quality=quality, poor_quality=poor)


async def room_summaries(app: web.Application) -> list[m.RoomSummary]:
    now = time.time()
    snapshots = await app[keys.PRESENCE].rooms()
    summaries = [await room_summary(app, s, now) for s in snapshots]
    return sorted(summaries, key=lambda r: (-r.longest_wait_s, r.room))


async def admin_feed(app: web.Application, conn: Connection) -> None:
    """Push the rooms table every couple of seconds while reading (pings, and the close)."""
    ws = conn.ws
    loop = asyncio.get_running_loop()
    next_push = loop.time()
    while not ws.closed and conn.closing is None:
        if loop.time() >= next_push:  # on its own clock: pings do not make extra queries
            rooms = await room_summaries(app)
            at = round(time.time(), 3)
            wait_alert_s = app[keys.SETTINGS].wait_alert
            conn.send(m.encode(m.AdminRooms(rooms=rooms, at=at, wait_alert_s=wait_alert_s)))
            next_push = loop.time() + FEED_INTERVAL_S
        try:  # (never a timeout of 0: aiohttp reads that as "none")
            msg = await ws.receive(timeout=max(0.01, next_push - loop.time()))
        except TimeoutError:
            continue
        if await conn.answer_control(msg):
            continue
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        try:
            message = m.decode(msg.data) if msg.type is WSMsgType.TEXT else None
            if isinstance(message, m.Ping):
                conn.send(m.encode(m.Pong(id=message.id)))
            elif isinstance(message, m.Reauth):
                await reauth(app, conn, message.token)
            else:
                raise RapportError(
                    Code.FORBIDDEN, "The admin feed only answers pings and reauth; use the API."
                )
        except RapportError as err:
            conn.send(m.encode(m.Error(code=err.code.value, message=err.message)))
