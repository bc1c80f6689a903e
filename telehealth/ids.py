"""Opaque ids. Logs carry these and nothing that names a person."""

from __future__ import annotations

import hashlib
import secrets


def new_node_id() -> str:
    return "n-" + secrets.token_hex(4)


def new_jti() -> str:
    return secrets.token_urlsafe(12)


def client_participant_id(room: str, jti: str) -> str:
    """The same session link always maps to the same participant, so a reconnect resumes."""
    return "c-" + hashlib.sha256(f"client\x00{room}\x00{jti}".encode()).hexdigest()[:16]


def therapist_participant_id(room: str, subject: str) -> str:
    return "t-" + hashlib.sha256(f"therapist\x00{room}\x00{subject}".encode()).hexdigest()[:16]


def connection_id() -> str:
    return secrets.token_hex(6)
