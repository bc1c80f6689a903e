"""Minting and verifying the three token kinds: client session links, therapist and admin tokens.

Each kind has its own ``aud`` and its own ``typ`` claim, and both must agree, so a token of one
kind can never be used as another (RFC 8725 3.11-3.12). Algorithms are pinned from settings.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from signaling.errors import Code, RapportError
from telehealth.auth.keys import KeySource, check_key_fits
from telehealth.auth.principal import (
    AdminPrincipal,
    ClientPrincipal,
    Kind,
    Principal,
    TherapistPrincipal,
    is_room_id,
)
from telehealth.config import ConfigError, Settings
from telehealth.ids import new_jti
from telehealth.rooms.profile import check_display_name
from telehealth.rooms.roomlinks import VIAS

log = logging.getLogger(__name__)

AUDIENCES: dict[Kind, str] = {
    Kind.CLIENT: "rapport:session-link",
    Kind.THERAPIST: "rapport:therapist",
    Kind.ADMIN: "rapport:admin",
}
TYPES: dict[Kind, str] = {
    Kind.CLIENT: "session_link",
    Kind.THERAPIST: "therapist",
    Kind.ADMIN: "admin",
}
_KIND_BY_AUDIENCE = {aud: kind for kind, aud in AUDIENCES.items()}
# The JOSE header ``typ`` of each kind (RFC 8725 3.11, explicit typing). Rapport always sets it;
# the verifier checks it when present, so a header naming one kind never passes as another.
# Tokens from a practice's own identity provider may carry the generic "JWT" or none.
JOSE_TYPES: dict[Kind, str] = {
    Kind.CLIENT: "rapport-session-link+jwt",
    Kind.THERAPIST: "rapport-therapist+jwt",
    Kind.ADMIN: "rapport-admin+jwt",
}
GENERIC_JOSE_TYPES = frozenset({"jwt", "application/jwt"})

MAX_TOKEN_CHARS = 8 * 1024
MIN_TTL = 1
MAX_TTL = 30 * 24 * 3600
DEFAULT_CLIENT_TTL = 24 * 3600
DEFAULT_THERAPIST_TTL = 12 * 3600
DEFAULT_ADMIN_TTL = 3600
#: The languages a session link may name in its optional ``lang`` claim: the pages' catalogues
#: (static/js/language.js; a test keeps the two lists equal).
LINK_LANGUAGES = ("en", "es")
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]
_MAX_SUBJECT = 256
_MAX_JTI = 128


# --- minting -----------------------------------------------------------------------------------


class TokenMinter:
    """Signs tokens with the first of ``settings.jwt_algorithms``.

    HS* uses ``jwt_secret``; RS*/PS*/ES*/EdDSA use the PEM private key in ``jwt_private_key_file``.
    ``kid`` is put in the header when given (needed when verifiers use a JWKS).
    """

    def __init__(
        self, settings: Settings, *, kid: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        if not settings.jwt_algorithms:
            raise ConfigError("TELEHEALTH_JWT_ALGORITHMS must name at least one algorithm")
        self._algorithm = settings.jwt_algorithms[0]
        self._issuer = settings.jwt_issuer
        self._headers = {"kid": kid} if kid else None
        self._clock = clock
        self._key: Any
        if self._algorithm.startswith("HS"):
            if not settings.jwt_secret:
                raise ConfigError(f"TELEHEALTH_JWT_SECRET is required to mint {self._algorithm}")
            self._key = settings.jwt_secret
        else:
            if not settings.jwt_private_key_file:
                raise ConfigError(
                    f"TELEHEALTH_JWT_PRIVATE_KEY_FILE is required to mint {self._algorithm}"
                )
            self._key = _load_private_key(settings.jwt_private_key_file)
        check_key_fits(self._key, [self._algorithm])

    def mint_client(
        self,
        room: str,
        ttl: float = DEFAULT_CLIENT_TTL,
        not_before: float | None = None,
        subject: str | None = None,
        jti: str | None = None,
        lang: str | None = None,
        via: str | None = None,
    ) -> str:
        """A session link for ``room``, valid from ``not_before`` (default now) for ``ttl`` s;
        ``lang`` names the language its page opens in (else the client's browser decides);
        ``via`` marks how it was handed out ("room_link": a visit through a room link)."""
        _check_room(room)
        jti = new_jti() if jti is None else _check_text("jti", jti, _MAX_JTI)
        subject = jti if subject is None else _check_text("subject", subject, _MAX_SUBJECT)
        claims: dict[str, Any] = {"room": room}
        if lang is not None:
            if lang not in LINK_LANGUAGES:
                raise ValueError(f"lang must be one of {', '.join(LINK_LANGUAGES)}")
            claims["lang"] = lang
        if via is not None:
            if via not in VIAS:
                raise ValueError(f"via must be one of {sorted(VIAS)}")
            claims["via"] = via
        return self._mint(Kind.CLIENT, subject, ttl, not_before, jti, claims)

    def mint_therapist(
        self,
        subject: str,
        rooms: Iterable[str],
        ttl: float = DEFAULT_THERAPIST_TTL,
        *,
        display_name: str | None = None,
    ) -> str:
        listed = [rooms] if isinstance(rooms, str) else list(rooms)  # one room, not its letters
        if not listed:
            raise ValueError("a therapist token needs at least one room")
        for room in listed:
            _check_room(room)
        subject = _check_text("subject", subject, _MAX_SUBJECT)
        claims: dict[str, Any] = {"rooms": sorted(set(listed))}
        if display_name is not None:
            try:
                claims["display_name"] = check_display_name(display_name)
            except RapportError as err:
                raise ValueError(err.message) from None
        return self._mint(Kind.THERAPIST, subject, ttl, None, new_jti(), claims)

    def mint_admin(self, subject: str, ttl: float = DEFAULT_ADMIN_TTL) -> str:
        subject = _check_text("subject", subject, _MAX_SUBJECT)
        return self._mint(Kind.ADMIN, subject, ttl, None, new_jti(), {})

    def _mint(
        self,
        kind: Kind,
        subject: str,
        ttl: float,
        not_before: float | None,
        jti: str,
        extra: dict[str, Any],
    ) -> str:
        if not (_is_number(ttl) and MIN_TTL <= ttl <= MAX_TTL):
            raise ValueError(f"ttl must be between {MIN_TTL} s and {MAX_TTL} s (30 days)")
        now = int(self._clock())
        if not_before is None:
            start = now
        elif _is_number(not_before) and 0 <= not_before < 2**40:
            start = int(not_before)
        else:
            raise ValueError("not_before must be a time in epoch seconds")
        expires = start + math.ceil(ttl)
        if expires <= now:
            raise ValueError("not_before + ttl is in the past: the token would already be expired")
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": AUDIENCES[kind],
            "typ": TYPES[kind],
            "sub": subject,
            "iat": now,
            "nbf": start,
            "exp": expires,
            "jti": jti,
            **extra,
        }
        headers = {**(self._headers or {}), "typ": JOSE_TYPES[kind]}
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)


def _load_private_key(path: str) -> Any:
    try:
        return load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load the JWT private key from {path}: {exc}") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_room(room: object) -> None:
    if not is_room_id(room):
        raise ValueError("a room id is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")


def _check_text(name: str, value: object, max_len: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise ValueError(f"{name} must be a string of 1 to {max_len} characters")
    return value


def session_link_url(settings: Settings, token: str) -> str:
    """The client's link; the token sits in the fragment, which browsers never send to servers."""
    return f"{settings.base_url}/join#{token}"


def therapist_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/therapist#{token}"


def admin_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/admin#{token}"


# --- verifying ---------------------------------------------------------------------------------


class Revocations(Protocol):
    """Where withdrawn tokens are listed (the presence store): by jti, and by subject with a
    cut-off time before which every token of that subject counts as withdrawn."""

    async def is_revoked(self, jti: str) -> bool: ...

    async def subject_cutoff(self, subject: str) -> int | None:
        """Epoch ms: tokens of ``subject`` issued before it are withdrawn (None: no cut-off)."""


def is_withdrawn(issued_at: float, cutoff_ms: int | None) -> bool:
    """Does a subject's cut-off cover a token issued at ``issued_at`` (epoch seconds)?

    ``iat`` has whole seconds, so a token minted in the same second as the cut-off (even just
    after it) counts as before it: the safe side."""
    return cutoff_ms is not None and issued_at * 1000 < cutoff_ms


class TokenVerifier:
    """Claims in, typed principal out. Every failure is a RapportError with a token code."""

    def __init__(
        self, settings: Settings, key_source: KeySource, revocations: Revocations | None = None
    ) -> None:
        algorithms = list(settings.jwt_algorithms)
        if not algorithms or any(a.lower() == "none" for a in algorithms):
            raise ConfigError("TELEHEALTH_JWT_ALGORITHMS must list real signing algorithms")
        self._algorithms = algorithms
        self._issuer = settings.jwt_issuer
        self._leeway = settings.jwt_leeway
        self._keys = key_source
        self._revocations = revocations

    async def verify(
        self,
        token: str,
        expected: Kind | Iterable[Kind],
        *,
        check_time: bool = True,
        check_revoked: bool | None = None,
    ) -> Principal:
        """The principal for ``token``, if its kind is ``expected`` (or one of several) and it
        has not been withdrawn (by jti, or by its subject's cut-off).

        ``check_time=False`` skips exp/nbf and, unless ``check_revoked`` says otherwise, the
        revocation lists (signature, issuer and audience still count): for withdrawing a link
        that has not opened yet or reading back one just minted.
        """
        allowed = {expected} if isinstance(expected, Kind) else set(expected)
        # Cap before any parsing: PyJWT would happily decode a 100 KB token.
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise _rejected(Code.TOKEN_INVALID, "empty or too long")
        key = await self._keys.key_for(token)
        claims = self._decode(token, key, check_time)
        kind = _kind_of(claims)
        _check_header_type(token, kind)
        if kind not in allowed:
            raise _rejected(Code.WRONG_TOKEN_KIND, kind.value)
        principal = _principal(kind, claims)
        if check_time if check_revoked is None else check_revoked:
            await self.ensure_not_revoked(principal.jti, principal.subject, principal.issued_at)
        return principal

    async def ensure_not_revoked(self, jti: str, subject: str, issued_at: float) -> None:
        """Raise TOKEN_REVOKED for a token withdrawn by jti or by its subject's cut-off."""
        if self._revocations is None:
            return
        if await self._revocations.is_revoked(jti):
            raise _rejected(Code.TOKEN_REVOKED, "jti")
        cutoff = await self._revocations.subject_cutoff(subject)
        if is_withdrawn(issued_at, cutoff):
            raise _rejected(Code.TOKEN_REVOKED, "subject")

    def _decode(self, token: str, key: Any, check_time: bool = True) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=list(AUDIENCES.values()),
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": check_time,
                    "verify_nbf": check_time,
                    "verify_iat": check_time,
                },
            )
        except jwt.ExpiredSignatureError:
            raise _rejected(Code.TOKEN_EXPIRED, "exp") from None
        except jwt.ImmatureSignatureError:
            raise _rejected(Code.TOKEN_NOT_YET_VALID, "nbf/iat") from None
        except jwt.PyJWTError as exc:
            raise _rejected(Code.TOKEN_INVALID, type(exc).__name__) from None
        except Exception as exc:  # hostile input can raise anything (RecursionError, Overflow...)
            log.warning("unexpected %s while decoding a token", type(exc).__name__)
            raise _rejected(Code.TOKEN_INVALID, type(exc).__name__) from None
        return claims


