"""The bare relay: the least an aiohttp WebSocket signaling server can do.

Forward by id, no auth, no state beyond the id -> socket map, the standard ``json`` module, on
the same event loop as the service (uvloop where installed). It
is the yardstick the benchmarks divide by, measured by the same generator in the same run, so
that ratios hold on a noisy, shared machine. Its sockets are set up like the service's
(64 KiB frames, a 20 s heartbeat, no compression), so the comparison is about the work per
message, not about settings. (The heartbeat is aiohttp's timer per socket; the service checks
liveness with one sweep over all sockets instead, which is part of what is being compared.)

    python -m benchmarks.baseline_relay --port 8090

``GET /ws?id=ID`` opens a socket as ``ID`` and sends ``{"type": "welcome"}``; every text frame
``{"to": X, ...}`` goes to socket ``X`` as ``{..., "from": ID}``. ``GET /healthz`` answers 200.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import WSMsgType, web

from telehealth import eventloop

PEERS = web.AppKey("peers", dict)


async def relay(request: web.Request) -> web.WebSocketResponse:
    me = request.query.get("id", "")
    ws = web.WebSocketResponse(max_msg_size=64 * 1024, heartbeat=20.0, compress=False)
    await ws.prepare(request)
    peers = request.app[PEERS]
    peers[me] = ws
    await ws.send_str('{"type": "welcome"}')
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
                target = peers.get(data.pop("to", None))
            except (ValueError, TypeError, AttributeError, RecursionError):
                continue
            if target is not None:
                data["from"] = me
                try:  # noqa: SIM105 - the bare minimum, on the hot path
                    await target.send_str(json.dumps(data))
                except ConnectionError:
                    pass
    finally:
        if peers.get(me) is ws:
            del peers[me]
    return ws


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app() -> web.Application:
    app = web.Application()
    app[PEERS] = {}
    app.router.add_get("/ws", relay)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The service's own event loop (uvloop where installed), so the ratio is about our code.
    web.run_app(
        make_app(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=eventloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
