"""Pre-call test peers leave nothing behind: ``telehealth probe --precall`` against a node
process (ten runs, the node's file descriptors), and 100 test cycles against one node (the
process's asyncio tasks, UDP sockets, file descriptors and RSS back to their baseline)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from rapport_sdk.client import SignalingClient
from rapport_sdk.ice import ws_url_for
from rapport_sdk.precall import PrecallFailed, run_precall
from signaling import messages as m
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.web import keys
from tests.conftest import REPO_ROOT, StartNode
from tests.e2e.conftest import SECRET, settings_for
from tests.e2e.test_precall import wait_until

pytestmark = pytest.mark.webrtc

CYCLES = 100
AT_ONCE = 2  # clients and node share this process: more at once starves its event loop
WARM_UP = 10  # cycles before the baseline: codecs, thread pools and allocator arenas grow first
RSS_SLACK_KB = 20 * 1024


def fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def udp_sockets() -> int:
    """UDP sockets this process holds: its socket inodes that /proc/net/udp lists."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            if line.split()[9] in mine:
                count += 1
    return count


def rss_kb() -> int:
    """This process's resident memory, after handing freed heap back (malloc_trim)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def tasks() -> int:
    return len(asyncio.all_tasks())


@pytest.mark.timeout(900)
def test_probe_precall_prints_a_verdict_and_ten_runs_leave_the_nodes_fds(
    start_node: StartNode,
) -> None:
    env = {"TELEHEALTH_JWT_SECRET": SECRET, "TELEHEALTH_LOOPBACK": "1"}
    node = start_node(env)
    probe_env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    argv = [sys.executable, "-m", "telehealth", "probe", "--precall", "--client-url", node.url]
    argv += ["--loopback", "--duration", "1.5", "--timeout", "60"]

    def probe() -> dict[str, object]:
        done = subprocess.run(
            argv, env={**probe_env, **env}, cwd=REPO_ROOT, capture_output=True, timeout=180
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()[-3000:]
        report: dict[str, object] = json.loads(done.stdout)
        return report

    first = probe()  # also warms the node up (imports, codecs), before the baseline
    assert first["ok"] is True and first["verdict"] in ("good", "fair", "poor"), first
    for figure in ("rtt_ms", "loss_pct", "jitter_ms", "bitrate_kbps", "path", "advice"):
        assert figure in first, first
    assert "v=0" not in json.dumps(first) and "eyJ" not in json.dumps(first)
    baseline = fds(node.pid)
    for _ in range(9):
        assert probe()["ok"] is True
    try:
        asyncio.run(wait_until(lambda: fds(node.pid) <= baseline, timeout=60))
    except TimeoutError:
        raise AssertionError(
            f"node fds {fds(node.pid)} after ten runs, {baseline} before"
        ) from None


@pytest.mark.timeout(1200)
async def test_a_hundred_precall_cycles_leave_tasks_sockets_fds_and_rss_at_baseline() -> None:
    settings = settings_for()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    minter = TokenMinter(settings)
    url = ws_url_for(str(server.make_url("/")))
    desk = server.app[keys.PRECALL]
    done = 0
    verdicts: list[str] = []

    async def cycle(n: int) -> None:
        nonlocal done
        async with SignalingClient() as client:
            await client.connect(
                url, "client", minter.mint_client("leak", ttl=600), "leak", f"C{n}"
            )
            await client.wait_for(m.ClientState, state="waiting", timeout=60)
            try:
                report = await run_precall(client, loopback=True, duration=0.5, timeout=60)
                verdicts.append(report.verdict)
            except PrecallFailed as exc:  # a loaded machine can run past the time limit
                assert exc.code == "precall_time_up", exc
            await client.send({"type": "leave"})
            await client.wait_closed(timeout=60)
        done += 1

    def settled() -> tuple[int, int, int]:
        gc.collect()
        return tasks(), udp_sockets(), fds()

    try:
        for start in range(0, WARM_UP, AT_ONCE):  # warm-up, then the baseline
            await asyncio.gather(*(cycle(n) for n in range(start, start + AT_ONCE)))
        await wait_until(lambda: desk.running == 0, timeout=60)
        base = settled()
        rss = [rss_kb()]  # at the baseline, half way, at the end
        for start in range(WARM_UP, CYCLES + WARM_UP, AT_ONCE):
            await asyncio.gather(*(cycle(n) for n in range(start, start + AT_ONCE)))
            if start + AT_ONCE - WARM_UP in (CYCLES // 2, CYCLES):
                rss.append(rss_kb())
        assert done == CYCLES + WARM_UP
        assert len(verdicts) >= CYCLES // 2, f"only {len(verdicts)} verdicts"
        await wait_until(lambda: desk.running == 0, timeout=60)
        try:
            await wait_until(
                lambda: all(a <= b for a, b in zip(settled(), base, strict=True)), timeout=60
            )
        except TimeoutError:
            raise AssertionError(
                f"(tasks, udp sockets, fds) {settled()} after {CYCLES} cycles, {base} before"
            ) from None
        # Clients and node share this process, and memory that glibc and libvpx keep for
        # reuse grows in steps: what counts is that it levels off. A leak per cycle would grow
        # the second half as much as the first.
        first, second = rss[1] - rss[0], rss[2] - rss[1]
        print(f"RSS (kB) at 0, {CYCLES // 2}, {CYCLES} cycles: {rss}; tasks, udp, fds: {base}")
        assert second < first / 2 + RSS_SLACK_KB, f"RSS (kB) at 0, 50, 100 cycles: {rss}"
    finally:
        await server.close()
