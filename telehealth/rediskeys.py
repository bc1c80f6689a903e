"""Redis key names: each a constant with a comment on its data structure.

Every key of one room shares the hash tag ``{r:ROOM}``, so the room's Lua scripts touch one
Redis Cluster slot. Room and node ids come from verified tokens and our own config only.
"""

from __future__ import annotations

import hashlib

# How long an idle room's records are kept (so a denied or removed link stays refused).
ROOM_RETENTION_MS = 12 * 3600 * 1000

# HASH participant id -> Participant JSON (telehealth.rooms.model.Participant), one per room.
# The therapist's record carries the running-late ETA (late_until), so every node sees it.
ROOM_PARTICIPANTS = "th:{{r:{room}}}:p"
# STRING integer: the room's version, bumped by every committed change.
ROOM_VERSION = "th:{{r:{room}}}:v"
# STREAM of the room's committed events, appended by the same script as the change itself,
# and of its audited actions: fields e (telehealth.rooms.events.StreamEntry JSON, naming the
# hash of the entry before it) and h (SHA-256 of e).
ROOM_EVENTS = "th:{{r:{room}}}:events"
# STRING: the hash of the room's newest stream entry (the head of its hash chain).
ROOM_CHAIN_HEAD = "th:{{r:{room}}}:head"
# LIST of one participant's call-quality samples (telehealth.rooms.quality.QualitySample JSON),
# oldest first, trimmed to the newest KEEP, with a TTL renewed by each sample; deleted when the
# participant leaves the session. Figures only: no name, no address.
ROOM_QUALITY = "th:{{r:{room}}}:q:{pid}"
# STRING RoomProfile JSON (telehealth.rooms.profile.RoomProfile): the therapist's display name
# and welcome note for the room's clients, no TTL (a therapist's setting, kept until changed;
# deleted when set empty). Typed text: read only by the room's pages.
ROOM_PROFILE = "th:{{r:{room}}}:profile"
# ZSET room -> time of its newest stream entry (ms): where to look for events (a hint).
EVENT_ROOMS = "th:events:rooms"
# Consumer group (on every ROOM_EVENTS stream) of the webhook deliverers: one consumer per node.
WEBHOOK_GROUP = "webhooks"
# STRING integer: when webhooks were first turned on (ms): where a room's group starts.
WEBHOOKS_SINCE = "th:webhooks:since"
# LIST of dead letters (telehealth.webhooks.delivery.DeadLetter JSON), newest first, capped.
WEBHOOK_DEAD_LETTERS = "th:webhooks:dead"
# ZSET room id -> time of last change (ms): the rooms with at least one active participant.
ACTIVE_ROOMS = "th:rooms"
# ZSET node id -> time of last heartbeat (ms): the live nodes of the deployment.
NODES = "th:nodes"
# ZSET "room\npid" -> due time (ms): dropped participants whose grace period ends then.
EXPIRIES = "th:expiries"
# STRING "1" with a TTL until the link's own expiry: a withdrawn session link, by jti.
REVOKED = "th:revoked:{jti}"
# STRING cut-off epoch ms, with a TTL until the subject's longest token has expired: every
# token of the subject issued before it is withdrawn. Keyed by a hash of the subject (which
# comes from a verified token or an admin's request), so any text makes a safe key.
REVOKED_SUBJECT = "th:revoked-sub:{digest}"
# ZSET Revocation JSON (telehealth.rooms.ports.Revocation) -> time made (ms): the withdrawals
# of the last minute, polled by every node to close live sockets of withdrawn tokens.
RECENT_REVOCATIONS = "th:revocations"
# STRING integer with a TTL: one limit's counter (hits in a window, or places held), keyed by
# an opaque hash (telehealth/web/clientaddr.py): never an address, a token or a name.
LIMIT = "th:limit:{key}"
# STRING session link token with a TTL until the token's expiry (PXAT): a short link's code
# (telehealth/links.py; 13 symbols of a 32-symbol alphabet), deleted when the link is withdrawn.
SHORT_LINK = "th:short:{code}"
# HASH jti -> IssuedLink JSON (telehealth.rooms.ports.IssuedLink): the room's session links, ids
# and times only (no name). The whole hash expires with its longest-kept link; entries past
# their own keep time (field "jti" -> ms in ROOM_LINKS_UNTIL) are pruned when read.
ROOM_LINKS = "th:{{r:{room}}}:links"
# ZSET jti -> keep-until (ms): when each entry of ROOM_LINKS is forgotten.
ROOM_LINKS_UNTIL = "th:{{r:{room}}}:links-until"
# HASH slug, locked ("0"/"1"), by (a token subject), at (ms): the room's personal room link
# (telehealth.rooms.roomlinks.RoomLink). The room's side of the slug's pointer below.
ROOM_LINK = "th:{{r:{room}}}:link"
# STRING room id: which room a room link's slug names, unique across the deployment. Set with
# a short TTL while a claim is in flight (NX, lua/slug_claim.lua) and persisted once the room's
# record names it; it lives in another Cluster slot than the room, so it is written first.
ROOM_LINK_SLUG = "th:room-link:{slug}"
# PUB/SUB channel: routing envelopes addressed to one node (sharded pub/sub on a cluster).
NODE_INBOX = "th:{{n:{node}}}:inbox"


def room_participants(room: str) -> str:
    return ROOM_PARTICIPANTS.format(room=room)


def room_version(room: str) -> str:
    return ROOM_VERSION.format(room=room)


def room_events(room: str) -> str:
    return ROOM_EVENTS.format(room=room)


def room_chain_head(room: str) -> str:
    return ROOM_CHAIN_HEAD.format(room=room)


def room_quality(room: str, pid: str) -> str:
    return ROOM_QUALITY.format(room=room, pid=pid)


def room_profile(room: str) -> str:
    return ROOM_PROFILE.format(room=room)


def room_link(room: str) -> str:
    return ROOM_LINK.format(room=room)


def room_link_slug(slug: str) -> str:
    return ROOM_LINK_SLUG.format(slug=slug)


def revoked(jti: str) -> str:
    return REVOKED.format(jti=jti)


def revoked_subject(subject: str) -> str:
    return REVOKED_SUBJECT.format(digest=hashlib.sha256(subject.encode()).hexdigest())


def short_link(code: str) -> str:
    return SHORT_LINK.format(code=code)


def room_links(room: str) -> str:
    return ROOM_LINKS.format(room=room)


def room_links_until(room: str) -> str:
    return ROOM_LINKS_UNTIL.format(room=room)


def node_inbox(node: str) -> str:
    return NODE_INBOX.format(node=node)
