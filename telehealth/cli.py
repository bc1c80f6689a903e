"""The ``telehealth`` command: serve, token, probe, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import time
from pathlib import Path

from aiohttp import web

from telehealth import config, eventloop, logs
from telehealth.audit.export import decode_cursor as decode
from telehealth.config import ConfigError, Settings
from telehealth.rooms.events import Actor, ActorRole
from telehealth.rooms.ports import PresenceStore
from telehealth.web.server import RapportRunner

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


def cmd_serve(args: argparse.Namespace) -> int:
    from rapport_sdk.loopback import forbid_in_this_process
    from telehealth.app import create_app

    # The SDK's loopback ICE patch is process-wide: never inside a server.
    forbid_in_this_process()
    settings = _settings(args)
    tls: ssl.SSLContext | None = None
    if args.lan or args.lan_host:
        settings, tls = _on_lan(args, settings)
    logs.setup(settings.log_level, settings.log_json)
    app = create_app(settings)
    if settings.dev:
        from telehealth.devlinks import dev_links_ctx

        path = Path(args.links_file) if args.links_file else None
        kept = bool(os.environ.get("TELEHEALTH_JWT_SECRET"))
        app.cleanup_ctx.append(dev_links_ctx(path, kept))  # prints the links once they work
    eventloop.run(_serve(app, settings, tls), settings.event_loop)
    return 0


def _on_lan(args: argparse.Namespace, settings: Settings) -> tuple[Settings, ssl.SSLContext]:
    """``--lan``: listen on the LAN address over HTTPS, with the kept self-signed certificate;
    links are built from ``https://ADDRESS:PORT``."""
    from pathlib import Path

    from telehealth import lan

    if not settings.dev:
        raise ConfigError("--lan is for development only: use it with --dev")
    try:
        address = args.lan_host or lan.find_lan_address()
        cert = lan.ensure_certificate(Path(args.cert_dir), address)
    except lan.LanError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError:
        raise ConfigError(f"--lan-host must be an IP address, got {args.lan_host!r}") from None
    host = f"[{address}]" if ":" in address else address
    settings = settings.with_(host=address, public_url=f"https://{host}:{settings.port}")
    print(
        f"\nServing HTTPS on {settings.base_url} with a self-signed certificate "
        f"({cert.cert_path}).\n  SHA-256 fingerprint: {lan.fingerprint(cert.cert_path)}\n"
        "  Browsers warn that the connection is not private: check the fingerprint, then "
        "choose to proceed (see the README, 'Try it on a phone').",
        flush=True,
    )
    return settings, cert.ssl_context()


async def _serve(
    app: web.Application, settings: Settings, tls: ssl.SSLContext | None = None
) -> None:
    """Run until SIGTERM/SIGINT, then drain: stop taking sockets, tell everyone to reconnect
    elsewhere (1001 with a reconnect hint), finish cleanly. A second signal exits at once."""
    runner = RapportRunner(
        app, access_log_class=logs.AccessLogger, shutdown_timeout=DRAIN_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=tls)
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
    if args.kind != "client" and not args.subject:
        # A subject is who a revocation names: a shared default would withdraw everyone's.
        raise ConfigError(f"a {args.kind} token needs --subject (the person's id)")
    if args.kind == "client":
        if len(rooms) != 1:
            raise ConfigError("a session link needs exactly one --room")
        token = minter.mint_client(
            rooms[0], ttl=args.ttl, not_before=args.not_before, lang=args.lang
        )
        url = session_link_url(settings, token)
    elif args.kind == "therapist":
        if not rooms:
            raise ConfigError("a therapist token needs at least one --room")
        token = minter.mint_therapist(args.subject, rooms, args.ttl, display_name=args.display_name)
        url = therapist_url(settings, token)
    else:
        token = minter.mint_admin(args.subject, args.ttl)
        url = admin_url(settings, token)
    short: str | None = None
    if args.kind == "client" and settings.redis_url:
        short = asyncio.run(_register_link(settings, rooms[0], token))
    elif args.kind == "client":
        print(
            "telehealth: no short link: short links live in presence, and without "
            "TELEHEALTH_REDIS_URL this command cannot reach a running node's (in-memory) "
            "store; make the link with POST /api/session-links or the console instead",
            file=sys.stderr,
        )
    if args.json:
        extra = {"short_url": short} if args.kind == "client" else {}
        print(json.dumps({"token": token, "url": url, **extra}))
    else:
        print(token)
        print(url)
        if short:
            print(short)
    return 0


def _cli_actor() -> Actor:
    """Who acts from the command line: the operating-system account running it."""
    import getpass

    return Actor(role=ActorRole.ADMIN, sub=f"cli:{getpass.getuser()}")


async def _register_link(settings: Settings, room: str, token: str) -> str | None:
    """Give the session link a short code and audit its issue, in Redis presence. The short
    URL, or None (with a warning) when Redis could not be reached."""
    from telehealth import links
    from telehealth.audit.trail import AuditTrail
    from telehealth.auth.keys import key_source_from_settings
    from telehealth.auth.principal import ClientPrincipal, Kind
    from telehealth.auth.tokens import TokenVerifier
    from telehealth.presence.factory import create_presence
    from telehealth.rooms.events import AuditAction
    from telehealth.rooms.ports import PresenceUnavailable

    client = await TokenVerifier(settings, key_source_from_settings(settings)).verify(
        token, Kind.CLIENT, check_time=False
    )
    assert isinstance(client, ClientPrincipal)
    presence = create_presence(settings)
    short: str | None = None
    try:
        try:
            short = links.short_url(settings, (await links.register(presence, token, client)).code)
        except PresenceUnavailable:
            print("telehealth: warning: no short link (Redis unreachable)", file=sys.stderr)
        trail = AuditTrail(presence, f"cli-{settings.node_id}")
        if not await trail.record(
            AuditAction.LINK_ISSUED, _cli_actor(), room=room, link=client.jti
        ):
            print(
                "telehealth: warning: the link was not audited (Redis unreachable)", file=sys.stderr
            )
    finally:
        await presence.close()
    return short


