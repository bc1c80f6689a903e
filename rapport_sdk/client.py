"""The signaling client: one participant's WebSocket to the service, speaking docs/protocol.md.

Server messages are decoded with the structs the server encodes them with
(:func:`signaling.messages.decode_outbound`), so a client sees ``m.Welcome``, ``m.RoomView``,
``m.OfferOut``... and never a raw dict. It never logs tokens, session descriptions or network
addresses: only participant ids, message types and exception class names.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args, overload

import aiohttp
import msgspec

from signaling import messages as m
from signaling.errors import RapportError

log = logging.getLogger("rapport_sdk.client")

__all__ = ["Matcher", "SignalingClient", "SignalingClosed", "SignalingError"]

#: What :meth:`SignalingClient.wait_for` looks for: a message type (``"state"``), a message
#: struct (``m.ClientState``) or a predicate on any server message.
Matcher = str | type[msgspec.Struct] | Callable[[m.Outbound], bool]
M = TypeVar("M", bound=msgspec.Struct)

#: The ``type`` of every server message this client knows.
_OUTBOUND_TYPES = frozenset(m.message_type(t) for t in get_args(m.Outbound))


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
    if isinstance(match, str):
        what = repr(match)
    elif isinstance(match, type):
        what = repr(m.message_type(match))
    else:
        what = getattr(match, "__name__", "matching")
    if fields:
        what += " with " + ", ".join(f"{k}={v!r}" for k, v in fields.items())
    return what


class SignalingClient:
    """One participant's signaling WebSocket.

    After :meth:`connect`, one reader task receives every server message as its typed struct
    (a frame that does not decode is logged by its error code and dropped). Each message is
    kept in a bounded buffer that :meth:`recv` and :meth:`wait_for` take from, handed to
    listeners (:meth:`add_listener`), and the latest ``state``, ``room``, ``session`` and
    ``bye`` messages are kept in :attr:`last_state`, :attr:`last_room`, :attr:`last_session`
    and :attr:`bye`.
    """

    def __init__(
        self, *, http: aiohttp.ClientSession | None = None, max_buffer: int = 1000
    ) -> None:
        self._http = http
        self._own_http = http is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._buffer: collections.deque[m.Outbound] = collections.deque(maxlen=max_buffer)
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[m.Outbound], None]] = []
        self._close_listeners: list[Callable[[], None]] = []
        self._done = False
        self.welcome: m.Welcome | None = None
        self.last_state: m.ClientState | None = None
        self.last_room: m.RoomView | None = None
        self.last_session: m.SessionView | None = None
        self.bye: m.Bye | None = None
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
        return self.welcome.participant_id

    @property
    def ice_servers(self) -> list[m.IceServer]:
        """The ICE servers the ``welcome`` message offered (none before it)."""
        return [] if self.welcome is None else list(self.welcome.ice_servers)

    @property
    def ice_transport_policy(self) -> m.IceTransportPolicy:
        """The ``welcome``'s ICE transport policy: "relay" in relay-only mode, else "all"."""
        return "all" if self.welcome is None else self.welcome.ice_transport_policy

    @property
    def closed(self) -> bool:
        """True once the socket has closed (or was never opened)."""
        return self._done or self._ws is None

    def pending(self) -> list[m.Outbound]:
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
        consent: str | None = None,
        emergency: m.Emergency | None = None,
    ) -> m.Welcome:
        """Open the socket, authenticate, and return the ``welcome`` message. ``resume`` is
        the resume secret of an earlier welcome of the same link (see ``self.resume``);
        ``consent`` and ``emergency`` a client's check-in (docs/protocol.md, "Check-in").

        Raises :class:`SignalingError` (with the bye ``code`` and the ``close_code``) when the
        server refuses, and ``TimeoutError`` when no answer comes within ``timeout`` seconds.
        """
        if self._ws is not None:
            raise SignalingError("already connected")
        if isinstance(device, Mapping):
            device = msgspec.convert(dict(device), m.DeviceCheck)
        auth = m.Auth(
            token=token,
            role=role,  # type: ignore[arg-type]
            room=room,
            name=name,
            device=device,
            resume=resume,
            consent=consent,
            emergency=emergency,
        )
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
        self.resume = first.resume
        self._reader = asyncio.create_task(self._read(), name=f"signaling-{first.role}")
        log.debug("signaling connected as %s", first.participant_id)
        return first

    async def _first_message(self) -> m.Welcome:
        assert self._ws is not None
        msg = await self._ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            data = _decode(msg.data)
            if isinstance(data, m.Welcome):
                return data
            if isinstance(data, m.Bye):
                self.bye = data
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        while not self._ws.closed:
                            if (await self._ws.receive()).type in _CLOSED_TYPES:
                                break
                code = self._ws.close_code
                raise SignalingError(
                    f"the server refused the connection: {data.code} (close code {code})",
                    code=data.code,
                    close_code=code,
                )
            kind = m.message_type(data) if data is not None else "an undecodable frame"
            raise SignalingError(f"expected welcome first, got {kind!r}")
        code = self._ws.close_code
        raise SignalingError(
            f"the socket closed before welcome (close code {code})", close_code=code
        )

    async def _abort(self) -> None:
        if self._ws is not None:
            self.close_code = self._ws.close_code
            try:
                await self._ws.close()
            except Exception as exc:
                log.info("closing a refused signaling socket failed: %s", type(exc).__name__)
        self._done = True
        await self._close_http()

    async def _close_http(self) -> None:
        if self._own_http and self._http is not None:
            try:
                await self._http.close()
            except Exception as exc:
                log.info("closing the HTTP session of %s failed: %s", self._who, type(exc).__name__)
            self._http = None

    @property
    def _who(self) -> str:
        """An opaque name for log lines: the participant id once welcomed."""
        return self.welcome.participant_id if self.welcome is not None else "a socket not welcomed"

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

    def _accept(self, data: m.Outbound) -> None:
        if isinstance(data, m.ClientState):
            self.last_state = data
        elif isinstance(data, m.RoomView):
            self.last_room = data
        elif isinstance(data, m.SessionView):
            self.last_session = data
        elif isinstance(data, m.Bye):
            self.bye = data
        self._buffer.append(data)
        for callback in list(self._listeners):
            try:
                callback(data)
            except Exception:
                log.exception("signaling listener failed on a %s message", m.message_type(data))
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def add_listener(self, callback: Callable[[m.Outbound], None]) -> None:
        """Call ``callback(message)`` for every message received from now on (synchronously)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[m.Outbound], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def add_close_listener(self, callback: Callable[[], None]) -> None:
        self._close_listeners.append(callback)

    def remove_close_listener(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._close_listeners.remove(callback)

    def closed_error(self, waiting_for: str) -> SignalingClosed:
        """The error for a wait on ``waiting_for`` that the socket's closing ended."""
        code = self.bye.code if self.bye is not None else None
        return SignalingClosed(
            f"signaling socket closed while waiting for {waiting_for} "
            f"(bye {code or 'none'}, close code {self.close_code})",
            code=code,
            close_code=self.close_code,
        )

    async def recv(self, timeout: float = 5.0) -> m.Outbound:
        """The oldest message not yet taken."""
        return await self.wait_for(lambda _msg: True, timeout)

    @overload
    async def wait_for(
        self,
        match: type[M],
        timeout: float = 5.0,
        *,
        where: Callable[[M], bool] | None = None,
        **fields: Any,
    ) -> M: ...

    @overload
    async def wait_for(
        self,
        match: str | Callable[[m.Outbound], bool],
        timeout: float = 5.0,
        *,
        where: Callable[[m.Outbound], bool] | None = None,
        **fields: Any,
    ) -> m.Outbound: ...

    async def wait_for(
        self,
        match: Matcher,
        timeout: float = 5.0,
        *,
        where: Callable[[Any], bool] | None = None,
        **fields: Any,
    ) -> Any:
        """Take the oldest buffered or next message that matches: of struct ``match`` (e.g.
        ``m.ClientState``), of type ``match`` (e.g. ``"state"``) or for which the predicate
        ``match`` holds; and for which ``where`` holds (if given) and whose attributes ``fields``
        are equal to the given ones (``state="waiting"``; the wire's ``from`` is ``sender``).

        Messages that do not match stay buffered. Raises ``TimeoutError`` after ``timeout``
        seconds and :class:`SignalingClosed` when the socket is closed with no match.
        """
        predicate: Callable[[m.Outbound], bool]
        if isinstance(match, str):
            if match not in _OUTBOUND_TYPES:
                raise ValueError(f"the server sends no message of type {match!r}")
            kind = match

            def by_type(msg: m.Outbound) -> bool:
                return m.message_type(msg) == kind

            predicate = by_type
        elif isinstance(match, type):
            cls = match

            def by_struct(msg: m.Outbound) -> bool:
                return isinstance(msg, cls)

            predicate = by_struct
        else:
            predicate = match

        def matches(msg: m.Outbound) -> bool:
            return (
                predicate(msg)
                and (where is None or where(msg))
                and all(getattr(msg, k, _MISSING) == v for k, v in fields.items())
            )

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
                        raise self.closed_error(_describe_matcher(match, fields))
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
            kind = (
                m.message_type(message)
                if isinstance(message, msgspec.Struct)
                else str(message.get("type"))
            )
            raise self.closed_error(f"sending {kind}")
        await self._ws.send_str(msgspec.json.encode(message).decode())

    async def close(self) -> None:
        """Close the socket (code 1000) and the HTTP session if it is ours. Idempotent."""
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(), 2.0)
            except Exception as exc:
                log.info("closing the signaling socket of %s: %s", self._who, type(exc).__name__)
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


_MISSING = object()


def _decode(data: str | bytes) -> m.Outbound | None:
    """One server frame as its struct, or None (logged by error code only: the frame may
    carry a token or an SDP)."""
    try:
        return m.decode_outbound(data)
    except RapportError as err:
        log.warning("ignored a server frame that does not decode (%s)", err.code.value)
        return None
