"""At most so many ICE candidates per negotiation: a participant's budget towards each peer
starts again with each offer or answer it sends that peer."""

from __future__ import annotations

from signaling import messages as m
from signaling.errors import Code, RapportError


class CandidateBudget:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._sent: dict[str, int] = {}  # peer id -> candidates relayed since the last offer/answer

    def check(self, message: m.Inbound) -> None:
        """Before relaying: TOO_MANY_CANDIDATES for a candidate over the budget."""
        if isinstance(message, m.Candidate) and self._sent.get(message.to, 0) >= self._limit:
            raise RapportError(
                Code.TOO_MANY_CANDIDATES,
                f"At most {self._limit} candidates per offer and answer; "
                "send a new offer to start again.",
            )

    def relayed(self, message: m.Inbound) -> None:
        """After relaying (so only peers in the session are ever counted)."""
        if isinstance(message, m.Offer | m.Answer):
            self._sent.pop(message.to, None)
        elif isinstance(message, m.Candidate):
            self._sent[message.to] = self._sent.get(message.to, 0) + 1
