"""Call quality on the node: a page's ``quality`` summary taken in (checked, graded, kept in
presence, counted in the metrics, a client's grade passed to their therapist), the listener
that forgets a participant's timeline when they leave the session, and the monitor's view of
a session's quality.

Who may send: a participant in the room's session, at most one summary per half interval per
socket (sooner is ``rate_limited``, nothing stored). The codec has refused impossible figures
before anything here runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import msgspec
from aiohttp import web

from signaling import messages as m
from signaling.errors import Code, RapportError
from telehealth.rooms.events import RoomChange
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.ports import PresenceUnavailable
from telehealth.rooms.quality import (
    KEEP,
    Level,
    QualitySample,
    grade,
    level_now,
    poor_now,
)
from telehealth.rooms.states import Role
from telehealth.web import keys
from telehealth.web.connection import Connection
from telehealth.web.tasks import spawn

log = logging.getLogger("telehealth.quality")

RECENT_ON_FEED = 30  # points per participant on the live feed (the REST timeline has all)
TTL_INTERVALS = 2 * KEEP  # a timeline nobody adds to is forgotten after this many intervals


def sample_of(message: m.Quality, at_ms: int) -> QualitySample:
    """The summary as stored, graded."""
    ungraded = QualitySample(
        at_ms=at_ms,
        level=Level.UNKNOWN,
        loss_pct=round(message.loss_pct, 2),
        rtt_ms=None if message.rtt_ms is None else round(message.rtt_ms, 1),
        jitter_ms=None if message.jitter_ms is None else round(message.jitter_ms, 1),
        bitrate_kbps=None if message.bitrate_kbps is None else round(message.bitrate_kbps),
        frames_decoded=message.frames_decoded,
        frames_dropped=message.frames_dropped,
        width=message.width,
        height=message.height,
        candidate=message.candidate,
    )
    return msgspec.structs.replace(ungraded, level=grade(ungraded))


async def accept_quality(app: web.Application, conn: Connection, message: m.Quality) -> None:
    """Take in one summary from ``conn``'s participant (see the module's docstring)."""
    settings = app[keys.SETTINGS]
    service = app[keys.SERVICE]
    await service.session_member(conn.room, conn.participant_id)  # else not_admitted
    now = time.monotonic()
    gap = settings.quality_interval / 2
    if now - conn.quality_at < gap:
        wait = math.ceil(gap - (now - conn.quality_at))
        raise RapportError(
            Code.RATE_LIMITED,
            f"Send a quality summary at most every {settings.quality_interval:g} s.",
            retry_after=wait,
        )
    sample = sample_of(message, int(time.time() * 1000))
    ttl_ms = int(TTL_INTERVALS * settings.quality_interval * 1000)
    await app[keys.PRESENCE].add_quality(
        conn.room, conn.participant_id, sample, keep=KEEP, ttl_ms=ttl_ms
    )
    conn.quality_at = now
    app[keys.METRICS].quality(sample)
    if conn.role is Role.CLIENT:
        verdict = m.PeerQuality(
            sender=conn.participant_id, level=sample.level.value, at=sample.at_ms / 1000
        )
        await service.to_therapist(conn.room, conn.participant_id, verdict)


class ForgetOnLeave:
    """A room-change listener: whoever was in the session before a change and is not after it
    (sent back, left, removed, expired; everyone when the session ends or the room closes) has
    their quality timeline deleted. Deleting is I/O, so it runs as a background task of the
    app; the timeline's TTL is the backstop."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def __call__(self, change: RoomChange) -> None:
        after = change.after.session
        gone = [pid for pid in change.before.session if pid not in after]
        if gone:
            spawn(self._app, self._forget(change.room, gone))

    async def _forget(self, room: str, pids: Sequence[str]) -> None:
        try:
            await self._app[keys.PRESENCE].forget_quality(room, pids)
        except PresenceUnavailable as exc:  # the TTL forgets them anyway
            log.warning("could not forget quality timelines in room %s (%s)", room, exc)

    def __repr__(self) -> str:
        return "ForgetOnLeave()"


def _point(s: QualitySample) -> m.QualityPoint:
    return m.QualityPoint(
        at=s.at_ms / 1000,
        level=s.level.value,
        rtt_ms=s.rtt_ms,
        loss_pct=s.loss_pct,
        jitter_ms=s.jitter_ms,
        bitrate_kbps=s.bitrate_kbps,
    )


def member_quality(
    p: Participant,
    samples: Sequence[QualitySample],
    now_ms: int,
    interval_s: float,
    recent: int = RECENT_ON_FEED,
) -> m.MemberQuality:
    """One participant's connection for the monitor: the grade now and the last ``recent``."""
    latest = samples[-1] if samples else None
    return m.MemberQuality(
        participant_id=p.id,
        role=p.role.value,
        level=level_now(samples, now_ms, interval_s).value,
        at=latest.at_ms / 1000 if latest else None,
        candidate=latest.candidate if latest else "unknown",
        frames_decoded=latest.frames_decoded if latest else 0,
        frames_dropped=latest.frames_dropped if latest else 0,
        width=latest.width if latest else 0,
        height=latest.height if latest else 0,
        recent=[_point(s) for s in samples[-recent:]],
    )


async def session_quality(
    app: web.Application, snapshot: Snapshot, *, recent: int = RECENT_ON_FEED
) -> tuple[list[m.MemberQuality], bool]:
    """Everyone in the session's quality, and whether the session has poor quality now."""
    members = snapshot.in_session()
    if not members:
        return [], False
    timelines = await app[keys.PRESENCE].quality(snapshot.room, [p.id for p in members])
    now_ms = int(time.time() * 1000)
    interval = app[keys.SETTINGS].quality_interval
    found = [member_quality(p, timelines.get(p.id, []), now_ms, interval, recent) for p in members]
    return found, poor_now(Level(q.level) for q in found)
