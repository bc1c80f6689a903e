"""The scenarios: each starts fresh server processes, drives a generator, and measures.

CPU split on a 2-core machine (see docs/performance.md): for single-node scenarios the server
under test (our node or the bare relay) is pinned to CPU 0 and the generator, Redis and this
orchestrator to CPU 1, so the server has a core to itself and the generator can never take CPU
from it. Across nodes, node A (therapists) is pinned to CPU 0 and node B (clients) to CPU 1;
Redis and the generator float over both cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.procs import Baseline, Node, Proc, Redis, Worker
from benchmarks.procstat import Meter, cpu_seconds, rss_kb

SERVER_CPU = {0}
AUX_CPU = {1}
P99_LIMIT_MS = 50.0
# A relay step during which processes other than ours used more than this share of one core
# (other tenants of a shared machine, steal) counts as disturbed and may be tried again.
FOREIGN_LIMIT_PERCENT = 15.0
SATURATED_PERCENT = 90.0
# Each socket sends at most this many frames per second, under the service's per-socket limit
# (telehealth/web/ratelimit.py: 50/s, bursts of 200): the ladder never asks for more.
SOCKET_RATE_PER_S = 40


@dataclass(frozen=True)
class Plan:
    """How big each scenario is. FULL is ``make bench``; SMOKE is the test suite's tiny run."""

    hold_clients: int = 10_000
    hold_per_room: int = 10
    hold_concurrency: int = 200
    hold_settle_s: float = 3.0
    hold_idle_s: float = 35.0  # a silent socket is pinged within 30 s: every socket is, once
    top_burst: int = 500
    top_pace: float = 100.0
    top_paced_s: float = 5.0
    top_concurrency: int = 128
    top_timeout_s: float = 30.0  # a setup not done by then is counted as failed
    relay_pairs: int = 500
    relay_setup_concurrency: int = 32
    relay_ladder: tuple[int, ...] = (
        1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 17000, 20000, 24000, 28000, 32000,
        38000,
    )  # fmt: skip
    relay_light_rate: int = 1000
    relay_light_s: float = 5.0
    relay_light_repeats: int = 2
    relay_max_tries: int = 4  # further tries only while every try so far was disturbed
    relay_warmup_s: float = 1.0
    relay_measure_s: float = 4.0
    relay_drain_s: float = 2.0
    relay_pause_s: float = 0.5
    relay_bisect: int = 2
    relay_granularity: int = 250
    profile: bool = False
    profile_s: float = 8.0


FULL = Plan()
SMOKE = Plan(
    hold_clients=40,
    hold_per_room=10,
    hold_concurrency=20,
    hold_settle_s=0.3,
    hold_idle_s=1.0,
    top_burst=6,
    top_pace=20.0,
    top_paced_s=0.5,
    top_concurrency=16,
    top_timeout_s=8.0,
    relay_pairs=20,
    relay_ladder=(1000, 2000),
    relay_warmup_s=0.3,
    relay_measure_s=1.0,
    # Ends as soon as every reply is in; a busy machine must not turn slow replies into lost
    # ones (which leave no p99). The smoke run measures nothing, it only has to finish.
    relay_drain_s=15.0,
    relay_pause_s=0.1,
    relay_bisect=0,
    relay_light_s=1.0,
    relay_light_repeats=1,
    relay_max_tries=1,
)


@dataclass
class Context:
    plan: Plan
    workdir: Path
    secret: str
    log: Callable[[str], None] = print
    pin: bool = True
    quiet_budget_s: float = 150.0  # total time the run may spend waiting for a quiet machine
    quiet_waited_s: float = 0.0
    _seq: int = 0
    started: list[Proc] = field(default_factory=list)

    def prefix(self, name: str) -> str:
        self._seq += 1
        return f"{name}{self._seq}"

    def cpus(self, which: set[int]) -> set[int] | None:
        return which if self.pin else None


