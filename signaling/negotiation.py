"""Perfect negotiation: which side of a pair is polite.

The service puts the answer in every ``session`` message (``peers[].polite``); a client that must
decide before its first ``session`` arrives (an offer racing it) computes the same answer here.
"""

from __future__ import annotations

THERAPIST = "therapist"


def polite(*, role: str, participant_id: str, peer_role: str, peer_id: str) -> bool:
    """Whether ``participant_id`` (of ``role``) is the polite side towards ``peer_id``.

    The therapist is never polite; between two clients the larger id is polite. Both sides of a
    pair compute opposite answers, so exactly one of them yields in a glare.
    """
    if role == THERAPIST:
        return False
    if peer_role == THERAPIST:
        return True
    return participant_id > peer_id
