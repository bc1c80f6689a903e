"""Every WebSocket message, as frozen typed structs, and the one codec that reads and writes them.

Inbound messages (browser -> server) reject unknown fields; outbound ones (server -> browser)
are encoded by the service and decoded by the client SDK with the same structs. The ``type``
field is the tag. docs/protocol.md documents each one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from signaling.errors import Code, RapportError

ParticipantId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Sdp = Annotated[str, msgspec.Meta(max_length=64 * 1024)]
MAX_REPLY = 500  # characters in a waiting client's reply
MAX_LATE_MINUTES = 120


class _In(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    pass


class _Out(msgspec.Struct, frozen=True, tag_field="type", omit_defaults=False):
    pass


# --- browser -> server -------------------------------------------------------------------------


class DeviceCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The client's device check: each is "ok", "denied", "missing" or "skipped"."""

    camera: Literal["ok", "denied", "missing", "skipped"] = "skipped"
    microphone: Literal["ok", "denied", "missing", "skipped"] = "skipped"


RoomId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ResumeSecret = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


class Auth(_In, frozen=True, tag="auth"):
    """The first message on every socket. ``role`` says which kind of token ``token`` is."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
    role: Literal["client", "therapist", "admin"]
    room: RoomId | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    device: DeviceCheck | None = None
    # A client's resume secret from an earlier ``welcome``: proves this is the device (tab)
    # that holds the link's seat. Without it, a link already seated elsewhere opens as a
    # second device and waits.
    resume: ResumeSecret | None = None


class Admit(_In, frozen=True, tag="admit"):
    participant_ids: Annotated[list[ParticipantId], msgspec.Meta(min_length=1, max_length=8)]


class Deny(_In, frozen=True, tag="deny"):
    participant_id: ParticipantId


class Remove(_In, frozen=True, tag="remove"):
    participant_id: ParticipantId


class SendBack(_In, frozen=True, tag="send_back"):
    participant_id: ParticipantId


class EndSession(_In, frozen=True, tag="end_session"):
    pass


class Message(_In, frozen=True, tag="message"):
    """The therapist messages one waiting client (``to``) or all of them (``to`` omitted)."""

    text: Text
    to: ParticipantId | None = None


class Chat(_In, frozen=True, tag="chat"):
    text: Text


class RunningLate(_In, frozen=True, tag="running_late"):
    """The therapist expects to be ``minutes`` late (from now); 0 clears the notice."""

    minutes: Annotated[int, msgspec.Meta(ge=0, le=MAX_LATE_MINUTES)]


class Reply(_In, frozen=True, tag="reply"):
    """A waiting client's short answer to the therapist's messages."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REPLY, pattern=r"\S")]