async def wait_quiet(ctx: Context, pids: dict[str, int], max_wait_s: float = 20.0) -> float:
    """Wait (within the run's budget) until other tenants leave the CPU mostly idle.

    Returns the foreign CPU (percent of one core) of the last 0.5 s sample.
    """
    if ctx.quiet_budget_s <= 0:
        return 0.0
    t0 = time.monotonic()
    while True:
        meter = Meter(pids)
        meter.start()
        await asyncio.sleep(0.5)
        secs = meter.stop()
        foreign = secs["foreign"] / secs["wall"] * 100
        waited = time.monotonic() - t0
        if (
            foreign <= FOREIGN_LIMIT_PERCENT
            or waited >= max_wait_s
            or ctx.quiet_waited_s + waited >= ctx.quiet_budget_s
        ):
            ctx.quiet_waited_s += waited
            return foreign


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.monotonic()))


@contextlib.asynccontextmanager
async def _servers(ctx: Context, kind: str) -> AsyncIterator[dict[str, Proc]]:
    """Fresh processes for one measurement: kind is ``node``, ``baseline`` or ``cross``."""
    procs: list[Proc] = []
    try:
        if kind == "node":
            node = Node("node", ctx.workdir, ctx.secret, cpus=ctx.cpus(SERVER_CPU))
            procs.append(node)
            node.start()
            node.wait_ready()
            yield {"server": node}
        elif kind == "baseline":
            base = Baseline(ctx.workdir, cpus=ctx.cpus(SERVER_CPU))
            procs.append(base)
            base.start()
            base.wait_ready()
            yield {"server": base}
        else:
            redis = Redis(ctx.workdir / "redis", cpus=None)
            procs.append(redis)
            redis.start()
            redis.wait_ready()
            a = Node("node-a", ctx.workdir, ctx.secret, redis.url, cpus=ctx.cpus({0}))
            b = Node("node-b", ctx.workdir, ctx.secret, redis.url, cpus=ctx.cpus({1}))
            procs += [a, b]
            a.start()
            b.start()
            a.wait_ready()
            b.wait_ready()
            yield {"node_a": a, "node_b": b, "redis": redis}
    finally:
        for proc in reversed(procs):
            proc.stop()


