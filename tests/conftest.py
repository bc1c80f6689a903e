"""Shared test fixtures for Rapport.

* :func:`free_port` -- a free TCP port on 127.0.0.1.
* :class:`RedisServer` / ``redis_server`` / ``redis_server_factory`` -- a private, throw-away
  ``redis-server`` per test (starts in ~20 ms) that can be SIGKILLed and restarted empty on the
  same port for fault injection.
* ``loopback_ice`` (autouse) -- restricts aioice host candidates to 127.0.0.1 so in-process aiortc
  peers connect inside a loopback-only network namespace (see shared PITFALLS).
* :class:`NodeProcess` / ``start_node`` -- runs ``python -m telehealth serve`` as a subprocess and
  waits for ``/healthz``.
* ``axe_js`` -- the source of axe-core, vendored by ``.ci/ensure-deps`` into ``.cache/axe``.
* ``turn_server`` -- a private coturn on 127.0.0.1 with ``use-auth-secret`` (tests/turnserver.py).

System tools are never skipped for: when one is missing the fixture fails and says to run
``make test`` (which runs ``.ci/ensure-deps``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.turnserver import TurnServer

REPO_ROOT = Path(__file__).resolve().parent.parent
AXE_PATH = REPO_ROOT / ".cache" / "axe" / "axe.min.js"
LOOPBACK = "127.0.0.1"

#: Debian's Chromium; Playwright cannot download its own browser here.
CHROMIUM_PATH = "/usr/bin/chromium"
#: Flags for headless WebRTC on loopback without any traffic to outside hosts (see PITFALLS).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--allow-loopback-in-peer-connection",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def start_and_wait(
    cmd: list[str], log_path: Path, ready: Callable[[], bool], what: str, timeout: float
) -> subprocess.Popen[bytes]:
    """Start a test server, its output into ``log_path``, and poll ``ready`` until it answers.
    Raises (with the log's tail) when it exits or does not answer within ``timeout``; the
    caller stops a server that never answered."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n" + _tail(log_path))
        if ready():
            return proc
        time.sleep(0.005)
    raise _NotReady(proc, f"{what} did not answer within {timeout} s:\n" + _tail(log_path))


class _NotReady(RuntimeError):
    """A started server that never answered: ``proc`` is for the caller to stop."""

    def __init__(self, proc: subprocess.Popen[bytes], message: str) -> None:
        super().__init__(message)
        self.proc = proc


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


def _redis_ping(port: int, timeout: float = 0.2) -> bool:
    """True when a Redis server on 127.0.0.1:port answers PING with +PONG (raw RESP)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private ``redis-server`` bound to 127.0.0.1 with no persistence.

    Restarting keeps the port but not the data (``--save ''``, ``--appendonly no``), which is what
    a crash of a cache-only Redis looks like to the service.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.extra_args = extra_args
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server not found on PATH: run `make test` (it runs .ci/ensure-deps, "
                "which installs it) or `apt-get install -y redis-server`",
                pytrace=False,
            )
        self.binary: str = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "redis.log"
        self.port: int = port if port is not None else free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Connection URL for database 0, e.g. ``redis://127.0.0.1:6390/0``."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (empty) on ``self.port`` and wait until it answers PING."""
        if self.running:
            raise RuntimeError(f"redis-server already running on port {self.port}")
        cmd = [
            self.binary,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--protected-mode", "no",
            *self.extra_args,
        ]  # fmt: skip
        try:
            self._proc = start_and_wait(
                cmd,
                self.log_path,
                lambda: _redis_ping(self.port),
                f"redis-server on port {self.port} (PING)",
                timeout,
            )
        except _NotReady as exc:
            self._proc = exc.proc
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the server (a crash: no shutdown, clients see reset connections)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), falling back to SIGKILL after ``timeout`` seconds."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, timeout: float = 30.0) -> None:
        """Kill the server if it runs, then start it again on the same port, empty."""
        self.kill()
        self.start(timeout=timeout)


RedisFactory = Callable[[], RedisServer]


@pytest.fixture
def redis_server_factory(tmp_path: Path) -> Iterator[RedisFactory]:
    """Start any number of private Redis servers; all are killed at teardown."""
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        last_error: RuntimeError | None = None
        for _ in range(3):  # a port from free_port() can be taken before redis binds it
            server = RedisServer(tmp_path / f"redis-{len(servers)}")
            servers.append(server)
            try:
                server.start()
                return server
            except RuntimeError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    try:
        yield make
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def redis_server(redis_server_factory: RedisFactory) -> RedisServer:
    """A running private Redis server for this test (``.url``, ``.kill()``, ``.restart()``)."""
    return redis_server_factory()


