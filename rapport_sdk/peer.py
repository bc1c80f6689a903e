"""Our own aiortc participant: the signaling client and one RTCPeerConnection per peer.

Used by the probe (``telehealth probe``), the end-to-end tests and the benchmarks.

* :func:`loopback_only` makes aioice gather only 127.0.0.1 host candidates (it never offers
  loopback by default, so on a loopback-only machine aiortc would gather nothing and hang).
* :func:`rtc_configuration` builds an ``RTCConfiguration`` that never falls back to aiortc's
  default (a public Google STUN server).
* :class:`SignalingClient` speaks docs/protocol.md over an aiohttp WebSocket.
* :class:`Peer` runs perfect negotiation with every peer of a session, each pair with one
  pre-negotiated datachannel (``negotiated=True, id=0``, label ``rapport``).

Nothing here logs tokens, session descriptions or network addresses: only participant ids,
message types and exception class names.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import msgspec
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from signaling import messages as m

log = logging.getLogger("rapport_sdk.peer")

__all__ = [
    "DATACHANNEL_ID",
    "DATACHANNEL_LABEL",
    "Peer",
    "PeerError",
    "SignalingClient",
    "SignalingClosed",
    "SignalingError",
    "loopback_only",
    "rtc_configuration",
    "ws_url_for",
]

DATACHANNEL_LABEL = "rapport"
DATACHANNEL_ID = 0
LOOPBACK_ADDRESS = "127.0.0.1"
#: The ICE URL schemes aiortc understands (it uses the first STUN and the first TURN server).
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")

Message = dict[str, Any]
Matcher = str | Callable[[Message], bool]


# --- loopback-only ICE ---------------------------------------------------------------------------

_loopback_depth = 0
_saved_get_host_addresses: Any = None


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stand-in for ``aioice.ice.get_host_addresses``: only 127.0.0.1 (no IPv6 loopback)."""
    return [LOOPBACK_ADDRESS] if use_ipv4 else []


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """While active, aioice gathers only a 127.0.0.1 host candidate.

    ``aioice.ice.Connection.gather_candidates`` looks ``get_host_addresses`` up as a module
    global of ``aioice.ice`` at call time, so the module attribute is what is replaced.
    Nested and overlapping uses (several peers or probes in one process) are counted: the
    original function is put back when the last one exits. Only this process is affected.
    Combine with ``iceServers=[]`` (see :func:`rtc_configuration`) so that no STUN or TURN
    traffic leaves the machine either.
    """
    global _loopback_depth, _saved_get_host_addresses
    import aioice.ice

    if _loopback_depth == 0:
        _saved_get_host_addresses = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = _loopback_host_addresses
    _loopback_depth += 1
    try:
        yield
    finally:
        _loopback_depth -= 1
        if _loopback_depth == 0:
            if aioice.ice.get_host_addresses is _loopback_host_addresses:
                aioice.ice.get_host_addresses = _saved_get_host_addresses
            _saved_get_host_addresses = None


def rtc_configuration(
    ice_servers: Iterable[m.IceServer | Mapping[str, Any]] | None, loopback: bool
) -> RTCConfiguration:
    """An explicit ``RTCConfiguration``: never aiortc's default public STUN server.

    In loopback mode the server list is ignored and empty. Otherwise each entry (an
    ``IceServer`` struct or a dict as in the ``welcome`` message) becomes an ``RTCIceServer``;
    URLs with schemes aiortc does not know are dropped.
    """
    if loopback or not ice_servers:
        return RTCConfiguration(iceServers=[])
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
    return RTCConfiguration(iceServers=servers)


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


# --- the signaling client ------------------------------------------------------------------------


