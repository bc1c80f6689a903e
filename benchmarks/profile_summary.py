"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the time goes.

python -m benchmarks.profile_summary benchmarks/results/profile-server.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*?)(?::(?P<line>\d+))?\)$")
# Frames that are on every stack of an asyncio server: they say nothing about the hot path.
_SCAFFOLD = ("_run_module_as_main", "_run_code", "<module>", "main", "cmd_serve", "run",
             "Runner.run", "BaseEventLoop.run_until_complete", "BaseEventLoop.run_forever",
             "BaseEventLoop._run_once", "_serve", "Handle._run",
             # aiohttp's request handling and our middlewares: every socket's whole life
             "RequestHandler._handle_request", "RequestHandler.start", "Application._handle",
             "_fix_request_current_app.<locals>.impl", "error_middleware", "security_headers",
             "signaling")  # fmt: skip


def _name(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    return f"{m.group('func')} ({m.group('file')})"


def summarise(path: Path, top: int = 25) -> dict[str, Any] | None:
    if not path.exists():
        return None
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")]
        self_time[frames[-1]] += n
        for name in set(frames):
            if name.split(" (")[0] not in _SCAFFOLD:
                inclusive[name] += n

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "percent": round(100 * n / total, 1), "samples": n}
            for name, n in counter.most_common(top)
        ]

    return {"samples": total, "self": table(self_time), "inclusive": table(inclusive)}


def main() -> None:
    result = summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    if result is None:
        sys.exit(f"no such file: {sys.argv[1]}")
    print(f"{result['samples']} samples")
    for kind in ("inclusive", "self"):
        print(f"\n{kind}:")
        for row in result[kind]:
            print(f"  {row['percent']:5.1f}%  {row['function']}")


if __name__ == "__main__":
    main()
