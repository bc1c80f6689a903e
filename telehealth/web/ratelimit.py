"""A token bucket per socket: bursts of signaling are fine, floods are refused."""

from __future__ import annotations

import time

# A call's setup is an offer, an answer and a few dozen candidates per peer; a person types and
# clicks far slower. These leave plenty of room for both.
RATE_PER_S = 50.0
BURST = 200.0


class TokenBucket:
    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float = RATE_PER_S, burst: float = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
