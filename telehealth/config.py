"""One frozen Settings object, read from TELEHEALTH_* environment variables.

Every setting the service reads is listed in ``ENV_VARS`` so that deployment files (docker-compose)
can be checked against it, and docs/operations.md documents each one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from telehealth import brand
from telehealth.ids import new_node_id

# Every environment variable the service reads, with its meaning (docs/operations.md mirrors this).
ENV_VARS: dict[str, str] = {
    "TELEHEALTH_HOST": "interface to bind (default 127.0.0.1)",
    "TELEHEALTH_PORT": "port to listen on (default 8080)",
    "TELEHEALTH_PUBLIC_URL": "base URL that links are built from (default http://HOST:PORT)",
    "TELEHEALTH_NODE_ID": "this node's id (default: random per start)",
    "TELEHEALTH_REDIS_URL": "redis:// URL; unset means single node, in-memory presence",
    "TELEHEALTH_REDIS_CLUSTER": "1 to treat TELEHEALTH_REDIS_URL as a Redis Cluster seed",
    "TELEHEALTH_REDIS_TIMEOUT": "seconds for a Redis socket read or connect (default 2)",
    "TELEHEALTH_PRESENCE_DEADLINE": "overall seconds for one presence call, retries included (1)",
    "TELEHEALTH_DEV": "1 for development mode: a generated secret is allowed",
    "TELEHEALTH_JWT_SECRET": "HS256 shared secret (32+ bytes outside dev mode)",
    "TELEHEALTH_JWT_PUBLIC_KEY_FILE": "PEM public key for RS256/ES256/EdDSA tokens",
    "TELEHEALTH_JWT_PRIVATE_KEY_FILE": "PEM private key for minting (CLI, session-link API)",
    "TELEHEALTH_JWKS_URL": "JWKS URL to fetch verification keys from",
    "TELEHEALTH_JWT_ALGORITHMS": "comma-separated pinned algorithms (default HS256)",
    "TELEHEALTH_JWT_ISSUER": "exact issuer (default rapport)",
    "TELEHEALTH_JWT_LEEWAY": "clock leeway in seconds, at most 60 (default 30)",
    "TELEHEALTH_STUN_URLS": "comma-separated stun: URLs handed to browsers",
    "TELEHEALTH_TURN_URLS": "comma-separated turn:/turns: URLs handed to browsers",
    "TELEHEALTH_TURN_SECRET": "coturn static-auth-secret for time-limited TURN credentials",
    "TELEHEALTH_TURN_TTL": "longest lifetime of TURN credentials in seconds (default 3600)",
    "TELEHEALTH_RELAY_ONLY": "on to make every browser connect through TURN only "
    "(iceTransportPolicy relay): no one learns another's IP address (default off)",
    "TELEHEALTH_SESSION_OVERRUN": "seconds an admitted client may stay past the link's exp (1800)",
    "TELEHEALTH_CONSOLE_IDLE_LOGOFF": "seconds without input before a console locks (900)",
    "TELEHEALTH_BLUR_FRAME_BUDGET_MS": "ms per frame background blur may take before it turns "
    "itself off (66; 0: never)",
    "TELEHEALTH_TOKEN_REFRESH": "0 to stop nodes minting fresh therapist tokens before expiry",
    "TELEHEALTH_GRACE": "seconds an admitted participant keeps admission after a drop (default 60)",
    "TELEHEALTH_WAITING_GRACE": "seconds a waiting client keeps their place after a drop (300)",
    "TELEHEALTH_AUTH_TIMEOUT": "seconds a socket has to authenticate (default 5)",
    "TELEHEALTH_MAX_PARTICIPANTS": "participants in one session, therapist included (default 4)",
    "TELEHEALTH_NODE_HEARTBEAT": "seconds between node heartbeats (default 2)",
    "TELEHEALTH_SHOW_QUEUE_POSITION": "1 to show waiting clients their queue position",
    "TELEHEALTH_CLIENT_REPLIES": "off to stop waiting clients replying to messages (default on)",
    "TELEHEALTH_CONSENT_TEXT": "consent text a client must accept before the waiting room; "
    "when set, the server requires and audits its version (unset: a default checkbox, page only)",
    "TELEHEALTH_EMERGENCY_INFO": "off to stop asking clients where they are and for a phone "
    "number at check-in (default on)",
    "TELEHEALTH_LOG_JSON": "1 for JSON log lines",
    "TELEHEALTH_LOG_LEVEL": "log level (default INFO)",
    "TELEHEALTH_LOOPBACK": "1 to restrict our aiortc peers to 127.0.0.1 with no ICE servers",
    "TELEHEALTH_ALLOWED_ORIGINS": "comma-separated extra Origins allowed on WebSockets",
    "TELEHEALTH_EVENT_LOOP": "uvloop (default, where installed) or asyncio",
    "TELEHEALTH_EVENT_RETENTION": "seconds a room's event stream is kept (default 30 days)",
    "TELEHEALTH_METRICS_TOKEN": "bearer token for GET /metrics (unset: /metrics is off, 404)",
    "TELEHEALTH_EVENT_STREAM_MAX": "events kept per room, oldest trimmed first (default 10000)",
    "TELEHEALTH_WAIT_ALERT": "seconds a client may wait with no therapist before the monitor "
    "alerts (default 600)",
    "TELEHEALTH_WEBHOOK_URL": "http(s) URL that webhooks are POSTed to; unset means no webhooks",
    "TELEHEALTH_WEBHOOK_SECRET": "whsec_ + base64 of 24 to 64 random bytes: signs the webhooks",
    "TELEHEALTH_WEBHOOK_RETRY_FOR": "seconds a webhook is retried, then dead-lettered (86400)",
    "TELEHEALTH_WEBHOOK_TIMEOUT": "seconds one webhook request may take (default 10)",
    "TELEHEALTH_WEBHOOK_BACKOFF": "seconds before a webhook's first retry, doubling (default 5)",
    "TELEHEALTH_WEBHOOK_TAKEOVER": "seconds before another node takes over a stalled delivery (30)",
    "TELEHEALTH_WEBHOOK_DEAD_LETTERS": "dead letters kept, oldest dropped first (default 1000)",
    "TELEHEALTH_SINGLE_DEVICE_LINKS": "1 to refuse a session link's second device (link_in_use)",
    "TELEHEALTH_TRUSTED_PROXIES": "comma-separated proxy addresses/networks whose "
    "X-Forwarded-For is believed",
    "TELEHEALTH_ADDRESS_KEY": "key for hashing client addresses (default: derived from the JWT "
    "secret); required with Redis and public-key tokens",
    "TELEHEALTH_ADDRESS_MAX_PENDING": "sockets per address not yet authenticated (default 20)",
    "TELEHEALTH_ADDRESS_MAX_ATTEMPTS": "WebSocket connection attempts per address per minute "
    "(default 300)",
    "TELEHEALTH_API_RATE": "REST requests per principal per minute (default 120)",
    "TELEHEALTH_PRECALL_MAX": "pre-call tests running at once on this node; 0 turns them off "
    "(default 2)",
    "TELEHEALTH_PRECALL_QUEUE": "pre-call tests waiting for a place beyond the cap (default 4)",
    "TELEHEALTH_PRECALL_QUEUE_WAIT": "seconds a queued pre-call test waits for a place (5)",
    "TELEHEALTH_PRECALL_TIME_LIMIT": "hard limit in seconds on one pre-call test (default 20)",
    "TELEHEALTH_QUALITY_INTERVAL": "seconds between a page's call-quality summaries (default 10)",
    "TELEHEALTH_PRACTICE_NAME": "the practice's name in the pages' header (plain text, 80 chars)",
    "TELEHEALTH_PRACTICE_LOGO": "path of the practice's logo (PNG, JPEG, WebP or SVG, 512 KiB "
    "at most), served by the node at /brand/logo",
    "TELEHEALTH_ACCENT_COLOR": "#rrggbb accent for buttons and links; refused unless it meets "
    "WCAG AA (4.5:1) with white text and on the page background",
    "TELEHEALTH_SUPPORT_CONTACT": "how clients reach the practice for help (plain text, 120 "
    "chars), shown on error pages",
    "TELEHEALTH_ROOM_LINKS": "on to let therapists publish a permanent room link /r/<slug> "
    "(default off; needs a node that mints tokens)",
    "TELEHEALTH_ROOM_LINK_MAX_WAITING": "visitors through a room link waiting in one room at "
    "once (default 5)",
    "TELEHEALTH_ROOM_LINK_VISIT_TTL": "seconds a room-link visitor's token lasts: the wait and "
    "the session (default 7200)",
}

MIN_SECRET_BYTES = 32
WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_SECRET_BYTES = (24, 64)  # the Standard Webhooks specification's range
WEAK_SECRETS = frozenset({"secret", "changeme", "change-me", "password", "dev", "test"})
CONSENT_VERSION_HEX = 16
# Shown, and checked by the page only, when the deployment sets no consent text of its own.
DEFAULT_CONSENT = (
    "I agree to take part in this video session. I understand it is private and is not recorded."
)


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    node_id: str = field(default_factory=new_node_id)
    redis_url: str | None = None
    redis_cluster: bool = False
    redis_timeout: float = 2.0
    presence_deadline: float = 1.0
    dev: bool = False
    jwt_secret: str | None = None
    jwt_public_key_file: str | None = None
    jwt_private_key_file: str | None = None
    jwks_url: str | None = None
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_issuer: str = "rapport"
    jwt_leeway: int = 30
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 3600
    # Relay-only privacy mode: every peer uses iceTransportPolicy "relay" (welcome says so).
    relay_only: bool = False
    session_overrun: float = 1800.0
    console_idle_logoff: float = 900.0
    # Background blur turns itself off in the page when a frame takes longer than this for
    # several seconds (0: never). 66 ms keeps 15 frames a second.
    blur_frame_budget_ms: int = 66
    token_refresh: bool = True
    grace: float = 60.0
    waiting_grace: float = 300.0
    auth_timeout: float = 5.0
    max_participants: int = 4
    node_heartbeat: float = 2.0
    show_queue_position: bool = False
    client_replies: bool = True  # waiting clients may reply to the therapist's messages
    # The practice's consent text: when set, a client's auth must carry its version.
    consent_text: str | None = None
    emergency_info: bool = True
    log_json: bool = False
    log_level: str = "INFO"
    loopback: bool = False
    allowed_origins: tuple[str, ...] = ()
    event_loop: str = "uvloop"
    # The durable per-room event stream that every committed change appends to.
    event_retention: float = 30 * 24 * 3600.0
    event_stream_max: int = 10_000
    metrics_token: str | None = None
    # The admin monitor alerts on a room where a client has waited this long with no therapist.
    wait_alert: float = 600.0
    # Seconds between the pages' call-quality summaries (a summary sooner than half of it from
    # the same socket is refused as rate_limited).
    quality_interval: float = 10.0
    # Webhooks (telehealth/webhooks/): off without a URL.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_retry_for: float = 24 * 3600.0
    webhook_timeout: float = 10.0
    webhook_backoff: float = 5.0
    webhook_takeover: float = 30.0
    webhook_dead_letters: int = 1000
    single_device_links: bool = False
    trusted_proxies: tuple[str, ...] = ()
    address_key: str | None = None
    address_max_pending: int = 20
    address_max_attempts: int = 300  # per ATTEMPT_WINDOW_S
    api_rate: int = 120  # per principal per API_WINDOW_S
    precall_max: int = 2  # see docs/operations.md, "Pre-call tests": from the measured CPU cost
    precall_queue: int = 4
    precall_queue_wait: float = 5.0
    precall_time_limit: float = 20.0
    # Personal room links (/r/<slug>): off unless the deployment turns them on.
    room_links: bool = False
    room_link_max_waiting: int = 5
    room_link_visit_ttl: float = 7200.0
    # Limits that are not deployment choices, kept here so tests and docs read one place.
    ws_max_msg: int = 64 * 1024
    sdp_max: int = 32 * 1024
    out_queue_max: int = 256
    name_max: int = 64
    text_max: int = 2000
    max_candidates: int = 100  # ICE candidates one participant sends per offer/answer exchange
    # The practice's look (telehealth/brand.py): all optional, the neutral look without them.
    practice_name: str | None = None
    practice_logo: str | None = None  # a file path, read and checked at startup
    accent_color: str | None = None
    support_contact: str | None = None

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def consent_version(self) -> str | None:
        """The version of the configured consent text, which a client's auth must carry: the
        first 16 hex digits of the SHA-256 of its UTF-8 bytes. None when no text is set."""
        if self.consent_text is None:
            return None
        return hashlib.sha256(self.consent_text.encode()).hexdigest()[:CONSENT_VERSION_HEX]

    @property
    def node_timeout(self) -> float:
        """A node that has not heartbeated for this long is considered gone."""
        return self.node_heartbeat * 3

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        if self.precall_max < 0 or self.precall_queue < 0 or self.precall_queue_wait < 0:
            raise ConfigError("TELEHEALTH_PRECALL_MAX, _QUEUE and _QUEUE_WAIT must be 0 or more")
        if not 5 <= self.precall_time_limit <= 120:
            raise ConfigError("TELEHEALTH_PRECALL_TIME_LIMIT must be between 5 and 120 seconds")
        if not 0 <= self.jwt_leeway <= 60:
            raise ConfigError("TELEHEALTH_JWT_LEEWAY must be between 0 and 60 seconds")
        if not 2 <= self.max_participants <= 8:
            raise ConfigError("TELEHEALTH_MAX_PARTICIPANTS must be between 2 and 8")
        if self.grace <= 0 or self.waiting_grace <= 0:
            raise ConfigError("grace periods must be positive")
        if not 0.05 <= self.presence_deadline <= 10:
            raise ConfigError("TELEHEALTH_PRESENCE_DEADLINE must be 0.05 to 10 seconds")
        if not 0 <= self.session_overrun <= 24 * 3600:
            raise ConfigError("TELEHEALTH_SESSION_OVERRUN must be 0 to 86400 seconds")
        if not 1 <= self.console_idle_logoff <= 24 * 3600:
            raise ConfigError("TELEHEALTH_CONSOLE_IDLE_LOGOFF must be 1 to 86400 seconds")
        if not 0 <= self.blur_frame_budget_ms <= 60_000:
            raise ConfigError("TELEHEALTH_BLUR_FRAME_BUDGET_MS must be 0 to 60000 ms")
        if not 60 <= self.turn_ttl <= 7 * 24 * 3600:
            raise ConfigError("TELEHEALTH_TURN_TTL must be 60 to 604800 seconds")
        self._validate_relay_only()
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise ConfigError("TELEHEALTH_METRICS_TOKEN must be at least 16 characters")
        if self.event_retention < 3600 or self.event_stream_max < 100:
            raise ConfigError(
                "TELEHEALTH_EVENT_RETENTION must be at least 3600 s and "
                "TELEHEALTH_EVENT_STREAM_MAX at least 100"
            )
        if self.wait_alert < 1:
            raise ConfigError("TELEHEALTH_WAIT_ALERT must be at least 1 second")
        if not 0.5 <= self.quality_interval <= 300:
            raise ConfigError("TELEHEALTH_QUALITY_INTERVAL must be from 0.5 to 300 seconds")
        self._validate_webhooks()
        self._validate_brand()
        self._validate_room_links()
        if min(self.address_max_pending, self.address_max_attempts, self.api_rate) < 1:
            raise ConfigError(
                "TELEHEALTH_ADDRESS_MAX_PENDING, TELEHEALTH_ADDRESS_MAX_ATTEMPTS and "
                "TELEHEALTH_API_RATE must be at least 1"
            )
        if self.address_key is not None and len(self.address_key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"TELEHEALTH_ADDRESS_KEY must be at least {MIN_SECRET_BYTES} bytes")
        if self.redis_url and not (self.address_key or self.jwt_secret):
            raise ConfigError(
                "TELEHEALTH_ADDRESS_KEY is required with Redis when tokens are not HS256: "
                "every node must hash client addresses with the same key"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"TELEHEALTH_TRUSTED_PROXIES: {proxy!r} is not an address or network"
                ) from None
        hmac_algs = [a for a in self.jwt_algorithms if a.startswith("HS")]
        asym_algs = [a for a in self.jwt_algorithms if not a.startswith("HS")]
        if hmac_algs and asym_algs:
            raise ConfigError(
                "TELEHEALTH_JWT_ALGORITHMS must not mix HMAC and public-key algorithms"
            )
        if hmac_algs:
            if not self.jwt_secret:
                raise ConfigError("TELEHEALTH_JWT_SECRET is required for HS256")
            if not self.dev and (
                len(self.jwt_secret.encode()) < MIN_SECRET_BYTES
                or self.jwt_secret.lower() in WEAK_SECRETS
            ):
                raise ConfigError(
                    "TELEHEALTH_JWT_SECRET is too weak: use at least "
                    f"{MIN_SECRET_BYTES} random bytes, e.g. from "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
        if asym_algs and not (self.jwt_public_key_file or self.jwks_url):
            raise ConfigError(
                "public-key algorithms need TELEHEALTH_JWT_PUBLIC_KEY_FILE or TELEHEALTH_JWKS_URL"
            )

    def _validate_relay_only(self) -> None:
        if not self.relay_only:
            return
        if self.loopback:
            raise ConfigError(
                "TELEHEALTH_RELAY_ONLY cannot be on with TELEHEALTH_LOOPBACK, which hands out "
                "no ICE servers: relay-only needs a TURN server"
            )
        if not (self.turn_urls and self.turn_secret):
            raise ConfigError(
                "TELEHEALTH_RELAY_ONLY is on but no TURN server is configured: set "
                "TELEHEALTH_TURN_URLS and TELEHEALTH_TURN_SECRET (calls would never connect)"
            )

    def _validate_brand(self) -> None:
        """The practice's look, checked as the node starts: a bad one refuses to start."""
        try:
            if self.practice_name is not None:
                brand.check_plain_text(
                    "TELEHEALTH_PRACTICE_NAME", self.practice_name, brand.PRACTICE_NAME_MAX
                )
            if self.support_contact is not None:
                brand.check_plain_text(
                    "TELEHEALTH_SUPPORT_CONTACT", self.support_contact, brand.SUPPORT_CONTACT_MAX
                )
            if self.practice_logo is not None:
                brand.load_logo(self.practice_logo)
        except brand.BrandError as exc:
            raise ConfigError(str(exc)) from None
        if self.accent_color is not None:
            try:
                brand.palette(self.accent_color)
            except brand.BrandError as exc:
                raise ConfigError(f"TELEHEALTH_ACCENT_COLOR: {exc}") from None
    def _validate_room_links(self) -> None:
        if not 1 <= self.room_link_max_waiting <= 100:
            raise ConfigError("TELEHEALTH_ROOM_LINK_MAX_WAITING must be 1 to 100")
        if not 300 <= self.room_link_visit_ttl <= 24 * 3600:
            raise ConfigError("TELEHEALTH_ROOM_LINK_VISIT_TTL must be 300 to 86400 seconds")
        if not self.room_links:
            return
        algorithm = self.jwt_algorithms[0] if self.jwt_algorithms else ""
        mints = (
            bool(self.jwt_secret) if algorithm.startswith("HS") else bool(self.jwt_private_key_file)
        )
        if not mints:
            raise ConfigError(
                "TELEHEALTH_ROOM_LINKS is on but this node cannot mint tokens for visitors: set "
                "TELEHEALTH_JWT_SECRET (HS256) or TELEHEALTH_JWT_PRIVATE_KEY_FILE"
            )

    def _validate_webhooks(self) -> None:
        if not self.webhook_url:
            return
        url = urlsplit(self.webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError("TELEHEALTH_WEBHOOK_URL must be an http:// or https:// URL")
        secret = self.webhook_secret or ""
        if not secret.startswith(WEBHOOK_SECRET_PREFIX):
            raise ConfigError(
                "TELEHEALTH_WEBHOOK_SECRET must start with whsec_ (a Standard Webhooks secret), "
                "e.g. from: python -c 'import base64, secrets; "
                "print(base64.b64encode(secrets.token_bytes(32)).decode())'"
            )
        try:
            key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                "TELEHEALTH_WEBHOOK_SECRET: the part after whsec_ is not base64"
            ) from None
        low, high = WEBHOOK_SECRET_BYTES
        if not low <= len(key) <= high:
            raise ConfigError(f"TELEHEALTH_WEBHOOK_SECRET must hold {low} to {high} bytes")
        if not 1 <= self.webhook_retry_for <= self.event_retention:
            raise ConfigError(
                "TELEHEALTH_WEBHOOK_RETRY_FOR must be at least 1 s and at most "
                "TELEHEALTH_EVENT_RETENTION (the stream must still hold what is retried)"
            )
        if not 0.1 <= self.webhook_timeout <= 60:
            raise ConfigError("TELEHEALTH_WEBHOOK_TIMEOUT must be 0.1 to 60 seconds")
        if not 0.01 <= self.webhook_backoff <= 3600:
            raise ConfigError("TELEHEALTH_WEBHOOK_BACKOFF must be 0.01 to 3600 seconds")
        if not 1 <= self.webhook_takeover <= 3600:
            raise ConfigError("TELEHEALTH_WEBHOOK_TAKEOVER must be 1 to 3600 seconds")
        if not 1 <= self.webhook_dead_letters <= 100_000:
            raise ConfigError("TELEHEALTH_WEBHOOK_DEAD_LETTERS must be 1 to 100000")


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


