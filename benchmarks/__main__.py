"""``python -m benchmarks`` (``make bench``): run every scenario, write the JSON and the doc.

    python -m benchmarks                  # the full run (~10 min): results/latest.json + docs
    python -m benchmarks --smoke          # every scenario, tiny (~30 s); never touches the docs
    python -m benchmarks --only relay     # one scenario (repeatable)
    python -m benchmarks --out PATH       # where the JSON goes
    python -m benchmarks --profile        # also py-spy the node during a relay step

Scenarios: hold, top-of-hour, relay, cross-node, baseline. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import micro, report, scenarios
from benchmarks.scenarios import FULL, SMOKE, Context

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "latest.json"
DOCS = HERE.parent / "docs" / "performance.md"
SCENARIOS = ("hold", "top-of-hour", "relay", "cross-node", "baseline")
DEADLINE_S = 14 * 60  # make bench must end within 15 minutes, whatever happens


def raise_nofile(want: int = 65536) -> tuple[int, int]:
    """Raise the soft limit on open files as far as the hard limit allows (children inherit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for mod in ("aiohttp", "msgspec", "redis", "jwt"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = "?"
    try:
        redis_v = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=5
        ).stdout.split()[2]
    except Exception:
        redis_v = "?"
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_mb": mem_kb // 1024,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "packages": versions,
        "redis_server": redis_v.removeprefix("v="),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = SMOKE if args.smoke else FULL
    if args.profile:
        from dataclasses import replace

        plan = replace(plan, profile=True)
    selected = args.only or list(SCENARIOS)
    nofile = raise_nofile()
    if plan.hold_clients + 200 > nofile[0]:  # per process: the server and the generator
        print(f"warning: open-file limit {nofile[0]} is low for {plan.hold_clients} clients")
    t_start = time.monotonic()
    results: dict[str, Any] = {
        "machine": machine_info(),
        "mode": "smoke" if args.smoke else "full",
        "plan": {k: v for k, v in plan.__dict__.items()},
        "nofile_limit": nofile[0],
        "scenarios": {},
    }
    if args.pin and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, scenarios.AUX_CPU)  # this orchestrator stays off the server's core
    results["cpu_split"] = report.cpu_split_text(args.pin)
    print("micro costs ...", flush=True)
    results["micro"] = await asyncio.to_thread(micro.run, 0.05 if args.smoke else 0.3)
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        ctx = Context(
            plan=plan,
            workdir=Path(tmp),
            secret=secrets.token_urlsafe(48),
            log=lambda s: print(s, flush=True),
            pin=args.pin and (os.cpu_count() or 1) >= 2,
            quiet_budget_s=0.0 if args.smoke else 210.0,
        )
        jobs: list[tuple[str, str, Any]] = []
        if "hold" in selected:
            jobs.append(("hold", "hold", lambda: scenarios.hold(ctx, "rapport")))
        if "top-of-hour" in selected:
            jobs.append(("top_of_hour", "top-of-hour", lambda: scenarios.top_of_hour(ctx)))
        if "relay" in selected:
            jobs.append(("relay", "relay", lambda: scenarios.relay(ctx, "node")))
        if "baseline" in selected:
            jobs.append(
                ("baseline_relay", "baseline relay", lambda: scenarios.relay(ctx, "baseline"))
            )
            jobs.append(("baseline_hold", "baseline hold", lambda: scenarios.hold(ctx, "baseline")))
        if "cross-node" in selected:
            jobs.append(
                ("cross_node_top_of_hour", "cross-node top-of-hour",
                 lambda: scenarios.top_of_hour(ctx, cross=True))
            )  # fmt: skip
            jobs.append(
                ("cross_node_relay", "cross-node relay", lambda: scenarios.relay(ctx, "cross"))
            )
        for key, label, job in jobs:
            left = DEADLINE_S - (time.monotonic() - t_start)
            if left < 30:
                results["scenarios"][key] = {"completed": False, "error": "out of time"}
                continue
            print(f"{label} ...", flush=True)
            t0 = time.monotonic()
            try:
                detail = await asyncio.wait_for(job(), left)
            except Exception as exc:
                detail = {"completed": False, "error": f"{type(exc).__name__}: {exc}"}
                print(f"  FAILED: {detail['error']}", flush=True)
            detail["duration_s"] = round(time.monotonic() - t0, 1)
            results["scenarios"][key] = detail
        results["waited_for_quiet_s"] = round(ctx.quiet_waited_s, 1)
    results["duration_s"] = round(time.monotonic() - t_start, 1)
    results["summary"] = report.summary(results)
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results)
    lost = report.lost_setups(results)
    results["run_failed"] = bool(lost)  # a lost setup fails the run, whatever else passed
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a tiny run of every scenario")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run only this scenario (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    parser.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="write the performance table here (default: docs/performance.md on a full run "
        "of every scenario; never on --smoke)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the node during relay")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin processes to CPUs"
    )
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    docs = args.docs
    if docs is None and not args.smoke and not args.only:
        docs = DOCS
    if docs is not None:
        docs.write_text(report.markdown(results))
        print(f"wrote {docs}")
    print(json.dumps(results["summary"], indent=2))
    failed = [k for k, v in results["scenarios"].items() if not v.get("completed")]
    if failed:
        print(f"incomplete scenarios: {', '.join(failed)}", file=sys.stderr)
        return 1
    if results["run_failed"]:
        lost = {k: v for k, v in results["summary"].items() if k.endswith("lost_setups") and v}
        print(f"FAILED: setups lost {lost} (every setup must complete)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
