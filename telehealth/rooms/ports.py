"""The ports the room domain talks to, and the values that cross them.

The domain (service, hub, reaper) depends on these Protocols only; presence/ and routing/ hold
the adapters (in-memory and Redis), chosen at wiring. Nothing here imports aiohttp or redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import msgspec

from signaling.errors import Code
from telehealth.rooms.events import StoredEvent, StreamEntry
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.profile import RoomProfile
from telehealth.rooms.quality import QualitySample
from telehealth.rooms.roomlinks import RoomLink
from telehealth.rooms.states import Role


class PresenceUnavailable(Exception):
    """The backing store cannot be reached; callers answer "temporarily unavailable"."""


class Revocation(msgspec.Struct, frozen=True, array_like=True):
    """A withdrawal, as every node hears of it: one token (``jti``), or every token of
    ``subject`` issued before ``cutoff_ms``. ``at_ms`` is when it was made."""

    at_ms: int
    jti: str = ""
    subject: str = ""
    cutoff_ms: int = 0


class IssuedLink(msgspec.Struct, frozen=True, kw_only=True):
    """A session link as its room's list of links keeps it: ids and times only (never a
    client's name; a therapist's label for it stays in their browser). Times in epoch ms."""

    jti: str
    code: str  # its short link's code ("" when it has none)
    not_before: int
    expires_at: int
    created_at: int
    withdrawn_at: int = 0  # 0 while it stands
    # The appointment's start, when the link was made for one (it opens some minutes before);
    # 0 when none was given (the invitation then says "join now", or the time it opens).
    starts_at: int = 0


# How long a withdrawal stays in the recent list that every node polls (a hint for closing
# live sockets; the lists the verifier reads are what refuse the token afterwards).
REVOCATION_FEED_MS = 60_000


class PresenceStore(Protocol):
    """Where rooms live. Changes are optimistic: read a snapshot, compute the new records with
    the state table, then ``commit`` them only if the room is still at the version that was
    read. The store enforces the compare-and-set atomically (a Lua script in Redis); the rules
    stay in Python, in one place."""

    healthy: bool  # False after a call failed because the store was unreachable

    async def load(self, room: str) -> Snapshot:
        """The room's current snapshot (version 0 and no participants if unknown)."""

    async def commit(
        self,
        room: str,
        expected_version: int,
        changed: Mapping[str, Participant],
        events: Sequence[StreamEntry] = (),
    ) -> int | None:
        """Write ``changed`` if the room is still at ``expected_version``, and append
        ``events`` to the room's stream in the same atomic step, continuing its hash chain.

        Returns the new version, or None when another writer got there first (reload, retry).
        """

    async def append(self, room: str, entries: Sequence[StreamEntry]) -> None:
        """Append audited actions (not moves) to the room's stream and its hash chain."""

    async def events(
        self,
        room: str,
        *,
        after: str = "",
        since_ms: int = 0,
        until_ms: int | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """The room's stream, oldest first: entries after the id ``after`` (exclusive), or
        else from ``since_ms``; up to ``until_ms`` (inclusive) and at most ``limit``."""

    async def event_rooms(self, since_ms: int = 0) -> list[str]:
        """Rooms whose stream got an entry at or after ``since_ms`` (sorted)."""

    async def restore(self, snapshot: Snapshot) -> int | None:
        """Write back a room the store lost, if ``snapshot`` is newer than what it holds.

        Returns the new version, or None when the store already had this version or newer.
        """

    async def rooms(self) -> list[Snapshot]:
        """Snapshots of every room with at least one active participant, on any node."""

    async def heartbeat(self, node_id: str, now_ms: int) -> None:
        """Record that ``node_id`` is alive."""

    async def dead_nodes(self, older_than_ms: int) -> list[str]:
        """Nodes whose last heartbeat is older than the given time."""

    async def live_nodes(self, since_ms: int) -> set[str]:
        """Nodes that heartbeated at or after ``since_ms``."""

    async def forget_node(self, node_id: str) -> None: ...

    async def schedule_expiry(self, room: str, pid: str, due_ms: int) -> None:
        """Ask any node's reaper to look at ``pid`` once ``due_ms`` has passed."""

    async def due_expiries(self, now_ms: int, limit: int = 100) -> list[tuple[str, str]]: ...

    async def clear_expiry(self, room: str, pid: str) -> None: ...

    async def revoke(self, jti: str, until_ms: int) -> None:
        """Withdraw a token (by jti) until ``until_ms`` (its own expiry)."""

    async def is_revoked(self, jti: str) -> bool: ...

    async def revoke_subject(self, subject: str, cutoff_ms: int, until_ms: int) -> None:
        """Withdraw every token of ``subject`` issued before ``cutoff_ms`` (a later cut-off
        already there stays), remembered until ``until_ms``, when the longest such token has
        expired."""

    async def subject_cutoff(self, subject: str) -> int | None:
        """The subject's cut-off (epoch ms), or None."""

    async def announce_revocation(self, revocation: Revocation) -> None:
        """List a withdrawal among the recent ones, which every node polls."""

    async def recent_revocations(self, since_ms: int) -> list[Revocation]:
        """Withdrawals made at or after ``since_ms`` (at most the last REVOCATION_FEED_MS)."""

    async def put_short_link(self, code: str, token: str, until_ms: int) -> bool:
        """Map the short link ``code`` to the session link ``token`` until ``until_ms`` (the
        token's own expiry). False, changing nothing, when the code is taken."""

    async def short_link(self, code: str) -> str | None:
        """The token behind ``code``, or None when there is none (unknown, expired, dropped)."""

    async def drop_short_link(self, code: str) -> None:
        """Forget ``code`` (its link was withdrawn)."""

    async def add_room_link(self, room: str, link: IssuedLink, until_ms: int) -> None:
        """List ``link`` among the room's links, kept until ``until_ms``."""

    async def room_links(self, room: str) -> list[IssuedLink]:
        """The room's links still kept, oldest first."""

    async def withdraw_room_link(self, room: str, jti: str, at_ms: int) -> IssuedLink | None:
        """Mark the room's link ``jti`` withdrawn at ``at_ms`` (the first time only), and return
        it; None when the room lists no such link."""

    async def ping(self, budget: float | None = None) -> bool:
        """True when the store answers within ``budget`` seconds (default: a call's deadline)."""

    async def add_quality(
        self, room: str, pid: str, sample: QualitySample, *, keep: int, ttl_ms: int
    ) -> None:
        """Append one call-quality sample to ``pid``'s timeline in ``room``, keeping the newest
        ``keep``; the timeline is forgotten ``ttl_ms`` after its newest sample."""

    async def quality(self, room: str, pids: Sequence[str]) -> dict[str, list[QualitySample]]:
        """The timelines of ``pids`` in ``room``, oldest first (a pid with none is left out)."""

    async def forget_quality(self, room: str, pids: Sequence[str]) -> None:
        """Delete these participants' timelines (they left the session)."""

    async def room_profile(self, room: str) -> RoomProfile:
        """How ``room``'s clients see it (rooms/profile.py); an empty profile when unset."""

    async def set_room_profile(self, room: str, profile: RoomProfile) -> None:
        """Keep ``room``'s profile (an empty one deletes it)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Claimed:
    """What :meth:`EventGroup.claim` hands a consumer: the room's entries that are now its to
    deliver, oldest first; or none, and ``busy`` when another consumer is still at the room."""

    entries: list[StoredEvent]
    busy: bool = False


class EventGroup(Protocol):
    """One consumer group over the rooms' event streams: how the webhook deliverers of all the
    nodes share the work, so that each entry is delivered by one node and acknowledged once.

    A room is worked on by one consumer at a time, which keeps its entries in order: ``claim``
    hands out new entries only while none of the room's are pending, and takes pending ones
    over only from a consumer that has not kept them for ``idle_ms`` (it stopped or died).
    """

    async def begin(self, now_ms: int) -> int:
        """The time (ms) delivery began in this deployment: ``now_ms`` the first time ever.
        A room's group starts there (or ``retry_for`` ago, if later), not at its first entry."""

    async def claim(
        self, room: str, consumer: str, *, count: int, idle_ms: int, start_ms: int
    ) -> Claimed:
        """Up to ``count`` entries of ``room`` for ``consumer``: the room's pending ones if they
        are its own or were left idle for ``idle_ms``, else new ones (the group is created at
        ``start_ms`` the first time). Every entry handed out is pending until ``ack``."""

    async def keep(self, room: str, consumer: str, ids: Sequence[str]) -> bool:
        """Tell the group that ``consumer`` is still at these entries (resets their idle time;
        ones acknowledged meanwhile are skipped). False when another consumer has taken some
        of them over: this one lost the room."""

    async def ack(self, room: str, ids: Sequence[str]) -> None:
        """These entries are done (delivered or dead-lettered): no longer pending."""

    async def pending(self, room: str) -> int:
        """How many of the room's entries were handed out and not acknowledged."""

    async def previous(self, room: str, stream_id: str) -> StoredEvent | None:
        """The room's entry just before ``stream_id``, if the stream still holds it."""

    async def close(self) -> None: ...


class DeadLetters(Protocol):
    """A bounded list of what could not be delivered, newest first, shared by every node.
    Letters are opaque bytes to the store; adding one to a full list drops the oldest."""

    async def add(self, letter: bytes) -> bool:
        """Keep ``letter``; True when the oldest letter was dropped to make room."""

    async def list(self, limit: int) -> list[bytes]:
        """The newest ``limit`` letters, newest first."""

    async def take(self, letter: bytes) -> bool:
        """Remove ``letter``; False when it is not there (another admin took it first)."""

    async def count(self) -> int: ...

    async def close(self) -> None: ...


class RoomLinkStore(Protocol):
    """Where personal room links live (rooms/roomlinks.py): one per room at most, and each
    slug names one room across the deployment. Refusals are RapportErrors (slug_taken)."""

    async def room_link(self, room: str) -> RoomLink | None:
        """The room's published link, or None."""

    async def resolve(self, slug: str) -> RoomLink | None:
        """The published link named ``slug``, or None (unknown, or a claim not finished)."""

    async def publish(self, room: str, slug: str, by: str, at_ms: int) -> tuple[RoomLink, str]:
        """Publish ``slug`` for ``room`` (or change the room's slug to it): the link, and the
        slug it had before ("" for none). SLUG_TAKEN when another room holds ``slug``."""

    async def remove(self, room: str) -> RoomLink | None:
        """Withdraw the room's link, freeing its slug; the link removed, or None."""

    async def set_locked(self, room: str, locked: bool, by: str, at_ms: int) -> RoomLink | None:
        """Lock or unlock the room's link; the link as it is now, or None when there is none."""

    async def close(self) -> None: ...


class Kind(StrEnum):
    SNAPSHOT = "snapshot"  # a room changed: here is its whole state at ``version``
    DELIVER = "deliver"  # hand ``data`` (an encoded outbound message) to local participants


class Audience(StrEnum):
    ANY = "any"
    SESSION = "session"  # sender and target must both be in the session
    WAITING = "waiting"  # target must be a waiting client


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    """What one node tells another. Every envelope carries the sending node's id; routing/
    carries its bytes (routing/wire.py) and never looks inside."""

    node: str
    kind: Kind
    room: str
    version: int = 0
    records: list[Participant] = []
    to: list[str] = []
    audience: Audience = Audience.ANY
    sender: str = ""
    data: bytes = b""


EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]


class Router(Protocol):
    """Sends envelopes to other nodes and receives the ones addressed to this node."""

    async def start(self, on_envelope: EnvelopeHandler, on_reconnect: ReconnectHandler) -> None:
        """Begin receiving; ``on_reconnect`` runs after the transport comes back from an outage."""

    def send(self, nodes: Iterable[str], envelope: Envelope) -> None:
        """Queue ``envelope`` for each node (never this one); delivery is best effort."""

    async def close(self) -> None: ...


class Outlet(Protocol):
    """One participant's socket, as the domain sees it."""

    conn_id: str
    participant_id: str
    room: str
    role: Role

    def send(self, data: bytes) -> None:
        """Queue an encoded message; never blocks (a socket that falls behind is closed)."""

    def close(
        self, code: Code, *, reconnect: bool = False, retry_after: float | None = None
    ) -> None:
        """Send a ``bye`` with ``code`` and close the socket with its close code."""
