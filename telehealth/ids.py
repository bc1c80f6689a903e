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


def device_participant_id(room: str, jti: str, secret_hash: str) -> str:
    """A second device of a session link: its own participant, named by the link and the hash
    of the device's resume secret, so that it resumes in its own place and nobody else's."""
    digest = hashlib.sha256(f"device\x00{room}\x00{jti}\x00{secret_hash}".encode()).hexdigest()
    return "c-" + digest[:16]


def resume_secret() -> str:
    """A device's resume secret: given once in ``welcome``, proved in ``auth`` on a resume."""
    return secrets.token_urlsafe(24)


def resume_hash(secret: str) -> str:
    """What presence keeps of a resume secret (which is random, so a plain hash will do)."""
    return hashlib.sha256(f"resume\x00{secret}".encode()).hexdigest()[:32]


def therapist_participant_id(room: str, subject: str) -> str:
    return "t-" + hashlib.sha256(f"therapist\x00{room}\x00{subject}".encode()).hexdigest()[:16]


def connection_id() -> str:
    return secrets.token_hex(6)
