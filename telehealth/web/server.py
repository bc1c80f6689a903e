"""The HTTP server around the app: aiohttp's, with its request-error path made private.

aiohttp answers a request it cannot parse (a malformed request line, a header over its limit)
before any middleware runs, and logs ``Error handling request from <IP>`` with a traceback that
quotes the raw request bytes: with a long ``Authorization`` header, a token prefix. Its answer
echoes the same bytes. Here such a request gets a JSON error like every other (431
``headers_too_large`` for a header over the limit, 400 ``invalid_request`` otherwise), and one
log line with the code and status only: no address, no bytes.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from signaling.errors import Code, RapportError

log = logging.getLogger("telehealth.http")


def refusal_for(status: int, exc: BaseException | None) -> RapportError:
    if isinstance(exc, LineTooLong):
        return RapportError(Code.HEADERS_TOO_LARGE)
    if isinstance(exc, BadHttpMessage) or 400 <= status < 500:
        return RapportError(Code.INVALID_REQUEST)
    return RapportError(Code.INTERNAL)


class _Protocol(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        err = refusal_for(status, exc)
        log.info("request refused before routing: %s (%d)", err.code.value, err.spec.http_status)
        if request.writer.output_size > 0:  # as aiohttp: a response was already on its way
            raise ConnectionError("response already started")
        response = web.json_response(err.to_json(), status=err.spec.http_status)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class RapportRunner(web.AppRunner):
    """``web.AppRunner`` whose connections use the handler above."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the same object; only how it builds handlers changes
        return server
