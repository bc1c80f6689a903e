"""The Router protocol: send envelopes to other nodes, receive the ones addressed to this node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from telehealth.routing.envelope import Envelope

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]


class Router(Protocol):
    async def start(self, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler) -> None:
        """Begin receiving; ``on_reconnect`` runs after the transport comes back from an outage."""

    def send(self, nodes: Iterable[str], envelope: Envelope) -> None:
        """Queue ``envelope`` for each node (never this one); delivery is best effort."""

    async def close(self) -> None: ...
