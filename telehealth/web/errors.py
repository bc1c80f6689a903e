"""Errors over HTTP: every failure is a status code and ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from signaling.errors import Code, RapportError
from telehealth.rooms.ports import PresenceUnavailable
from telehealth.web import keys

log = logging.getLogger("telehealth.http")

RETRY_AFTER_S = 2

_STATUS_CODES: dict[int, Code] = {
    400: Code.INVALID_MESSAGE,
    401: Code.TOKEN_INVALID,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    405: Code.INVALID_MESSAGE,
    413: Code.FRAME_TOO_LARGE,
}


def error_response(err: RapportError) -> web.Response:
    headers = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    return web.json_response(err.to_json(), status=err.spec.http_status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RapportError as err:
        return _counted(request, err)
    except PresenceUnavailable:
        return _counted(request, RapportError(Code.UNAVAILABLE, retry_after=RETRY_AFTER_S))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _STATUS_CODES.get(exc.status, Code.INVALID_MESSAGE)
        message = exc.reason if exc.status != 404 else "Not found."
        body = {"error": {"code": code.value, "message": message}}
        return web.json_response(body, status=exc.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.rel_url.path)
        return _counted(request, RapportError(Code.INTERNAL))


def _counted(request: web.Request, err: RapportError) -> web.Response:
    request.app[keys.METRICS].errors.labels(err.code.value).inc()
    return error_response(err)
