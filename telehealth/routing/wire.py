"""The bytes of a cross-node envelope on the wire between nodes (msgpack)."""

from __future__ import annotations

import msgspec

from telehealth.rooms.ports import Envelope

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(raw: bytes) -> Envelope:
    return _decoder.decode(raw)
