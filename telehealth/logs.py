"""Structured logging. Log lines carry opaque ids only: never a name, a token, an SDP or an IP."""

from __future__ import annotations

import json
import logging
import re
import time

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

# Path segments that are credentials or may hold a name: a short link's code (it opens a
# session link, like a token), a room link's slug (it may be the therapist's name).
_PRIVATE_SEGMENT = re.compile(r"^(/s/|/r/|/api/room-links/)[^/]+")


def loggable_path(path: str) -> str:
    """A request's path as the access log may show it: a short link's code and a room link's
    slug replaced by ``-``. The query string is never logged."""
    return _PRIVATE_SEGMENT.sub(r"\1-", path)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log (whose default starts with the remote address) without the address,
    the query string, a short link's code or a room link's slug: the method, the path as
    ``loggable_path`` gives it, the status, the body's length and the seconds taken."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '"%s %s" %s %s %.6f',
            request.method,
            loggable_path(request.path),
            response.status,
            response.body_length,
            time,
        )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


class _NoAddresses(logging.Filter):
    """For aiohttp's own server logger, in case it logs anything past our handler: a line
    loses its arguments and traceback (an address, request bytes) and keeps its fixed words."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "aiohttp: " + str(record.msg).replace("%s", "-").replace("%r", "-")
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_aiohttp_server_log() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoAddresses) for f in logger.filters):
        logger.addFilter(_NoAddresses())


def setup(level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library loggers that would otherwise log addresses, candidates or SDPs.
    for noisy in ("aioice", "aiortc", "aiohttp.websocket"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_aiohttp_server_log()
