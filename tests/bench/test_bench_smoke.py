"""`python -m benchmarks --smoke`: every scenario runs, tiny, and the JSON has the summary.

No timing is asserted: the full benchmark (`make bench`) measures; this only keeps it working.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {
    "hold_clients",
    "hold_rss_kb_per_client",
    "relay_max_msgs_per_s",
    "relay_baseline_max_msgs_per_s",
    "relay_rtt_p99_ms_light",
    "cross_node_max_msgs_per_s",
    "setups_per_s",
    "join_to_admitted_p99_ms",
    "cpu_us_per_msg",
    "cpu_us_per_msg_cross_node",
    "lost_setups",
    "top_of_hour_lost_setups",
    "cross_node_top_of_hour_lost_setups",
}
SCENARIOS = {
    "hold",
    "top_of_hour",
    "relay",
    "baseline_relay",
    "baseline_hold",
    "cross_node_top_of_hour",
    "cross_node_relay",
}


@pytest.mark.redis
@pytest.mark.timeout(600)  # ~30 s on an idle machine; 156 s was seen on a busy one
def test_smoke_run_writes_every_summary_key(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    docs = REPO_ROOT / "docs" / "performance.md"
    docs_before = docs.read_bytes() if docs.exists() else None
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    results = json.loads(out.read_text())

    summary = results["summary"]
    assert set(summary) == SUMMARY_KEYS
    for key, value in summary.items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)

    # A lost setup would have failed the run (non-zero exit, run_failed): none here.
    assert summary["lost_setups"] == 0 and results["run_failed"] is False
    assert set(results["scenarios"]) == SCENARIOS
    for name, detail in results["scenarios"].items():
        assert detail.get("completed") is True, (name, detail.get("error"))

    machine = results["machine"]
    for key in ("cpu_model", "cores", "python", "date"):
        assert machine.get(key), key
    # A smoke run never rewrites the committed performance page.
    assert (docs.read_bytes() if docs.exists() else None) == docs_before
