"""Real `telehealth serve` processes: two nodes on one redis-server act as one service, and
`telehealth probe` checks them end to end, as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import RedisServer, StartNode

pytestmark = pytest.mark.webrtc

SECRET = "nodes-test-secret-" + "z" * 40


def probe(*args: str) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env["TELEHEALTH_JWT_SECRET"] = SECRET
    done = subprocess.run(
        [sys.executable, "-m", "telehealth", "probe", "--loopback", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def test_probe_across_two_nodes_sharing_redis(
    redis_server: RedisServer, start_node: StartNode
) -> None:
    env = {"TELEHEALTH_JWT_SECRET": SECRET, "TELEHEALTH_REDIS_URL": redis_server.url}
    a = start_node({**env, "TELEHEALTH_NODE_ID": "node-a"})
    b = start_node({**env, "TELEHEALTH_NODE_ID": "node-b"})
    code, report, stderr = probe("--client-url", a.url, "--therapist-url", b.url)
    assert code == 0, (report, stderr)
    assert report["ok"] is True
    steps = report["steps"]
    assert isinstance(steps, list) and all(step["ok"] for step in steps)
    assert "datachannel_therapist_to_client" in [step["name"] for step in steps]
    # The nodes logged opaque ids only, as JSON lines, and nothing failed.
    for node in (a, b):
        lines = [json.loads(line) for line in node.log_text().splitlines() if line.startswith("{")]
        assert lines, node.log_text()
        assert not [line for line in lines if line["level"] in ("error", "critical")]
        assert SECRET not in node.log_text()


def test_probe_fails_clearly_against_a_wrong_secret(start_node: StartNode) -> None:
    node = start_node({"TELEHEALTH_JWT_SECRET": "another-secret-" + "q" * 40})
    code, report, _ = probe("--url", node.url)
    assert code == 1 and report["ok"] is False
    failed = [step for step in report["steps"] if not step["ok"]]
    assert len(failed) == 1 and "token_invalid" in failed[0]["error"]


def test_a_weak_secret_is_refused_outside_dev_mode(start_node: StartNode) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env["TELEHEALTH_JWT_SECRET"] = "secret"
    done = subprocess.run(
        [sys.executable, "-m", "telehealth", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "TELEHEALTH_JWT_SECRET is too weak" in done.stderr
