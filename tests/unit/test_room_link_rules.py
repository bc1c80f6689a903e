"""The room link's pure parts: the slug rules, the settings, the ``via`` claim, and counting
the visitors who came through the link."""

from __future__ import annotations

import jwt
import pytest

from signaling.errors import Code, RapportError
from telehealth.auth import ClientPrincipal, Kind, TokenMinter, TokenVerifier
from telehealth.auth.keys import key_source_from_settings
from telehealth.config import ConfigError, Settings, from_env
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.roomlinks import (
    RESERVED,
    VIA_ROOM_LINK,
    check_slug,
    is_slug,
    slug_problem,
    visitor_seated,
    waiting_via_room_link,
)
from telehealth.rooms.states import Role, State
from telehealth.rooms.views import room_view

SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    "slug",
    ["abc", "dr-rivera", "a1-b2-c3", "x" * 40, "123", "room-for-jo", "a-b"],
)
def test_good_slugs_pass(slug: str) -> None:
    assert slug_problem(slug) is None
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    ("slug", "words"),
    [
        ("ab", "3 to 40"),
        ("x" * 41, "3 to 40"),
        ("", "3 to 40"),
        ("Dr-Rivera", "lowercase"),
        ("-rivera", "hyphen"),
        ("rivera-", "hyphen"),
        ("dr--rivera", "hyphen"),
        ("dr_rivera", "lowercase"),
        ("dr rivera", "lowercase"),
        ("dr.rivera", "lowercase"),
        ("ñandú", "lowercase"),
        ("dr/../x", "lowercase"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("healthz", "reserved"),
        ("support", "reserved"),
    ],
)
def test_bad_slugs_are_refused_with_a_reason(slug: str, words: str) -> None:
    problem = slug_problem(slug)
    assert problem is not None and words in problem
    with pytest.raises(RapportError) as caught:
        check_slug(slug)
    assert caught.value.code is Code.SLUG_INVALID
    assert not is_slug(slug)


def test_not_text_is_not_a_slug() -> None:
    for value in (None, 123, ["abc"], b"abc"):
        assert not is_slug(value)


def test_the_paths_of_the_service_are_reserved() -> None:
    for word in ("admin", "api", "static", "join", "therapist", "s", "r", "ws", "metrics"):
        assert word in RESERVED
    for word in ("healthz", "readyz", "login", "help", "support"):
        assert word in RESERVED
    # Only reserved words of slug shape matter (the others could never pass anyway).
    assert all(len(w) < 3 or slug_problem(w) is not None for w in RESERVED)


def test_room_links_are_off_by_default_and_switch_like_the_others() -> None:
    base = {"TELEHEALTH_JWT_SECRET": SECRET}
    assert from_env(base).room_links is False
    assert from_env(base).room_link_max_waiting == 5
    assert from_env({**base, "TELEHEALTH_ROOM_LINKS": "on"}).room_links is True
    with pytest.raises(ConfigError, match="on or off"):
        from_env({**base, "TELEHEALTH_ROOM_LINKS": "maybe"})


def test_room_links_need_a_node_that_can_mint() -> None:
    Settings(jwt_secret=SECRET, room_links=True).validate()  # HS256 with a secret mints
    verifying_only = Settings(
        jwt_algorithms=("ES256",), jwt_public_key_file="/nonexistent.pem", room_links=True
    )
    with pytest.raises(ConfigError, match="cannot mint"):
        verifying_only.validate()
    verifying_only.with_(room_links=False).validate()  # off: nothing to mint


@pytest.mark.parametrize(
    ("field", "value"),
    [("room_link_max_waiting", 0), ("room_link_max_waiting", 101), ("room_link_visit_ttl", 60)],
)
def test_room_link_settings_are_bounded(field: str, value: float) -> None:
    with pytest.raises(ConfigError):
        Settings(jwt_secret=SECRET, **{field: value}).validate()  # type: ignore[arg-type]


async def test_the_via_claim_round_trips_and_nothing_else_passes() -> None:
    settings = Settings(jwt_secret=SECRET)
    minter = TokenMinter(settings)
    verifier = TokenVerifier(settings, key_source_from_settings(settings))
    visit = await verifier.verify(minter.mint_client("r1", via=VIA_ROOM_LINK), Kind.CLIENT)
    assert isinstance(visit, ClientPrincipal) and visit.via == VIA_ROOM_LINK
    plain = await verifier.verify(minter.mint_client("r1"), Kind.CLIENT)
    assert isinstance(plain, ClientPrincipal) and plain.via == ""
    assert "via" not in jwt.decode(minter.mint_client("r1"), options={"verify_signature": False})
    with pytest.raises(ValueError, match="via"):
        minter.mint_client("r1", via="walk_in")
    # A signed token with an unknown origin is refused, not read as a session link.
    claims = jwt.decode(
        minter.mint_client("r1", via=VIA_ROOM_LINK), options={"verify_signature": False}
    )
    forged = jwt.encode({**claims, "via": "staff"}, SECRET, algorithm="HS256")
    with pytest.raises(RapportError) as caught:
        await verifier.verify(forged, Kind.CLIENT)
    assert caught.value.code is Code.TOKEN_INVALID


def _client(pid: str, state: State, via: str = "", link: str = "") -> Participant:
    return Participant(
        id=pid, role=Role.CLIENT, state=state, name=pid, via=via, link=link or pid, queued_at=1
    )


def test_only_waiting_visitors_through_the_link_count() -> None:
    snapshot = Snapshot(
        room="r1",
        version=3,
        participants={
            p.id: p
            for p in [
                _client("a", State.WAITING, VIA_ROOM_LINK),
                _client("b", State.WAITING, VIA_ROOM_LINK),
                _client("c", State.ADMITTED, VIA_ROOM_LINK),
                _client("d", State.LEFT, VIA_ROOM_LINK),
                _client("e", State.WAITING),  # a session link's client
            ]
        },
    )
    assert waiting_via_room_link(snapshot) == 2
    assert visitor_seated(snapshot, "c") and visitor_seated(snapshot, "a")
    assert not visitor_seated(snapshot, "d") and not visitor_seated(snapshot, "zz")
    waiting = {w.participant_id: w.via for w in room_view(snapshot).waiting}
    assert waiting == {"a": VIA_ROOM_LINK, "b": VIA_ROOM_LINK, "e": None}
