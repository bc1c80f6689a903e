"""Fault-test harness: real node processes, a real redis-server, and participants that come
back the way the pages and the probe do (the same token, to whichever node is up)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import pytest

from rapport_sdk.client import SignalingClient, SignalingError
from rapport_sdk.ice import ws_url_for
from signaling import messages as m
from telehealth.auth.tokens import TokenMinter
from telehealth.config import from_env
from tests.conftest import NodeProcess, RedisServer, StartNode

SECRET = "fault-test-secret-" + "f" * 40
ROOM = "fault-room"
HEARTBEAT_S = 0.3  # node timeout is three heartbeats: reaping is quick in these tests
M = TypeVar("M", bound=msgspec.Struct)


def node_env(redis: RedisServer, node_id: str, **extra: str) -> dict[str, str]:
    return {
        "TELEHEALTH_JWT_SECRET": SECRET,
        "TELEHEALTH_REDIS_URL": redis.url,
        "TELEHEALTH_NODE_ID": node_id,
        "TELEHEALTH_NODE_HEARTBEAT": str(HEARTBEAT_S),
        "TELEHEALTH_LOOPBACK": "1",
        # Every visitor here connects from 127.0.0.1 and retries every 0.2 s while nodes
        # restart: the per-address caps are for one network, not for a crowd on one address.
        "TELEHEALTH_ADDRESS_MAX_ATTEMPTS": "100000",
        "TELEHEALTH_ADDRESS_MAX_PENDING": "100000",
        **extra,
    }


@pytest.fixture
def minter() -> TokenMinter:
    return TokenMinter(from_env({"TELEHEALTH_JWT_SECRET": SECRET}))


@dataclass
class Cluster:
    """Two or more nodes on one Redis, as behind a load balancer."""

    redis: RedisServer
    start_node: StartNode
    nodes: dict[str, NodeProcess] = field(default_factory=dict)

    def start(self, node_id: str, port: int | None = None, **extra: str) -> NodeProcess:
        node = self.start_node(node_env(self.redis, node_id, **extra), port=port)
        self.nodes[node_id] = node
        return node

    def live(self) -> list[NodeProcess]:
        return [n for n in self.nodes.values() if n.returncode is None and _healthy(n)]


def _healthy(node: NodeProcess) -> bool:
    try:
        with urllib.request.urlopen(node.url + "/readyz", timeout=5) as resp:
            status: int = resp.status
            return status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def cluster(redis_server: RedisServer, start_node: StartNode) -> Cluster:
    return Cluster(redis_server, start_node)


class Visitor:
    """One participant with a stable token, reconnecting as our pages do."""

    def __init__(
        self, cluster: Cluster, role: str, token: str, name: str | None = None, room: str = ROOM
    ) -> None:
        self.cluster = cluster
        self.role = role
        self.token = token
        self.name = name
        self.room = room
        self.node: NodeProcess | None = None  # the node of the latest connect
        self.client: SignalingClient | None = None
        self.welcomes: list[m.Welcome] = []

    @property
    def pid(self) -> str:
        assert self.client is not None
        return self.client.participant_id

    async def connect(self, node: NodeProcess) -> m.Welcome:
        resume = None
        if self.client is not None:
            resume = self.client.resume  # the same device coming back
            await self.client.close()
        self.client = SignalingClient()
        self.node = node
        welcome = await self.client.connect(
            ws_url_for(node.url), self.role, self.token, self.room, name=self.name, resume=resume
        )
        self.welcomes.append(welcome)
        return welcome

    async def reconnect(self, timeout: float = 20.0) -> m.Welcome:
        """Connect again to any live node, retrying while the service recovers."""
        async with asyncio.timeout(timeout):
            while True:
                for node in self.cluster.live():
                    try:
                        return await self.connect(node)
                    except (SignalingError, OSError, TimeoutError):
                        continue
                await asyncio.sleep(0.2)

    async def wait_for(
        self,
        match: type[M],
        timeout: float = 10.0,
        *,
        where: Callable[[M], bool] | None = None,
        **fields: Any,
    ) -> M:
        assert self.client is not None
        return await self.client.wait_for(match, timeout, where=where, **fields)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


@pytest.fixture
async def visitors() -> AsyncIterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    for visitor in made:
        await visitor.close()


def log_lines(node: NodeProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in node.log_text().splitlines() if line.startswith("{")]


def rooms(node: NodeProcess, minter: TokenMinter) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        node.url + "/api/rooms",
        headers={"Authorization": "Bearer " + minter.mint_admin("ops", 600)},
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        data: list[dict[str, Any]] = json.loads(resp.read())["rooms"]
    return data


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")
