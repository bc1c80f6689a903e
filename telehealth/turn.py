"""ICE servers handed to browsers, with time-limited TURN credentials (coturn ``use-auth-secret``).

The TURN REST scheme: username = "<expiry epoch seconds>:<identity>", password =
base64(HMAC-SHA1(static-auth-secret, username)). coturn recomputes it, so nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from signaling.messages import IceServer, IceTransportPolicy
from telehealth.config import Settings


def turn_credentials(secret: str, identity: str, expires: int) -> tuple[str, str]:
    """The (username, credential) pair coturn accepts until ``expires`` (epoch seconds)."""
    # coturn splits the username at ':' to find the expiry, so the identity must not add one.
    if not identity or ":" in identity:
        raise ValueError("a TURN identity must be non-empty and must not contain ':'")
    username = f"{expires}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def turn_expiry(settings: Settings, now: float, authority_ends: float | None = None) -> int:
    """When TURN credentials handed out at ``now`` expire (epoch seconds): with the session's
    authority (the token's expiry plus the overrun), and never more than ``turn_ttl`` ahead;
    the socket hands out fresh ones before then if the session goes on (an ``ice_servers``
    message)."""
    expires = now + settings.turn_ttl
    if authority_ends is not None:
        expires = min(expires, authority_ends)
    return int(max(expires, now + 1))


def ice_transport_policy(settings: Settings) -> IceTransportPolicy:
    """The ``iceTransportPolicy`` every peer of this deployment uses (the ``welcome`` says it):
    "relay" in relay-only privacy mode, so that no peer learns another's IP address, as only
    the TURN server's relay addresses are ever offered; otherwise "all"."""
    return "relay" if settings.relay_only else "all"


def ice_servers(
    settings: Settings,
    identity: str,
    now: float | None = None,
    authority_ends: float | None = None,
) -> list[IceServer]:
    """STUN urls as one entry, TURN urls as another (with credentials when a secret is set).

    ``authority_ends`` (epoch seconds) bounds the credentials' life (see ``turn_expiry``)."""
    if settings.loopback:
        return []
    servers: list[IceServer] = []
    if settings.stun_urls:
        servers.append(IceServer(urls=list(settings.stun_urls)))
    # Without a secret there are no credentials, and browsers refuse a turn: URL without them
    # (InvalidAccessError), so TURN urls are handed out only with a secret.
    if settings.turn_urls and settings.turn_secret:
        expires = turn_expiry(settings, time.time() if now is None else now, authority_ends)
        username, credential = turn_credentials(settings.turn_secret, identity, expires)
        servers.append(
            IceServer(urls=list(settings.turn_urls), username=username, credential=credential)
        )
    return servers
