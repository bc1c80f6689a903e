"""Where verification keys come from: a static secret or PEM file, or a JWKS endpoint."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import get_default_algorithms

from signaling.errors import Code, RapportError
from telehealth.config import ConfigError, Settings

log = logging.getLogger(__name__)


class KeySource(Protocol):
    async def key_for(self, token: str) -> Any:
        """The key (secret, public key or PyJWK) to verify ``token`` with."""
        ...


def check_key_fits(key: Any, algorithms: Iterable[str]) -> None:
    """Fail at startup, not on every request, when the key cannot serve a pinned algorithm."""
    known = get_default_algorithms()
    for name in algorithms:
        if name not in known or name.lower() == "none":
            raise ConfigError(f"unsupported JWT algorithm {name!r}")
        try:
            known[name].prepare_key(key)
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise ConfigError(f"the configured key cannot be used with {name}: {exc}") from None


def load_public_key(path: str | Path) -> Any:
    try:
        return load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load the JWT public key from {path}: {exc}") from None


class StaticKeySource:
    """One key for every token: the HMAC secret, or a public key loaded once from a PEM file."""

    def __init__(self, key: Any) -> None:
        self._key = key

    @classmethod
    def from_pem_file(cls, path: str | Path) -> StaticKeySource:
        return cls(load_public_key(path))

    async def key_for(self, token: str) -> Any:
        return self._key


class JwksKeySource:
    """Keys by ``kid`` from a JWKS URL, fetched in a thread (PyJWKClient blocks) and cached.

    The set is refetched when it is older than ``max_age``, or when a token names an unknown
    ``kid`` (key rotation) -- but at most once per ``cooldown``, so tokens with made-up kids
    cannot make us hammer the identity provider. When a refresh fails the old keys stay in use.
    """

    def __init__(
        self,
        url: str,
        *,
        cooldown: float = 30.0,
        max_age: float = 300.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Our own cache replaces PyJWKClient's, which would refetch on every unknown kid.
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._cooldown = cooldown
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key_for(self, token: str) -> Any:
        kid = _kid(token)
        key = self._lookup(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:  # concurrent misses share one fetch
            key = self._lookup(kid)
            if self._may_fetch(missing=key is None):
                await self._refresh()
                key = self._lookup(kid)
        if key is not None:
            return key
        if self._keys is None:
            raise RapportError(Code.UNAVAILABLE, "The sign-in keys cannot be fetched right now.")
        log.info("token names an unknown signing key id")
        raise RapportError(Code.TOKEN_INVALID)

    def _lookup(self, kid: str) -> jwt.PyJWK | None:
        return None if self._keys is None else self._keys.get(kid)

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= self._max_age

    def _may_fetch(self, *, missing: bool) -> bool:
        if self._attempted_at is None:
            return True
        cooled = self._clock() - self._attempted_at >= self._cooldown
        return cooled and (missing or self._stale())

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        try:
            keys = await asyncio.to_thread(self._client.get_signing_keys, True)
        except Exception as exc:  # network, HTTP, JSON or JWK errors: keep serving what we have
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = self._clock()
        log.info("JWKS fetched: %d signing keys", len(self._keys))


def _kid(token: str) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except Exception:  # any malformed header (DecodeError, RecursionError, ...) is just invalid
        raise RapportError(Code.TOKEN_INVALID) from None
    if not isinstance(kid, str) or not kid:
        raise RapportError(Code.TOKEN_INVALID)
    return kid


def key_source_from_settings(settings: Settings) -> KeySource:
    """HMAC secret for HS* algorithms; otherwise exactly one of a JWKS URL or a PEM public key."""
    algorithms = settings.jwt_algorithms
    if not algorithms:
        raise ConfigError("TELEHEALTH_JWT_ALGORITHMS must name at least one algorithm")
    if all(a.startswith("HS") for a in algorithms):
        if not settings.jwt_secret:
            raise ConfigError("TELEHEALTH_JWT_SECRET is required for HS* algorithms")
        check_key_fits(settings.jwt_secret, algorithms)
        return StaticKeySource(settings.jwt_secret)
    if settings.jwks_url and settings.jwt_public_key_file:
        raise ConfigError("set only one of TELEHEALTH_JWKS_URL and TELEHEALTH_JWT_PUBLIC_KEY_FILE")
    if settings.jwks_url:
        try:
            return JwksKeySource(settings.jwks_url)
        except jwt.PyJWKClientError as exc:
            raise ConfigError(f"TELEHEALTH_JWKS_URL: {exc}") from None
    if settings.jwt_public_key_file:
        key = load_public_key(settings.jwt_public_key_file)
        check_key_fits(key, algorithms)
        return StaticKeySource(key)
    raise ConfigError(
        "public-key algorithms need TELEHEALTH_JWT_PUBLIC_KEY_FILE or TELEHEALTH_JWKS_URL"
    )
