"""The waiting room and the session: pure domain, free of aiohttp and Redis."""
