"""Every piece of application state, as typed aiohttp AppKeys, declared in one place."""

from __future__ import annotations

import weakref

from aiohttp import web

from telehealth.auth.tokens import TokenMinter, TokenVerifier
from telehealth.config import Settings
from telehealth.presence.base import PresenceStore
from telehealth.rooms.hub import Hub
from telehealth.rooms.service import RoomService
from telehealth.routing.base import Router
from telehealth.web.connection import Connection

SETTINGS = web.AppKey("settings", Settings)
PRESENCE = web.AppKey("presence", PresenceStore)
ROUTER = web.AppKey("router", Router)
HUB = web.AppKey("hub", Hub)
SERVICE = web.AppKey("service", RoomService)
VERIFIER = web.AppKey("verifier", TokenVerifier)
MINTER = web.AppKey("minter", TokenMinter)
SOCKETS: web.AppKey[weakref.WeakSet[Connection]] = web.AppKey("sockets")
DRAINING: web.AppKey[list[bool]] = web.AppKey("draining")  # [True] once shutdown began
