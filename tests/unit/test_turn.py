"""ICE server lists and coturn use-auth-secret (TURN REST) credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import msgspec
import pytest
from aiortc import RTCIceTransportPolicy

from rapport_sdk.ice import rtc_configuration
from signaling.messages import IceServer, IceTransportPolicy
from telehealth.config import ConfigError, Settings, from_env
from telehealth.turn import ice_servers, ice_transport_policy, turn_expiry

STUN = ("stun:stun.rapport.example:3478",)
TURN = ("turn:turn.rapport.example:3478?transport=udp", "turns:turn.rapport.example:5349")
SECRET = "coturn-static-secret"


def test_credentials_match_coturn_scheme() -> None:
    settings = Settings(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, turn_ttl=3600)
    servers = ice_servers(settings, "c-0123456789abcdef", now=1_700_000_000.9)
    assert servers[0] == IceServer(urls=list(STUN))
    turn = servers[1]
    assert turn.urls == list(TURN)
    assert turn.username == "1700003600:c-0123456789abcdef"
    # Independent computation, plus a known answer from
    # `printf %s USERNAME | openssl dgst -sha1 -hmac SECRET -binary | base64`.
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), turn.username.encode(), hashlib.sha1).digest()
    ).decode()
    assert turn.credential == expected == "JAz9hV2fRXYVKGSxW+TbtwCaDa8="


def test_username_expiry_defaults_to_now_plus_ttl() -> None:
    settings = Settings(turn_urls=TURN, turn_secret=SECRET, turn_ttl=600)
    before = int(time.time())
    (turn,) = ice_servers(settings, "t-1")
    after = int(time.time())
    assert turn.username is not None
    expiry, identity = turn.username.split(":")
    assert identity == "t-1"
    assert before + 600 <= int(expiry) <= after + 600


def test_without_secret_turn_urls_are_left_out() -> None:
    # Browsers refuse a turn: URL without credentials, so none is handed out.
    servers = ice_servers(Settings(stun_urls=STUN, turn_urls=TURN), "c-1", now=0)
    assert servers == [IceServer(urls=list(STUN))]


def test_only_what_is_configured() -> None:
    assert ice_servers(Settings(), "c-1") == []
    assert ice_servers(Settings(stun_urls=STUN), "c-1") == [IceServer(urls=list(STUN))]
    turn_only = ice_servers(Settings(turn_urls=TURN, turn_secret=SECRET), "c-1", now=0)
    assert [s.urls for s in turn_only] == [list(TURN)]


def test_loopback_has_no_ice_servers() -> None:
    settings = Settings(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, loopback=True)
    assert ice_servers(settings, "c-1", now=0) == []


@pytest.mark.parametrize("identity", ["", "a:b"])
def test_identity_must_not_break_the_username(identity: str) -> None:
    settings = Settings(turn_urls=TURN, turn_secret=SECRET)
    with pytest.raises(ValueError, match="identity"):
        ice_servers(settings, identity, now=0)


def test_encodes_for_the_browser() -> None:
    settings = Settings(turn_urls=TURN[:1], turn_secret=SECRET, turn_ttl=60)
    decoded = msgspec.json.decode(msgspec.json.encode(ice_servers(settings, "c-1", now=100)))
    assert decoded == [
        {"urls": list(TURN[:1]), "username": "160:c-1", "credential": decoded[0]["credential"]}
    ]
    assert len(base64.b64decode(decoded[0]["credential"])) == 20  # a SHA-1 digest


def test_credentials_end_with_the_session_authority() -> None:
    settings = Settings(turn_urls=TURN[:1], turn_secret=SECRET, turn_ttl=3600)
    (turn,) = ice_servers(settings, "c-1", now=1000, authority_ends=1900.5)
    assert turn.username == "1900:c-1"  # the token's exp plus the overrun, sooner than the ttl
    (capped,) = ice_servers(settings, "c-1", now=1000, authority_ends=99_999)
    assert capped.username == "4600:c-1"  # never longer than turn_ttl
    assert turn_expiry(settings, 1000, 900) == 1001  # an ended authority: a second, not the past


# --- relay-only privacy mode (TELEHEALTH_RELAY_ONLY) ----------------------------------------

JWT = {"TELEHEALTH_JWT_SECRET": "r" * 48}
WITH_TURN = {**JWT, "TELEHEALTH_TURN_URLS": TURN[0], "TELEHEALTH_TURN_SECRET": SECRET}


def test_relay_only_is_off_by_default() -> None:
    settings = from_env(WITH_TURN)
    assert settings.relay_only is False
    assert ice_transport_policy(settings) == "all"


@pytest.mark.parametrize("value", ["on", "1", "true"])
def test_relay_only_makes_the_policy_relay(value: str) -> None:
    settings = from_env({**WITH_TURN, "TELEHEALTH_RELAY_ONLY": value})
    settings.validate()
    assert settings.relay_only is True
    assert ice_transport_policy(settings) == "relay"
    # The TURN servers are what relay-only connects through: they are still handed out.
    assert [s.urls for s in ice_servers(settings, "c-1", now=0)] == [[TURN[0]]]


@pytest.mark.parametrize(
    "env",
    [
        JWT,  # no TURN at all
        {**JWT, "TELEHEALTH_TURN_URLS": TURN[0]},  # URLs without a secret: never handed out
        {**JWT, "TELEHEALTH_TURN_SECRET": SECRET},  # a secret without URLs
        {**JWT, "TELEHEALTH_STUN_URLS": STUN[0]},  # STUN gives no relay candidates
    ],
)
def test_relay_only_without_turn_refuses_to_start(env: dict[str, str]) -> None:
    settings = from_env({**env, "TELEHEALTH_RELAY_ONLY": "on"})
    with pytest.raises(ConfigError, match="TELEHEALTH_RELAY_ONLY is on but no TURN server"):
        settings.validate()


def test_relay_only_and_loopback_exclude_each_other() -> None:
    settings = from_env({**WITH_TURN, "TELEHEALTH_RELAY_ONLY": "on", "TELEHEALTH_LOOPBACK": "1"})
    with pytest.raises(ConfigError, match="TELEHEALTH_LOOPBACK"):
        settings.validate()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("relay", RTCIceTransportPolicy.RELAY), ("all", RTCIceTransportPolicy.ALL)],
)
def test_sdk_peers_follow_the_welcome_policy(
    policy: IceTransportPolicy, expected: RTCIceTransportPolicy
) -> None:
    servers = [IceServer(urls=[TURN[0]], username="1:c-1", credential="x")]
    configuration = rtc_configuration(servers, loopback=False, policy=policy)
    assert configuration.iceTransportPolicy is expected
    assert [s.urls for s in configuration.iceServers or []] == [[TURN[0]]]
    # Loopback mode hands aiortc no servers; relay-only there gathers nothing (nothing leaks).
    assert rtc_configuration(servers, loopback=True, policy=policy).iceServers == []