def _audit_presence(settings: Settings) -> PresenceStore:
    from telehealth.presence.factory import create_presence

    if not settings.redis_url:
        raise ConfigError(
            "the audit trail lives in Redis: set TELEHEALTH_REDIS_URL (with the embedded "
            "in-memory default, read it from the running node: GET /api/audit)"
        )
    return create_presence(settings)


def _epoch_ms(value: str | None, default_ms: int) -> int:
    from telehealth.audit.export import parse_time

    return default_ms if value is None else parse_time(value)


def cmd_audit(args: argparse.Namespace) -> int:
    return asyncio.run(_audit(args, config.from_env()))


async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from telehealth.audit.ecs import to_ecs
    from telehealth.audit.export import DEFAULT_SPAN_MS, read_page, verify
    from telehealth.audit.trail import AuditTrail
    from telehealth.rooms.events import AuditAction

    presence = _audit_presence(settings)
    try:
        if args.action == "verify":
            failed = False
            for report in await verify(presence, args.room):
                state = "ok" if not report.problems else "TAMPERED"
                print(f"{report.room}: {report.entries} entries, chain {state}")
                for problem in report.problems:
                    print(f"  {problem}")
                failed = failed or bool(report.problems)
            return 1 if failed else 0
        now = int(time.time() * 1000)
        until = _epoch_ms(args.until, now)
        since = _epoch_ms(args.since, until - DEFAULT_SPAN_MS)
        page = await read_page(presence, room=args.room, since_ms=since, until_ms=until)
        while True:
            for stored in page.entries:
                sys.stdout.write(json.dumps(to_ecs(stored), separators=(",", ":")) + "\n")
            if page.cursor is None:
                break
            page = await read_page(
                presence, room=None, since_ms=0, until_ms=0, cursor=decode(page.cursor)
            )
        sys.stdout.flush()
        await AuditTrail(presence, f"cli-{settings.node_id}").record(
            AuditAction.AUDIT_EXPORTED, _cli_actor(), room=args.room
        )
        return 0
    finally:
        await presence.close()


def cmd_probe(args: argparse.Namespace) -> int:
    from rapport_sdk.probe import ProbeOptions, run_probe

    client_url = args.client_url or args.url
    if args.precall:
        return _probe_precall(args, client_url)
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


def _probe_precall(args: argparse.Namespace, client_url: str | None) -> int:
    """The pre-call test as a waiting client runs it; a JSON report with the verdict."""
    from rapport_sdk.precall import probe_precall

    if not client_url:
        raise ConfigError("give --client-url (or --url) with --precall")
    settings = config.from_env()
    report = asyncio.run(
        probe_precall(
            settings,
            client_url,
            room=args.room,
            loopback=args.loopback or settings.loopback,
            duration=args.duration,
            timeout=args.timeout,
        )
    )
    print(json.dumps(report, indent=2))
    return 0 if report.get("ok") else 1


def build_parser() -> argparse.ArgumentParser:
    from telehealth.auth.tokens import LINK_LANGUAGES  # as cmd_token: imported when needed

    parser = argparse.ArgumentParser(prog="telehealth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--dev", action="store_true", help="development mode: generated secret")
    serve.add_argument(
        "--links-file",
        help="with --dev: keep the printed links in this file (0600), so they survive a restart",
    )
    serve.add_argument("--redis-url", help="share presence with other nodes through Redis")
    serve.add_argument("--node-id")
    serve.add_argument(
        "--lan",
        action="store_true",
        help="with --dev: HTTPS on this machine's LAN address (self-signed), to join from a phone",
    )
    serve.add_argument("--lan-host", help="the address to serve --lan on (default: found)")
    serve.add_argument(
        "--cert-dir",
        default=".",
        help="where --lan keeps its certificate and key (default: here, beside .dev-secret)",
    )
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="mint a token (secret or key from the environment)")
    token.add_argument("--kind", choices=["client", "therapist", "admin"], required=True)
    token.add_argument("--room", action="append", help="room id (repeat for a therapist)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--not-before", type=float, help="epoch seconds the link opens")
    token.add_argument(
        "--lang", choices=LINK_LANGUAGES, help="the language a session link's page opens in"
    )
    token.add_argument("--subject", help="the therapist's or admin's id (required for those kinds)")
    token.add_argument(
        "--display-name", help="the therapist's name as clients see it (display_name claim)"
    )
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
    probe.add_argument(
        "--precall", action="store_true", help="run the pre-call test as a waiting client"
    )
    probe.add_argument(
        "--duration", type=float, default=6.0, help="seconds of the pre-call test (--precall)"
    )
    probe.set_defaults(func=cmd_probe)

    audit = sub.add_parser("audit", help="export or verify the audit trail (needs Redis)")
    audit.add_argument("action", choices=["export", "verify"])
    audit.add_argument("--room", help="one room (default: every room)")
    audit.add_argument("--since", help="ISO 8601 time or epoch seconds (default: a day back)")
    audit.add_argument("--until", help="ISO 8601 time or epoch seconds (default: now)")
    audit.set_defaults(func=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, ValueError) as exc:
        print(f"telehealth: {exc}", file=sys.stderr)
        return 2
