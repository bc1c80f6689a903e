"""The audit trail: who did what to whose session, read from the rooms' durable streams.

Moves are written by the room commit itself (rooms/service.py, presence's commit script);
audited actions that are not moves (a refused join, a link issued or withdrawn, an admin's view,
an export) are appended here. Export maps entries to Elastic Common Schema; verify checks the
hash chain. Entries carry ids, states and codes only: never a name, a text, a token or an IP.
"""
