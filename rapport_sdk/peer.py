"""Our own aiortc participant: one RTCPeerConnection per peer of a session, over a
:class:`~rapport_sdk.client.SignalingClient`.

:class:`Peer` runs perfect negotiation with every peer of a session, each pair with one
pre-negotiated datachannel (``negotiated=True, id=0``, label ``rapport``). Nothing here logs
session descriptions or network addresses: only participant ids, message types and exception
class names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from rapport_sdk.client import SignalingClient, SignalingError
from rapport_sdk.ice import rtc_configuration
from rapport_sdk.loopback import loopback_only
from signaling import messages as m
from signaling import negotiation

log = logging.getLogger("rapport_sdk.peer")

__all__ = ["DATACHANNEL_ID", "DATACHANNEL_LABEL", "Peer", "PeerError"]

DATACHANNEL_LABEL = "rapport"
DATACHANNEL_ID = 0


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


def _role_from_id(participant_id: str) -> str:
    """A therapist's participant id is ``t-`` + 16 hex (docs/protocol.md); a client's is not."""
    return negotiation.THERAPIST if participant_id.startswith("t-") else "client"


#: The server messages a Peer acts on.
_Signal = m.SessionView | m.OfferOut | m.AnswerOut | m.CandidateOut | m.HangupOut


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
        self._queue: asyncio.Queue[_Signal | None] = asyncio.Queue()
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
                        raise self.signaling.closed_error(f"a connection with {peer_id}")
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

    def candidate_types(self, peer_id: str) -> tuple[str, str] | None:
        """The (local, remote) candidate types of the pair ICE selected with ``peer_id``
        ("host", "srflx", "prflx" or "relay"), or None before one is selected. Only the types:
        never the addresses. aiortc has no candidate-pair stats, so this reads aioice's
        nominated pair (the datachannel's component)."""
        link = self._links.get(peer_id)
        if link is None:
            return None
        sctp = link.pc.sctp
        connection = None if sctp is None else sctp.transport.transport._connection
        pair = None if connection is None else connection._nominated.get(1)
        if pair is None:
            return None
        return (str(pair.local_candidate.type), str(pair.remote_candidate.type))

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

    def _on_message(self, message: m.Outbound) -> None:
        if isinstance(message, _Signal):
            self._queue.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            kind = m.message_type(message)
            sender = None if isinstance(message, m.SessionView) else message.sender
            try:
                if isinstance(message, m.SessionView):
                    await self._on_session(message)
                elif sender is None or sender == self.participant_id:
                    continue
                elif isinstance(message, m.OfferOut):
                    await self._on_offer(sender, message)
                elif isinstance(message, m.AnswerOut):
                    await self._on_answer(sender, message)
                elif isinstance(message, m.CandidateOut):
                    await self._on_candidate(sender, message)
                else:
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
                link = self._links.get(sender) if sender is not None else None
                if link is not None and link.failed is None:
                    link.failed = f"{kind} could not be applied ({type(exc).__name__})"
            finally:
                self._notify()

    async def _on_session(self, message: m.SessionView) -> None:
        me = self.participant_id
        present: set[str] = set()
        for entry in message.peers:
            pid = entry.participant_id
            if pid == me:
                continue
            present.add(pid)
            polite = entry.polite
            connected = entry.connected
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
        policy = self.signaling.ice_transport_policy
        pc = RTCPeerConnection(configuration=rtc_configuration(servers, self.loopback, policy))
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

    async def _on_offer(self, sender: str, message: m.OfferOut) -> None:
        sdp = message.sdp
        polite = self._polite.get(sender)
        if polite is None:
            # The offer came before a session message listing its sender: the server's rule.
            polite = negotiation.polite(
                role=self.signaling.role or "",
                participant_id=self.participant_id,
                peer_role=_role_from_id(sender),
                peer_id=sender,
            )
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

    async def _on_answer(self, sender: str, message: m.AnswerOut) -> None:
        sdp = message.sdp
        link = self._links.get(sender)
        if link is None:
            return
        if link.pc.signalingState != "have-local-offer":
            log.info("ignored an answer from %s in state %s", sender, link.pc.signalingState)
            return
        await link.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        link.remote_ufrag = _ufrag(sdp)
        await self._flush_candidates(link)

    async def _on_candidate(self, sender: str, message: m.CandidateOut) -> None:
        raw = message.candidate
        if raw is None:
            return
        text = raw.candidate
        if not text.strip():
            return  # end of candidates
        text = text.strip()
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            candidate = candidate_from_sdp(text)
        except Exception:
            log.info("ignored a malformed candidate from %s", sender)
            return
        candidate.sdpMid = raw.sdpMid
        candidate.sdpMLineIndex = raw.sdpMLineIndex
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
