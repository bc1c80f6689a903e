"""Every piece of application state, as typed aiohttp AppKeys, declared in one place."""

from __future__ import annotations

import asyncio

from aiohttp import web

from telehealth.audit.trail import AuditTrail
from telehealth.auth.tokens import TokenMinter, TokenVerifier
from telehealth.config import Settings
from telehealth.media.desk import PrecallDesk
from telehealth.metrics import Metrics
from telehealth.presence.limits import Limits
from telehealth.rooms.hub import Hub
from telehealth.rooms.ports import PresenceStore, RoomLinkStore, Router
from telehealth.rooms.service import RoomService
from telehealth.web.clientaddr import Network
from telehealth.web.connection import Connection
from telehealth.webhooks.worker import WebhookWorker

SETTINGS = web.AppKey("settings", Settings)
PRESENCE = web.AppKey("presence", PresenceStore)
ROUTER = web.AppKey("router", Router)
HUB = web.AppKey("hub", Hub)
SERVICE = web.AppKey("service", RoomService)
AUDIT = web.AppKey("audit", AuditTrail)
METRICS = web.AppKey("metrics", Metrics)
LIVE_NODES: web.AppKey[list[int]] = web.AppKey("live_nodes")  # [n] at the last /metrics scrape
VERIFIER = web.AppKey("verifier", TokenVerifier)
# None where no TELEHEALTH_WEBHOOK_URL is set.
WEBHOOKS: web.AppKey[WebhookWorker | None] = web.AppKey("webhooks")
# None where this node only verifies (public-key tokens minted by the practice's system).
MINTER: web.AppKey[TokenMinter | None] = web.AppKey("minter")
SOCKETS: web.AppKey[set[Connection]] = web.AppKey("sockets")  # open sockets, for the drain
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks")  # background cleanups
# (room, participant id) -> sockets open for it on this node (see ws.claim_identity).
IDENTITIES: web.AppKey[dict[tuple[str, str], int]] = web.AppKey("identities")
LIMITS = web.AppKey("limits", Limits)  # counters for limits across nodes (presence/limits.py)
ADDRESS_KEY = web.AppKey("address_key", bytes)  # hashes client addresses (web/clientaddr.py)
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")
DRAINING: web.AppKey[list[bool]] = web.AppKey("draining")  # [True] once shutdown began
PRECALL = web.AppKey("precall", PrecallDesk)  # the pre-call test peers (media/desk.py)
# Personal room links (presence/roomlinks.py); None unless TELEHEALTH_ROOM_LINKS is on.
ROOM_LINKS: web.AppKey[RoomLinkStore | None] = web.AppKey("room_links")
