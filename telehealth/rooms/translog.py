"""The transition log: a listener that writes one line per committed move between states.

It hears only committed changes, so a move that was refused (``room_full``) or decided again on
a compare-and-set retry never appears. Lines carry opaque ids and the actor's role only: a
staff subject can be an e-mail address, so it stays in the audit trail, out of the log.
"""

from __future__ import annotations

import logging

from telehealth.rooms.events import RoomChange

log = logging.getLogger("telehealth.rooms")


class TransitionLog:
    def __call__(self, change: RoomChange) -> None:
        for e in change.events:
            if e.from_state is not e.to_state:
                log.info(
                    "participant %s state %s -> %s (%s by %s%s) room %s v%d",
                    e.participant,
                    e.from_state.value,
                    e.to_state.value,
                    e.event.value,
                    e.actor.role.value,
                    f", {e.reason.value}" if e.reason else "",
                    change.room,
                    change.version,
                )

    def __repr__(self) -> str:
        return "TransitionLog()"
