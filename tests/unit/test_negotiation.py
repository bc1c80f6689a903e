"""The perfect-negotiation rule (signaling/negotiation.py), which the server puts in its
`session` views and the SDK applies before one arrives."""

from __future__ import annotations

import pytest

from signaling.negotiation import polite


def test_the_therapist_is_never_polite() -> None:
    assert not polite(role="therapist", participant_id="t-1", peer_role="client", peer_id="c-9")
    assert polite(role="client", participant_id="c-0", peer_role="therapist", peer_id="t-1")


@pytest.mark.parametrize(("a", "b"), [("c-1", "c-2"), ("c-b", "c-a"), ("x", "xy")])
def test_between_two_clients_the_rule_is_antisymmetric(a: str, b: str) -> None:
    a_to_b = polite(role="client", participant_id=a, peer_role="client", peer_id=b)
    b_to_a = polite(role="client", participant_id=b, peer_role="client", peer_id=a)
    assert a_to_b != b_to_a
    assert a_to_b is (a > b)
