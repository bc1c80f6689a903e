"""The synthetic visit behind ``telehealth probe``: a therapist and a client, end to end.

It mints a short-lived therapist token and session link, connects the therapist and the client
(possibly through different nodes), admits the client, opens a WebRTC datachannel between two
aiortc peers, sends a nonce each way and leaves. Every step is timed; the report stops at the
first failure and never contains tokens, session descriptions or network addresses of peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rapport_sdk.client import SignalingClient, SignalingError
from rapport_sdk.ice import public_url, ws_url_for
from rapport_sdk.loopback import loopback_only
from rapport_sdk.peer import Peer, PeerError
from signaling import messages as m
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings

log = logging.getLogger("rapport_sdk.probe")

__all__ = ["STEPS", "ProbeOptions", "run_probe"]

STEPS = (
    "therapist_connect",
    "client_connect",
    "client_waiting",
    "therapist_sees_client",
    "admit",
    "client_admitted",
    "webrtc_connected",
    "datachannel_client_to_therapist",
    "datachannel_therapist_to_client",
    "leave",
)
THERAPIST_SUBJECT = "rapport-probe"
CLIENT_NAME = "Probe client"
THERAPIST_NAME = "Probe therapist"
_CLEANUP_S = 5.0
_GUARD_S = 1.0
_MAX_ERROR = 300


@dataclass(frozen=True)
class ProbeOptions:
    client_url: str
    therapist_url: str
    room: str = "probe"
    loopback: bool = False
    timeout: float = 20.0


class _StepFailed(Exception):
    pass


class _Probe:
    def __init__(self, settings: Settings, options: ProbeOptions) -> None:
        self.settings = settings
        self.options = options
        self.deadline = 0.0
        self.secrets: list[str] = []  # tokens, scrubbed from any error text
        self.therapist: SignalingClient | None = None
        self.client: SignalingClient | None = None
        self.therapist_peer: Peer | None = None
        self.client_peer: Peer | None = None
        self.therapist_id = ""
        self.client_id = ""
        self.left: set[str] = set()

    # -- plumbing ------------------------------------------------------------------------------

    def remaining(self) -> float:
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    def _minter(self) -> TokenMinter:
        return TokenMinter(self.settings)

    def _ttl(self) -> int:
        return int(min(3600, max(60, math.ceil(self.options.timeout) + 60)))

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            text = str(exc) or "timed out"
            if self.remaining() <= 0:
                text += f" (overall timeout of {self.options.timeout:g} s reached)"
        elif isinstance(exc, SignalingError | PeerError | _StepFailed):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc}"
        for secret in self.secrets:
            text = text.replace(secret, "[token]")
        if "v=0" in text or "a=ice-" in text or "a=fingerprint" in text:
            text = f"{type(exc).__name__} (details withheld)"
        return text[:_MAX_ERROR]

    async def run(self) -> dict[str, Any]:
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("therapist_connect", self.therapist_connect),
            ("client_connect", self.client_connect),
            ("client_waiting", self.client_waiting),
            ("therapist_sees_client", self.therapist_sees_client),
            ("admit", self.admit),
            ("client_admitted", self.client_admitted),
            ("webrtc_connected", self.webrtc_connected),
            ("datachannel_client_to_therapist", self.client_to_therapist),
            ("datachannel_therapist_to_client", self.therapist_to_client),
            ("leave", self.leave),
        ]
        report_steps: list[dict[str, Any]] = []
        started = time.perf_counter()
        self.deadline = asyncio.get_running_loop().time() + self.options.timeout
        ok = True
        try:
            for name, action in steps:
                t0 = time.perf_counter()
                entry: dict[str, Any] = {"name": name, "ok": True}
                try:
                    # Each wait inside a step is bounded by remaining() and says what it waited
                    # for; this outer bound is only a safety net, a little later.
                    async with asyncio.timeout_at(self.deadline + _GUARD_S):
                        await action()
                except Exception as exc:
                    entry["ok"] = False
                    entry["error"] = self._describe(exc)
                entry["ms"] = round((time.perf_counter() - t0) * 1000, 1)
                report_steps.append(entry)
                if not entry["ok"]:
                    ok = False
                    break
        finally:
            await self.cleanup()
        return {
            "ok": ok,
            "steps": report_steps,
            "total_ms": round((time.perf_counter() - started) * 1000, 1),
            "room": self.options.room,
            "client_node_url": public_url(self.options.client_url),
            "therapist_node_url": public_url(self.options.therapist_url),
        }

    async def cleanup(self) -> None:
        """Leave (so no place is held for a grace period) and close everything."""
        # Cleanup goes on past any failure; each is one log line (the role and the class name).
        for who, client in (("client", self.client), ("therapist", self.therapist)):
            if client is not None and who not in self.left and not client.closed:
                try:
                    await asyncio.wait_for(client.send(m.Leave()), 1.0)
                    await client.wait_closed(1.0)
                except Exception as exc:
                    log.info("probe cleanup: the %s's leave: %s", who, type(exc).__name__)
        for who, peer in (("client", self.client_peer), ("therapist", self.therapist_peer)):
            if peer is not None:
                try:
                    await asyncio.wait_for(peer.close(), _CLEANUP_S)
                except Exception as exc:
                    log.info("probe cleanup: the %s's peer: %s", who, type(exc).__name__)
        for who, client in (("client", self.client), ("therapist", self.therapist)):
            if client is not None:
                try:
                    await asyncio.wait_for(client.close(), _CLEANUP_S)
                except Exception as exc:
                    log.info("probe cleanup: the %s's socket: %s", who, type(exc).__name__)

    def _peer(self, client: SignalingClient) -> Peer:
        return Peer(
            client,
            loopback=self.options.loopback,
            ice_servers=[] if self.options.loopback else client.ice_servers,
        )

    # -- the steps -----------------------------------------------------------------------------

    async def therapist_connect(self) -> None:
        token = self._minter().mint_therapist(THERAPIST_SUBJECT, [self.options.room], self._ttl())
        self.secrets.append(token)
        self.therapist = SignalingClient()
        welcome = await self.therapist.connect(
            ws_url_for(self.options.therapist_url),
            "therapist",
            token,
            self.options.room,
            name=THERAPIST_NAME,
            timeout=self.remaining(),
        )
        self.therapist_id = welcome.participant_id
        self.therapist_peer = self._peer(self.therapist)

    async def client_connect(self) -> None:
        token = self._minter().mint_client(self.options.room, ttl=self._ttl())
        self.secrets.append(token)
        self.client = SignalingClient()
        welcome = await self.client.connect(
            ws_url_for(self.options.client_url),
            "client",
            token,
            self.options.room,
            name=CLIENT_NAME,
            device=m.DeviceCheck(camera="skipped", microphone="skipped"),
            timeout=self.remaining(),
            # The deployment's consent text, when it sets one (the probe runs with its settings).
            consent=self.settings.consent_version,
        )
        self.client_id = welcome.participant_id
        if self.client.resume:  # the device's resume secret: as secret as the link
            self.secrets.append(self.client.resume)
        self.client_peer = self._peer(self.client)

    async def client_waiting(self) -> None:
        assert self.client is not None
        await self.client.wait_for(m.ClientState, self.remaining(), state="waiting")

    async def therapist_sees_client(self) -> None:
        assert self.therapist is not None
        pid = self.client_id

        def lists_client(room: m.RoomView) -> bool:
            return any(w.participant_id == pid for w in room.waiting)

        await self.therapist.wait_for(m.RoomView, self.remaining(), where=lists_client)

    async def admit(self) -> None:
        assert self.therapist is not None
        pid = self.client_id
        await self.therapist.send(m.Admit(participant_ids=[pid]))

        def admitted_or_refused(msg: m.Outbound) -> bool:
            if isinstance(msg, m.Error):
                return msg.ref == "admit"
            return isinstance(msg, m.RoomView) and any(s.participant_id == pid for s in msg.session)

        got = await self.therapist.wait_for(admitted_or_refused, self.remaining())
        if isinstance(got, m.Error):
            raise _StepFailed(f"admit refused: {got.code}: {got.message}")

    async def client_admitted(self) -> None:
        assert self.client is not None
        await self.client.wait_for(m.ClientState, self.remaining(), state="admitted")

    async def webrtc_connected(self) -> None:
        assert self.client_peer is not None and self.therapist_peer is not None
        await self.client_peer.wait_connected(self.therapist_id, self.remaining())
        await self.therapist_peer.wait_connected(self.client_id, self.remaining())

    async def _nonce(self, sender: Peer, receiver: Peer, to: str, frm: str) -> None:
        nonce = secrets.token_hex(16)
        await sender.send_data(to, nonce)
        got = await receiver.recv_data(frm, self.remaining())
        if got != nonce:
            raise _StepFailed("the datachannel delivered something other than the nonce")

    async def client_to_therapist(self) -> None:
        assert self.client_peer is not None and self.therapist_peer is not None
        await self._nonce(self.client_peer, self.therapist_peer, self.therapist_id, self.client_id)

    async def therapist_to_client(self) -> None:
        assert self.client_peer is not None and self.therapist_peer is not None
        await self._nonce(self.therapist_peer, self.client_peer, self.client_id, self.therapist_id)

    async def leave(self) -> None:
        assert self.client is not None and self.therapist is not None
        await self._leave("client", self.client)
        pid = self.client_id

        def client_gone(room: m.RoomView) -> bool:
            listed = [w.participant_id for w in room.waiting]
            return pid not in listed + [s.participant_id for s in room.session]

        await self.therapist.wait_for(m.RoomView, self.remaining(), where=client_gone)
        await self._leave("therapist", self.therapist)

    async def _leave(self, who: str, client: SignalingClient) -> None:
        await client.send(m.Leave())
        self.left.add(who)
        bye = await client.wait_for(m.Bye, self.remaining())
        if bye.code != "left":
            raise _StepFailed(f"{who} leave answered with bye {bye.code}")
        code = await client.wait_closed(self.remaining())
        if code != 4016:
            raise _StepFailed(f"{who} socket closed with {code}, expected 4016 (left)")


async def run_probe(settings: Settings, options: ProbeOptions) -> dict[str, Any]:
    """Run the synthetic visit; the report (see module doc) is returned, never raised."""
    if options.timeout <= 0:
        raise ValueError("the probe timeout must be positive")
    probe = _Probe(settings, options)
    with loopback_only() if options.loopback else contextlib.nullcontext():
        return await probe.run()
