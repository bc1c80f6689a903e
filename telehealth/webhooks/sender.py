"""One attempt to deliver one webhook: sign it per Standard Webhooks, POST it, read the status.

Headers: ``webhook-id`` (the event's id, the same on every attempt), ``webhook-timestamp``
(this attempt's time, epoch seconds) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256
of ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of the ``whsec_`` secret,
computed by the ``standardwebhooks`` package). Redirects are not followed and the answer's body
is not read: only its status counts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook as Signer

from telehealth.webhooks.payloads import Webhook

USER_AGENT = "Rapport-Webhooks/1"
CONNECTIONS = 8  # requests in flight at once, per node
TIMEOUT = "timeout"
CONNECTION = "connection"  # refused, reset, closed before an answer, DNS, TLS


@dataclass(frozen=True)
class Attempt:
    """How one attempt went: the answer's status, or 0 and what went wrong instead."""

    status: int = 0
    error: str = ""
    retry_after: float | None = None  # the receiver's Retry-After, in seconds

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        """A refusal that a retry would get again: a 4xx other than 408 and 429."""
        return 400 <= self.status < 500 and self.status not in (408, 429)

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status else self.error


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # an HTTP date is not worth the parsing: the backoff takes over
    return float(value.strip())


class Sender:
    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self._url = url
        self._signer = Signer(secret)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Requests wait for a slot here, not in the connector: waiting must not count against
        # the request's own timeout.
        self._slots = asyncio.Semaphore(CONNECTIONS)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
            )
        return self._session

    def headers(self, hook: Webhook, now: float | None = None) -> dict[str, str]:
        seconds = int(time.time() if now is None else now)
        signed_at = datetime.fromtimestamp(seconds, UTC)
        return {
            "webhook-id": hook.id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": self._signer.sign(hook.id, signed_at, hook.body),
            "Content-Type": "application/json",
        }

    async def send(self, hook: Webhook) -> Attempt:
        async with self._slots:
            try:
                async with self._client().post(
                    self._url,
                    data=hook.body,
                    headers=self.headers(hook),
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as resp:
                    return Attempt(
                        resp.status, retry_after=_retry_after(resp.headers.get("Retry-After"))
                    )
            except TimeoutError:
                return Attempt(error=TIMEOUT)
            except (aiohttp.ClientError, OSError):
                return Attempt(error=CONNECTION)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
