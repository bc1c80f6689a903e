"""``telehealth serve --dev --links-file F`` (what ``make run`` starts) prints short links, one a
line, that still work after a restart on the embedded in-memory store."""

from __future__ import annotations

import json
import re
import secrets
import stat
import time
import urllib.request
from pathlib import Path

from tests.conftest import NodeProcess, free_port

SHORT = re.compile(r"^  (http://\S+/s/([0-9a-z]{13}))$", re.M)


def start_dev(tmp_path: Path, env: dict[str, str], port: int, links: Path, n: int) -> NodeProcess:
    node = NodeProcess(env, port, tmp_path / f"dev-{n}.log")
    node.argv += ["--dev", "--links-file", str(links)]
    node.start()
    node.wait_ready()
    return node


def printed_short_link(node: NodeProcess) -> tuple[str, str]:
    deadline = time.monotonic() + 10
    while not (found := SHORT.findall(node.log_text())):
        assert time.monotonic() < deadline, node.log_text()[-2000:]
        time.sleep(0.05)
    assert len(found) == 1
    url, code = found[0]
    return url, code


def resolve(node: NodeProcess, code: str) -> str:
    request = urllib.request.Request(
        f"{node.url}/api/short-links/resolve",
        data=json.dumps({"code": code}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        token: str = json.load(resp)["token"]
        return token


def test_the_printed_links_survive_a_restart(tmp_path: Path) -> None:
    nodes: list[NodeProcess] = []
    try:
        _restarts(tmp_path, nodes)
    finally:
        for node in nodes:
            node.kill()


def _restarts(tmp_path: Path, nodes: list[NodeProcess]) -> None:
    env = {"TELEHEALTH_JWT_SECRET": secrets.token_urlsafe(48)}
    port, links = free_port(), tmp_path / ".dev-links.json"
    first = start_dev(tmp_path, env, port, links, 1)
    nodes.append(first)
    url, code = printed_short_link(first)
    assert url == f"http://127.0.0.1:{port}/s/{code}"
    kept = json.loads(links.read_text())
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    assert kept["code"] == code and resolve(first, code) == kept["client"]
    first.terminate()
    assert first.wait() == 0

    second = start_dev(tmp_path, env, port, links, 2)
    nodes.append(second)
    assert printed_short_link(second) == (url, code)  # the same link, and it still opens
    assert resolve(second, code) == kept["client"]
    assert json.loads(links.read_text()) == kept
    second.terminate()
    second.wait()

    # Another secret: the kept links no longer verify, so new ones are made.
    third = start_dev(
        tmp_path, {"TELEHEALTH_JWT_SECRET": secrets.token_urlsafe(48)}, port, links, 3
    )
    _, new_code = printed_short_link(third)
    assert new_code != code and json.loads(links.read_text())["client"] != kept["client"]
