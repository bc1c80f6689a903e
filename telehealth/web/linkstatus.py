"""What a session link's page may know before anyone types: the link's state, and nothing else.

``POST /api/session-links/status`` takes the token in its JSON body (never in a URL, which
proxies log) and needs no other credential: the token is one. It answers with the state alone,
so a withdrawn or made-up link learns no room, name or time. Each lookup counts as a connection
attempt of the caller's address (web/limiting.py); the handler is in web/api.py.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.auth.principal import ClientPrincipal, Kind
from telehealth.ids import client_participant_id
from telehealth.rooms.states import Reason, State
from telehealth.web import keys
from telehealth.web.authority import verify_client

# open: the link opens the waiting room (or the session it is in). The others say why not:
# the session or the room it was for ended, it was withdrawn, the therapist denied or removed
# its client, it ran out, it opens later, or it is not a session link of this service.
LinkState = Literal[
    "open",
    "ended",
    "room_ended",
    "withdrawn",
    "denied",
    "removed",
    "expired",
    "not_yet_valid",
    "invalid",
]

_BY_CODE: dict[Code, LinkState] = {
    Code.TOKEN_REVOKED: "withdrawn",
    Code.TOKEN_EXPIRED: "expired",
    Code.TOKEN_NOT_YET_VALID: "not_yet_valid",
}

# A link whose client's part ended in one of these states is refused on join (rooms/service.py).
_BY_STATE: dict[State, LinkState] = {
    State.ENDED: "ended",
    State.CLOSED: "room_ended",
    State.DENIED: "denied",
    State.REMOVED: "removed",
}


async def link_state(app: web.Application, token: str) -> LinkState:
    """The state of the session link ``token``, as its page should show it."""
    verifier = app[keys.VERIFIER]
    try:
        claims = await verifier.verify(token, Kind.CLIENT, check_time=False, check_revoked=False)
    except RapportError:
        return "invalid"
    assert isinstance(claims, ClientPrincipal)
    room = claims.room
    try:  # withdrawn first: a link withdrawn before it opens says so, not "opens later"
        await verifier.ensure_not_revoked(claims.jti, claims.subject, claims.issued_at)
    except RapportError as err:
        return _BY_CODE.get(err.code, "invalid")
    try:
        principal = await verify_client(app, token, room)
    except RapportError as err:
        return _BY_CODE.get(err.code, "invalid")
    me = (await app[keys.PRESENCE].load(room)).get(client_participant_id(room, principal.jti))
    if me is None:
        return "open"
    if me.state is State.REMOVED and me.reason is Reason.LINK_WITHDRAWN:
        return "withdrawn"
    return _BY_STATE.get(me.state, "open")