class SignalingError(Exception):
    """A signaling failure. ``code`` is the server's error/bye code, ``close_code`` the socket's."""

    def __init__(
        self, message: str, *, code: str | None = None, close_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = close_code


class SignalingClosed(SignalingError):
    """The socket is closed and no buffered message matched."""


def _describe_matcher(match: Matcher, fields: Mapping[str, Any]) -> str:
    what = repr(match) if isinstance(match, str) else getattr(match, "__name__", "matching")
    if fields:
        what += " with " + ", ".join(f"{k}={v!r}" for k, v in fields.items())
    return what


class SignalingClient:
    """One participant's signaling WebSocket.

    After :meth:`connect`, one reader task receives every server message as a plain dict
    (server -> client messages are only ever encoded by the server's codec, so they are read
    as JSON here). Each message is kept in a bounded buffer that :meth:`recv` and
    :meth:`wait_for` take from, handed to listeners (:meth:`add_listener`), and the latest
    ``state``, ``room`` and ``session`` messages are kept in :attr:`last_state`,
    :attr:`last_room` and :attr:`last_session`.
    """

    def __init__(
        self, *, http: aiohttp.ClientSession | None = None, max_buffer: int = 1000
    ) -> None:
        self._http = http
        self._own_http = http is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._buffer: collections.deque[Message] = collections.deque(maxlen=max_buffer)
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[Message], None]] = []
        self._close_listeners: list[Callable[[], None]] = []
        self._done = False
        self.welcome: Message | None = None
        self.last_state: Message | None = None
        self.last_room: Message | None = None
        self.last_session: Message | None = None
        self.bye: Message | None = None
        self.close_code: int | None = None
        self.role: str | None = None
        # A client's resume secret from the latest welcome: pass it to the next connect() of
        # the same link, or the server seats that socket as a second device.
        self.resume: str | None = None

    # -- properties ----------------------------------------------------------------------------

    @property
    def participant_id(self) -> str:
        if self.welcome is None:
            raise SignalingError("not connected")
        return str(self.welcome["participant_id"])

    @property
    def ice_servers(self) -> list[Message]:
        servers = (self.welcome or {}).get("ice_servers") or []
        return [s for s in servers if isinstance(s, dict)]

    @property
    def closed(self) -> bool:
        """True once the socket has closed (or was never opened)."""
        return self._done or self._ws is None

    def pending(self) -> list[Message]:
        """The received messages nobody has taken yet (oldest first), without taking them."""
        return list(self._buffer)

    # -- connecting ----------------------------------------------------------------------------

    async def connect(
        self,
        ws_url: str,
        role: str,
        token: str,
        room: str | None,
        name: str | None = None,
        device: m.DeviceCheck | Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
        resume: str | None = None,
    ) -> Message:
        """Open the socket, authenticate, and return the ``welcome`` message. ``resume`` is
        the resume secret of an earlier welcome of the same link (see ``self.resume``).

        Raises :class:`SignalingError` (with the bye ``code`` and the ``close_code``) when the
        server refuses, and ``TimeoutError`` when no answer comes within ``timeout`` seconds.
        """
        if self._ws is not None:
            raise SignalingError("already connected")
        if isinstance(device, Mapping):
            device = msgspec.convert(dict(device), m.DeviceCheck)
        auth = m.Auth(token=token, role=role, room=room, name=name, device=device, resume=resume)  # type: ignore[arg-type]
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(timeout):
                self._ws = await self._http.ws_connect(
                    ws_url, autoping=True, max_msg_size=1 << 20, compress=0
                )
                await self._ws.send_str(msgspec.json.encode(auth).decode())
                first = await self._first_message()
        except TimeoutError:
            await self._abort()
            raise TimeoutError(f"no welcome within {timeout} s") from None
        except aiohttp.ClientError as exc:
            await self._abort()
            raise SignalingError(
                f"cannot open the signaling socket: {type(exc).__name__}: {exc}"[:300]
            ) from None
        except BaseException:
            await self._abort()
            raise
        self.welcome = first
        self.role = role
        secret = first.get("resume")
        self.resume = secret if isinstance(secret, str) else None
        self._reader = asyncio.create_task(self._read(), name=f"signaling-{first.get('role')}")
        log.debug("signaling connected as %s", first.get("participant_id"))
        return first

    async def _first_message(self) -> Message:
        assert self._ws is not None
        msg = await self._ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            data = _decode(msg.data)
            if data is not None and data.get("type") == "welcome":
                return data
            if data is not None and data.get("type") == "bye":
                self.bye = data
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        while not self._ws.closed:
                            if (await self._ws.receive()).type in _CLOSED_TYPES:
                                break
                code = self._ws.close_code
                raise SignalingError(
                    f"the server refused the connection: {data.get('code')} (close code {code})",
                    code=str(data.get("code")),
                    close_code=code,
                )
            kind = data.get("type") if data is not None else "non-JSON"
            raise SignalingError(f"expected welcome first, got {kind!r}")
        code = self._ws.close_code
        raise SignalingError(
            f"the socket closed before welcome (close code {code})", close_code=code
        )

    async def _abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._ws is not None:
                self.close_code = self._ws.close_code
                await self._ws.close()
        self._done = True
        await self._close_http()

    async def _close_http(self) -> None:
        if self._own_http and self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.close()
            self._http = None

    # -- reading -------------------------------------------------------------------------------

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for msg in ws:  # one reader per socket, so pings are answered
                if msg.type is aiohttp.WSMsgType.TEXT:
                    data = _decode(msg.data)
                    if data is not None:
                        self._accept(data)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    break
        except Exception as exc:  # a reset connection: the socket is simply gone
            log.debug("signaling reader stopped: %s", type(exc).__name__)
        finally:
            self._done = True
            self.close_code = ws.close_code
            self._notify()
            for callback in list(self._close_listeners):
                try:
                    callback()
                except Exception:
                    log.exception("signaling close listener failed")

    def _accept(self, data: Message) -> None:
        kind = data.get("type")
        if kind == "state":
            self.last_state = data
        elif kind == "room":
            self.last_room = data
        elif kind == "session":
            self.last_session = data
        elif kind == "bye":
            self.bye = data
        self._buffer.append(data)
        for callback in list(self._listeners):
            try:
                callback(data)
            except Exception:
                log.exception("signaling listener failed on a %s message", kind)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def add_listener(self, callback: Callable[[Message], None]) -> None:
        """Call ``callback(message)`` for every message received from now on (synchronously)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Message], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def add_close_listener(self, callback: Callable[[], None]) -> None:
        self._close_listeners.append(callback)

    def remove_close_listener(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._close_listeners.remove(callback)

    def _closed_error(self, waiting_for: str) -> SignalingClosed:
        bye = self.bye or {}
        code = bye.get("code")
        return SignalingClosed(
            f"signaling socket closed while waiting for {waiting_for} "
            f"(bye {code or 'none'}, close code {self.close_code})",
            code=str(code) if code is not None else None,
            close_code=self.close_code,
        )

    async def recv(self, timeout: float = 5.0) -> Message:
        """The oldest message not yet taken."""
        return await self.wait_for(lambda _msg: True, timeout)

    async def wait_for(self, match: Matcher, timeout: float = 5.0, **fields: Any) -> Message:
        """Take the oldest buffered or next message of type ``match`` (or for which the
        predicate ``match`` holds) whose ``fields`` are equal to the given ones.

        Messages that do not match stay buffered. Raises ``TimeoutError`` after ``timeout``
        seconds and :class:`SignalingClosed` when the socket is closed with no match.
        """
        predicate: Callable[[Message], bool]
        if isinstance(match, str):
            kind = match

            def by_type(msg: Message) -> bool:
                return msg.get("type") == kind

            predicate = by_type
        else:
            predicate = match

        def matches(msg: Message) -> bool:
            return predicate(msg) and all(msg.get(k) == v for k, v in fields.items())

        if self._ws is None:
            raise SignalingError("not connected")
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for index, msg in enumerate(self._buffer):
                        if matches(msg):
                            del self._buffer[index]
                            return msg
                    if self._done:
                        raise self._closed_error(_describe_matcher(match, fields))
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"no {_describe_matcher(match, fields)} message within {timeout:.1f} s"
            ) from None

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Wait until the server closes the socket; its close code."""
        try:
            async with asyncio.timeout(timeout):
                while not self._done:
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"the socket was still open after {timeout:.1f} s") from None
        return self.close_code

    # -- sending and closing -------------------------------------------------------------------

    async def send(self, message: msgspec.Struct | Mapping[str, Any]) -> None:
        """Send one message: a struct from :mod:`signaling.messages` (``Offer``, ``Admit``...)
        or a dict with a ``type``."""
        if self._ws is None or self._done or self._ws.closed:
            raise self._closed_error(f"sending {_type_of(message)}")
        await self._ws.send_str(msgspec.json.encode(message).decode())

    async def close(self) -> None:
        """Close the socket (code 1000) and the HTTP session if it is ours. Idempotent."""
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2.0)
        reader = self._reader
        if reader is not None and not reader.done():
            try:
                await asyncio.wait_for(reader, 2.0)
            except (TimeoutError, asyncio.CancelledError):
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        self._done = True
        if ws is not None and self.close_code is None:
            self.close_code = ws.close_code
        self._notify()
        await self._close_http()

    async def __aenter__(self) -> SignalingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


