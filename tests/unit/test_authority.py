"""The rules of a socket's authority, as pure functions of the clock."""

from __future__ import annotations

import pytest

from telehealth.auth.authority import Authority
from telehealth.auth.principal import AdminPrincipal, ClientPrincipal, Kind, TherapistPrincipal
from telehealth.rooms.ports import Revocation

THERAPIST = TherapistPrincipal(
    "dr-1", frozenset({"room-1"}), jti="j1", issued_at=1000.0, expires_at=4600.0
)


def test_staff_close_at_exp_plus_leeway_clients_in_session_after_the_overrun() -> None:
    auth = Authority.of(THERAPIST)
    assert auth.closes_at(leeway=30, overrun=1800, in_session=True) == 4630
    client = Authority.of(ClientPrincipal("c", "room-1", "j", 0.0, 4600.0, issued_at=1000.0))
    assert client.closes_at(leeway=30, overrun=1800, in_session=False) == 4630
    assert client.closes_at(leeway=30, overrun=1800, in_session=True) == 6400


def test_warned_once_per_close_time_at_most_five_minutes_ahead() -> None:
    auth = Authority.of(THERAPIST)
    assert not auth.warn_due(4600 - 301, 4600)
    assert auth.warn_due(4600 - 300, 4600)
    auth.warned_for = 4600
    assert not auth.warn_due(4599, 4600)
    assert auth.warn_due(9000, 9100)  # a new close time (after a reauth) is warned again
    short = Authority.of(AdminPrincipal("a", jti="j", issued_at=0.0, expires_at=3.0))
    assert not short.warn_due(1.9, 3.0) and short.warn_due(2.0, 3.0)  # a third of 3 s


def test_therapists_are_refreshed_once_per_expiry_admins_never() -> None:
    auth = Authority.of(THERAPIST)
    assert not auth.refresh_due(4600 - 601) and auth.refresh_due(4600 - 600)
    auth.refreshed_for = auth.expires_at
    assert not auth.refresh_due(4599)
    admin = Authority.of(AdminPrincipal("a", jti="j", issued_at=1000.0, expires_at=4600.0))
    assert not admin.refresh_due(4599)


def test_renewal_keeps_kind_subject_and_room() -> None:
    auth = Authority.of(THERAPIST)
    fresh = TherapistPrincipal("dr-1", frozenset({"room-1", "room-2"}), "j2", 5000.0, 9000.0)
    assert auth.may_renew_with(fresh, "room-1")
    assert not auth.may_renew_with(fresh, "room-3")
    assert not auth.may_renew_with(TherapistPrincipal("dr-2", frozenset({"room-1"})), "room-1")
    assert not auth.may_renew_with(AdminPrincipal("dr-1"), "room-1")
    auth.renew(fresh)
    assert (auth.jti, auth.issued_at, auth.expires_at) == ("j2", 5000.0, 9000.0)


@pytest.mark.parametrize(
    ("revocation", "withdrawn"),
    [
        (Revocation(at_ms=1, jti="j1"), True),
        (Revocation(at_ms=1, jti="j2"), False),
        (Revocation(at_ms=1, subject="dr-1", cutoff_ms=1_000_001), True),
        (Revocation(at_ms=1, subject="dr-1", cutoff_ms=1_000_000), False),  # issued at the cut-off
        (Revocation(at_ms=1, subject="dr-2", cutoff_ms=9_000_000), False),
    ],
)
def test_withdrawn_by_jti_or_by_the_subject_cutoff(revocation: Revocation, withdrawn: bool) -> None:
    assert Authority.of(THERAPIST).withdrawn_by(revocation) is withdrawn


def test_turn_credentials_are_renewed_only_when_they_end_before_the_socket() -> None:
    auth = Authority.of(THERAPIST)
    auth.turn_expires = 2000.0
    assert not auth.turn_due(1000, closes_at=4630, turn_ttl=3600)
    assert auth.turn_due(1700, closes_at=4630, turn_ttl=3600)
    assert not auth.turn_due(1999, closes_at=1900, turn_ttl=3600)
    assert Authority.of(THERAPIST).kind is Kind.THERAPIST
