"""The one codec (signaling/messages.py): every malformed frame becomes one RapportError with a
named code, never another exception; well-formed messages survive a round trip."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling import messages as m
from signaling.errors import Code, RapportError
from signaling.messages import (
    Admit,
    AnswerOut,
    Auth,
    Candidate,
    ChatOut,
    ClientState,
    DeviceCheck,
    Error,
    IceCandidate,
    Inbound,
    Message,
    OfferOut,
    Outbound,
    Ping,
    Pong,
    RoomView,
    SessionEntry,
    WaitingEntry,
    decode,
    decode_outbound,
    encode,
    encode_str,
    message_type,
)


def refused(data: str | bytes) -> RapportError:
    with pytest.raises(RapportError) as info:
        decode(data)
    return info.value


@pytest.mark.parametrize(
    "data",
    [
        "",
        "{",
        "hello",
        '{"type": "ping",}',
        b'{"type": "ping", "id": 1}\xff',  # not UTF-8
        b'{"type": "chat", "text": "\xff"}',
        '{"type": "ping"} {"type": "ping"}',  # two documents in one frame
    ],
)
def test_invalid_json(data: str | bytes) -> None:
    assert refused(data).code is Code.INVALID_JSON


@pytest.mark.parametrize(
    "data",
    [
        "{}",
        '{"no_type": 1}',
        '{"type": "dance"}',
        '{"type": 5}',
        '{"type": null}',
        '{"type": "PING"}',
    ],
)
def test_unknown_or_missing_type(data: str) -> None:
    assert refused(data).code is Code.UNKNOWN_TYPE


@pytest.mark.parametrize(
    "data",
    [
        '{"type": "leave", "extra": 1}',
        '{"type": "ping", "id": 1, "x": null}',
        # Also inside a nested object.
        '{"type": "auth", "token": "t", "role": "client", "device": {"camera": "ok", "x": 1}}',
        '{"type": "candidate", "to": "p", "candidate": {"candidate": "c", "port": 1}}',
    ],
)
def test_unknown_field(data: str) -> None:
    assert refused(data).code is Code.UNKNOWN_FIELD


@pytest.mark.parametrize(
    "data",
    [
        "[]",
        '"ping"',
        "42",
        "null",
        '{"type": "admit", "participant_ids": "p-1"}',  # a string, not a list
        '{"type": "admit", "participant_ids": []}',  # at least one
        '{"type": "deny"}',  # missing participant_id
        '{"type": "deny", "participant_id": ""}',
        '{"type": "chat", "text": 5}',
        '{"type": "ping", "id": -1}',
        '{"type": "auth", "token": "t", "role": "root"}',
        '{"type": "media", "audio": "yes", "video": true}',
    ],
)
def test_wrong_shape(data: str) -> None:
    assert refused(data).code is Code.INVALID_MESSAGE


@pytest.mark.parametrize(
    ("data", "code"),
    [
        # msgspec quotes a bad enum value in its message: words in the value that look like the
        # other errors' do not change the code.
        ('{"type": "auth", "token": "t", "role": "unknown field"}', Code.INVALID_MESSAGE),
        ('{"type": "auth", "token": "t", "role": "x - at `$.type`"}', Code.INVALID_MESSAGE),
        (
            '{"type": "auth", "token": "t", "role": "client",'
            ' "device": {"camera": "missing required field `type`"}}',
            Code.INVALID_MESSAGE,
        ),
        # ... nor does an unknown field's name.
        ('{"type": "ping", "a` - at `$.type": 1}', Code.UNKNOWN_FIELD),
    ],
)
def test_the_code_does_not_depend_on_quoted_input(data: str, code: Code) -> None:
    assert refused(data).code is code


@pytest.mark.parametrize(
    "data",
    [
        "[" * 60_000,
        "[" * 30_000 + "]" * 30_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        '{"type": "chat", "text": ' + "[" * 20_000 + "]" * 20_000 + "}",
        '{"x": ' + "[" * 20_000 + "]" * 20_000 + ', "type": "ping"}',
        '{"type": "ping", "x": ' + '{"a":' * 10_000 + "1" + "}" * 10_000 + "}",
    ],
    ids=["open", "closed", "objects", "in-a-field", "before-the-type", "in-an-unknown-field"],
)
def test_deep_nesting_is_a_named_error(data: str) -> None:
    # Frames of this size pass the socket's size limit (64 KiB), and the standard json module
    # raises RecursionError on them; the codec answers with a code instead.
    assert len(data) <= 64 * 1024
    with pytest.raises(RecursionError):
        json.loads(data)
    assert refused(data).code in (Code.INVALID_JSON, Code.INVALID_MESSAGE, Code.UNKNOWN_FIELD)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("{", Code.INVALID_JSON),
        ("{}", Code.UNKNOWN_TYPE),
        ('{"type": "leave", "x": 1}', Code.UNKNOWN_FIELD),
        ("[]", Code.INVALID_MESSAGE),
    ],
)
def test_an_input_error_answers_without_closing_the_socket(data: str, code: Code) -> None:
    error = refused(data)
    assert error.code is code
    assert (error.spec.http_status, error.spec.close_code) == (400, None)
    assert error.message


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_a_named_error(data: bytes) -> None:
    try:
        decode(data)
    except RapportError as error:
        assert error.code in (
            Code.INVALID_JSON,
            Code.UNKNOWN_TYPE,
            Code.UNKNOWN_FIELD,
            Code.INVALID_MESSAGE,
        )


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["type", "id", "to", "text", "x"]), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, database=None)
@given(JSON, st.sampled_from(["ping", "chat", "admit", "auth", "offer", "candidate", "media"]))
def test_any_json_object_decodes_or_raises_a_named_error(body: object, type_: str) -> None:
    message = (
        {"type": type_, "body": body} if not isinstance(body, dict) else {"type": type_, **body}
    )
    for data in (json.dumps(body), json.dumps(message)):
        try:
            decode(data)
        except RapportError as error:
            assert error.code is not Code.INVALID_JSON  # it was valid JSON
            assert error.code in (Code.UNKNOWN_TYPE, Code.UNKNOWN_FIELD, Code.INVALID_MESSAGE)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        Ping(id=7),
        Admit(participant_ids=["c-1", "c-2"]),
        Message(text="Running late", to=None),
        Auth(
            token="t" * 40,
            role="client",
            room="room-1",
            name="Alex",
            device=DeviceCheck(camera="ok", microphone="denied"),
        ),
        Candidate(
            to="t-1",
            candidate=IceCandidate(
                candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid="0"
            ),
        ),
    ],
    ids=lambda m: type(m).__name__,
)
def test_inbound_round_trip(message: Inbound) -> None:
    # Browsers write these; msgspec encodes them the same way (tag first, field names as is).
    data = msgspec.json.encode(message)
    assert json.loads(data)["type"] == type(message).__struct_config__.tag
    assert decode(data) == message
    assert decode(data.decode()) == message


@pytest.mark.parametrize(
    "message",
    [
        ClientState(state="waiting", therapist="ready", position=2),
        RoomView(
            waiting=[WaitingEntry(participant_id="c-1", name="Alex", since=1.5, connected=True)],
            session=[
                SessionEntry(
                    participant_id="c-2", role="client", name="Sam", since=2.0, connected=False
                )
            ],
            version=9,
        ),
        OfferOut(sender="t-1", sdp="v=0", restart=True),
        AnswerOut(sender="c-1", sdp="v=0"),
        ChatOut(sender="c-1", name="Alex", text="hi", at=3.25),
        Error(code="invalid_json", message="The message is not valid JSON."),
    ],
    ids=lambda m: type(m).__name__,
)
def test_outbound_round_trip(message: Outbound) -> None:
    data = encode(message)
    assert encode_str(message) == data.decode()
    assert data.startswith(b'{"type":"')  # the hub tells views apart by this prefix
    assert decode_outbound(data) == message  # as the client SDK reads it
    assert message_type(message) == message_type(type(message)) == json.loads(data)["type"]


def test_a_client_ignores_fields_a_newer_server_adds() -> None:
    assert decode_outbound(b'{"type":"pong","id":3,"server_time":1.5}') == Pong(id=3)


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
        decode_outbound(frame)
    assert info.value.code is code


def test_outbound_sender_is_named_from_on_the_wire() -> None:
    wire = json.loads(encode(OfferOut(sender="t-1", sdp="v=0")))
    assert wire == {"type": "offer", "from": "t-1", "sdp": "v=0", "restart": False}
    # Defaults are written out, so pages never meet a missing field.
    assert json.loads(encode(ClientState(state="waiting", therapist="absent"))) == {
        "type": "state",
        "state": "waiting",
        "therapist": "absent",
        "position": None,
        "reason": None,
        "eta": None,
    }


@pytest.mark.parametrize(
    ("location", "phone", "kept"),
    [
        ("  At  home,\tLeeds ", " (0113) 496-0000 ", ("At home, Leeds", "(0113) 496-0000")),
        ("Work", "+1 555.123.4567", ("Work", "+1 555.123.4567")),
        ("", "999", ("", "999")),
        ("x" * 200, "1" * 32, ("x" * 200, "1" * 32)),
        ("   ", "", None),
    ],
)
def test_emergency_information_is_trimmed_and_kept(
    location: str, phone: str, kept: tuple[str, str] | None
) -> None:
    checked = m.check_emergency(m.Emergency(location=location, phone=phone))
    assert (checked and (checked.location, checked.phone)) == kept
    assert m.check_emergency(None) is None


@pytest.mark.parametrize(
    ("location", "phone"),
    [("x" * 201, ""), ("Home\x07", ""), ("", "12"), ("", "555-CALL-NOW"), ("", "1" * 33)],
)
def test_bad_emergency_information_is_a_named_error(location: str, phone: str) -> None:
    with pytest.raises(RapportError) as caught:
        m.check_emergency(m.Emergency(location=location, phone=phone))
    assert caught.value.code is Code.INVALID_EMERGENCY


def test_an_auth_carries_emergency_information_and_a_consent_version() -> None:
    auth = m.decode(
        '{"type":"auth","token":"t","role":"client","room":"r","consent":"0123456789abcdef",'
        '"emergency":{"location":"Home","phone":"999"}}'
    )
    assert isinstance(auth, m.Auth)
    assert auth.emergency == m.Emergency(location="Home", phone="999")
    assert auth.consent == "0123456789abcdef"
    with pytest.raises(RapportError) as caught:
        m.decode('{"type":"auth","token":"t","role":"client","emergency":{"address":"x"}}')
    assert caught.value.code is Code.UNKNOWN_FIELD
