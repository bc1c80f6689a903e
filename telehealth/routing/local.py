"""Single-node routing: there is no other node to send to."""

from __future__ import annotations

from collections.abc import Iterable

from telehealth.rooms.ports import Envelope, EnvelopeHandler, ReconnectHandler


class LocalRouter:
    async def start(self, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler) -> None:
        return None

    def send(self, nodes: Iterable[str], envelope: Envelope) -> None:
        return None

    async def close(self) -> None:
        return None
