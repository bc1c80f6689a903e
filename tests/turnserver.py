"""A real TURN server for tests: Debian's coturn (``turnserver``) on 127.0.0.1.

It runs with ``use-auth-secret`` (the TURN REST scheme that ``telehealth/turn.py`` mints
credentials for), relays on loopback only, listens on UDP and TCP (no TLS or DTLS: there is no
certificate here), has no CLI, and keeps its log and pid file in the test's temporary folder.
It is ready when it answers a STUN binding request on UDP and on TCP: no fixed waits.

``.ci/ensure-deps`` installs coturn; when ``turnserver`` is missing the fixture fails and says so.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LOOPBACK, _NotReady, free_port, start_and_wait

REALM = "rapport.test"
# STUN (RFC 5389): a binding request, and the class/method of its success response.
_MAGIC_COOKIE = 0x2112A442
_BINDING_REQUEST = 0x0001
_BINDING_SUCCESS = 0x0101


def _binding_request() -> tuple[bytes, bytes]:
    """A STUN binding request with no attributes, and its transaction id."""
    txn = secrets.token_bytes(12)
    header = _BINDING_REQUEST.to_bytes(2, "big") + (0).to_bytes(2, "big")
    return header + _MAGIC_COOKIE.to_bytes(4, "big") + txn, txn


def _is_binding_success(data: bytes, txn: bytes) -> bool:
    return (
        len(data) >= 20
        and int.from_bytes(data[0:2], "big") == _BINDING_SUCCESS
        and data[8:20] == txn
    )


def stun_binding_answered(port: int, transport: str = "udp", timeout: float = 0.3) -> bool:
    """True when a STUN server on 127.0.0.1:port answers a binding request over ``transport``."""
    request, txn = _binding_request()
    try:
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                sock.sendto(request, (LOOPBACK, port))
                data, _ = sock.recvfrom(2048)
        else:
            with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
                sock.sendall(request)
                data = sock.recv(2048)
    except OSError:
        return False
    return _is_binding_success(data, txn)


class TurnServer:
    """A private coturn on 127.0.0.1 with ``use-auth-secret`` and loopback relay addresses."""

    def __init__(self, workdir: Path, secret: str | None = None) -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            pytest.fail(
                "turnserver not found on PATH: run `make test` (it runs .ci/ensure-deps, "
                "which installs coturn) or `apt-get install -y coturn`",
                pytrace=False,
            )
        self.binary: str = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secret = secret if secret is not None else secrets.token_urlsafe(32)
        self.port = free_port()
        self.log_path = workdir / "turnserver.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> tuple[str, str]:
        """TURN over UDP and over TCP, as TELEHEALTH_TURN_URLS would list them."""
        return (
            f"turn:{LOOPBACK}:{self.port}?transport=udp",
            f"turn:{LOOPBACK}:{self.port}?transport=tcp",
        )

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start coturn and wait until it answers STUN on UDP and TCP."""
        cmd = [
            self.binary,
            "-n",  # no configuration file: /etc/turnserver.conf is not ours
            "--listening-ip", LOOPBACK,
            "--relay-ip", LOOPBACK,
            "--listening-port", str(self.port),
            "--allow-loopback-peers",  # both peers are on 127.0.0.1
            "--use-auth-secret",
            "--static-auth-secret", self.secret,
            "--realm", REALM,
            "--fingerprint",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--no-software-attribute",
            "--no-rfc5780",  # no alternate address: there is only one loopback address
            "--pidfile", str(self.workdir / "turnserver.pid"),
            "--userdb", str(self.workdir / "turndb"),  # not the machine's /var/lib/turn
            "--log-file", "stdout",  # captured into log_path below
            "--simple-log",
        ]  # fmt: skip
        try:
            self._proc = start_and_wait(
                cmd,
                self.log_path,
                lambda: (
                    stun_binding_answered(self.port, "udp")
                    and stun_binding_answered(self.port, "tcp")
                ),
                f"turnserver on port {self.port} (STUN on UDP and TCP)",
                timeout,
            )
        except _NotReady as exc:
            self._proc = exc.proc
            self.stop()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def start_turn_server(workdir: Path) -> TurnServer:
    """A running TurnServer; a port taken between ``free_port()`` and the bind is retried."""
    last_error: RuntimeError | None = None
    for attempt in range(3):
        server = TurnServer(workdir / f"turn-{attempt}")
        try:
            server.start()
            return server
        except RuntimeError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error