def _rejected(code: Code, reason: str) -> RapportError:
    # The reason is ours (a claim name or exception class), never token content.
    log.debug("token rejected: %s (%s)", code.value, reason)
    return RapportError(code)


def _kind_of(claims: dict[str, Any]) -> Kind:
    """The kind named by ``aud``, which must be exactly one of ours and agree with ``typ``."""
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) == 1:
        aud = aud[0]
    kind = _KIND_BY_AUDIENCE.get(aud) if isinstance(aud, str) else None
    if kind is None or claims.get("typ") != TYPES[kind]:
        raise _rejected(Code.TOKEN_INVALID, "aud/typ")
    return kind


def _display_name(claim: object) -> str:
    """The display_name claim, when it is a usable name; a cosmetic claim never refuses a
    token, so an unusable one is left out (and logged without its content)."""
    if claim is None:
        return ""
    if isinstance(claim, str):
        try:
            return check_display_name(claim)
        except RapportError:
            pass
    log.info("a therapist token's display_name claim was not usable and is ignored")
    return ""


def _check_header_type(token: str, kind: Kind) -> None:
    """Called after the signature was verified, so the header is the signer's."""
    typ = jwt.get_unverified_header(token).get("typ")
    if typ is None or (isinstance(typ, str) and typ.lower() in GENERIC_JOSE_TYPES):
        return
    if not isinstance(typ, str) or typ.lower() != JOSE_TYPES[kind]:
        raise _rejected(Code.TOKEN_INVALID, "header typ")


