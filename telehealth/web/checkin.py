"""A client's check-in: the consent they accepted and the emergency information they gave.

``GET /api/checkin`` tells the page, before it authenticates, which consent text to show (and
its version) and whether to ask for emergency information. The client's ``auth`` then carries
both; ``check_in`` checks them before the client joins. Emergency information is PHI: it goes
into the participant's record for the therapist's room view, and nowhere else (no log line,
audit entry, metric or webhook); the consent's version and time go into the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from aiohttp import web

from signaling import messages as m
from signaling.errors import Code, RapportError
from telehealth.config import Settings
from telehealth.rooms.events import Actor, AuditAction
from telehealth.web import keys


@dataclass(frozen=True)
class CheckIn:
    emergency: m.Emergency | None  # None: not given, or not asked by this deployment
    consent: str | None  # the consent text's version the client accepted, when one is required


def check_in(settings: Settings, auth: m.Auth) -> CheckIn:
    """What a client's ``auth`` brings to check-in, checked: ``invalid_emergency`` for
    emergency fields out of bounds, ``consent_required`` for a missing or stale consent version
    while the deployment sets a consent text. Neither changes anything when it refuses."""
    emergency = m.check_emergency(auth.emergency) if settings.emergency_info else None
    version = settings.consent_version
    if version is not None and auth.consent != version:
        raise RapportError(Code.CONSENT_REQUIRED)
    return CheckIn(emergency=emergency, consent=version)


async def record_consent(app: web.Application, actor: Actor, room: str, version: str) -> None:
    """The consent a client accepted on joining, in the audit trail: its version (never the
    text) and, as the entry's time, when they joined with it."""
    await app[keys.AUDIT].record(
        AuditAction.CONSENT_GIVEN,
        actor,
        room=room,
        participant=actor.participant,
        consent=version,
    )


async def checkin_info(request: web.Request) -> web.Response:
    """``GET /api/checkin``: what the client's page asks at check-in (public: the same for
    every link of the deployment)."""
    settings = request.app[keys.SETTINGS]
    consent = (
        {"version": settings.consent_version, "text": settings.consent_text}
        if settings.consent_text is not None
        else None
    )
    body = {"consent": consent, "emergency_info": settings.emergency_info}
    return web.Response(body=msgspec.json.encode(body), content_type="application/json")
