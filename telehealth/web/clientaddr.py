"""Who is asking, as far as limits need to know: the client's address, and opaque keys for it.

The address is the socket's peer, or the client named in ``X-Forwarded-For`` when the peer is
one of ``TELEHEALTH_TRUSTED_PROXIES`` (else anyone could claim any address). Addresses are
never logged or stored: limit keys are an HMAC of the address with a per-deployment key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from aiohttp import web

from telehealth.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
XFF_MAX = 20  # addresses read from one X-Forwarded-For, from the right


def trusted_networks(settings: Settings) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Iterable[Network]) -> bool:
    return any(ip in net for net in nets)


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, or, behind trusted proxies, the rightmost address in
    ``X-Forwarded-For`` that is not itself a trusted proxy. Unreadable entries stop the walk
    there (the last proxy's view is used)."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    address = _ip(str(peer[0])) if peer else None
    if address is None:
        return "unknown"
    if not trusted or not _trusted(address, trusted):
        return str(address)
    hops = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    for hop in reversed(hops[-XFF_MAX:]):
        ip = _ip(hop)
        if ip is None:
            break
        address = ip
        if not _trusted(ip, trusted):
            break
    return str(address)


def address_key(settings: Settings) -> bytes:
    """The per-deployment key addresses are hashed with: TELEHEALTH_ADDRESS_KEY, else one
    derived from the JWT secret (the same on every node), else a random one (one node only;
    config refuses Redis without a shared key)."""
    if settings.address_key:
        return settings.address_key.encode()
    if settings.jwt_secret:
        return hmac.new(settings.jwt_secret.encode(), b"rapport address key", "sha256").digest()
    import secrets

    return secrets.token_bytes(32)


def opaque(key: bytes, kind: str, value: str) -> str:
    """An opaque limit key for ``value`` (an address, a principal), by ``kind``."""
    return (
        kind + ":" + hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]
    )
