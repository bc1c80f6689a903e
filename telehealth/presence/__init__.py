"""Room presence: who is in which room, in which state, on which node (in-memory and Redis)."""