class IceCandidate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    candidate: Annotated[str, msgspec.Meta(max_length=1024)]
    sdpMid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, msgspec.Meta(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class Offer(_In, frozen=True, tag="offer"):
    to: ParticipantId
    sdp: Sdp
    restart: bool = False


class Answer(_In, frozen=True, tag="answer"):
    to: ParticipantId
    sdp: Sdp


class Candidate(_In, frozen=True, tag="candidate"):
    to: ParticipantId
    candidate: IceCandidate


class Hangup(_In, frozen=True, tag="hangup"):
    to: ParticipantId


class Media(_In, frozen=True, tag="media"):
    audio: bool
    video: bool
    screen: bool = False


class Leave(_In, frozen=True, tag="leave"):
    pass


class Reauth(_In, frozen=True, tag="reauth"):
    """A fresh token for this socket: same kind, same subject, and (for a therapist) still
    for the socket's room. The socket's expiry moves to the new token's."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]


class Ping(_In, frozen=True, tag="ping"):
    id: Annotated[int, msgspec.Meta(ge=0)] = 0


Inbound = (
    Auth
    | Admit
    | Deny
    | Remove
    | SendBack
    | EndSession
    | Message
    | Chat
    | Offer
    | Answer
    | Candidate
    | Hangup
    | Media
    | Leave
    | Ping
    | Reauth
    | RunningLate
    | Reply
)
RelayIn = Offer | Answer | Candidate | Hangup

# --- server -> browser -------------------------------------------------------------------------


class IceServer(msgspec.Struct, frozen=True, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Welcome(_Out, frozen=True, tag="welcome"):
    participant_id: str
    role: str
    room: str
    ice_servers: list[IceServer]
    resumed: bool
    grace: float
    heartbeat: float
    resume: str | None = None  # a client's resume secret: keep it for this tab only
    replies: bool = False  # a client may answer the therapist's messages from the waiting room


class ClientState(_Out, frozen=True, tag="state"):
    """What a client may know: their own state, the therapist's status, maybe their position."""

    state: str
    therapist: str
    position: int | None = None
    # While waiting: when the therapist, running late, expects to be here (epoch seconds).
    eta: float | None = None


class WaitingEntry(msgspec.Struct, frozen=True):
    participant_id: str
    name: str
    since: float
    connected: bool
    device: DeviceCheck | None = None
    second_device: bool = False  # the link is also open (seated) on another device


class SessionEntry(msgspec.Struct, frozen=True):
    participant_id: str
    role: str
    name: str
    since: float
    connected: bool


class RoomView(_Out, frozen=True, tag="room"):
    """The therapist's live view of their room: the waiting list and who is in session."""

    waiting: list[WaitingEntry]
    session: list[SessionEntry]
    version: int
    eta: float | None = None  # the running-late notice the waiting clients see (epoch seconds)


class Peer(msgspec.Struct, frozen=True):
    participant_id: str
    role: str
    name: str
    polite: bool
    connected: bool


class SessionView(_Out, frozen=True, tag="session"):
    """An admitted participant's peers, with the perfect-negotiation role towards each."""

    peers: list[Peer]


class TherapistMessage(_Out, frozen=True, tag="message"):
    text: str
    at: float
    to_all: bool


class ReplyOut(_Out, frozen=True, tag="reply"):
    """A waiting client's reply, to the therapist."""

    sender: str = msgspec.field(name="from")
    text: str = ""
    at: float = 0.0


class OfferOut(_Out, frozen=True, tag="offer"):
    sender: str = msgspec.field(name="from")
    sdp: str = ""
    restart: bool = False


class AnswerOut(_Out, frozen=True, tag="answer"):
    sender: str = msgspec.field(name="from")
    sdp: str = ""


class CandidateOut(_Out, frozen=True, tag="candidate"):
    sender: str = msgspec.field(name="from")
    candidate: IceCandidate | None = None


class HangupOut(_Out, frozen=True, tag="hangup"):
    sender: str = msgspec.field(name="from")


class ChatOut(_Out, frozen=True, tag="chat"):
    sender: str = msgspec.field(name="from")
    name: str = ""
    text: str = ""
    at: float = 0.0


class MediaOut(_Out, frozen=True, tag="media"):
    sender: str = msgspec.field(name="from")
    audio: bool = True
    video: bool = True
    screen: bool = False


class Pong(_Out, frozen=True, tag="pong"):
    id: int


class Error(_Out, frozen=True, tag="error"):
    code: str
    message: str
    ref: str | None = None
    retry_after: int | None = None


class Bye(_Out, frozen=True, tag="bye"):
    """Sent just before the server closes the socket with the named close code."""

    code: str
    message: str
    reconnect: bool = False
    retry_after: float | None = None


class TokenExpiring(_Out, frozen=True, tag="token_expiring"):
    """The socket closes at ``closes_at`` (epoch seconds) with ``code``, unless a ``reauth``
    moves it (therapists and admins) or, for a client, the session ends first."""

    expires_at: float
    closes_at: float
    code: str


class TokenRefreshed(_Out, frozen=True, tag="token_refreshed"):
    """A fresh token the node minted for this socket's person, ahead of the old one's expiry.
    The socket's expiry has moved to ``expires_at``; the page uses the token from now on."""

    token: str
    expires_at: float


class Reauthed(_Out, frozen=True, tag="reauthed"):
    """The answer to a ``reauth``: the socket now closes when the new token expires."""

    expires_at: float


class IceServers(_Out, frozen=True, tag="ice_servers"):
    """Fresh ICE servers (TURN credentials) before the ones in hand expire, for ICE restarts."""

    ice_servers: list[IceServer]


class Member(msgspec.Struct, frozen=True):
    """A participant as the admin sees them: ids and roles, never names."""

    participant_id: str
    role: str
    state: str
    since: float
    node: str
    connected: bool


class WaitingClient(msgspec.Struct, frozen=True):
    """A waiting client as the admin sees them: the id and how long they have waited."""

    participant_id: str
    wait_s: float
    connected: bool


class RoomSummary(msgspec.Struct, frozen=True):
    room: str
    therapist_present: bool
    therapist_connected: bool
    waiting: int
    longest_wait_s: float
    in_session: list[Member]
    participants: list[Member]
    nodes: list[str]
    therapist: Literal["present", "reconnecting", "absent"]
    waiting_clients: list[WaitingClient]  # the longest wait first
    # Someone has waited ``wait_alert_s`` or more and no therapist is connected in the room.
    # The server decides, so that every node's monitor shows the same rooms in alert.
    alert: bool


class AdminRooms(_Out, frozen=True, tag="rooms"):
    rooms: list[RoomSummary]
    at: float
    wait_alert_s: float  # TELEHEALTH_WAIT_ALERT, for the monitor's words


Outbound = (
    Welcome
    | ClientState
    | RoomView
    | SessionView
    | TherapistMessage
    | OfferOut
    | AnswerOut
    | CandidateOut
    | HangupOut
    | ChatOut
    | MediaOut
    | Pong
    | Error
    | Bye
    | AdminRooms
    | TokenExpiring
    | TokenRefreshed
    | Reauthed
    | IceServers
    | ReplyOut
)

# --- the codec ---------------------------------------------------------------------------------

_decoder = msgspec.json.Decoder(Inbound)
_outbound_decoder = msgspec.json.Decoder(Outbound)
_encoder = msgspec.json.Encoder()


def decode(data: str | bytes) -> Inbound:
    """Decode one inbound frame; every malformed input becomes one RapportError with a code."""
    message: Inbound = _decode_with(_decoder, data)
    return message


def decode_outbound(data: str | bytes) -> Outbound:
    """Decode one frame from the server, as a client does; malformed input raises RapportError.

    Fields this version does not know are ignored (outbound structs do not forbid them), so a
    client keeps working against a newer server; a message type it does not know is an error.
    """
    message: Outbound = _decode_with(_outbound_decoder, data)
    return message


def _decode_with(decoder: msgspec.json.Decoder[Any], data: str | bytes) -> Any:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        text = str(exc)
        # msgspec says "<what went wrong>[ - at `<path>`]". <what> can quote the input (an enum
        # value, an unknown field's name), so only its opening words, which are msgspec's own,
        # are matched; <path> comes last and is made of our field names.
        if text.startswith("Object contains unknown field"):
            raise RapportError(Code.UNKNOWN_FIELD, text) from None
        if text == "Object missing required field `type`" or text.endswith(" - at `$.type`"):
            raise RapportError(
                Code.UNKNOWN_TYPE, f"Unknown or missing message type ({text})."
            ) from None
        raise RapportError(Code.INVALID_MESSAGE, text) from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        raise RapportError(Code.INVALID_JSON) from None


def message_type(message: msgspec.Struct | type[msgspec.Struct]) -> str:
    """The ``type`` a message (or its struct) is sent with: ``"offer"`` for ``OfferOut``."""
    cls = message if isinstance(message, type) else type(message)
    return str(cls.__struct_config__.tag)


def encode(message: Outbound) -> bytes:
    return _encoder.encode(message)


def encode_str(message: Outbound) -> str:
    return _encoder.encode(message).decode()
