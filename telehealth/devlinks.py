"""The links ``telehealth serve --dev`` prints, kept so that they survive a restart.

A development node keeps its links (tokens and the session link's short code) in a JSON file
(``--links-file``; ``make run`` uses the ignored ``.dev-links.json``, mode 0600). At start, a
cleanup_ctx step takes the kept links that still verify with this secret and have an hour left,
mints new ones for the rest, gives the session link's code back to presence (the embedded store
forgets it at every stop), writes the file, and prints one link a line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from signaling.errors import RapportError
from telehealth import links
from telehealth.auth.principal import ClientPrincipal, Kind
from telehealth.auth.tokens import admin_url, session_link_url, therapist_url
from telehealth.web import keys

log = logging.getLogger("telehealth.devlinks")

DEMO_ROOM = "demo"
TTL_S = 24 * 3600
MIN_LEFT_S = 3600  # a kept link with less than this left is minted again


def _load(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _save(path: Path | None, data: dict[str, str]) -> None:
    if path is None:
        return
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.replace(tmp, path)


async def _kept(app: web.Application, token: str | None, kind: Kind) -> bool:
    """True when ``token`` verifies as ``kind`` with this node's key, with an hour left."""
    if not token:
        return False
    try:
        principal = await app[keys.VERIFIER].verify(token, kind)
    except RapportError:
        return False
    return principal.expires_at - time.time() > MIN_LEFT_S


async def dev_links(app: web.Application, path: Path | None) -> dict[str, str]:
    """The development links, kept or minted, with the session link's code registered."""
    minter = app[keys.MINTER]
    assert minter is not None  # a development node always has its secret
    kept = _load(path)
    minted: dict[str, Callable[[], str]] = {
        "therapist": lambda: minter.mint_therapist("dev-therapist", [DEMO_ROOM], TTL_S),
        "client": lambda: minter.mint_client(DEMO_ROOM, ttl=TTL_S),
        "admin": lambda: minter.mint_admin("dev-admin", TTL_S),
    }
    found: dict[str, str] = {}
    for name, mint in minted.items():
        token = kept.get(name)
        found[name] = token if token and await _kept(app, token, Kind(name)) else mint()
    client = await app[keys.VERIFIER].verify(found["client"], Kind.CLIENT)
    assert isinstance(client, ClientPrincipal)
    presence, token = app[keys.PRESENCE], found["client"]
    code = kept.get("code", "") if token == kept.get("client") else ""
    if not (links.is_code(code) and await links.reregister(presence, code, token, client)):
        code = (await links.register(presence, token, client)).code
    found["code"] = code
    _save(path, found)
    return found


def print_links(app: web.Application, found: dict[str, str], kept_secret: bool) -> None:
    settings = app[keys.SETTINGS]
    if kept_secret:
        how = "the links below keep working after a restart, while the secret stays the same"
    else:
        how = "the links below use a secret made at start and stop working when it stops"
    lines = [
        f"\nRapport is running (development mode: {how}).\n",
        "Therapist console:",
        f"  {therapist_url(settings, found['therapist'])}",
        "Client session link (short):",
        f"  {links.short_url(settings, found['code'])}",
        "Client session link (long, the same link):",
        f"  {session_link_url(settings, found['client'])}",
        "Admin monitor:",
        f"  {admin_url(settings, found['admin'])}",
        "\nOpen the therapist console and the session link in two browser windows.\n",
    ]
    print("\n".join(lines), flush=True)


def dev_links_ctx(
    path: Path | None, kept_secret: bool
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx step (after presence and the verifier are up) that prints the links."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        print_links(app, await dev_links(app, path), kept_secret)
        yield

    return ctx
