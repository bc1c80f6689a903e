"""Every WebSocket message, as frozen typed structs, and the one codec that reads and writes them.

Inbound messages (browser -> server) reject unknown fields; outbound ones (server -> browser)
are encoded by the service and decoded by the client SDK with the same structs. The ``type``
field is the tag. docs/protocol.md documents each one.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

import msgspec

from signaling.errors import Code, RapportError

ParticipantId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Sdp = Annotated[str, msgspec.Meta(max_length=64 * 1024)]
# A client's emergency information: where they are, and a phone number (check_emergency).
EMERGENCY_LOCATION_MAX = 200
EMERGENCY_PHONE_MAX = 32
_PHONE = re.compile(r"\+?[0-9 ().-]+")
_PHONE_MIN_DIGITS = 3
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


class Emergency(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a client is for this session and a phone number they can be reached on, for their
    therapist only. Either may be empty. The codec leaves their lengths to
    ``check_emergency`` (the frame's size bounds them), so a long one gets its own named error
    instead of a refused auth."""

    location: str = ""
    phone: str = ""


def check_emergency(raw: Emergency | None) -> Emergency | None:
    """The emergency information as kept: runs of white space made one space, trimmed; the
    location printable and at most 200 characters; the phone at most 32 characters of digits
    (3 or more), spaces and + ( ) - . (a leading + only). None when both are empty. Anything
    else raises ``invalid_emergency``."""
    if raw is None:
        return None
    location = " ".join(raw.location.split())
    phone = " ".join(raw.phone.split())
    if len(location) > EMERGENCY_LOCATION_MAX or any(
        unicodedata.category(c).startswith("C") for c in location
    ):
        raise RapportError(Code.INVALID_EMERGENCY)
    if phone and (
        len(phone) > EMERGENCY_PHONE_MAX
        or not _PHONE.fullmatch(phone)
        or sum(c.isdigit() for c in phone) < _PHONE_MIN_DIGITS
    ):
        raise RapportError(Code.INVALID_EMERGENCY)
    if not location and not phone:
        return None
    return Emergency(location=location, phone=phone)


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
    # A client's check-in (docs/protocol.md): where they are and a phone number, and the
    # version of the consent text they accepted (GET /api/checkin).
    emergency: Emergency | None = None
    consent: Annotated[str, msgspec.Meta(max_length=64)] | None = None


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


# The pre-call connection test (docs/protocol.md, "The pre-call test"). Bounds refuse impossible
# figures at the codec (``invalid_message``), so nothing of them is kept.
Ms = Annotated[float, msgspec.Meta(ge=0, le=60_000)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Kbps = Annotated[float, msgspec.Meta(ge=0, le=100_000)]  # 100 Mb/s: more is not a measurement
CandidateType = Literal["host", "srflx", "prflx", "relay"]
IceTransport = Literal["udp", "tcp", "tls"]


class PrecallOffer(_In, frozen=True, tag="precall_offer"):
    """A waiting client's offer to the node's own test peer: complete (all candidates in it)."""

    sdp: Sdp


class PrecallResult(_In, frozen=True, tag="precall_result"):
    """What the client measured: the path its selected candidate pair took (its local
    candidate's type; for ``relay``, the transport to the TURN server), datachannel pings, and
    its receiving side of the echo (getStats). Never an address."""

    candidate: CandidateType
    transport: IceTransport
    duration_s: Annotated[float, msgspec.Meta(gt=0, le=60)]
    pings_sent: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    pings_answered: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    rtt_ms: Ms | None = None  # the median of the answered pings
    loss_down_pct: Percent = 0.0
    jitter_down_ms: Ms = 0.0
    bitrate_down_kbps: Kbps = 0.0
    bitrate_up_kbps: Kbps = 0.0


class PrecallStop(_In, frozen=True, tag="precall_stop"):
    """The client gives up its test (skipped, or the page moved on): the node's peer closes."""


# Bounds of a call-quality summary (with ``Ms`` and ``Percent`` above): anything outside them
# is impossible on a real connection (a round trip over a minute, more than 1 Gbit/s into a
# browser tab, a 16K picture), so the summary is refused whole with ``invalid_message`` and
# nothing is stored.
CallKbps = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
Frames = Annotated[int, msgspec.Meta(ge=0, le=100_000)]  # in one interval: 10 s at 10,000 fps
Pixels = Annotated[int, msgspec.Meta(ge=0, le=16_384)]
CallCandidate = Literal["host", "srflx", "prflx", "relay", "unknown"]


class Quality(_In, frozen=True, tag="quality"):
    """A page's call-quality summary for the last interval (``quality_interval`` in
    ``welcome``), over its media connections in the session: what it receives, and the
    round trip of the selected candidate pair. Figures only: never an address.

    ``rtt_ms``, ``jitter_ms`` and ``bitrate_kbps`` are null when not measured yet."""

    loss_pct: Percent
    rtt_ms: Ms | None = None
    jitter_ms: Ms | None = None
    bitrate_kbps: CallKbps | None = None
    frames_decoded: Frames = 0
    frames_dropped: Frames = 0
    width: Pixels = 0
    height: Pixels = 0
    candidate: CallCandidate = "unknown"


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
    | PrecallOffer
    | PrecallResult
    | PrecallStop
    | Quality
    | RunningLate
    | Reply
)
RelayIn = Offer | Answer | Candidate | Hangup

