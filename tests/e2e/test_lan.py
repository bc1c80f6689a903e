"""``telehealth serve --dev --lan``: a real process serving HTTPS with its self-signed
certificate. There is no LAN in the test namespace, so the address is given (``--lan-host
127.0.0.1``); a client that trusts only the generated certificate connects, reads the pages and
/healthz, and opens a WebSocket over wss from the https origin; one that does not trust it is
refused. The printed links are https ones."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from telehealth.auth.tokens import TokenMinter
from telehealth.config import from_env
from telehealth.lan import CERT_FILE, KEY_FILE
from tests.conftest import free_port

SECRET = "lan-secret-" + "x" * 40
READY_S = 60.0  # importing the service took 12 s of wall time on a loaded 2-core machine


class LanNode:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.log = workdir / "node.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
        env.update(TELEHEALTH_JWT_SECRET=SECRET, PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "telehealth", "serve", "--dev", "--lan"]
        argv += ["--lan-host", "127.0.0.1", "--port", str(port), "--cert-dir", str(workdir)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def trusting(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.workdir / CERT_FILE))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited {self.proc.returncode}:\n{self.output()}")
            if "Serving HTTPS" in self.output():
                try:
                    with urllib.request.urlopen(
                        f"{self.url}/healthz", timeout=1.0, context=self.trusting()
                    ) as answer:
                        if answer.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"node not ready within {READY_S} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def lan_node(tmp_path: Path) -> Iterator[LanNode]:
    node = LanNode(tmp_path, free_port())
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


async def test_https_pages_health_and_wss_with_the_generated_certificate(
    lan_node: LanNode,
) -> None:
    assert (lan_node.workdir / KEY_FILE).stat().st_mode & 0o077 == 0  # the key is private
    connector = aiohttp.TCPConnector(ssl=lan_node.trusting())
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{lan_node.url}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["status"] == "ok"
        async with http.get(f"{lan_node.url}/") as page:
            assert page.status == 200
            assert "<html" in await page.text()
        settings = from_env({"TELEHEALTH_JWT_SECRET": SECRET})
        token = TokenMinter(settings).mint_therapist("dr-lan", ["lan-room"], 600)
        async with http.ws_connect(
            f"wss://127.0.0.1:{lan_node.port}/ws", origin=lan_node.url
        ) as ws:
            await ws.send_json(
                {"type": "auth", "role": "therapist", "token": token, "room": "lan-room"}
            )
            welcome = json.loads((await ws.receive(timeout=10)).data)
            assert welcome["type"] == "welcome", welcome
            assert welcome["room"] == "lan-room"

    # The printed links are built on the https address.
    out = lan_node.output()
    assert f"Therapist console:\n  {lan_node.url}/therapist#" in out, out
    assert f"Client session link (short):\n  {lan_node.url}/s/" in out, out
    assert "SHA-256 fingerprint:" in out


async def test_a_client_that_does_not_trust_the_certificate_is_refused(lan_node: LanNode) -> None:
    async with aiohttp.ClientSession() as http:  # the system's trust store only
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(f"{lan_node.url}/healthz")
    # Plain http on the same port is not served either.
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):
            await http.get(f"http://127.0.0.1:{lan_node.port}/healthz")
