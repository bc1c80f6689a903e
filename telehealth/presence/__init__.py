"""Room presence: who is in which room, in which state, on which node."""

from telehealth.presence.base import PresenceStore, PresenceUnavailable

__all__ = ["PresenceStore", "PresenceUnavailable"]