# --- server -> browser -------------------------------------------------------------------------


#: RTCConfiguration.iceTransportPolicy values the server hands out (welcome).
IceTransportPolicy = Literal["all", "relay"]


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
    # "relay": connect through the TURN servers only (relay-only privacy mode), else "all".
    ice_transport_policy: IceTransportPolicy = "all"
    quality_interval: float = 10.0  # seconds between the page's ``quality`` summaries
    replies: bool = False  # a client may answer the therapist's messages from the waiting room


# Why a client is back in the waiting room after being in the session: the therapist sent
# them back, or the therapist left, or the therapist's connection dropped and did not come back
# within the grace period. Each is told in its own words.
BackReason = Literal["sent_back", "therapist_left", "therapist_lost"]


class ClientState(_Out, frozen=True, tag="state"):
    """What a client may know: their own state, the therapist's status, maybe their position,
    and (``reason``) why they are waiting again when they were in the session before."""

    state: str
    therapist: str
    position: int | None = None
    reason: BackReason | None = None
    # While waiting: when the therapist, running late, expects to be here (epoch seconds).
    eta: float | None = None


class PrecallReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A pre-call test's outcome, kept with the participant for the session's life: the
    verdict, advice codes (the pages hold the words), and the figures of both directions
    (``up``: client to node; ``down``: node to client). Never an address."""

    verdict: Literal["good", "fair", "poor"]
    advice: list[str]
    candidate: CandidateType
    transport: IceTransport
    rtt_ms: float | None
    loss_up_pct: float
    loss_down_pct: float
    jitter_up_ms: float
    jitter_down_ms: float
    bitrate_up_kbps: float
    bitrate_down_kbps: float
    at: float  # epoch seconds


class WaitingEntry(msgspec.Struct, frozen=True):
    participant_id: str
    name: str
    since: float
    connected: bool
    device: DeviceCheck | None = None
    second_device: bool = False  # the link is also open (seated) on another device
    emergency: Emergency | None = None  # null: not given (or not asked, by the deployment)
    precall: PrecallReport | None = None  # the client's last pre-call test
    via: str | None = None  # "room_link": came through the therapist's room link


class SessionEntry(msgspec.Struct, frozen=True):
    participant_id: str
    role: str
    name: str
    since: float
    connected: bool
    emergency: Emergency | None = None
    # A client's appointment end: when their session link expires (epoch s); null for the
    # therapist. The therapist's session timer counts to it.
    ends_at: float | None = None


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


class PeerQuality(_Out, frozen=True, tag="peer_quality"):
    """To the room's therapist: how a client's connection is doing, from the client's own
    latest ``quality`` summary (``level`` is good, fair or poor; see docs/protocol.md)."""

    sender: str = msgspec.field(name="from")
    level: str = "good"
    at: float = 0.0


class QualityPoint(msgspec.Struct, frozen=True):
    """One summary on the monitor's quality timeline: when, the figures graded, the grade."""

    at: float
    level: str
    rtt_ms: float | None
    loss_pct: float
    jitter_ms: float | None
    bitrate_kbps: float | None


class MemberQuality(msgspec.Struct, frozen=True):
    """A participant's connection as the monitor shows it: the latest grade (``unknown`` when
    no summary came within three intervals), the latest figures and the recent timeline."""

    participant_id: str
    role: str
    level: str
    at: float | None
    candidate: str
    frames_decoded: int
    frames_dropped: int
    width: int
    height: int
    recent: list[QualityPoint]  # oldest first


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
    # Call quality of the people in session (from their pages' summaries), and whether
    # anyone's latest summary is poor now (docs/protocol.md, "Call quality").
    quality: list[MemberQuality] = []
    poor_quality: bool = False


class AdminRooms(_Out, frozen=True, tag="rooms"):
    rooms: list[RoomSummary]
    at: float
    wait_alert_s: float  # TELEHEALTH_WAIT_ALERT, for the monitor's words


class PrecallAnswer(_Out, frozen=True, tag="precall_answer"):
    """The node's test peer answers (complete: aiortc gathers every candidate first)."""

    sdp: str


class PrecallVerdict(_Out, frozen=True, tag="precall_verdict"):
    report: PrecallReport


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
    | PrecallAnswer
    | PrecallVerdict
    | PeerQuality
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
