"""``python -m benchmarks.precall``: what pre-call tests cost a node, and what they do to
signaling on the same node.

One node (in-memory presence, loopback ICE) in its own process. For N = 0, 1, 2, 4 tests at
once (aiortc clients in this process, each sending 320x240 video at 15 frames/s and audio for
the whole step), it measures the node's CPU (percent of one core) and the round trip of
signaling pings (``ping`` -> ``pong``) on another socket, from another process, sent 20 times
a second: p50 and p99.
Writes ``benchmarks/results/precall.json`` (or ``--out``) and prints a table. ``make bench``
runs it after the main scenarios. Nothing here is asserted: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.procs import LOOPBACK, Node
from benchmarks.procstat import cpu_seconds
from rapport_sdk.client import SignalingClient
from rapport_sdk.loopback import loopback_only
from rapport_sdk.precall import run_precall
from signaling import messages as m
from telehealth.auth.tokens import TokenMinter
from telehealth.config import from_env

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "precall.json"
STEPS = (0, 1, 2, 4)
STEP_S = 12.0
PING_HZ = 20


async def _joined(url: str, minter: TokenMinter, name: str) -> SignalingClient:
    client = SignalingClient()
    await client.connect(url, "client", minter.mint_client("bench", ttl=3600), "bench", name)
    await client.wait_for(m.ClientState, state="waiting", timeout=60)
    return client


async def _tests(url: str, minter: TokenMinter, n: int, until: float) -> list[float]:
    """Keep ``n`` tests running until ``until``; the echo's bitrate (kb/s, as the client
    received it) of each test that finished with a verdict."""
    done: list[float] = []

    async def one(i: int) -> None:
        nonlocal done
        while time.monotonic() < until - 3:
            client = await _joined(url, minter, f"T{i}")
            try:
                left = max(1.0, until - time.monotonic() - 2)
                report = await run_precall(
                    client, loopback=True, duration=min(8.0, left), timeout=60
                )
                done.append(report.bitrate_down_kbps)
            except Exception as exc:  # a refusal (busy, time up) is a figure too
                print(f"  test {i}: {type(exc).__name__}: {exc}"[:200])
            finally:
                await client.close()

    await asyncio.gather(*(one(i) for i in range(n)))
    return done


def _pinger(url: str, token: str, seconds: float, out: Any) -> None:
    """In its own process: the aiortc clients' encoders must not delay this event loop."""

    async def go() -> list[float]:
        client = SignalingClient()
        await client.connect(url, "client", token, "bench", "pinger")
        await client.wait_for(m.ClientState, state="waiting", timeout=60)
        try:
            return await _pings(client, time.monotonic() + seconds)
        finally:
            await client.close()

    out.put(asyncio.run(go()))


async def _pinged(url: str, minter: TokenMinter, seconds: float) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    token = minter.mint_client("bench", ttl=3600)
    proc = ctx.Process(target=_pinger, args=(url, token, seconds, out), daemon=True)
    proc.start()
    try:
        rtts: list[float] = await asyncio.to_thread(out.get, True, seconds + 120)
        return rtts
    finally:
        await asyncio.to_thread(proc.join, 10)


async def _pings(client: SignalingClient, until: float) -> list[float]:
    rtts: list[float] = []
    n = 0
    while time.monotonic() < until:
        n += 1
        t0 = time.perf_counter()
        await client.send(m.Ping(id=n))
        await client.wait_for(m.Pong, id=n, timeout=30)
        rtts.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(1 / PING_HZ)
    return rtts


async def run(steps: tuple[int, ...], step_s: float) -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)
    settings = from_env({"TELEHEALTH_JWT_SECRET": secret})
    minter = TokenMinter(settings)
    with tempfile.TemporaryDirectory(prefix="bench-precall-") as tmp:
        node = Node("precall", Path(tmp), secret)
        node.env.update(
            {
                "TELEHEALTH_LOOPBACK": "1",
                "TELEHEALTH_PRECALL_MAX": "16",
                "TELEHEALTH_WAITING_GRACE": "5",
            }
        )
        node.start()
        try:
            node.wait_ready()
            url = f"ws://{LOOPBACK}:{node.port}/ws"
            rows = []
            for n in steps:
                await asyncio.sleep(2)  # the last step's peers close
                cpu0, t0 = cpu_seconds(node.pid), time.monotonic()
                until = t0 + step_s
                done, rtts = await asyncio.gather(
                    _tests(url, minter, n, until), _pinged(url, minter, step_s)
                )
                cpu = (cpu_seconds(node.pid) - cpu0) / (time.monotonic() - t0) * 100
                rows.append(
                    {
                        "tests": n,
                        "node_cpu_percent": round(cpu, 1),
                        "verdicts": len(done),
                        "echo_kbps": round(statistics.mean(done)) if done else 0,
                        "ping_p50_ms": round(statistics.median(rtts), 2),
                        "ping_p99_ms": round(statistics.quantiles(rtts, n=100)[98], 2),
                        "pings": len(rtts),
                    }
                )
                print(rows[-1], flush=True)
        finally:
            node.stop()
    idle = rows[0]["node_cpu_percent"] if rows and rows[0]["tests"] == 0 else 0.0
    per_test = [(r["node_cpu_percent"] - idle) / r["tests"] for r in rows if r["tests"] > 0]
    return {
        "steps": rows,
        "step_s": step_s,
        "cpu_percent_per_test": round(max(per_test), 1) if per_test else None,
        "at": time.time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.precall")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--step", type=float, default=STEP_S, help="seconds per step")
    parser.add_argument("--tests", type=int, nargs="*", default=list(STEPS))
    args = parser.parse_args()
    with loopback_only():
        result = asyncio.run(run(tuple(args.tests), args.step))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'tests':>5} {'node CPU %':>10} {'verdicts':>8} {'ping p50':>9} {'ping p99':>9}")
    for r in result["steps"]:
        print(
            f"{r['tests']:>5} {r['node_cpu_percent']:>10} {r['verdicts']:>8} "
            f"{r['ping_p50_ms']:>9} {r['ping_p99_ms']:>9}"
        )
    print(f"node CPU per test (percent of a core): {result['cpu_percent_per_test']}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