def _principal(kind: Kind, claims: dict[str, Any]) -> Principal:
    subject, jti = claims["sub"], claims["jti"]
    if not (isinstance(subject, str) and subject and isinstance(jti, str) and jti):
        raise _rejected(Code.TOKEN_INVALID, "sub/jti")
    times = [claims["iat"], claims["exp"]]
    if not all(_is_number(t) for t in times):
        raise _rejected(Code.TOKEN_INVALID, "iat/exp")
    issued_at, expires_at = float(times[0]), float(times[1])
    if kind is Kind.CLIENT:
        room = claims.get("room")
        if not is_room_id(room):
            raise _rejected(Code.TOKEN_INVALID, "room")
        via = claims.get("via", "")
        if via != "" and via not in VIAS:
            raise _rejected(Code.TOKEN_INVALID, "via")
        return ClientPrincipal(
            subject=subject,
            room=room,
            jti=jti,
            not_before=float(claims["nbf"]),
            expires_at=expires_at,
            issued_at=issued_at,
            via=via,
        )
    if kind is Kind.THERAPIST:
        rooms = claims.get("rooms")
        if not (isinstance(rooms, list) and rooms and all(is_room_id(r) for r in rooms)):
            raise _rejected(Code.TOKEN_INVALID, "rooms")
        return TherapistPrincipal(
            subject=subject,
            rooms=frozenset(rooms),
            jti=jti,
            issued_at=issued_at,
            expires_at=expires_at,
            display_name=_display_name(claims.get("display_name")),
        )
    return AdminPrincipal(subject=subject, jti=jti, issued_at=issued_at, expires_at=expires_at)
