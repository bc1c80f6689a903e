"""Short links: a short code for each session link, and the room's list of the links it made.

A short link is ``{base}/s/<code>``: 13 symbols of a 32-symbol alphabet (65 random bits from
``secrets``), so its path is 16 characters. The code maps to the session link's token in
presence until the token expires; opening it serves the client's page, which trades the code for
the token (``POST /api/short-links/resolve``, web/shortlinks.py). Each link is also listed among
its room's links (ids and times only), kept until a day after it was made or until it expires,
whichever is later, so the console can show the day's links.
"""

from __future__ import annotations

import re
import secrets
import time

from telehealth.auth.principal import ClientPrincipal
from telehealth.config import Settings
from telehealth.rooms.ports import IssuedLink, PresenceStore

# Crockford's base 32, lower case: no i, l, o or u, so a code read aloud or retyped survives.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_LENGTH = 13  # 13 x 5 bits = 65 bits
SHORT_PREFIX = "/s/"
CODE_RE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
LISTED_FOR_MS = 24 * 3600 * 1000  # a link stays on its room's list at least a day
NEW_CODE_ATTEMPTS = 5  # a taken code (1 in 2^65 per link) is drawn again


class CodeSpaceExhausted(Exception):
    """Every code drawn was taken: a broken random source, never chance."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    """True when ``text`` is shaped like a code: only these are ever looked up."""
    return CODE_RE.fullmatch(text) is not None


def short_url(settings: Settings, code: str) -> str:
    return f"{settings.base_url}{SHORT_PREFIX}{code}"


async def register(
    presence: PresenceStore, token: str, client: ClientPrincipal, starts_at_ms: int = 0
) -> IssuedLink:
    """Give the session link ``token`` (whose verified claims are ``client``) a short code,
    and list it among its room's links, with the appointment's start when it has one. Both
    expire with it."""
    until_ms = int(client.expires_at * 1000)
    for _ in range(NEW_CODE_ATTEMPTS):
        code = new_code()
        if await presence.put_short_link(code, token, until_ms):
            return await _list(presence, client, code, starts_at_ms)
    raise CodeSpaceExhausted()


async def reregister(
    presence: PresenceStore, code: str, token: str, client: ClientPrincipal
) -> bool:
    """Map a kept ``code`` to its ``token`` again, and list it (a development node restarted
    with the same links): False when the code is taken by another token."""
    if not await presence.put_short_link(code, token, int(client.expires_at * 1000)):
        return await presence.short_link(code) == token
    await _list(presence, client, code)
    return True


async def _list(
    presence: PresenceStore, client: ClientPrincipal, code: str, starts_at_ms: int = 0
) -> IssuedLink:
    now_ms = int(time.time() * 1000)
    link = IssuedLink(
        jti=client.jti,
        code=code,
        not_before=int(client.not_before * 1000),
        expires_at=int(client.expires_at * 1000),
        created_at=now_ms,
        starts_at=starts_at_ms,
    )
    await presence.add_room_link(client.room, link, max(link.expires_at, now_ms + LISTED_FOR_MS))
    return link
