"""The ``telehealth`` command: serve, token, probe."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from aiohttp import web

from telehealth import config, eventloop, logs
from telehealth.config import ConfigError, Settings

log = logging.getLogger("telehealth.cli")

DEMO_ROOM = "demo"
DRAIN_TIMEOUT_S = 10.0


def _settings(args: argparse.Namespace) -> Settings:
    return config.from_env(
        port=getattr(args, "port", None),
        host=getattr(args, "host", None),
        dev=True if getattr(args, "dev", False) else None,
        redis_url=getattr(args, "redis_url", None),
        node_id=getattr(args, "node_id", None),
    )


def _print_links(settings: Settings) -> None:
    from telehealth.auth.tokens import TokenMinter, admin_url, session_link_url, therapist_url

    minter = TokenMinter(settings)
    ttl = 8 * 3600
    print("\nRapport is running (development mode: links below use a secret made at start).\n")
    print(
        "  Therapist console:",
        therapist_url(settings, minter.mint_therapist("dev-therapist", [DEMO_ROOM], ttl)),
    )
    print(
        "  Client session link:", session_link_url(settings, minter.mint_client(DEMO_ROOM, ttl=ttl))
    )
    print("  Admin monitor:", admin_url(settings, minter.mint_admin("dev-admin", ttl)))
    print("\nOpen the therapist console and the session link in two browser windows.\n", flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from rapport_sdk.loopback import forbid_in_this_process
    from telehealth.app import create_app

    # The SDK's loopback ICE patch is process-wide: never inside a server.
    forbid_in_this_process()
    settings = _settings(args)
    logs.setup(settings.log_level, settings.log_json)
    app = create_app(settings)
    if settings.dev:
        _print_links(settings)
    eventloop.run(_serve(app, settings), settings.event_loop)
    return 0


async def _serve(app: web.Application, settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then drain: stop taking sockets, tell everyone to reconnect
    elsewhere (1001 with a reconnect hint), finish cleanly. A second signal exits at once."""
    runner = web.AppRunner(
        app, access_log_format=logs.ACCESS_LOG_FORMAT, shutdown_timeout=DRAIN_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            log.warning("second signal: exiting without draining")
            os._exit(1)
        log.info("signal received: draining node %s", settings.node_id)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    log.info(
        "node %s serving on port %d (event loop: %s)",
        settings.node_id,
        settings.port,
        eventloop.loop_name(settings.event_loop),
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        log.info("node %s stopped", settings.node_id)


def cmd_token(args: argparse.Namespace) -> int:
    from telehealth.auth.tokens import (
        TokenMinter,
        admin_url,
        session_link_url,
        therapist_url,
    )

    settings = config.from_env()
    settings.validate()
    minter = TokenMinter(settings)
    rooms = [r for r in (args.room or []) if r]
    if args.kind == "client":
        if len(rooms) != 1:
            raise ConfigError("a session link needs exactly one --room")
        token = minter.mint_client(rooms[0], ttl=args.ttl, not_before=args.not_before)
        url = session_link_url(settings, token)
    elif args.kind == "therapist":
        if not rooms:
            raise ConfigError("a therapist token needs at least one --room")
        token = minter.mint_therapist(args.subject or "therapist", rooms, args.ttl)
        url = therapist_url(settings, token)
    else:
        token = minter.mint_admin(args.subject or "admin", args.ttl)
        url = admin_url(settings, token)
    if args.json:
        print(json.dumps({"token": token, "url": url}))
    else:
        print(token)
        print(url)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from rapport_sdk.probe import ProbeOptions, run_probe

    client_url = args.client_url or args.url
    therapist_url = args.therapist_url or args.url
    if not client_url or not therapist_url:
        raise ConfigError("give --url, or both --client-url and --therapist-url")
    settings = config.from_env()
    options = ProbeOptions(
        client_url=client_url,
        therapist_url=therapist_url,
        room=args.room,
        loopback=args.loopback or settings.loopback,
        timeout=args.timeout,
    )
    report = asyncio.run(run_probe(settings, options))
    print(json.dumps(report, indent=2))
    return 0 if report.get("ok") else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telehealth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--dev", action="store_true", help="development mode: generated secret")
    serve.add_argument("--redis-url", help="share presence with other nodes through Redis")
    serve.add_argument("--node-id")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="mint a token (secret or key from the environment)")
    token.add_argument("--kind", choices=["client", "therapist", "admin"], required=True)
    token.add_argument("--room", action="append", help="room id (repeat for a therapist)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--not-before", type=float, help="epoch seconds the link opens")
    token.add_argument("--subject", help="therapist or admin id")
    token.add_argument("--json", action="store_true")
    token.set_defaults(func=cmd_token)

    probe = sub.add_parser("probe", help="synthetic end-to-end check of a deployment")
    probe.add_argument("--url")
    probe.add_argument("--client-url")
    probe.add_argument("--therapist-url")
    probe.add_argument("--room", default="probe")
    probe.add_argument(
        "--loopback", action="store_true", help="ICE on 127.0.0.1 only, no ICE servers"
    )
    probe.add_argument("--timeout", type=float, default=20.0)
    probe.set_defaults(func=cmd_probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, ValueError) as exc:
        print(f"telehealth: {exc}", file=sys.stderr)
        return 2