_CLOSED_TYPES = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


def _decode(data: str | bytes) -> Message | None:
    try:
        decoded = msgspec.json.decode(data)
    except msgspec.DecodeError:
        log.warning("ignored a frame that is not JSON")
        return None
    if not isinstance(decoded, dict):
        log.warning("ignored a frame that is not a JSON object")
        return None
    return decoded


def _type_of(message: msgspec.Struct | Mapping[str, Any]) -> str:
    if isinstance(message, msgspec.Struct):
        return str(type(message).__struct_config__.tag)
    return str(message.get("type"))


# --- the aiortc peer -----------------------------------------------------------------------------


class PeerError(Exception):
    """A WebRTC failure towards one peer (never carries SDP or addresses)."""


@dataclass
class _Link:
    """Our RTCPeerConnection towards one peer, with its datachannel."""

    peer_id: str
    pc: Any
    channel: Any
    remote_ufrag: str | None = None
    pending_candidates: list[Any] = field(default_factory=list)
    failed: str | None = None


def _ufrag(sdp: str) -> str | None:
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line[len("a=ice-ufrag:") :].strip()
    return None


def _default_polite(me: str, role: str | None, other: str) -> bool:
    """The server's rule, used only before its ``session`` message has told us."""
    if role == "therapist":
        return False
    if other.startswith("t-"):
        return True
    return me > other


