"""The node's Prometheus metrics, with the official prometheus-client.

One registry per app (never the process-wide default), so several nodes in one test process
keep their own figures. Labels hold bounded values only (states, roles, error and close codes,
Redis operations): never a room, a participant or a person.

Counters and histograms are fed where things happen: the room-change listener (waits, moves),
the socket layer (closes, errors, relay time), presence (Redis time and failures). Gauges that
describe the node now (participants, rooms, sockets, the longest wait) are read at scrape time
from a snapshot function the web layer hands in.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from telehealth.rooms.events import RoomChange

WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
RELAY_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2)
VERSION = "0.1.0"


@dataclass
class NodeState:
    """What the node looks like right now, for the gauges."""

    participants: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, role) -> n
    rooms_active: int = 0
    ws_connections: int = 0
    longest_wait_s: float = 0.0
    router_outbox: int = 0
    nodes: int = 1
    draining: bool = False


class _NodeCollector(Collector):
    def __init__(self, read: Callable[[], NodeState]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        now = self._read()
        participants = GaugeMetricFamily(
            "rapport_participants",
            "Active participants whose socket is on this node, by state and role.",
            labels=["state", "role"],
        )
        for (state, role), n in sorted(now.participants.items()):
            participants.add_metric([state, role], n)
        yield participants
        for name, text, value in (
            (
                "rapport_rooms_active",
                "Rooms with an active participant on this node.",
                now.rooms_active,
            ),
            ("rapport_ws_connections", "Open WebSockets on this node.", now.ws_connections),
            (
                "rapport_longest_wait_seconds",
                "The longest current wait of a client on this node.",
                now.longest_wait_s,
            ),
            ("rapport_router_outbox", "Envelopes queued for other nodes.", now.router_outbox),
            ("rapport_nodes", "Nodes heartbeating in presence, as this node sees them.", now.nodes),
            ("rapport_draining", "1 while this node drains for shutdown.", int(now.draining)),
        ):
            yield GaugeMetricFamily(name, text, value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.wait = Histogram(
            "rapport_wait_seconds",
            "Time from joining the waiting room to being admitted.",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.moves = Counter(
            "rapport_moves_total", "Committed participant events, by event.", ["event"], registry=r
        )
        self.closes = Counter(
            "rapport_ws_closes_total",
            "WebSockets closed, by close reason code.",
            ["code"],
            registry=r,
        )
        self.errors = Counter(
            "rapport_errors_total", "Errors answered, by error code.", ["code"], registry=r
        )
        self.joins_refused = Counter(
            "rapport_joins_refused_total", "Joins refused, by error code.", ["code"], registry=r
        )
        self.relay = Histogram(
            "rapport_relay_seconds",
            "Relayed signaling: frame in to frame handed on.",
            buckets=RELAY_BUCKETS,
            registry=r,
        )
        self.redis = Histogram(
            "rapport_redis_seconds",
            "Time of presence calls to Redis, by operation.",
            ["op"],
            buckets=REDIS_BUCKETS,
            registry=r,
        )
        self.redis_failures = Counter(
            "rapport_redis_failures_total",
            "Presence calls that found Redis unreachable, by operation.",
            ["op"],
            registry=r,
        )
        Info("rapport_build", "The running build.", registry=r).info(
            {"version": VERSION, "python": platform.python_version()}
        )

    def watch(self, read: Callable[[], NodeState]) -> None:
        """Read the node's gauges from ``read`` at each scrape."""
        self.registry.register(_NodeCollector(read))

    def on_change(self, change: RoomChange) -> None:
        """A room-change listener: moves by event, and waits that ended in an admission."""
        for e in change.events:
            self.moves.labels(e.event.value).inc()
            if e.event.value == "admit" and e.wait_ms is not None:
                self.wait.observe(e.wait_ms / 1000)

    def redis_call(self, op: str, seconds: float, ok: bool) -> None:
        self.redis.labels(op).observe(seconds)
        if not ok:
            self.redis_failures.labels(op).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def __repr__(self) -> str:
        return "Metrics()"
