"""Delivering one webhook until it is delivered or dead-lettered, and the dead letters.

A failed attempt (a 5xx, 408 or 429, any other non-2xx but a 4xx, a timeout, a refused or reset
connection) is retried after an exponential backoff with jitter: ``backoff`` seconds, doubling
each time up to ``BACKOFF_CAP_S``, each delay between half and all of that (longer if the
receiver's ``Retry-After`` asks for it). Retries go on until ``retry_for`` after the change
itself; then the webhook becomes a dead letter. A 4xx other than 408 and 429 says the receiver
will never take it: dead-lettered at once. Dead letters are kept in a bounded list shared by
the nodes (the oldest dropped first); an admin lists them and replays them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import msgspec

from telehealth.rooms.ports import DeadLetters
from telehealth.webhooks.payloads import EventType, Webhook
from telehealth.webhooks.sender import Attempt, Sender

log = logging.getLogger("telehealth.webhooks")

BACKOFF_CAP_S = 1800.0  # at most half an hour between two attempts at one webhook


def now_ms() -> int:
    return int(time.time() * 1000)


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook that could not be delivered, with how its last attempt went."""

    id: str  # the webhook-id
    type: str
    room: str
    sequence: int
    attempts: int
    status: int  # the last answer's HTTP status; 0 when there was none
    error: str  # "timeout" or "connection" when there was no answer
    failed_at: int  # ms since the epoch
    payload: msgspec.Raw  # the body as it was sent

    def webhook(self) -> Webhook:
        return Webhook(
            id=self.id,
            type=EventType(self.type),
            room=self.room,
            sequence=self.sequence,
            body=bytes(self.payload),
        )


_letter_decoder = msgspec.json.Decoder(DeadLetter)


def backoff(attempt: int, base_s: float, rng: random.Random) -> float:
    """The delay after failed attempt number ``attempt`` (1, 2, ...): equal jitter over an
    exponential series, so retries of many webhooks do not all land at once."""
    delay: float = min(BACKOFF_CAP_S, base_s * 2.0 ** min(attempt - 1, 32))
    return delay / 2 + rng.uniform(0, delay / 2)


@dataclass(frozen=True)
class Replayed:
    delivered: list[str]
    failed: list[str]  # back in the list, with this attempt's outcome


class Deliverer:
    def __init__(
        self,
        sender: Sender,
        dead: DeadLetters,
        *,
        retry_for_ms: int,
        backoff_s: float,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.sender = sender
        self.dead = dead
        self.retry_for_ms = retry_for_ms
        self.backoff_s = backoff_s
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()

    async def deliver(self, hook: Webhook, at_ms: int) -> bool:
        """Send ``hook`` (of a change made at ``at_ms``) until it is delivered (True) or
        dead-lettered (False). Always tried at least once, however old the change."""
        deadline = at_ms + self.retry_for_ms
        attempt = 0
        while True:
            attempt += 1
            result = await self.sender.send(hook)
            if result.delivered:
                log.info(
                    "webhook %s delivered (HTTP %d, attempt %d)", hook.id, result.status, attempt
                )
                return True
            if result.permanent:
                break
            delay = backoff(attempt, self.backoff_s, self.rng)
            if result.retry_after is not None:
                delay = max(delay, min(result.retry_after, BACKOFF_CAP_S))
            if self.clock() + delay * 1000 > deadline:
                break
            log.info(
                "webhook %s failed (%s, attempt %d); retrying in %.1f s",
                hook.id,
                result.describe(),
                attempt,
                delay,
            )
            await self.sleep(delay)
        await self.bury(hook, attempt, result)
        return False

    async def bury(self, hook: Webhook, attempts: int, last: Attempt) -> None:
        letter = DeadLetter(
            id=hook.id,
            type=hook.type.value,
            room=hook.room,
            sequence=hook.sequence,
            attempts=attempts,
            status=last.status,
            error=last.error,
            failed_at=self.clock(),
            payload=msgspec.Raw(hook.body),
        )
        dropped = await self.dead.add(msgspec.json.encode(letter))
        log.warning(
            "webhook %s dead-lettered after %d attempt(s) (%s)", hook.id, attempts, last.describe()
        )
        if dropped:
            log.warning("webhook dead letters full: the oldest was dropped")

    async def dead_letters(self, limit: int) -> list[tuple[bytes, DeadLetter]]:
        """The newest ``limit`` dead letters, newest first, each with its stored bytes."""
        return [(raw, _letter_decoder.decode(raw)) for raw in await self.dead.list(limit)]

    async def replay(self, ids: Sequence[str] | None, limit: int) -> Replayed:
        """Send dead letters again, oldest first, one attempt each: those in ``ids``, or up to
        ``limit`` of them. The first that fails again goes back to the list, and the replay
        stops there, since the receiver is not back yet."""
        stored = await self.dead_letters(await self.dead.count())
        wanted = set(ids) if ids is not None else None
        chosen = [(raw, d) for raw, d in reversed(stored) if wanted is None or d.id in wanted]
        done = Replayed([], [])
        for raw, letter in chosen[:limit]:
            if not await self.dead.take(raw):
                continue  # someone else is replaying it
            result = await self.sender.send(letter.webhook())
            if result.delivered:
                log.info("webhook %s replayed (HTTP %d)", letter.id, result.status)
                done.delivered.append(letter.id)
                continue
            await self.bury(letter.webhook(), letter.attempts + 1, result)
            done.failed.append(letter.id)
            break
        return done
