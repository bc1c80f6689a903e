"""Recording audited actions that are not moves of a participant."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telehealth.auth.principal import is_room_id
from telehealth.rooms.events import Actor, AuditAction, Audited, Outcome, StreamEntry
from telehealth.rooms.ports import PresenceStore, PresenceUnavailable

log = logging.getLogger("telehealth.audit")

# The stream of actions that belong to no room (a revocation by subject, a listing of every
# room, an export of the whole trail). Not a valid room id, so it never meets a real room.
PRACTICE = "~practice"


def _now_ms() -> int:
    return int(time.time() * 1000)


class AuditTrail:
    def __init__(
        self, presence: PresenceStore, node_id: str, clock: Callable[[], int] = _now_ms
    ) -> None:
        self.presence = presence
        self.node_id = node_id
        self.clock = clock

    async def record(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        room: str | None = None,
        outcome: Outcome = Outcome.SUCCESS,
        reason: str = "",
        participant: str = "",
        link: str = "",
        consent: str = "",
        minutes: int | None = None,
    ) -> bool:
        """Append one audited action to the room's stream (or the practice's, for none).
        False when presence is unreachable: the action is not held up by its audit line, and
        the warning says which action went unrecorded."""
        stream = room if room is not None and is_room_id(room) else PRACTICE
        entry = StreamEntry(
            room=stream,
            version=0,
            at=self.clock(),
            node=self.node_id,
            record=Audited(
                action=action,
                actor=actor,
                outcome=outcome,
                reason=reason,
                participant=participant,
                link=link,
                consent=consent,
                minutes=minutes,
            ),
        )
        try:
            await self.presence.append(stream, [entry])
        except PresenceUnavailable as exc:
            log.warning("audit: %s not recorded, presence unavailable (%s)", action.value, exc)
            return False
        return True