_ON, _OFF = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """An on/off setting; anything else is refused rather than read as either."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in _ON | _OFF:
        raise ConfigError(f"{name} must be on or off, got {raw!r}")
    return raw in _ON


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _num(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from the environment; keyword overrides win (the CLI uses them)."""
    env = os.environ if env is None else env
    unknown = [k for k in env if k.startswith("TELEHEALTH_") and k not in ENV_VARS]
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, object] = {
        "host": env.get("TELEHEALTH_HOST", "127.0.0.1"),
        "port": int(_num(env, "TELEHEALTH_PORT", 8080)),
        "public_url": env.get("TELEHEALTH_PUBLIC_URL", ""),
        "redis_url": env.get("TELEHEALTH_REDIS_URL") or None,
        "redis_cluster": _bool(env.get("TELEHEALTH_REDIS_CLUSTER")),
        "redis_timeout": _num(env, "TELEHEALTH_REDIS_TIMEOUT", 2.0),
        "presence_deadline": _num(env, "TELEHEALTH_PRESENCE_DEADLINE", 1.0),
        "dev": _bool(env.get("TELEHEALTH_DEV")),
        "jwt_secret": env.get("TELEHEALTH_JWT_SECRET") or None,
        "jwt_public_key_file": env.get("TELEHEALTH_JWT_PUBLIC_KEY_FILE") or None,
        "jwt_private_key_file": env.get("TELEHEALTH_JWT_PRIVATE_KEY_FILE") or None,
        "jwks_url": env.get("TELEHEALTH_JWKS_URL") or None,
        "jwt_algorithms": _list(env.get("TELEHEALTH_JWT_ALGORITHMS")) or ("HS256",),
        "jwt_issuer": env.get("TELEHEALTH_JWT_ISSUER", "rapport"),
        "jwt_leeway": int(_num(env, "TELEHEALTH_JWT_LEEWAY", 30)),
        "stun_urls": _list(env.get("TELEHEALTH_STUN_URLS")),
        "turn_urls": _list(env.get("TELEHEALTH_TURN_URLS")),
        "turn_secret": env.get("TELEHEALTH_TURN_SECRET") or None,
        "turn_ttl": int(_num(env, "TELEHEALTH_TURN_TTL", 3600)),
        "relay_only": _bool(env.get("TELEHEALTH_RELAY_ONLY")),
        "session_overrun": _num(env, "TELEHEALTH_SESSION_OVERRUN", 1800.0),
        "console_idle_logoff": _num(env, "TELEHEALTH_CONSOLE_IDLE_LOGOFF", 900.0),
        "blur_frame_budget_ms": int(_num(env, "TELEHEALTH_BLUR_FRAME_BUDGET_MS", 66)),
        "token_refresh": _bool(env.get("TELEHEALTH_TOKEN_REFRESH", "1")),
        "grace": _num(env, "TELEHEALTH_GRACE", 60.0),
        "waiting_grace": _num(env, "TELEHEALTH_WAITING_GRACE", 300.0),
        "auth_timeout": _num(env, "TELEHEALTH_AUTH_TIMEOUT", 5.0),
        "max_participants": int(_num(env, "TELEHEALTH_MAX_PARTICIPANTS", 4)),
        "node_heartbeat": _num(env, "TELEHEALTH_NODE_HEARTBEAT", 2.0),
        "show_queue_position": _bool(env.get("TELEHEALTH_SHOW_QUEUE_POSITION")),
        "client_replies": _switch(env, "TELEHEALTH_CLIENT_REPLIES", default=True),
        "consent_text": env.get("TELEHEALTH_CONSENT_TEXT") or None,
        "emergency_info": _switch(env, "TELEHEALTH_EMERGENCY_INFO", default=True),
        "log_json": _bool(env.get("TELEHEALTH_LOG_JSON")),
        "log_level": env.get("TELEHEALTH_LOG_LEVEL", "INFO").upper(),
        "loopback": _bool(env.get("TELEHEALTH_LOOPBACK")),
        "allowed_origins": _list(env.get("TELEHEALTH_ALLOWED_ORIGINS")),
        "event_loop": env.get("TELEHEALTH_EVENT_LOOP", "uvloop").lower(),
        "event_retention": _num(env, "TELEHEALTH_EVENT_RETENTION", 30 * 24 * 3600.0),
        "event_stream_max": int(_num(env, "TELEHEALTH_EVENT_STREAM_MAX", 10_000)),
        "metrics_token": env.get("TELEHEALTH_METRICS_TOKEN") or None,
        "wait_alert": _num(env, "TELEHEALTH_WAIT_ALERT", 600.0),
        "quality_interval": _num(env, "TELEHEALTH_QUALITY_INTERVAL", 10.0),
        "webhook_url": env.get("TELEHEALTH_WEBHOOK_URL") or None,
        "webhook_secret": env.get("TELEHEALTH_WEBHOOK_SECRET") or None,
        "webhook_retry_for": _num(env, "TELEHEALTH_WEBHOOK_RETRY_FOR", 24 * 3600.0),
        "webhook_timeout": _num(env, "TELEHEALTH_WEBHOOK_TIMEOUT", 10.0),
        "webhook_backoff": _num(env, "TELEHEALTH_WEBHOOK_BACKOFF", 5.0),
        "webhook_takeover": _num(env, "TELEHEALTH_WEBHOOK_TAKEOVER", 30.0),
        "webhook_dead_letters": int(_num(env, "TELEHEALTH_WEBHOOK_DEAD_LETTERS", 1000)),
        "single_device_links": _bool(env.get("TELEHEALTH_SINGLE_DEVICE_LINKS")),
        "trusted_proxies": _list(env.get("TELEHEALTH_TRUSTED_PROXIES")),
        "address_key": env.get("TELEHEALTH_ADDRESS_KEY") or None,
        "address_max_pending": int(_num(env, "TELEHEALTH_ADDRESS_MAX_PENDING", 20)),
        "address_max_attempts": int(_num(env, "TELEHEALTH_ADDRESS_MAX_ATTEMPTS", 300)),
        "api_rate": int(_num(env, "TELEHEALTH_API_RATE", 120)),
        "precall_max": int(_num(env, "TELEHEALTH_PRECALL_MAX", 2)),
        "precall_queue": int(_num(env, "TELEHEALTH_PRECALL_QUEUE", 4)),
        "precall_queue_wait": _num(env, "TELEHEALTH_PRECALL_QUEUE_WAIT", 5.0),
        "precall_time_limit": _num(env, "TELEHEALTH_PRECALL_TIME_LIMIT", 20.0),
        "practice_name": env.get("TELEHEALTH_PRACTICE_NAME") or None,
        "practice_logo": env.get("TELEHEALTH_PRACTICE_LOGO") or None,
        "accent_color": env.get("TELEHEALTH_ACCENT_COLOR") or None,
        "support_contact": env.get("TELEHEALTH_SUPPORT_CONTACT") or None,
        "room_links": _switch(env, "TELEHEALTH_ROOM_LINKS", default=False),
        "room_link_max_waiting": int(_num(env, "TELEHEALTH_ROOM_LINK_MAX_WAITING", 5)),
        "room_link_visit_ttl": _num(env, "TELEHEALTH_ROOM_LINK_VISIT_TTL", 7200.0),
    }
    if values["event_loop"] not in ("uvloop", "asyncio"):
        raise ConfigError("TELEHEALTH_EVENT_LOOP must be uvloop or asyncio")
    if env.get("TELEHEALTH_NODE_ID"):
        values["node_id"] = env["TELEHEALTH_NODE_ID"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.dev and not settings.jwt_secret and "HS256" in settings.jwt_algorithms:
        settings = settings.with_(jwt_secret=secrets.token_urlsafe(48))
    return settings
