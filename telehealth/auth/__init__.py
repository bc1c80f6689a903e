"""Token verification, principals and permission checks."""

from telehealth.auth.keys import (
    JwksKeySource,
    KeySource,
    StaticKeySource,
    key_source_from_settings,
)
from telehealth.auth.principal import (
    AdminPrincipal,
    ClientPrincipal,
    Kind,
    Principal,
    TherapistPrincipal,
    ensure_admin,
    ensure_admin_or_therapist_of,
    ensure_room,
    ensure_therapist_of,
    is_room_id,
)
from telehealth.auth.tokens import (
    AUDIENCES,
    MAX_TOKEN_CHARS,
    TYPES,
    TokenMinter,
    TokenVerifier,
    admin_url,
    session_link_url,
    therapist_url,
)

__all__ = [
    "AUDIENCES",
    "MAX_TOKEN_CHARS",
    "TYPES",
    "AdminPrincipal",
    "ClientPrincipal",
    "JwksKeySource",
    "KeySource",
    "Kind",
    "Principal",
    "StaticKeySource",
    "TherapistPrincipal",
    "TokenMinter",
    "TokenVerifier",
    "admin_url",
    "ensure_admin",
    "ensure_admin_or_therapist_of",
    "ensure_room",
    "ensure_therapist_of",
    "is_room_id",
    "key_source_from_settings",
    "session_link_url",
    "therapist_url",
]
