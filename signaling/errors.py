"""One table of errors: each code has an HTTP status, a WebSocket close code and a plain message.

Domain code raises ``RapportError(Code.X)``; the HTTP layer turns it into
``{"error": {"code", "message"}}`` and the WebSocket layer into an ``error`` message, or a close
with the named code for the fatal ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ErrorSpec:
    http_status: int
    close_code: int | None  # set when the error ends the socket
    message: str


class Code(StrEnum):
    # Input
    INVALID_JSON = "invalid_json"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_FIELD = "unknown_field"
    INVALID_MESSAGE = "invalid_message"
    FRAME_TOO_LARGE = "frame_too_large"
    INVALID_SDP = "invalid_sdp"
    SDP_TOO_LARGE = "sdp_too_large"
    INVALID_NAME = "invalid_name"
    INVALID_REQUEST = "invalid_request"
    HEADERS_TOO_LARGE = "headers_too_large"
    INVALID_EMERGENCY = "invalid_emergency"
    INVALID_PROFILE = "invalid_profile"
    # Authentication (these close the socket)
    AUTH_REQUIRED = "auth_required"
    AUTH_TIMEOUT = "auth_timeout"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_NOT_YET_VALID = "token_not_yet_valid"
    TOKEN_REVOKED = "token_revoked"
    WRONG_TOKEN_KIND = "wrong_token_kind"
    WRONG_ROOM = "wrong_room"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    SESSION_EXPIRED = "session_expired"
    REAUTH_REFUSED = "reauth_refused"
    CONSENT_REQUIRED = "consent_required"
    # Authorization and state
    FORBIDDEN = "forbidden"
    NOT_ADMITTED = "not_admitted"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    INVALID_TRANSITION = "invalid_transition"
    ROOM_FULL = "room_full"
    WAITING_ROOM_FULL = "waiting_room_full"
    NOT_FOUND = "not_found"
    # Lifecycle (close codes the pages act on)
    REPLACED = "replaced"
    DENIED = "denied"
    REMOVED = "removed"
    SESSION_ENDED = "session_ended"
    ROOM_ENDED = "room_ended"
    EXPIRED = "expired"
    LEFT = "left"
    TOO_SLOW = "too_slow"
    TOO_MANY_SOCKETS = "too_many_sockets"
    TIME_UP = "time_up"
    LINK_IN_USE = "link_in_use"
    GOING_AWAY = "going_away"
    # Service
    RATE_LIMITED = "rate_limited"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    TOO_MANY_CANDIDATES = "too_many_candidates"
    NOT_CONFIGURED = "not_configured"
    # The pre-call connection test (telehealth/media/)
    PRECALL_BUSY = "precall_busy"
    PRECALL_TIME_UP = "precall_time_up"
    PRECALL_NOT_RUNNING = "precall_not_running"
    REPLIES_OFF = "replies_off"
    TOO_MANY_REPLIES = "too_many_replies"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    # Personal room links (/r/<slug>)
    SLUG_INVALID = "slug_invalid"
    SLUG_TAKEN = "slug_taken"
    ROOM_LINK_NOT_FOUND = "room_link_not_found"
    ROOM_LINK_LOCKED = "room_link_locked"
    ROOM_LINK_FULL = "room_link_full"


ERRORS: dict[Code, ErrorSpec] = {
    Code.INVALID_JSON: ErrorSpec(400, None, "The message is not valid JSON."),
    Code.UNKNOWN_TYPE: ErrorSpec(400, None, "The message type is not known."),
    Code.UNKNOWN_FIELD: ErrorSpec(400, None, "The message has a field that is not known."),
    Code.INVALID_MESSAGE: ErrorSpec(400, None, "The message does not have the expected shape."),
    Code.FRAME_TOO_LARGE: ErrorSpec(413, 1009, "The message is too large."),
    Code.INVALID_SDP: ErrorSpec(400, None, "The session description is not valid."),
    Code.SDP_TOO_LARGE: ErrorSpec(413, None, "The session description is too large."),
    Code.INVALID_NAME: ErrorSpec(400, 4018, "Please give a display name of 1 to 64 characters."),
    Code.INVALID_REQUEST: ErrorSpec(400, None, "The request is not valid HTTP."),
    Code.HEADERS_TOO_LARGE: ErrorSpec(431, None, "The request's headers are too large."),
    Code.INVALID_EMERGENCY: ErrorSpec(
        400,
        4032,
        "Please give where you are in up to 200 characters, and a phone number of up to 32 "
        "digits, spaces and + ( ) - . only.",
    ),
    Code.INVALID_PROFILE: ErrorSpec(
        400,
        None,
        "Please give a display name of up to 64 characters and a welcome note of up to 500 "
        "characters, as plain text.",
    ),
    Code.AUTH_REQUIRED: ErrorSpec(401, 4001, "The first message must be an auth message."),
    Code.AUTH_TIMEOUT: ErrorSpec(401, 4002, "No auth message arrived in time."),
    Code.TOKEN_INVALID: ErrorSpec(401, 4003, "The link or token is not valid."),
    Code.TOKEN_EXPIRED: ErrorSpec(401, 4004, "The link or token has expired."),
    Code.TOKEN_NOT_YET_VALID: ErrorSpec(401, 4005, "The link is not valid yet."),
    Code.TOKEN_REVOKED: ErrorSpec(401, 4006, "The link or token has been withdrawn."),
    Code.WRONG_TOKEN_KIND: ErrorSpec(403, 4007, "This kind of token cannot be used here."),
    Code.WRONG_ROOM: ErrorSpec(403, 4008, "The token is not for this room."),
    Code.ORIGIN_NOT_ALLOWED: ErrorSpec(403, 4009, "This page's origin is not allowed."),
    Code.SESSION_EXPIRED: ErrorSpec(
        401, 4019, "Your sign-in has expired; please open your sign-in link again."
    ),
    Code.REAUTH_REFUSED: ErrorSpec(
        403, None, "The new token must be of the same kind, for the same person and room."
    ),
    Code.CONSENT_REQUIRED: ErrorSpec(
        403, 4031, "Please read and accept the current consent text before joining."
    ),
    Code.FORBIDDEN: ErrorSpec(403, None, "You are not allowed to do that."),
    Code.NOT_ADMITTED: ErrorSpec(409, None, "That participant is not in the session."),
    Code.UNKNOWN_PARTICIPANT: ErrorSpec(404, None, "No such participant in this room."),
    Code.INVALID_TRANSITION: ErrorSpec(409, None, "That cannot be done in the current state."),
    Code.ROOM_FULL: ErrorSpec(409, None, "The session is full."),
    Code.WAITING_ROOM_FULL: ErrorSpec(
        503, 4030, "The waiting room is full just now; please try again in a few minutes."
    ),
    Code.NOT_FOUND: ErrorSpec(404, None, "Not found."),
    Code.REPLACED: ErrorSpec(409, 4010, "This session was opened in another tab or device."),
    Code.DENIED: ErrorSpec(403, 4011, "The therapist could not admit you to this session."),
    Code.REMOVED: ErrorSpec(403, 4012, "You have been removed from the session."),
    Code.SESSION_ENDED: ErrorSpec(410, 4013, "The session has ended."),
    Code.ROOM_ENDED: ErrorSpec(410, 4014, "The room has been closed."),
    Code.EXPIRED: ErrorSpec(410, 4015, "You were away too long and your place has lapsed."),
    Code.LEFT: ErrorSpec(410, 4016, "You have left the session."),
    Code.TOO_SLOW: ErrorSpec(503, 4017, "The connection fell too far behind."),
    Code.TOO_MANY_SOCKETS: ErrorSpec(429, 4029, "Too many connections for this link at once."),
    Code.TIME_UP: ErrorSpec(410, 4020, "The time for this session is over."),
    Code.LINK_IN_USE: ErrorSpec(
        409, 4021, "This link is already in use on another device, and it can be used on one only."
    ),
    Code.GOING_AWAY: ErrorSpec(503, 1001, "The server is restarting; reconnect."),
    Code.RATE_LIMITED: ErrorSpec(429, None, "Too many requests; slow down."),
    Code.TOO_MANY_ATTEMPTS: ErrorSpec(
        429, None, "Too many connection attempts from your network; wait a moment."
    ),
    Code.TOO_MANY_CONNECTIONS: ErrorSpec(
        429, None, "Too many connections from your network are still signing in."
    ),
    Code.TOO_MANY_CANDIDATES: ErrorSpec(
        429, None, "Too many network candidates for one negotiation; start a new one."
    ),
    Code.NOT_CONFIGURED: ErrorSpec(501, None, "This deployment does not offer that."),
    Code.PRECALL_BUSY: ErrorSpec(
        503, None, "The connection test is busy just now; please try again in a few seconds."
    ),
    Code.PRECALL_TIME_UP: ErrorSpec(408, None, "The connection test ran out of time."),
    Code.PRECALL_NOT_RUNNING: ErrorSpec(409, None, "No connection test is running."),
    Code.REPLIES_OFF: ErrorSpec(
        403, None, "Replies from the waiting room are turned off for this service."
    ),
    Code.TOO_MANY_REPLIES: ErrorSpec(
        429, None, "Too many replies in a short time; please wait a moment."
    ),
    Code.UNAVAILABLE: ErrorSpec(
        503, 4503, "The service is temporarily unavailable; retry shortly."
    ),
    Code.INTERNAL: ErrorSpec(500, 1011, "Something went wrong on our side."),
    Code.SLUG_INVALID: ErrorSpec(
        400,
        None,
        "A room link's name is 3 to 40 characters of a-z, 0-9 and single hyphens inside, "
        "and not a reserved word.",
    ),
    Code.SLUG_TAKEN: ErrorSpec(409, None, "That room link name is taken; please choose another."),
    Code.ROOM_LINK_NOT_FOUND: ErrorSpec(404, None, "This room link does not exist."),
    Code.ROOM_LINK_LOCKED: ErrorSpec(
        403, 4050, "This room is not open right now; please try again later."
    ),
    Code.ROOM_LINK_FULL: ErrorSpec(
        503, 4051, "The waiting room is full just now; please try again in a few minutes."
    ),
}


class RapportError(Exception):
    """A failure with a code from the table; ``message`` overrides the table's plain text."""

    def __init__(self, code: Code, message: str | None = None, *, retry_after: int | None = None):
        self.code = code
        self.spec = ERRORS[code]
        self.message = message or self.spec.message
        self.retry_after = retry_after
        super().__init__(f"{code.value}: {self.message}")

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code.value, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return {"error": body}