class Peer:
    """One aiortc participant in a session, over a connected :class:`SignalingClient`.

    For every connected peer listed in ``session`` messages there is one RTCPeerConnection with
    a datachannel negotiated out of band (``negotiated=True, id=0``, label ``rapport``), so both
    sides have it without waiting for ``ondatachannel``. Negotiation follows the server's
    ``polite`` flag: the impolite side offers when the peer appears; an impolite side ignores a
    colliding offer; a polite side, since aiortc has no rollback, replaces its connection and
    answers. An offer with new ICE credentials (the peer built a new connection) replaces ours.

    aiortc puts its candidates in the SDP once gathering is done (no trickle), so none are sent;
    incoming ``candidate`` messages are still applied (queued until the remote description).
    Every RTCPeerConnection is closed by :meth:`close`, by ``hangup``, and when the peer leaves
    the session.
    """

    def __init__(
        self,
        signaling: SignalingClient,
        *,
        loopback: bool = False,
        ice_servers: Iterable[m.IceServer | Mapping[str, Any]] | None = None,
        close_signaling: bool = True,
    ) -> None:
        self.signaling = signaling
        self.loopback = loopback
        self._ice_servers = None if ice_servers is None else list(ice_servers)
        self._close_signaling = close_signaling
        self._links: dict[str, _Link] = {}
        self._polite: dict[str, bool] = {}
        self._connected: dict[str, bool] = {}
        self._inboxes: dict[str, asyncio.Queue[str]] = {}
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._closed = False
        self._worker = asyncio.create_task(self._work(), name="peer-negotiation")
        signaling.add_listener(self._on_message)
        signaling.add_close_listener(self._notify)
        if signaling.last_session is not None:
            self._queue.put_nowait(signaling.last_session)

    # -- public API ----------------------------------------------------------------------------

    @property
    def participant_id(self) -> str:
        return self.signaling.participant_id

    @property
    def peer_ids(self) -> list[str]:
        return list(self._links)

    def is_open(self, peer_id: str) -> bool:
        link = self._links.get(peer_id)
        return link is not None and link.channel.readyState == "open"

    async def wait_connected(self, peer_id: str, timeout: float = 10.0) -> None:
        """Wait until the datachannel with ``peer_id`` is open.

        Raises ``TimeoutError``, :class:`PeerError` when the connection failed, or
        :class:`SignalingClosed` when the socket closed first.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if self.is_open(peer_id):
                        return
                    link = self._links.get(peer_id)
                    if link is not None and link.failed:
                        raise PeerError(f"connection with {peer_id} failed: {link.failed}")
                    if self._closed:
                        raise PeerError("this peer is closed")
                    if self.signaling.closed:
                        raise self.signaling._closed_error(f"a connection with {peer_id}")
                    await self._changed.wait()
        except TimeoutError:
            link = self._links.get(peer_id)
            where = (
                "no connection was created (the peer never appeared in a session message)"
                if link is None
                else f"signaling {link.pc.signalingState}, ICE {link.pc.iceConnectionState}, "
                f"connection {link.pc.connectionState}, datachannel {link.channel.readyState}"
            )
            raise TimeoutError(
                f"datachannel with {peer_id} not open within {timeout:.1f} s ({where})"
            ) from None

    async def send_data(self, peer_id: str, text: str) -> None:
        """Send ``text`` on the datachannel with ``peer_id`` (which must be open)."""
        link = self._links.get(peer_id)
        if link is None or link.channel.readyState != "open":
            raise PeerError(f"the datachannel with {peer_id} is not open")
        link.channel.send(text)
        await asyncio.sleep(0)

    async def recv_data(self, peer_id: str, timeout: float = 5.0) -> str:
        """The next datachannel message from ``peer_id``."""
        try:
            async with asyncio.timeout(timeout):
                return await self._inbox(peer_id).get()
        except TimeoutError:
            raise TimeoutError(
                f"no datachannel message from {peer_id} within {timeout:.1f} s"
            ) from None

    async def close(self) -> None:
        """Close every RTCPeerConnection and, unless told otherwise, the signaling socket."""
        if not self._closed:
            self._closed = True
            self.signaling.remove_listener(self._on_message)
            self.signaling.remove_close_listener(self._notify)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._links:
            _, link = self._links.popitem()
            await self._close_link(link)
        self._notify()
        if self._close_signaling:
            await self.signaling.close()

    async def __aenter__(self) -> Peer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals -----------------------------------------------------------------------------

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _inbox(self, peer_id: str) -> asyncio.Queue[str]:
        inbox = self._inboxes.get(peer_id)
        if inbox is None:
            inbox = self._inboxes[peer_id] = asyncio.Queue()
        return inbox

    def _on_message(self, message: Message) -> None:
        if message.get("type") in ("session", "offer", "answer", "candidate", "hangup"):
            self._queue.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            kind = message.get("type")
            sender = message.get("from")
            try:
                if kind == "session":
                    await self._on_session(message)
                elif not isinstance(sender, str) or sender == self.participant_id:
                    continue
                elif kind == "offer":
                    await self._on_offer(sender, message)
                elif kind == "answer":
                    await self._on_answer(sender, message)
                elif kind == "candidate":
                    await self._on_candidate(sender, message)
                elif kind == "hangup":
                    link = self._links.pop(sender, None)
                    if link is not None:
                        log.info("peer %s hung up", sender)
                        await self._close_link(link)
            except asyncio.CancelledError:
                raise
            except SignalingError as exc:
                log.info("could not signal (%s): %s", kind, exc)
            except Exception as exc:
                # Only the class name: aiortc's messages can quote SDP.
                log.warning("could not handle %s from %s: %s", kind, sender, type(exc).__name__)
                link = self._links.get(sender) if isinstance(sender, str) else None
                if link is not None and link.failed is None:
                    link.failed = f"{kind} could not be applied ({type(exc).__name__})"
            finally:
                self._notify()

    async def _on_session(self, message: Message) -> None:
        me = self.participant_id
        present: set[str] = set()
        for entry in message.get("peers") or []:
            pid = entry.get("participant_id")
            if not isinstance(pid, str) or pid == me:
                continue
            present.add(pid)
            polite = bool(entry.get("polite"))
            connected = bool(entry.get("connected"))
            was_connected = self._connected.get(pid, False)
            self._polite[pid] = polite
            self._connected[pid] = connected
            if not connected or polite:
                continue  # the impolite side makes the first offer
            link = self._links.get(pid)
            if link is None:
                await self._offer(self._new_link(pid))
            elif not was_connected and not self.is_open(pid):
                # The peer dropped and came back without a working channel: start over.
                await self._replace_and_offer(pid)
            elif link.pc.connectionState in ("failed", "closed"):
                await self._replace_and_offer(pid)
        for pid in [p for p in self._links if p not in present]:
            link = self._links.pop(pid)
            log.info("peer %s left the session", pid)
            await self._close_link(link)
        for pid in [p for p in self._connected if p not in present]:
            self._connected.pop(pid, None)

    async def _replace_and_offer(self, pid: str) -> None:
        old = self._links.pop(pid, None)
        if old is not None:
            await self._close_link(old)
        await self._offer(self._new_link(pid))

    def _new_link(self, pid: str) -> _Link:
        servers: Any = self._ice_servers
        if servers is None:
            servers = self.signaling.ice_servers
        pc = RTCPeerConnection(configuration=rtc_configuration(servers, self.loopback))
        channel = pc.createDataChannel(
            DATACHANNEL_LABEL, negotiated=True, id=DATACHANNEL_ID, ordered=True
        )
        link = _Link(peer_id=pid, pc=pc, channel=channel)
        inbox = self._inbox(pid)

        @channel.on("open")
        def _on_open() -> None:
            log.info("datachannel with %s open", pid)
            self._notify()

        @channel.on("close")
        def _on_close() -> None:
            self._notify()

        @channel.on("message")
        def _on_data(data: str | bytes) -> None:
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            inbox.put_nowait(data)

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            log.debug("connection with %s: %s", pid, pc.connectionState)
            if pc.connectionState == "failed" and link.failed is None:
                link.failed = "ICE or DTLS failed"
            self._notify()

        self._links[pid] = link
        return link

    async def _close_link(self, link: _Link) -> None:
        try:
            await asyncio.wait_for(link.pc.close(), 5.0)
        except Exception as exc:
            log.debug("closing the connection with %s: %s", link.peer_id, type(exc).__name__)

    async def _gathered(self, apply: Callable[[], Awaitable[None]]) -> None:
        """Run a setLocalDescription (which gathers candidates) under the loopback patch."""
        if self.loopback:
            with loopback_only():
                await apply()
        else:
            await apply()

    async def _offer(self, link: _Link, restart: bool = False) -> None:
        pc = link.pc
        offer = await pc.createOffer()
        await self._gathered(lambda: pc.setLocalDescription(offer))
        if self._links.get(link.peer_id) is not link:
            return  # replaced meanwhile
        log.info("offering to %s", link.peer_id)
        await self.signaling.send(
            m.Offer(to=link.peer_id, sdp=pc.localDescription.sdp, restart=restart)
        )

    async def _on_offer(self, sender: str, message: Message) -> None:
        sdp = message.get("sdp")
        if not isinstance(sdp, str):
            return
        polite = self._polite.get(sender)
        if polite is None:
            polite = _default_polite(self.participant_id, self.signaling.role, sender)
        link = self._links.get(sender)
        if link is not None:
            collision = link.pc.signalingState != "stable"
            if collision and not polite:
                log.info("ignored a colliding offer from %s (we are impolite)", sender)
                return
            new_remote = link.remote_ufrag is not None and _ufrag(sdp) != link.remote_ufrag
            if collision or new_remote or link.pc.connectionState in ("failed", "closed"):
                # aiortc has neither rollback nor ICE restart: build a new connection.
                self._links.pop(sender, None)
                await self._close_link(link)
                link = None
        if link is None:
            link = self._new_link(sender)
        pc = link.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        link.remote_ufrag = _ufrag(sdp)
        await self._flush_candidates(link)
        answer = await pc.createAnswer()
        await self._gathered(lambda: pc.setLocalDescription(answer))
        log.info("answering %s", sender)
        await self.signaling.send(m.Answer(to=sender, sdp=pc.localDescription.sdp))

    async def _on_answer(self, sender: str, message: Message) -> None:
        sdp = message.get("sdp")
        link = self._links.get(sender)
        if link is None or not isinstance(sdp, str):
            return
        if link.pc.signalingState != "have-local-offer":
            log.info("ignored an answer from %s in state %s", sender, link.pc.signalingState)
            return
        await link.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        link.remote_ufrag = _ufrag(sdp)
        await self._flush_candidates(link)

    async def _on_candidate(self, sender: str, message: Message) -> None:
        raw = message.get("candidate")
        if not isinstance(raw, dict):
            return
        text = raw.get("candidate")
        if not isinstance(text, str) or not text.strip():
            return  # end of candidates
        text = text.strip()
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            candidate = candidate_from_sdp(text)
        except Exception:
            log.info("ignored a malformed candidate from %s", sender)
            return
        candidate.sdpMid = raw.get("sdpMid")
        candidate.sdpMLineIndex = raw.get("sdpMLineIndex")
        link = self._links.get(sender)
        if link is None:
            return
        if link.pc.remoteDescription is None:
            link.pending_candidates.append(candidate)
            return
        await self._add_candidate(link, candidate)

    async def _flush_candidates(self, link: _Link) -> None:
        pending, link.pending_candidates = link.pending_candidates, []
        for candidate in pending:
            await self._add_candidate(link, candidate)

    async def _add_candidate(self, link: _Link, candidate: Any) -> None:
        try:
            await link.pc.addIceCandidate(candidate)
        except Exception as exc:
            log.info("ignored a candidate from %s: %s", link.peer_id, type(exc).__name__)