@contextlib.asynccontextmanager
async def _generator(
    ctx: Context, dialect: str, t_port: int, c_port: int, cross: bool
) -> AsyncIterator[Worker]:
    spec = {
        "dialect": dialect,
        "therapist_port": t_port,
        "client_port": c_port,
        "secret": ctx.secret,
    }
    worker = Worker(
        "gen", spec, ctx.workdir / "generator.log", None if cross else ctx.cpus(AUX_CPU)
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


# -- 1. hold ----------------------------------------------------------------------------------


async def hold(ctx: Context, dialect: str = "rapport") -> dict[str, Any]:
    plan = ctx.plan
    async with _servers(ctx, "node" if dialect == "rapport" else "baseline") as procs:
        server = procs["server"]
        await asyncio.sleep(0.5)
        rss_before = rss_kb(server.pid)
        async with _generator(ctx, dialect, server.port, server.port, False) as gen:
            timeout = 60 + plan.hold_clients / 50
            connect = await gen.call(
                {
                    "cmd": "hold_connect",
                    "n": plan.hold_clients,
                    "per_room": plan.hold_per_room,
                    "concurrency": plan.hold_concurrency,
                    "prefix": ctx.prefix("hold"),
                },
                timeout,
            )
            ctx.log(
                f"  {dialect}: {connect['connected']}/{plan.hold_clients} connected in "
                f"{connect['elapsed_s']} s ({connect['connects_per_s']}/s)"
            )
            await asyncio.sleep(plan.hold_settle_s)
            rss_settled = rss_kb(server.pid)
            await wait_quiet(ctx, {"server": server.pid, "generator": gen.pid})
            meter = Meter({"server": server.pid, "generator": gen.pid})
            meter.start()
            await asyncio.sleep(plan.hold_idle_s)
            secs = meter.stop()
            wall = secs["wall"]
            rss_after = rss_kb(server.pid)
            release = await gen.call({"cmd": "hold_release"}, 120)
    held = release["still_open"]
    per_client = (rss_after - rss_before) / held if held else None
    return {
        "completed": True,
        "dialect": dialect,
        "clients_requested": plan.hold_clients,
        "clients_per_room": plan.hold_per_room,
        "clients_held": held,
        "connect": connect,
        "connects_per_s": connect["connects_per_s"],
        "rss_kb_before": rss_before,
        "rss_kb_settled": rss_settled,
        "rss_kb_after_idle": rss_after,
        "rss_kb_per_client": round(per_client, 2) if per_client is not None else None,
        "idle_window_s": round(wall, 2),
        "idle_cpu_percent": round(secs["server"] / wall * 100, 2),
        "generator_idle_cpu_percent": round(secs["generator"] / wall * 100, 2),
        "foreign_cpu_percent": round(secs["foreign"] / wall * 100, 1),
        "rss_kb_per_client_settled": round((rss_settled - rss_before) / held, 2) if held else None,
        "pings_answered": release["pings_answered"],
        "closed_by_server": release["closed_by_server"],
        "close_codes": release["close_codes"],
        "errors": release["errors"],
    }


# -- 2. top of the hour -----------------------------------------------------------------------


async def top_of_hour(ctx: Context, cross: bool = False) -> dict[str, Any]:
    plan = ctx.plan
    out: dict[str, Any] = {"completed": False, "cross_node": cross}
    runs: dict[str, dict[str, Any]] = {
        "burst": {"k": plan.top_burst, "pace": 0},
        "paced": {"k": max(1, int(plan.top_pace * plan.top_paced_s)), "pace": plan.top_pace},
    }
    for name, run in runs.items():
        async with _servers(ctx, "cross" if cross else "node") as procs:
            if cross:
                t_port, c_port = procs["node_a"].port, procs["node_b"].port
            else:
                t_port = c_port = procs["server"].port
            pids = {k: p.pid for k, p in procs.items()}
            async with _generator(ctx, "rapport", t_port, c_port, cross) as gen:
                await wait_quiet(ctx, {**pids, "generator": gen.pid})
                meter = Meter({**pids, "generator": gen.pid})
                meter.start()
                res = await gen.call(
                    {
                        "cmd": "top_of_hour",
                        "k": run["k"],
                        "pace": run["pace"],
                        "prefix": ctx.prefix("top"),
                        "concurrency": plan.top_concurrency,
                        "timeout": plan.top_timeout_s + run["k"] / 20,
                    },
                    120 + run["k"] / 10,
                )
                secs = meter.stop()
        wall = secs.pop("wall")
        nodes_cpu = sum(secs[k] for k in procs if k != "redis")
        res["server_cpu_ms_per_setup"] = (
            round(nodes_cpu / res["completed"] * 1000, 3) if res["completed"] else None
        )
        res["cpu_percent"] = {k: round(v / wall * 100, 1) for k, v in secs.items()}
        out[name] = res
        ctx.log(
            f"  {name}: {res['completed']}/{res['pairs']} setups, {res['setups_per_s']}/s, "
            f"join->admitted p99 {res['join_to_admitted_ms']['p99']} ms"
        )
    # The scenario ran to the end; setups that did not finish are counted, not fatal: they are
    # findings (e.g. a node closing sockets with 4503 when Redis calls time out in a burst).
    out["setups_failed"] = sum(out[n]["pairs"] - out[n]["completed"] for n in runs)
    # A setup that never completed is a session that never starts (a client left at a spinner):
    # the summary counts them per scenario and the run fails on any (report.lost_setups).
    out["lost_setups"] = out["setups_failed"]
    out["completed"] = True
    return out


# -- 3. relay ---------------------------------------------------------------------------------


def _passed(step: dict[str, Any]) -> tuple[bool, str]:
    p99 = step["rtt_ms"]["p99"]
    if step["lost"]:
        return False, f"{step['lost']} lost"
    if step["errors"] or step["closed_by_server"]:
        return False, f"errors {step['errors']} closed {step['closed_by_server']}"
    if p99 is None or p99 > P99_LIMIT_MS:
        return False, f"p99 {p99} ms"
    if step["achieved_msgs_per_s"] < 0.9 * step["rate"]:
        return False, f"only {step['achieved_msgs_per_s']} msgs/s sent"
    return True, "ok"


async def relay(ctx: Context, kind: str = "node") -> dict[str, Any]:
    """kind: ``node`` (our service, one node), ``baseline`` or ``cross`` (two nodes, Redis)."""
    plan = ctx.plan
    dialect = "baseline" if kind == "baseline" else "rapport"
    async with _servers(ctx, kind) as procs:
        if kind == "cross":
            t_port, c_port = procs["node_a"].port, procs["node_b"].port
            server_names = ["node_a", "node_b"]
        else:
            t_port = c_port = procs["server"].port
            server_names = ["server"]
        pids = {k: p.pid for k, p in procs.items()}
        async with _generator(ctx, dialect, t_port, c_port, kind == "cross") as gen:
            setup = await gen.call(
                {
                    "cmd": "pairs",
                    "n": plan.relay_pairs,
                    "prefix": ctx.prefix("relay"),
                    "concurrency": plan.relay_setup_concurrency,
                },
                60 + plan.relay_pairs / 10,
            )
            # Setup is not what this scenario measures: go on with the pairs that are ready
            # (failures are reported), as long as the per-socket rate limit is not reached.
            if setup["ready"] < 0.9 * plan.relay_pairs:
                raise RuntimeError(f"relay setup: only {setup['ready']} pairs ready: {setup}")
            rate_cap = setup["ready"] * 2 * SOCKET_RATE_PER_S
            await asyncio.sleep(0.5)
            steps: list[dict[str, Any]] = []

            async def step(rate: int, measure: float | None = None) -> dict[str, Any]:
                measure = measure or plan.relay_measure_s
                await wait_quiet(ctx, {**pids, "generator": gen.pid})
                start_at = time.monotonic() + 0.1
                call = asyncio.create_task(
                    gen.call(
                        {
                            "cmd": "relay_step",
                            "rate": rate,
                            "start_at": start_at,
                            "warmup": plan.relay_warmup_s,
                            "measure": measure,
                            "drain": plan.relay_drain_s,
                        },
                        60,
                    )
                )
                meter = Meter({**pids, "generator": gen.pid})
                await _sleep_until(start_at + plan.relay_warmup_s)
                meter.start()
                await _sleep_until(start_at + plan.relay_warmup_s + measure)
                secs = meter.stop()
                res: dict[str, Any] = await call
                frames = res["frames_in_window"]
                server_cpu = sum(secs[n] for n in server_names)
                res["cpu_us_per_msg"] = round(server_cpu / frames * 1e6, 2) if frames else None
                wall = secs.pop("wall")
                res["cpu_percent"] = {k: round(v / wall * 100, 1) for k, v in secs.items()}
                # Disturbed: others took CPU while the server still had room. A server at
                # ~100 % of its core has found its limit, whoever else was running.
                busiest = max(res["cpu_percent"][n] for n in server_names)
                res["disturbed"] = (
                    res["cpu_percent"]["foreign"] > FOREIGN_LIMIT_PERCENT
                    and busiest < SATURATED_PERCENT
                )
                res["passed"], res["why"] = _passed(res)
                steps.append(res)
                ctx.log(
                    f"  {kind} {rate:>6} msgs/s: p50 {res['rtt_ms']['p50']} p99 "
                    f"{res['rtt_ms']['p99']} ms, cpu {res['cpu_us_per_msg']} us/msg "
                    f"{res['cpu_percent']} -> {res['why']}"
                )
                await asyncio.sleep(plan.relay_pause_s if res["passed"] else 3 * plan.relay_pause_s)
                return res

            async def attempt(rate: int) -> str:
                """``pass``, ``fail``, or ``inconclusive`` when every failed try was disturbed.

                A second try after any failure; more (up to 4) while the last was disturbed.
                """
                tries = [await step(rate)]
                while not tries[-1]["passed"] and len(tries) < plan.relay_max_tries:
                    if len(tries) >= 2 and not tries[-1]["disturbed"]:
                        break
                    tries.append(await step(rate))
                if tries[-1]["passed"]:
                    return "pass"
                return "inconclusive" if all(t["disturbed"] for t in tries) else "fail"

            light: list[dict[str, Any]] = []
            for _ in range(plan.relay_light_repeats):
                light.append(await step(plan.relay_light_rate, plan.relay_light_s))
            last_pass: int | None = None
            first_fail: int | None = None
            inconclusive: list[int] = []
            if any(s["passed"] for s in light):
                last_pass = plan.relay_light_rate
            for rate in plan.relay_ladder:
                if rate <= plan.relay_light_rate or rate > rate_cap:
                    continue
                outcome = await attempt(rate)
                if outcome == "pass":
                    last_pass = rate
                    continue
                if outcome == "inconclusive":
                    # Only other tenants' load (or steal) made it fail: no verdict on this rate.
                    # Go on climbing; a pass above it is evidence enough, two in a row stop.
                    inconclusive.append(rate)
                    if len(inconclusive) < 2 or inconclusive[-2] != _prev(plan, rate):
                        continue
                first_fail = rate
                break
            for _ in range(plan.relay_bisect):
                if last_pass is None or first_fail is None:
                    break
                g = plan.relay_granularity
                mid = int(round((last_pass + first_fail) / 2 / g) * g)
                if mid <= last_pass or mid >= first_fail:
                    break
                if await attempt(mid) == "pass":
                    last_pass = mid
                else:
                    first_fail = mid
            profile = None
            if plan.profile and kind != "baseline":
                profile = await _profile(ctx, gen, procs, server_names, last_pass or 1000, step)
    # Light load: of the repeated windows, the one least disturbed by other tenants.
    quiet = min(light, key=lambda s: s["cpu_percent"]["foreign"]) if light else None
    best = next((s for s in reversed(steps) if s["rate"] == last_pass and s["passed"]), None)
    at_max = best or (steps[0] if steps else None)
    return {
        "completed": True,
        "kind": kind,
        "pairs": plan.relay_pairs,
        "setup": setup,
        "mix": "per 11 round trips: 1 offer->answer (6.4 KB SDPs) and 10 candidate echoes "
        "(~230 B); each round trip is 2 relayed messages",
        "max_msgs_per_s": last_pass or 0,
        "first_failing_msgs_per_s": first_fail,
        "inconclusive_msgs_per_s": inconclusive,
        "light_rate": plan.relay_light_rate,
        "rtt_p50_ms_light": quiet["rtt_ms"]["p50"] if quiet else None,
        "rtt_p99_ms_light": quiet["rtt_ms"]["p99"] if quiet else None,
        "rtt_p99_ms_light_windows": [s["rtt_ms"]["p99"] for s in light],
        "cpu_us_per_msg_light": quiet["cpu_us_per_msg"] if quiet else None,
        "cpu_us_per_msg": at_max["cpu_us_per_msg"] if at_max else None,
        "cpu_percent_at_max": at_max["cpu_percent"] if at_max else None,
        "steps": steps,
        "profile": profile,
    }


def _prev(plan: Plan, rate: int) -> int | None:
    """The ladder rung below ``rate``."""
    lower = [r for r in plan.relay_ladder if r < rate]
    return lower[-1] if lower else None


async def _profile(
    ctx: Context,
    gen: Worker,
    procs: dict[str, Proc],
    server_names: list[str],
    max_rate: int,
    step: Callable[[int, float | None], Awaitable[dict[str, Any]]],
) -> dict[str, Any] | None:
    """py-spy the (first) node during a relay step at ~80 % of the max rate, if py-spy is here."""
    duration = int(ctx.plan.profile_s)
    name = f"profile-{'cross-' if len(server_names) > 1 else ''}{server_names[0]}.txt"
    started = _start_py_spy(procs[server_names[0]].pid, duration, name)
    if started is None:
        ctx.log("  (py-spy not installed: no profile)")
        return None
    spy, raw = started
    rate = max(1000, int(max_rate * 0.8 / 250) * 250)
    res = await step(rate, float(duration))
    await asyncio.to_thread(spy.wait, 30)
    from benchmarks.profile_summary import summarise

    summary = await asyncio.to_thread(summarise, raw, 30)
    return {
        "rate": rate,
        "file": f"benchmarks/results/{name}",
        "step": res["why"],
        "cpu_us_per_msg": res["cpu_us_per_msg"],
        "summary": summary,
    }


def _start_py_spy(
    pid: int, duration: int, name: str
) -> tuple[subprocess.Popen[bytes], Path] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        return None
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    raw = out_dir / name
    raw.unlink(missing_ok=True)
    argv = [py_spy, "record", "-p", str(pid), "-d", str(duration), "-r", "100", "-f", "raw"]
    spy = subprocess.Popen(
        [*argv, "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return spy, raw


__all__ = ["FULL", "SMOKE", "Context", "Plan", "cpu_seconds", "hold", "relay", "top_of_hour"]
