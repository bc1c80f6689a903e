"""ICE server lists and coturn use-auth-secret (TURN REST) credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import msgspec
import pytest

from signaling.messages import IceServer
from telehealth.config import Settings
from telehealth.turn import ice_servers, turn_expiry

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
