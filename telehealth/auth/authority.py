"""What a socket's token allows, and until when: the rules of "a session ends when its
authority ends", as pure functions of the clock (the sweep in ``telehealth.web.authority``
applies them).

- A therapist's or admin's socket closes when their token expires, after the leeway.
- A client's socket closes when their link expires (after the leeway), unless they are in the
  session: then it may run on for the overrun.
- Sockets are warned ahead of their close; a therapist's token is refreshed ahead of its expiry
  where the node can mint, and any staff token can be replaced over the socket (``reauth``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from telehealth.auth.principal import Kind, Principal, TherapistPrincipal
from telehealth.rooms.ports import Revocation

WARN_LEAD_MAX_S = 300.0  # warn at most five minutes ahead of the close
REFRESH_LEAD_MAX_S = 600.0  # refresh at most ten minutes ahead of the token's expiry
TURN_LEAD_MAX_S = 300.0  # fresh TURN credentials at most five minutes ahead of their expiry


@dataclass
class Authority:
    """One socket's token, as far as its lifetime goes; changed by a reauth or a refresh."""

    kind: Kind
    subject: str
    jti: str
    issued_at: float
    expires_at: float
    rooms: frozenset[str] = frozenset()
    warned_for: float = 0.0  # the close time the socket was last warned of
    refreshed_for: float = 0.0  # the expiry a refresh was last tried for
    turn_expires: float = math.inf  # when the TURN credentials handed out last expire

    @classmethod
    def of(cls, principal: Principal) -> Authority:
        rooms = principal.rooms if isinstance(principal, TherapistPrincipal) else frozenset()
        return cls(
            kind=principal.kind,
            subject=principal.subject,
            jti=principal.jti,
            issued_at=principal.issued_at,
            expires_at=principal.expires_at,
            rooms=rooms,
        )

    def may_renew_with(self, principal: Principal, room: str) -> bool:
        """A fresh token may replace this one: same kind, same subject, still for the room."""
        if principal.kind is not self.kind or principal.subject != self.subject:
            return False
        return not isinstance(principal, TherapistPrincipal) or room in principal.rooms

    def renew(self, principal: Principal) -> None:
        fresh = Authority.of(principal)
        self.jti, self.issued_at, self.expires_at = fresh.jti, fresh.issued_at, fresh.expires_at
        self.rooms = fresh.rooms

    @property
    def lifetime(self) -> float:
        return max(1.0, self.expires_at - self.issued_at)

    def closes_at(self, *, leeway: float, overrun: float, in_session: bool) -> float:
        if self.kind is Kind.CLIENT and in_session:
            return self.expires_at + overrun
        return self.expires_at + leeway

    def refresh_due(self, now: float) -> bool:
        """A therapist's token is refreshed once, half its life (at most ten minutes) ahead."""
        if self.kind is not Kind.THERAPIST or self.refreshed_for == self.expires_at:
            return False
        return now >= self.expires_at - min(REFRESH_LEAD_MAX_S, self.lifetime / 2)

    def warn_due(self, now: float, closes_at: float) -> bool:
        """Warned once per close time, a third of the way before it (at most five minutes)."""
        if self.warned_for == closes_at:
            return False
        span = max(1.0, closes_at - self.issued_at)
        return now >= closes_at - min(WARN_LEAD_MAX_S, span / 3)

    def turn_due(self, now: float, closes_at: float, turn_ttl: float) -> bool:
        """The TURN credentials end before the socket does, and soon."""
        if self.turn_expires >= closes_at:
            return False
        return now >= self.turn_expires - min(TURN_LEAD_MAX_S, turn_ttl / 4)

    def withdrawn_by(self, revocation: Revocation) -> bool:
        if revocation.jti:
            return revocation.jti == self.jti
        return revocation.subject == self.subject and self.issued_at * 1000 < revocation.cutoff_ms
