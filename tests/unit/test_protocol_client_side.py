"""The protocol package as a client uses it: the polite rule and decoding what the server sends."""

from __future__ import annotations

import pytest

from signaling import messages as m
from signaling.errors import Code, RapportError
from signaling.negotiation import polite


def test_the_therapist_is_never_polite() -> None:
    assert not polite(role="therapist", participant_id="t-1", peer_role="client", peer_id="c-9")
    assert polite(role="client", participant_id="c-0", peer_role="therapist", peer_id="t-1")


def test_between_two_clients_exactly_one_is_polite_the_larger_id() -> None:
    a = polite(role="client", participant_id="c-b", peer_role="client", peer_id="c-a")
    b = polite(role="client", participant_id="c-a", peer_role="client", peer_id="c-b")
    assert (a, b) == (True, False)


SERVER_MESSAGES: list[m.Outbound] = [
    m.Welcome(
        participant_id="c-1",
        role="client",
        room="r",
        ice_servers=[m.IceServer(urls=["stun:example.test"])],
        resumed=False,
        grace=30.0,
        heartbeat=10.0,
    ),
    m.ClientState(state="waiting", therapist="ready", position=1),
    m.SessionView(
        peers=[
            m.Peer(participant_id="t-1", role="therapist", name="T", polite=True, connected=True)
        ]
    ),
    m.OfferOut(sender="t-1", sdp="v=0", restart=True),
    m.CandidateOut(sender="t-1", candidate=m.IceCandidate(candidate="", sdpMid="0")),
    m.Bye(code="left", message="You have left the session."),
]


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=m.message_type)
def test_what_the_server_encodes_the_client_decodes(message: m.Outbound) -> None:
    assert m.decode_outbound(m.encode(message)) == message


def test_a_newer_servers_extra_field_is_ignored() -> None:
    got = m.decode_outbound(b'{"type":"pong","id":3,"server_time":1.5}')
    assert got == m.Pong(id=3)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"not json", Code.INVALID_JSON),
        (b'{"type":"dance"}', Code.UNKNOWN_TYPE),
        (b'{"type":"pong"}', Code.INVALID_MESSAGE),
    ],
)
def test_a_malformed_server_frame_is_one_named_error(frame: bytes, code: Code) -> None:
    with pytest.raises(RapportError) as info:
        m.decode_outbound(frame)
    assert info.value.code is code
