"""Token minting and verification: round trips, every rejection path, key types and JWKS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from signaling.errors import Code, RapportError
from telehealth.auth import (
    AUDIENCES,
    MAX_TOKEN_CHARS,
    TYPES,
    AdminPrincipal,
    ClientPrincipal,
    JwksKeySource,
    Kind,
    StaticKeySource,
    TherapistPrincipal,
    TokenMinter,
    TokenVerifier,
    admin_url,
    ensure_admin,
    ensure_admin_or_therapist_of,
    ensure_room,
    ensure_therapist_of,
    key_source_from_settings,
    session_link_url,
    therapist_url,
)
from telehealth.config import ConfigError, Settings

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuvw"
ISSUER = "rapport-test"

AioHttpServer = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_leeway=30)


@pytest.fixture
def minter(settings: Settings) -> TokenMinter:
    return TokenMinter(settings)


@pytest.fixture
def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(settings, key_source_from_settings(settings))


async def rejected(
    verifier: TokenVerifier, token: str, expected: Kind | set[Kind] = Kind.CLIENT
) -> Code:
    with pytest.raises(RapportError) as info:
        await verifier.verify(token, expected)
    return info.value.code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def full_claims(kind: Kind = Kind.CLIENT, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCES[kind],
        "typ": TYPES[kind],
        "sub": "someone",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "jti-1",
    }
    if kind is Kind.CLIENT:
        claims["room"] = "room-1"
    elif kind is Kind.THERAPIST:
        claims["rooms"] = ["room-1"]
    claims.update(changes)
    return claims


def hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


# --- round trips -------------------------------------------------------------------------------


async def test_client_round_trip(minter: TokenMinter, verifier: TokenVerifier) -> None:
    token = minter.mint_client("room-1", ttl=600, subject="client-7", jti="link-1")
    principal = await verifier.verify(token, Kind.CLIENT)
    assert isinstance(principal, ClientPrincipal)
    assert (principal.subject, principal.room, principal.jti) == ("client-7", "room-1", "link-1")
    assert principal.expires_at - principal.not_before == 600
    assert abs(principal.not_before - time.time()) < 5


async def test_client_defaults_give_unique_links(
    minter: TokenMinter, verifier: TokenVerifier
) -> None:
    first = await verifier.verify(minter.mint_client("room-1"), Kind.CLIENT)
    second = await verifier.verify(minter.mint_client("room-1"), Kind.CLIENT)
    assert isinstance(first, ClientPrincipal) and isinstance(second, ClientPrincipal)
    assert first.jti and second.jti and first.jti != second.jti
    assert first.expires_at - first.not_before == 24 * 3600


async def test_therapist_round_trip(minter: TokenMinter, verifier: TokenVerifier) -> None:
    token = minter.mint_therapist("dr-1", ["room-b", "room-a", "room-a"], ttl=3600)
    principal = await verifier.verify(token, Kind.THERAPIST)
    assert isinstance(principal, TherapistPrincipal)
    assert (principal.subject, principal.rooms) == ("dr-1", frozenset({"room-a", "room-b"}))
    assert principal.jti and principal.expires_at - principal.issued_at == 3600


async def test_admin_round_trip(minter: TokenMinter, verifier: TokenVerifier) -> None:
    principal = await verifier.verify(minter.mint_admin("ops-1", ttl=60), Kind.ADMIN)
    assert isinstance(principal, AdminPrincipal) and principal.subject == "ops-1"
    assert principal.jti and principal.expires_at - principal.issued_at == 60
    assert principal.kind is Kind.ADMIN


def test_minted_claims(minter: TokenMinter) -> None:
    token = minter.mint_therapist("dr-1", ["room-1"], ttl=120)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "typ", "sub", "iat", "nbf", "exp", "jti", "rooms"}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "rapport:therapist" and claims["typ"] == "therapist"
    assert claims["rooms"] == ["room-1"]
    assert claims["exp"] - claims["nbf"] == 120
    client = jwt.decode(minter.mint_client("r"), options={"verify_signature": False})
    assert (client["aud"], client["typ"], client["room"]) == (
        "rapport:session-link",
        "session_link",
        "r",
    )
    admin = jwt.decode(minter.mint_admin("a"), options={"verify_signature": False})
    assert (admin["aud"], admin["typ"]) == ("rapport:admin", "admin")


async def test_verify_accepts_a_set_of_kinds(minter: TokenMinter, verifier: TokenVerifier) -> None:
    either = {Kind.CLIENT, Kind.THERAPIST}
    assert isinstance(await verifier.verify(minter.mint_client("r"), either), ClientPrincipal)
    token = minter.mint_therapist("t", ["r"])
    assert isinstance(await verifier.verify(token, either), TherapistPrincipal)
    assert await rejected(verifier, minter.mint_admin("a"), either) is Code.WRONG_TOKEN_KIND


def test_urls_keep_the_token_in_the_fragment() -> None:
    settings = Settings(public_url="https://rapport.example/")
    assert session_link_url(settings, "T.O.K") == "https://rapport.example/join#T.O.K"
    assert therapist_url(settings, "T.O.K") == "https://rapport.example/therapist#T.O.K"
    assert admin_url(settings, "T.O.K") == "https://rapport.example/admin#T.O.K"


# --- kinds cannot be swapped -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minted", "expected"),
    [
        (Kind.THERAPIST, Kind.CLIENT),
        (Kind.ADMIN, Kind.CLIENT),
        (Kind.ADMIN, Kind.THERAPIST),
        (Kind.CLIENT, Kind.THERAPIST),
        (Kind.CLIENT, Kind.ADMIN),
        (Kind.THERAPIST, Kind.ADMIN),
    ],
)
async def test_wrong_kind(
    minter: TokenMinter, verifier: TokenVerifier, minted: Kind, expected: Kind
) -> None:
    token = {
        Kind.CLIENT: lambda: minter.mint_client("room-1"),
        Kind.THERAPIST: lambda: minter.mint_therapist("t", ["room-1"]),
        Kind.ADMIN: lambda: minter.mint_admin("a"),
    }[minted]()
    assert await rejected(verifier, token, expected) is Code.WRONG_TOKEN_KIND


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "therapist"},  # aud says client, typ says therapist
        {"typ": "admin"},
        {"typ": "JWT"},
        {"aud": "rapport:admin"},  # typ says session_link
        {"aud": ["rapport:session-link", "rapport:admin"]},  # two of our audiences
        {"aud": "someone-else"},
        {"aud": ["someone-else"]},
    ],
)
async def test_aud_and_typ_must_agree(verifier: TokenVerifier, changes: dict[str, Any]) -> None:
    assert await rejected(verifier, hs256(full_claims(**changes))) is Code.TOKEN_INVALID


async def test_single_audience_list_is_accepted(verifier: TokenVerifier) -> None:
    token = hs256(full_claims(aud=["rapport:session-link"]))
    assert isinstance(await verifier.verify(token, Kind.CLIENT), ClientPrincipal)


# --- time --------------------------------------------------------------------------------------


async def test_expired(settings: Settings, verifier: TokenVerifier) -> None:
    old = TokenMinter(settings, clock=lambda: time.time() - 3600)
    assert await rejected(verifier, old.mint_client("room-1", ttl=60)) is Code.TOKEN_EXPIRED


async def test_leeway_applies_to_expiry(settings: Settings) -> None:
    recent = TokenMinter(settings, clock=lambda: time.time() - 70)
    token = recent.mint_client("room-1", ttl=60)  # expired ~10 s ago
    lenient = TokenVerifier(settings, StaticKeySource(SECRET))
    assert isinstance(await lenient.verify(token, Kind.CLIENT), ClientPrincipal)
    strict = TokenVerifier(settings.with_(jwt_leeway=0), StaticKeySource(SECRET))
    assert await rejected(strict, token) is Code.TOKEN_EXPIRED


async def test_not_yet_valid(minter: TokenMinter, verifier: TokenVerifier) -> None:
    token = minter.mint_client("room-1", ttl=600, not_before=time.time() + 3600)
    assert await rejected(verifier, token) is Code.TOKEN_NOT_YET_VALID
    early = minter.mint_client("room-1", ttl=600, not_before=time.time() + 10)  # within leeway
    assert isinstance(await verifier.verify(early, Kind.CLIENT), ClientPrincipal)


async def test_issued_in_the_future(verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = hs256(full_claims(iat=now + 3600, nbf=now, exp=now + 7200))
    assert await rejected(verifier, token) is Code.TOKEN_NOT_YET_VALID


async def test_scheduled_link_counts_ttl_from_not_before(
    minter: TokenMinter, verifier: TokenVerifier
) -> None:
    start = int(time.time()) - 5
    principal = await verifier.verify(
        minter.mint_client("room-1", ttl=900, not_before=start), Kind.CLIENT
    )
    assert isinstance(principal, ClientPrincipal)
    assert (principal.not_before, principal.expires_at) == (start, start + 900)


# --- forged, broken and hostile tokens ---------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_refused(verifier: TokenVerifier, alg: str) -> None:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64(json.dumps(full_claims()).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert await rejected(verifier, token) is Code.TOKEN_INVALID


def test_alg_none_cannot_be_configured() -> None:
    settings = Settings(jwt_secret=SECRET, jwt_algorithms=("HS256", "none"))
    with pytest.raises(ConfigError):
        TokenVerifier(settings, StaticKeySource(SECRET))


async def test_signed_with_another_secret(settings: Settings, verifier: TokenVerifier) -> None:
    forger = TokenMinter(settings.with_(jwt_secret=OTHER_SECRET))
    assert await rejected(verifier, forger.mint_admin("a"), Kind.ADMIN) is Code.TOKEN_INVALID


async def test_tampered_payload(minter: TokenMinter, verifier: TokenVerifier) -> None:
    token = minter.mint_client("room-1")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["room"] = "room-2"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert await rejected(verifier, forged) is Code.TOKEN_INVALID
    assert isinstance(await verifier.verify(token, Kind.CLIENT), ClientPrincipal)  # control


@pytest.mark.parametrize(
    ("kind", "claim"),
    [(Kind.CLIENT, c) for c in ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "typ", "room"]]
    + [(Kind.THERAPIST, "rooms")],
)
async def test_missing_claim(verifier: TokenVerifier, kind: Kind, claim: str) -> None:
    claims = full_claims(kind)
    del claims[claim]
    assert await rejected(verifier, hs256(claims), kind) is Code.TOKEN_INVALID


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        (Kind.CLIENT, {"room": 123}),
        (Kind.CLIENT, {"room": ""}),
        (Kind.CLIENT, {"room": "room 1"}),
        (Kind.CLIENT, {"room": ["room-1"]}),
        (Kind.CLIENT, {"sub": 5}),
        (Kind.CLIENT, {"sub": ""}),
        (Kind.CLIENT, {"jti": 7}),
        (Kind.CLIENT, {"exp": "tomorrow"}),
        (Kind.CLIENT, {"exp": 1e400}),
        (Kind.THERAPIST, {"rooms": []}),
        (Kind.THERAPIST, {"rooms": "room-1"}),
        (Kind.THERAPIST, {"rooms": [1, 2]}),
        (Kind.THERAPIST, {"rooms": ["room-1", "../etc"]}),
    ],
)
async def test_claims_of_the_wrong_type(
    verifier: TokenVerifier, kind: Kind, changes: dict[str, Any]
) -> None:
    assert await rejected(verifier, hs256(full_claims(kind, **changes)), kind) is Code.TOKEN_INVALID


@pytest.mark.parametrize("issuer", ["rapport", "rapport-test ", "rapport-test-x", "RAPPORT-TEST"])
async def test_wrong_issuer(verifier: TokenVerifier, issuer: str) -> None:
    assert await rejected(verifier, hs256(full_claims(iss=issuer))) is Code.TOKEN_INVALID


class CountingKeySource:
    def __init__(self, key: Any) -> None:
        self.key = key
        self.calls = 0

    async def key_for(self, token: str) -> Any:
        self.calls += 1
        return self.key


async def test_over_long_token_is_refused_before_decoding(settings: Settings) -> None:
    keys = CountingKeySource(SECRET)
    verifier = TokenVerifier(settings, keys)
    padded = hs256(full_claims(padding="x" * MAX_TOKEN_CHARS))
    assert await rejected(verifier, padded) is Code.TOKEN_INVALID
    assert keys.calls == 0
    fits = hs256(full_claims(padding="x" * 100))
    assert isinstance(await verifier.verify(fits, Kind.CLIENT), ClientPrincipal)
    assert keys.calls == 1


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "a.b.c",
        "...",
        "eyJhbGciOiJIUzI1NiJ9..",
        "ä.ö.ü",
        "Bearer x.y.z",
        b64(b"{}") + "." + b64(b"[]") + "." + b64(b"sig"),
    ],
)
async def test_garbage(verifier: TokenVerifier, garbage: str) -> None:
    assert await rejected(verifier, garbage) is Code.TOKEN_INVALID


async def test_not_a_string(verifier: TokenVerifier) -> None:
    assert await rejected(verifier, None) is Code.TOKEN_INVALID  # type: ignore[arg-type]


async def test_deeply_nested_payload(verifier: TokenVerifier) -> None:
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64(b"[" * 5000)
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest())
    assert await rejected(verifier, f"{header}.{payload}.{signature}") is Code.TOKEN_INVALID


async def test_rejections_never_carry_the_token(
    verifier: TokenVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    token = hs256(full_claims(room="secret-room-xyz"), OTHER_SECRET)
    with pytest.raises(RapportError) as info:
        await verifier.verify(token, Kind.CLIENT)
    assert info.value.code is Code.TOKEN_INVALID
    assert info.value.__cause__ is None and info.value.__suppress_context__
    for text in (str(info.value), info.value.message, caplog.text):
        assert token not in text and token.split(".")[1] not in text
        assert "secret-room-xyz" not in text


# --- public-key algorithms ---------------------------------------------------------------------


def new_private_key(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def write_keypair(directory: Path, name: str, private_key: Any) -> tuple[str, str]:
    private_path = directory / f"{name}.key"
    public_path = directory / f"{name}.pub"
    private_path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private_path), str(public_path)


def asym_settings(tmp_path: Path, alg: str, name: str = "main") -> Settings:
    return asym_setup(tmp_path, alg, name)[0]


def asym_setup(tmp_path: Path, alg: str, name: str = "main") -> tuple[Settings, Any]:
    """Settings with a fresh key pair written to PEM files, and the private key itself."""
    private_key = new_private_key(alg)
    private_path, public_path = write_keypair(tmp_path, name, private_key)
    return Settings(
        jwt_algorithms=(alg,),
        jwt_issuer=ISSUER,
        jwt_private_key_file=private_path,
        jwt_public_key_file=public_path,
    ), private_key


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_public_key_round_trip(tmp_path: Path, alg: str) -> None:
    settings = asym_settings(tmp_path, alg)
    verifier = TokenVerifier(settings, key_source_from_settings(settings))
    minter = TokenMinter(settings)
    token = minter.mint_therapist("dr-1", ["room-1"])
    assert jwt.get_unverified_header(token)["alg"] == alg
    therapist = await verifier.verify(token, Kind.THERAPIST)
    assert isinstance(therapist, TherapistPrincipal) and therapist.rooms == {"room-1"}
    client = await verifier.verify(minter.mint_client("room-1"), Kind.CLIENT)
    assert isinstance(client, ClientPrincipal) and client.room == "room-1"
    # Same algorithm, another key pair: the signature does not verify.
    stranger = TokenMinter(asym_settings(tmp_path, alg, name="stranger"))
    assert await rejected(verifier, stranger.mint_client("room-1")) is Code.TOKEN_INVALID


async def test_hs256_refused_when_rs256_is_pinned(tmp_path: Path) -> None:
    settings, private_key = asym_setup(tmp_path, "RS256")
    verifier = TokenVerifier(settings, key_source_from_settings(settings))
    assert await rejected(verifier, hs256(full_claims())) is Code.TOKEN_INVALID
    # The classic confusion attack: HMAC keyed with the (public) RSA key's PEM bytes.
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(full_claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert await rejected(verifier, f"{header}.{payload}.{b64(signature)}") is Code.TOKEN_INVALID


async def test_rs512_refused_when_rs256_is_pinned(tmp_path: Path) -> None:
    settings, private_key = asym_setup(tmp_path, "RS256")
    verifier = TokenVerifier(settings, key_source_from_settings(settings))
    token = jwt.encode(full_claims(), private_key, algorithm="RS512")
    assert await rejected(verifier, token) is Code.TOKEN_INVALID


def test_key_that_does_not_fit_the_algorithm(tmp_path: Path) -> None:
    ec_settings = asym_settings(tmp_path, "ES256")
    mismatched = ec_settings.with_(jwt_algorithms=("RS256",))
    with pytest.raises(ConfigError):
        TokenMinter(mismatched)
    with pytest.raises(ConfigError):
        key_source_from_settings(mismatched)


def test_key_source_configuration(tmp_path: Path) -> None:
    assert isinstance(key_source_from_settings(Settings(jwt_secret=SECRET)), StaticKeySource)
    rs = asym_settings(tmp_path, "RS256")
    assert isinstance(key_source_from_settings(rs), StaticKeySource)
    jwks = rs.with_(jwt_public_key_file=None, jwks_url="http://127.0.0.1:9/jwks")
    assert isinstance(key_source_from_settings(jwks), JwksKeySource)
    for broken in (
        Settings(jwt_secret=None),
        rs.with_(jwt_public_key_file=None),
        rs.with_(jwks_url="http://127.0.0.1:9/jwks"),  # both: ambiguous
        rs.with_(jwt_public_key_file=None, jwks_url="file:///etc/passwd"),
        rs.with_(jwt_public_key_file=str(tmp_path / "missing.pem")),
    ):
        with pytest.raises(ConfigError):
            key_source_from_settings(broken)


def test_minter_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        TokenMinter(Settings(jwt_secret=None))
    with pytest.raises(ConfigError, match="PRIVATE_KEY_FILE"):
        TokenMinter(Settings(jwt_algorithms=("RS256",), jwt_public_key_file="x.pem"))
    with pytest.raises(ConfigError):
        TokenMinter(Settings(jwt_secret=SECRET, jwt_algorithms=("none",)))


# --- input validation when minting -------------------------------------------------------------


@pytest.mark.parametrize("room", ["", "a" * 65, "room 1", "räum", "../x", "a/b", "r\n", 5])
def test_mint_rejects_bad_room_ids(minter: TokenMinter, room: Any) -> None:
    with pytest.raises(ValueError, match="room id"):
        minter.mint_client(room)
    with pytest.raises(ValueError, match="room id"):
        minter.mint_therapist("dr-1", ["ok", room])


def test_mint_accepts_edge_room_ids(minter: TokenMinter) -> None:
    for room in ("a", "A" * 64, "Room_1-x"):
        claims = jwt.decode(minter.mint_client(room), options={"verify_signature": False})
        assert claims["room"] == room


@pytest.mark.parametrize("ttl", [0, -1, 0.5, 30 * 24 * 3600 + 1, float("inf"), float("nan"), True])
def test_mint_rejects_bad_ttl(minter: TokenMinter, ttl: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        minter.mint_client("room-1", ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        minter.mint_admin("a", ttl=ttl)


def test_mint_ttl_bounds(minter: TokenMinter) -> None:
    for ttl in (1, 30 * 24 * 3600):
        claims = jwt.decode(minter.mint_admin("a", ttl=ttl), options={"verify_signature": False})
        assert claims["exp"] - claims["nbf"] == ttl


def test_mint_rejects_other_bad_inputs(minter: TokenMinter) -> None:
    with pytest.raises(ValueError, match="at least one room"):
        minter.mint_therapist("dr-1", [])
    with pytest.raises(ValueError, match="subject"):
        minter.mint_therapist("", ["room-1"])
    with pytest.raises(ValueError, match="subject"):
        minter.mint_admin("x" * 300)
    with pytest.raises(ValueError, match="jti"):
        minter.mint_client("room-1", jti="")
    with pytest.raises(ValueError, match="not_before"):
        minter.mint_client("room-1", not_before=float("nan"))
    with pytest.raises(ValueError, match="already be expired"):
        minter.mint_client("room-1", ttl=60, not_before=time.time() - 3600)


def test_mint_therapist_with_a_single_room_string(minter: TokenMinter) -> None:
    token = minter.mint_therapist("dr-1", "room-1")
    assert jwt.decode(token, options={"verify_signature": False})["rooms"] == ["room-1"]


# --- permissions -------------------------------------------------------------------------------


CLIENT = ClientPrincipal("c", "room-1", "j", 0.0, 1.0)
THERAPIST = TherapistPrincipal("t", frozenset({"room-1", "room-2"}))
ADMIN = AdminPrincipal("a")


def code_of(check: Callable[[], None]) -> Code | None:
    try:
        check()
    except RapportError as exc:
        return exc.code
    return None


def test_ensure_room() -> None:
    assert code_of(lambda: ensure_room(CLIENT, "room-1")) is None
    assert code_of(lambda: ensure_room(CLIENT, "room-2")) is Code.WRONG_ROOM
    assert code_of(lambda: ensure_room(THERAPIST, "room-2")) is None
    assert code_of(lambda: ensure_room(THERAPIST, "room-3")) is Code.WRONG_ROOM
    assert code_of(lambda: ensure_room(ADMIN, "room-1")) is Code.WRONG_ROOM


def test_ensure_therapist_and_admin() -> None:
    assert code_of(lambda: ensure_therapist_of(THERAPIST, "room-1")) is None
    assert code_of(lambda: ensure_therapist_of(THERAPIST, "room-3")) is Code.FORBIDDEN
    assert code_of(lambda: ensure_therapist_of(CLIENT, "room-1")) is Code.FORBIDDEN
    assert code_of(lambda: ensure_therapist_of(ADMIN, "room-1")) is Code.FORBIDDEN
    assert code_of(lambda: ensure_admin(ADMIN)) is None
    assert code_of(lambda: ensure_admin(THERAPIST)) is Code.FORBIDDEN
    assert code_of(lambda: ensure_admin(CLIENT)) is Code.FORBIDDEN
    assert code_of(lambda: ensure_admin_or_therapist_of(ADMIN, "any")) is None
    assert code_of(lambda: ensure_admin_or_therapist_of(THERAPIST, "room-2")) is None
    assert code_of(lambda: ensure_admin_or_therapist_of(THERAPIST, "room-9")) is Code.FORBIDDEN
    assert code_of(lambda: ensure_admin_or_therapist_of(CLIENT, "room-1")) is Code.FORBIDDEN


# --- JWKS --------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 whose key set the test can change; counts fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}  # kid -> private key
        self.fetches = 0
        self.status = 200
        self.fetch_threads: list[int] = []

    def add(self, kid: str, private_key: Any) -> None:
        self.keys[kid] = private_key

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        if self.status != 200:
            return web.Response(status=self.status)
        jwks = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwks.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return web.json_response({"keys": jwks})


@pytest.fixture
async def jwks(aiohttp_server: AioHttpServer) -> tuple[JwksServer, str]:
    state = JwksServer()
    app = web.Application()
    app.router.add_get("/jwks", state.handle)
    server = await aiohttp_server(app)
    assert server.host == "127.0.0.1"
    return state, str(server.make_url("/jwks"))


def rs256(private_key: Any, kid: str | None, claims: dict[str, Any] | None = None) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims or full_claims(), private_key, algorithm="RS256", headers=headers)


def jwks_verifier(url: str, source: JwksKeySource) -> TokenVerifier:
    settings = Settings(jwt_algorithms=("RS256",), jwt_issuer=ISSUER, jwks_url=url)
    return TokenVerifier(settings, source)


async def test_jwks_round_trip_and_cache(
    jwks: tuple[JwksServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = jwks
    key = new_private_key("RS256")
    server.add("k1", key)
    threads: list[int] = []
    fetch = jwt.PyJWKClient.fetch_data

    def recording_fetch(client: jwt.PyJWKClient) -> Any:
        threads.append(threading.get_ident())
        return fetch(client)

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", recording_fetch)
    verifier = jwks_verifier(url, JwksKeySource(url, clock=FakeClock()))
    for _ in range(3):
        principal = await verifier.verify(rs256(key, "k1"), Kind.CLIENT)
        assert isinstance(principal, ClientPrincipal) and principal.room == "room-1"
    assert server.fetches == 1  # cached after the first fetch
    assert threads and threading.get_ident() not in threads  # fetched off the event loop


async def test_jwks_unknown_kid_refetches_at_most_once_per_cooldown(
    jwks: tuple[JwksServer, str],
) -> None:
    server, url = jwks
    key, rotated = new_private_key("RS256"), new_private_key("RS256")
    server.add("k1", key)
    clock = FakeClock()
    verifier = jwks_verifier(url, JwksKeySource(url, cooldown=30, clock=clock))
    assert isinstance(await verifier.verify(rs256(key, "k1"), Kind.CLIENT), ClientPrincipal)
    assert server.fetches == 1

    clock.now += 31
    assert await rejected(verifier, rs256(rotated, "k2")) is Code.TOKEN_INVALID
    assert server.fetches == 2  # one refetch for the unknown kid
    for kid in ("k2", "k3", "made-up"):
        assert await rejected(verifier, rs256(rotated, kid)) is Code.TOKEN_INVALID
    assert server.fetches == 2  # cooling down: no more fetches
    assert isinstance(await verifier.verify(rs256(key, "k1"), Kind.CLIENT), ClientPrincipal)

    server.add("k2", rotated)  # the provider rotates its key
    clock.now += 10
    assert await rejected(verifier, rs256(rotated, "k2")) is Code.TOKEN_INVALID
    assert server.fetches == 2  # still within the cooldown
    clock.now += 21
    assert isinstance(await verifier.verify(rs256(rotated, "k2"), Kind.CLIENT), ClientPrincipal)
    assert server.fetches == 3


async def test_jwks_concurrent_misses_share_one_fetch(jwks: tuple[JwksServer, str]) -> None:
    server, url = jwks
    key = new_private_key("RS256")
    server.add("k1", key)
    verifier = jwks_verifier(url, JwksKeySource(url, clock=FakeClock()))
    results = await asyncio.gather(
        *(verifier.verify(rs256(key, "k1"), Kind.CLIENT) for _ in range(5))
    )
    assert all(isinstance(r, ClientPrincipal) for r in results)
    assert server.fetches == 1


async def test_jwks_stale_set_is_refreshed_and_kept_on_failure(
    jwks: tuple[JwksServer, str],
) -> None:
    server, url = jwks
    key = new_private_key("RS256")
    server.add("k1", key)
    clock = FakeClock()
    verifier = jwks_verifier(url, JwksKeySource(url, max_age=300, clock=clock))
    assert isinstance(await verifier.verify(rs256(key, "k1"), Kind.CLIENT), ClientPrincipal)
    clock.now += 301
    server.status = 500
    # The refresh fails, the known key keeps working.
    assert isinstance(await verifier.verify(rs256(key, "k1"), Kind.CLIENT), ClientPrincipal)
    assert server.fetches == 2


async def test_jwks_unreachable_without_cache_is_unavailable(
    jwks: tuple[JwksServer, str],
) -> None:
    server, url = jwks
    server.status = 503
    key = new_private_key("RS256")
    verifier = jwks_verifier(url, JwksKeySource(url, clock=FakeClock()))
    assert await rejected(verifier, rs256(key, "k1")) is Code.UNAVAILABLE
    assert server.fetches == 1


async def test_jwks_token_without_kid_or_with_wrong_alg(jwks: tuple[JwksServer, str]) -> None:
    server, url = jwks
    key = new_private_key("RS256")
    server.add("k1", key)
    verifier = jwks_verifier(url, JwksKeySource(url, clock=FakeClock()))
    assert await rejected(verifier, rs256(key, None)) is Code.TOKEN_INVALID
    rs512 = jwt.encode(full_claims(), key, algorithm="RS512", headers={"kid": "k1"})
    assert await rejected(verifier, rs512) is Code.TOKEN_INVALID
    hs = jwt.encode(full_claims(), SECRET, algorithm="HS256", headers={"kid": "k1"})
    assert await rejected(verifier, hs) is Code.TOKEN_INVALID
    assert isinstance(await verifier.verify(rs256(key, "k1"), Kind.CLIENT), ClientPrincipal)


# --- explicit typing in the JOSE header (RFC 8725 3.11) ----------------------------------------


async def test_minted_tokens_name_their_kind_in_the_header(minter: TokenMinter) -> None:
    assert jwt.get_unverified_header(minter.mint_client("room-1"))["typ"] == (
        "rapport-session-link+jwt"
    )
    assert jwt.get_unverified_header(minter.mint_therapist("dr", ["room-1"]))["typ"] == (
        "rapport-therapist+jwt"
    )
    assert jwt.get_unverified_header(minter.mint_admin("a"))["typ"] == "rapport-admin+jwt"


@pytest.mark.parametrize(
    ("header_typ", "accepted"),
    [
        ("rapport-session-link+jwt", True),
        ("RAPPORT-SESSION-LINK+JWT", True),  # media types compare without case
        ("JWT", True),  # a practice's identity provider: the claims decide the kind
        (None, True),
        ("rapport-admin+jwt", False),  # the header says admin, the claims a session link
        ("rapport-therapist+jwt", False),
        ("at+jwt", False),  # an OAuth access token is not a session link
    ],
)
async def test_the_header_type_must_agree_with_the_kind(
    verifier: TokenVerifier, header_typ: str | None, accepted: bool
) -> None:
    headers = {"typ": header_typ} if header_typ is not None else {}
    token = jwt.encode(full_claims(Kind.CLIENT), SECRET, algorithm="HS256", headers=headers)
    if header_typ is None:  # PyJWT adds "typ": "JWT" unless told otherwise
        token = jwt.api_jws.PyJWS(options={}).encode(
            json.dumps(full_claims(Kind.CLIENT)).encode(),
            SECRET,
            algorithm="HS256",
            headers={"typ": None},
        )
        assert "typ" not in jwt.get_unverified_header(token)
    if accepted:
        assert isinstance(await verifier.verify(token, Kind.CLIENT), ClientPrincipal)
    else:
        assert await rejected(verifier, token) is Code.TOKEN_INVALID


async def test_withdrawn_tokens_are_refused_by_jti_or_by_the_subject_cutoff(
    settings: Settings,
) -> None:
    from telehealth.presence.memory import MemoryPresence

    presence = MemoryPresence()
    verifier = TokenVerifier(settings, key_source_from_settings(settings), presence)
    now = int(time.time()) - 100 + 0.5  # a cut-off half-way through a second
    before = TokenMinter(settings, clock=lambda: now - 10)
    same_second = TokenMinter(settings, clock=lambda: now + 0.2)  # iat is whole seconds
    after = TokenMinter(settings, clock=lambda: now + 1)
    until = int(time.time() * 1000) + 60_000
    await presence.revoke_subject("dr-1", int(now * 1000), until)
    for minted in (before, same_second):
        token = minted.mint_therapist("dr-1", ["room-1"], 3600)
        assert await rejected(verifier, token, Kind.THERAPIST) is Code.TOKEN_REVOKED
    fresh = after.mint_therapist("dr-1", ["room-1"], 3600)
    assert isinstance(await verifier.verify(fresh, Kind.THERAPIST), TherapistPrincipal)
    other = before.mint_admin("ops-1", 3600)
    assert isinstance(await verifier.verify(other, Kind.ADMIN), AdminPrincipal)
    admin = await verifier.verify(other, Kind.ADMIN)
    await presence.revoke(admin.jti, until)
    assert await rejected(verifier, other, Kind.ADMIN) is Code.TOKEN_REVOKED
    # Withdrawing a session link reads it back without the lists (check_time=False).
    assert isinstance(await verifier.verify(other, Kind.ADMIN, check_time=False), AdminPrincipal)
