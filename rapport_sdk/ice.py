"""ICE servers and URLs: an explicit ``RTCConfiguration`` and the service's WebSocket URL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

from signaling import messages as m

__all__ = ["public_url", "rtc_configuration", "ws_url_for"]

#: The ICE URL schemes aiortc understands (it uses the first STUN and the first TURN server).
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def rtc_configuration(
    ice_servers: Iterable[m.IceServer | Mapping[str, Any]] | None,
    loopback: bool,
    policy: m.IceTransportPolicy = "all",
) -> RTCConfiguration:
    """An explicit ``RTCConfiguration``: never aiortc's default public STUN server.

    In loopback mode the server list is ignored and empty. Otherwise each entry (an
    ``IceServer`` struct or a dict as in the ``welcome`` message) becomes an ``RTCIceServer``;
    URLs with schemes aiortc does not know are dropped. ``policy`` is the ``welcome``'s
    ``ice_transport_policy``: with "relay" only TURN relay candidates are gathered (and in
    loopback mode, with no TURN server, none at all: nothing connects).
    """
    transport_policy = (
        RTCIceTransportPolicy.RELAY if policy == "relay" else RTCIceTransportPolicy.ALL
    )
    if loopback or not ice_servers:
        return RTCConfiguration(iceServers=[], iceTransportPolicy=transport_policy)
    servers: list[Any] = []
    for entry in ice_servers:
        if isinstance(entry, m.IceServer):
            urls: Any = entry.urls
            username, credential = entry.username, entry.credential
        else:
            urls = entry.get("urls")
            username, credential = entry.get("username"), entry.get("credential")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list):
            continue
        usable = [u for u in urls if isinstance(u, str) and u.lower().startswith(_ICE_SCHEMES)]
        if not usable:
            continue
        servers.append(RTCIceServer(urls=usable, username=username, credential=credential))
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=transport_policy)


def ws_url_for(base_url: str) -> str:
    """``http(s)://host[/prefix]`` -> ``ws(s)://host[/prefix]/ws``; ws(s) URLs are kept.

    Query, fragment (which may hold a token in a link) and user info are dropped.
    """
    parts = urlsplit(base_url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise ValueError("expected an http(s):// or ws(s):// URL of the service")
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path.rstrip("/")
    if parts.scheme.lower() in ("http", "https") or not path.endswith("/ws"):
        path = path + "/ws"
    return urlunsplit((scheme, netloc, path, "", ""))


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to print in a report."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