def cluster_port() -> int:
    """A free port P <= 55535 whose cluster bus port P + 10000 is free too."""
    import random

    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind((LOOPBACK, candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000")  # fmt: skip


CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000")  # fmt: skip


class RedisCluster:
    """Three redis-server masters in cluster mode (no replicas), joined by ``redis-cli``."""

    def __init__(self, workdir: Path) -> None:
        self.servers = [
            RedisServer(
                workdir / f"cluster-{i}",
                port=cluster_port(),
                extra_args=CLUSTER_ARGS,
            )
            for i in range(3)
        ]

    @property
    def url(self) -> str:
        """A seed URL; the client discovers the other masters."""
        return self.servers[0].url

    def start(self, timeout: float = 60.0) -> None:
        for server in self.servers:
            server.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli not found: run `make test` (redis-tools)", pytrace=False)
        addresses = [f"{LOOPBACK}:{s.port}" for s in self.servers]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [
                subprocess.run(
                    [cli, "-p", str(s.port), "cluster", "info"], capture_output=True, text=True
                ).stdout
                for s in self.servers
            ]
            if all("cluster_state:ok" in state for state in states):
                return
            time.sleep(0.05)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def kill(self) -> None:
        for server in self.servers:
            server.kill()


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """A fresh three-master Redis Cluster for this test."""
    cluster = RedisCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.kill()


# --------------------------------------------------------------------------------------------
# WebRTC: loopback-only ICE candidates
# --------------------------------------------------------------------------------------------


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stand-in for ``aioice.ice.get_host_addresses`` offering only loopback."""
    addresses: list[str] = []
    if use_ipv4:
        addresses.append(LOOPBACK)
    elif use_ipv6:
        addresses.append("::1")
    return addresses


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make in-process aiortc/aioice gather only 127.0.0.1 host candidates.

    aioice skips loopback addresses, so in a loopback-only namespace it would gather nothing and
    hang in ``new``. ``aioice.ice.Connection.gather_candidates`` looks the function up as a module
    global, so patching the module attribute is enough. Subprocesses are not affected.
    """
    try:
        import aioice.ice
    except ImportError:  # pragma: no cover - aioice comes with aiortc
        return
    monkeypatch.setattr(aioice.ice, "get_host_addresses", _loopback_host_addresses)


# --------------------------------------------------------------------------------------------
# The service as a subprocess
# --------------------------------------------------------------------------------------------


class NodeProcess:
    """One ``python -m telehealth serve`` process on 127.0.0.1.

    The environment is ``os.environ`` without any ``TELEHEALTH_*`` variables of the caller's
    shell, plus ``env``, plus ``TELEHEALTH_LOG_JSON=1``. stdout and stderr go to ``log_path``.
    """

    def __init__(self, env: Mapping[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        base = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
        self.env: dict[str, str] = {
            **base,
            **env,
            "TELEHEALTH_LOG_JSON": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.argv = [sys.executable, "-m", "telehealth", "serve", "--port", str(port)]
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base HTTP URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("node not started")
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def start(self) -> None:
        """Spawn the process (does not wait for readiness; see :meth:`wait_ready`)."""
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError(f"node on port {self.port} already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll ``GET /healthz`` until it answers 200; fail early if the process exits.

        The deadline is generous: on a 2-core machine shared with other work, importing the
        service alone took 12 s of wall time (0.6 s of CPU), and 15 s was seen to run out."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"telehealth node on port {self.port} exited with {rc} before /healthz:\n"
                    + self.log_text()[-4000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1.0) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise RuntimeError(
            f"telehealth node on port {self.port} not healthy within {timeout} s ({last}):\n"
            + self.log_text()[-4000:]
        )

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown); use :meth:`wait` to collect the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL and reap the process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit and return its exit code."""
        return self.proc.wait(timeout=timeout)

    def log_text(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class StartNode:
    """Callable returned by the ``start_node`` fixture (type for annotations in tests)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.nodes: list[NodeProcess] = []

    def __call__(
        self, env: Mapping[str, str], port: int | None = None, timeout: float = 60.0
    ) -> NodeProcess:
        """Start a node with ``env`` on ``port`` (free one if None) and wait for /healthz."""
        port = port if port is not None else free_port()
        node = NodeProcess(env, port, self.log_dir / f"node-{len(self.nodes)}-{port}.log")
        self.nodes.append(node)
        node.start()
        node.wait_ready(timeout=timeout)
        return node

    def cleanup(self) -> None:
        for node in self.nodes:
            if node._proc is None:
                continue
            with contextlib.suppress(Exception):
                node.kill()
            # Shown by pytest only when the test fails ("Captured stdout teardown").
            print(f"----- {node.log_path.name} (last lines) -----\n{_tail(node.log_path)}")


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[StartNode]:
    """Factory: ``start_node(env, port=None) -> NodeProcess``; every node is killed at teardown."""
    starter = StartNode(tmp_path / "nodes")
    try:
        yield starter
    finally:
        starter.cleanup()


# --------------------------------------------------------------------------------------------
# Browser tests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_js() -> str:
    """Source of axe-core (vendored into .cache/axe by .ci/ensure-deps), to inject in pages."""
    if not AXE_PATH.is_file():
        pytest.fail(f"{AXE_PATH} missing: run `make test` (or `make deps`)", pytrace=False)
    return AXE_PATH.read_text()


# --------------------------------------------------------------------------------------------
# TURN
# --------------------------------------------------------------------------------------------


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    """A running coturn for this test (``.urls``, ``.secret``, ``.address``), stopped at teardown;
    its log is shown when the test fails."""
    from tests.turnserver import start_turn_server  # it builds on the helpers above

    server = start_turn_server(tmp_path / "turn")
    try:
        yield server
    finally:
        server.stop()
        print(f"----- turnserver.log (last lines) -----\n{_tail(server.log_path)}")
