"""The audit trail end to end, on a node with a real redis-server: a visit (wait, admit, leave)
is exported by the API and by `telehealth audit export` as ECS JSON Lines with the therapist
as the admitting actor and no name or token; a refused join is recorded with its code; an
edited entry is caught by `telehealth audit verify`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestServer

from telehealth import rediskeys
from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings
from tests.conftest import RedisServer
from tests.e2e.conftest import SECRET, join, settings_for

ROOM = "room-audit"
NAME = "Zebulon Quixote"  # a name that must never reach the trail

pytestmark = pytest.mark.redis


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[tuple[TestServer, Settings]]:
    settings = settings_for(redis_url=redis_server.url)
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    yield server, settings
    await server.close()


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env |= {"TELEHEALTH_REDIS_URL": str(settings.redis_url), "TELEHEALTH_JWT_SECRET": SECRET}
    exe = Path(sys.executable).with_name("telehealth")
    return subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def visit(url: str, minter: TokenMinter) -> tuple[str, str, str]:
    """A client waits, is admitted, and leaves. The client's participant id, its link's
    token, and the therapist's token."""
    therapist_token = minter.mint_therapist("dr-audit", [ROOM])
    therapist, _ = await join(url, "therapist", therapist_token, ROOM)
    link = minter.mint_client(ROOM)
    client, welcome = await join(url, "client", link, ROOM, name=NAME)
    pid = welcome["participant_id"]
    await therapist.until("room", lambda m: [w["participant_id"] for w in m["waiting"]] == [pid])
    await therapist.send(type="admit", participant_ids=[pid])
    await client.expect("state", state="admitted")
    await client.send(type="leave")
    await client.closed()
    await therapist.until("room", lambda m: not m["session"])
    await therapist.close()
    return pid, link, therapist_token


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_a_visit_is_exported_with_its_actors_and_nothing_personal(
    node: tuple[TestServer, Settings], http: aiohttp.ClientSession
) -> None:
    server, settings = node
    minter = TokenMinter(settings)
    pid, link, therapist_token = await visit(str(server.make_url("/")), minter)

    done = await asyncio.to_thread(cli, settings, "audit", "export", "--room", ROOM)
    assert done.returncode == 0, done.stderr
    docs = lines(done.stdout)
    actions = [
        (d["event"]["action"], d.get("entity", {}).get("target", {}).get("id")) for d in docs
    ]
    assert ("participant.joined", pid) in actions
    assert ("participant.admitted", pid) in actions
    assert ("participant.left", pid) in actions
    admitted = next(d for d in docs if d["event"]["action"] == "participant.admitted")
    assert admitted["user"] == {"id": "dr-audit", "roles": ["therapist"]}
    assert admitted["event"]["outcome"] == "success"
    assert admitted["rapport"]["from_state"] == "waiting"
    assert admitted["rapport"]["wait_ms"] >= 0
    assert admitted["@timestamp"].endswith("Z")
    for secret in (NAME, link, therapist_token, "127.0.0.1"):
        assert secret not in done.stdout

    # The same through the API, for an admin only; the export itself is audited.
    admin = minter.mint_admin("admin-audit")
    url = server.make_url("/api/audit").with_query(room=ROOM)
    async with http.get(url, headers={"Authorization": f"Bearer {admin}"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/x-ndjson"
        api_docs = lines(await resp.text())
    # The same entries, and then the CLI's export of them, itself audited.
    assert [d["event"]["id"] for d in api_docs[: len(docs)]] == [d["event"]["id"] for d in docs]
    assert [d["event"]["action"] for d in api_docs[len(docs) :]] == ["rapport.audit_exported"]
    assert api_docs[-1]["user"]["id"].startswith("cli:")
    async with http.get(url, headers={"Authorization": f"Bearer {therapist_token}"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "wrong_token_kind"
    async with http.get(
        server.make_url("/api/audit"), headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        assert resp.status == 200
    exported = [
        d
        for d in lines((await asyncio.to_thread(cli, settings, "audit", "export")).stdout)
        if d["event"]["action"] == "rapport.audit_exported"
    ]
    assert {d["user"]["id"] for d in exported} >= {"admin-audit"}

    verified = await asyncio.to_thread(cli, settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{ROOM}: " in verified.stdout and "chain ok" in verified.stdout


async def test_the_api_pages_by_cursor_and_refuses_bad_queries(
    node: tuple[TestServer, Settings], http: aiohttp.ClientSession
) -> None:
    server, settings = node
    minter = TokenMinter(settings)
    await visit(str(server.make_url("/")), minter)
    headers = {"Authorization": f"Bearer {minter.mint_admin('admin-pages')}"}
    seen: list[str] = []
    cursor = ""
    while True:
        query = {"room": ROOM, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        async with http.get(server.make_url("/api/audit").with_query(query), headers=headers) as r:
            assert r.status == 200
            page = lines(await r.text())
            assert len(page) <= 2
            seen += [d["event"]["id"] for d in page]
            cursor = r.headers.get("Rapport-Next-Cursor", "")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 4  # two joins, the admission, the leave

    for query, code in [
        ({"since": "yesterday"}, "invalid_message"),
        ({"since": "0", "until": str(40 * 24 * 3600)}, "invalid_message"),
        ({"since": "100", "until": "50"}, "invalid_message"),
        ({"cursor": "not-a-cursor!"}, "invalid_message"),
        ({"room": "../etc"}, "invalid_message"),
        ({"limit": "0"}, "invalid_message"),
        ({"rooms": ROOM}, "unknown_field"),
    ]:
        async with http.get(server.make_url("/api/audit").with_query(query), headers=headers) as r:
            assert r.status == 400, query
            assert (await r.json())["error"]["code"] == code, query


async def test_a_refused_join_is_recorded_with_its_code(
    node: tuple[TestServer, Settings], http: aiohttp.ClientSession
) -> None:
    server, settings = node
    minter = TokenMinter(settings)
    ws = await http.ws_connect(server.make_url("/ws"))
    wrong_room = minter.mint_client("another-room")
    await ws.send_str(
        json.dumps({"type": "auth", "role": "client", "token": wrong_room, "room": ROOM})
    )
    async for _ in ws:
        pass
    assert ws.close_code == 4008
    done = await asyncio.to_thread(cli, settings, "audit", "export", "--room", ROOM)
    docs = lines(done.stdout)
    refused = [d for d in docs if d["event"]["action"] == "rapport.join_refused"]
    assert len(refused) == 1
    assert refused[0]["event"]["outcome"] == "failure"
    assert refused[0]["event"]["reason"] == "wrong_room"
    assert refused[0]["user"]["roles"] == ["client"]
    assert wrong_room not in done.stdout


async def test_verify_finds_an_edited_entry(
    node: tuple[TestServer, Settings], http: aiohttp.ClientSession
) -> None:
    server, settings = node
    await visit(str(server.make_url("/")), TokenMinter(settings))
    assert (
        await asyncio.to_thread(cli, settings, "audit", "verify", "--room", ROOM)
    ).returncode == 0

    # Someone with access to Redis rewrites the stream, changing who admitted the client.
    r = redis.Redis.from_url(str(settings.redis_url))
    key = rediskeys.room_events(ROOM)
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(key))
    r.delete(key)
    for sid, fields in entries:
        body = fields[b"e"]
        if b'"admit"' in body:
            body = body.replace(b"dr-audit", b"dr-other")
        r.xadd(key, {b"e": body, b"h": fields[b"h"]}, id=sid)
    r.close()
    done = await asyncio.to_thread(cli, settings, "audit", "verify", "--room", ROOM)
    assert done.returncode == 1
    assert "TAMPERED" in done.stdout and "edited" in done.stdout
