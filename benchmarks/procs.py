"""The processes a benchmark run starts: service nodes, the bare relay, Redis, generators.

Every child binds 127.0.0.1 only, logs to a file in the run's temporary directory, may be pinned
to a CPU, and gets SIGKILL from the kernel if this process dies (PR_SET_PDEATHSIG), so nothing
outlives a run, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger("benchmarks.procs")

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _child_setup(cpus: set[int] | None) -> Callable[[], None]:
    def setup() -> None:
        # In the child between fork and exec: no logging module (its locks may be held),
        # a plain write to the child's stderr, which is its log file.
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except Exception as exc:
            os.write(2, f"benchmarks: PR_SET_PDEATHSIG not set: {type(exc).__name__}\n".encode())
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, cpus)

    return setup


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    return {**base, "PYTHONUNBUFFERED": "1", **extra}


class Proc:
    """A child process with a log file."""

    port: int  # where it listens: each kind picks a free port before it starts

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        cpus: set[int] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cpus = cpus
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(self.cpus),
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def wait_http(self, port: int, timeout: float = 60.0) -> None:
        # Generous: it ends as soon as /healthz answers (or the process exits), and on a busy
        # 2-core machine a node's imports alone took over 12 s.
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{tail(self.log_path)}")
            try:
                with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} not healthy in {timeout} s ({last}):\n{tail(self.log_path)}"
        )


class Redis(Proc):
    def __init__(self, workdir: Path, cpus: set[int] | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: apt-get install -y redis-server")
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--protected-mode", "no",
        ]  # fmt: skip
        super().__init__("redis", argv, clean_env({}), workdir / "redis.log", cpus)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"redis-server exited:\n{tail(self.log_path)}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.2) as sock:
                    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING")


class Node(Proc):
    """``python -m telehealth serve`` with a real secret and WARNING logs."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        secret: str,
        redis_url: str | None = None,
        cpus: set[int] | None = None,
    ) -> None:
        self.port = free_port()
        env = {
            "TELEHEALTH_HOST": LOOPBACK,
            "TELEHEALTH_JWT_SECRET": secret,
            "TELEHEALTH_LOG_LEVEL": "WARNING",
            "TELEHEALTH_NODE_ID": f"bench-{name}-{secrets.token_hex(3)}",
            # Every simulated person connects from this one loopback address: lift the
            # per-address caps, which are meant for one network, not for a load generator.
            "TELEHEALTH_ADDRESS_MAX_ATTEMPTS": "100000000",
            "TELEHEALTH_ADDRESS_MAX_PENDING": "100000000",
            "TELEHEALTH_API_RATE": "100000000",
        }
        if redis_url:
            env["TELEHEALTH_REDIS_URL"] = redis_url
        argv = [sys.executable, "-m", "telehealth", "serve", "--port", str(self.port)]
        super().__init__(name, argv, clean_env(env), workdir / f"{name}.log", cpus)

    def wait_ready(self) -> None:
        self.wait_http(self.port)


class Baseline(Proc):
    def __init__(self, workdir: Path, cpus: set[int] | None = None) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "benchmarks.baseline_relay", "--port", str(self.port)]
        super().__init__("baseline", argv, clean_env({}), workdir / "baseline.log", cpus)

    def wait_ready(self) -> None:
        self.wait_http(self.port)


class Worker:
    """A load generator process (benchmarks.loadgen), driven one JSON line at a time."""

    def __init__(self, name: str, spec: dict[str, Any], log_path: Path, cpus: set[int] | None):
        self.name = name
        self.spec = spec
        self.log_path = log_path
        self.cpus = cpus
        self.proc: asyncio.subprocess.Process | None = None
        self._log: BinaryIO | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            json.dumps(self.spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            cwd=REPO_ROOT,
            env=clean_env({}),
            limit=1 << 26,
            preexec_fn=_child_setup(self.cpus),
        )
        ready = await self._read(30.0)
        if not ready.get("ready"):
            raise RuntimeError(f"generator {self.name} did not start: {ready}")

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"generator {self.name} exited:\n{tail(self.log_path)}")
        result: dict[str, Any] = json.loads(line)
        return result

    async def call(self, cmd: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        result = await self._read(timeout)
        if "error" in result:
            raise RuntimeError(f"generator {self.name}: {cmd['cmd']} failed: {result['error']}")
        return result

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd": "exit"}\n')
                await self.proc.stdin.drain()
            except Exception as exc:
                log.warning(
                    "generator %s: could not ask it to exit: %s", self.name, type(exc).__name__
                )
            try:
                await asyncio.wait_for(self.proc.wait(), 5.0)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._log is not None:
            self._log.close()
