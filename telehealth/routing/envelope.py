"""The cross-node envelope. Every envelope carries the sending node's id."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from telehealth.rooms.model import Participant


class Kind(StrEnum):
    SNAPSHOT = "snapshot"  # a room changed: here is its whole state at ``version``
    DELIVER = "deliver"  # hand ``data`` (an encoded outbound message) to local participants


class Audience(StrEnum):
    ANY = "any"
    SESSION = "session"  # sender and target must both be in the session
    WAITING = "waiting"  # target must be a waiting client


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    node: str
    kind: Kind
    room: str
    version: int = 0
    records: list[Participant] = []
    to: list[str] = []
    audience: Audience = Audience.ANY
    sender: str = ""
    data: bytes = b""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(raw: bytes) -> Envelope:
    return _decoder.decode(raw)
