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
from telehealth.rooms.quality import Level, QualitySample

WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
RELAY_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2)
# Call quality from the pages' summaries: round trip and jitter in seconds, loss as a ratio.
CALL_RTT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1, 2, 5)
CALL_LOSS_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.15, 0.3, 1)
CALL_JITTER_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1, 0.2, 0.5)
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
        # No labels at all: a room or a participant would be unbounded, and who has a poor
        # connection is for the monitor (which shows it per session), not for the metrics.
        self.call_rtt = Histogram(
            "rapport_call_rtt_seconds",
            "Round-trip time of the media path, from the pages' call-quality summaries.",
            buckets=CALL_RTT_BUCKETS,
            registry=r,
        )
        self.call_loss = Histogram(
            "rapport_call_loss_ratio",
            "Share of received media packets lost in one summary's interval (0 to 1).",
            buckets=CALL_LOSS_BUCKETS,
            registry=r,
        )
        self.call_jitter = Histogram(
            "rapport_call_jitter_seconds",
            "Jitter of received media, from the pages' call-quality summaries.",
            buckets=CALL_JITTER_BUCKETS,
            registry=r,
        )
        self.call_poor = Counter(
            "rapport_call_poor_samples_total",
            "Call-quality summaries graded poor.",
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

    def quality(self, sample: QualitySample) -> None:
        """One accepted call-quality summary."""
        if sample.rtt_ms is not None:
            self.call_rtt.observe(sample.rtt_ms / 1000)
        self.call_loss.observe(sample.loss_pct / 100)
        if sample.jitter_ms is not None:
            self.call_jitter.observe(sample.jitter_ms / 1000)
        if sample.level is Level.POOR:
            self.call_poor.inc()

    def redis_call(self, op: str, seconds: float, ok: bool) -> None:
        self.redis.labels(op).observe(seconds)
        if not ok:
            self.redis_failures.labels(op).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def __repr__(self) -> str:
        return "Metrics()"
