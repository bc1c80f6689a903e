"""The pre-call test over the signaling socket: offer, answer, result, verdict.

A waiting client sends a complete ``precall_offer``; the node's desk (telehealth/media/desk.py)
finds it a place, its test peer answers (``precall_answer``). After 5 to 10 s the client sends
``precall_result``; the node adds what its own peer measured, judges (media/verdict.py), keeps
the report with the participant and sends ``precall_verdict``. Nothing of it is logged.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from signaling import messages as m
from signaling.errors import Code, RapportError
from signaling.sdp import check_sdp
from telehealth.media.verdict import check_result, judge
from telehealth.web import keys
from telehealth.web.connection import Connection

log = logging.getLogger("telehealth.precall")


async def offer(app: web.Application, conn: Connection, message: m.PrecallOffer) -> None:
    check_sdp(message.sdp, "offer", app[keys.SETTINGS].sdp_max)
    await app[keys.SERVICE].ensure_may_test(conn.room, conn.participant_id)

    def time_up() -> None:
        conn.send(
            m.encode(
                m.Error(
                    code=Code.PRECALL_TIME_UP.value,
                    message=RapportError(Code.PRECALL_TIME_UP).message,
                    ref="precall_offer",
                )
            )
        )

    answer = await app[keys.PRECALL].start(conn.conn_id, message.sdp, time_up)
    conn.send(m.encode(m.PrecallAnswer(sdp=answer)))


async def result(app: web.Application, conn: Connection, message: m.PrecallResult) -> None:
    check_result(message)  # before the peer closes: a refused result leaves the test running
    node = await app[keys.PRECALL].finish(conn.conn_id)
    report = judge(message, node, time.time())
    await app[keys.SERVICE].record_precall(conn.room, conn.participant_id, conn.conn_id, report)
    conn.send(m.encode(m.PrecallVerdict(report=report)))


async def stop(app: web.Application, conn: Connection) -> None:
    await app[keys.PRECALL].stop(conn.conn_id)


async def socket_closed(app: web.Application, conn: Connection) -> None:
    if keys.PRECALL in app:
        await app[keys.PRECALL].forget(conn.conn_id)
