"""Short links and the room's list of links, on both presence stores (in memory, redis-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from telehealth import links
from telehealth.auth.principal import ClientPrincipal
from telehealth.presence.redis_store import RedisPresence
from telehealth.rooms.ports import IssuedLink, PresenceStore

ROOM = "room-a"


def now_ms() -> int:
    return int(time.time() * 1000)


def issued(jti: str, created_at: int, code: str = "") -> IssuedLink:
    return IssuedLink(
        jti=jti,
        code=code,
        not_before=created_at,
        expires_at=created_at + 3_600_000,
        created_at=created_at,
    )


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait for ``condition()`` to be true."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_code_maps_to_its_token_until_dropped(presence: PresenceStore) -> None:
    code = links.new_code()
    assert await presence.short_link(code) is None
    assert await presence.put_short_link(code, "token-1", now_ms() + 60_000)
    assert not await presence.put_short_link(code, "token-2", now_ms() + 60_000)  # taken
    assert await presence.short_link(code) == "token-1"
    await presence.drop_short_link(code)
    assert await presence.short_link(code) is None


async def test_a_code_expires_with_its_link(presence: PresenceStore) -> None:
    code = links.new_code()
    assert await presence.put_short_link(code, "token", now_ms() + 300)
    assert await presence.short_link(code) == "token"
    if isinstance(presence, RedisPresence):
        ttl = await presence._redis.pttl(f"th:short:{code}")
        assert 0 < ttl <= 300

    async def gone() -> bool:
        return await presence.short_link(code) is None

    await until(gone)


async def test_the_rooms_list_of_links(presence: PresenceStore) -> None:
    start = now_ms()
    await presence.add_room_link(ROOM, issued("j-2", start + 1), start + 60_000)
    await presence.add_room_link(ROOM, issued("j-1", start), start + 60_000)
    await presence.add_room_link("room-b", issued("j-3", start), start + 60_000)
    assert [k.jti for k in await presence.room_links(ROOM)] == ["j-1", "j-2"]  # oldest first

    withdrawn = await presence.withdraw_room_link(ROOM, "j-2", start + 5)
    assert withdrawn is not None and withdrawn.withdrawn_at == start + 5
    again = await presence.withdraw_room_link(ROOM, "j-2", start + 9)  # the first time stays
    assert again is not None and again.withdrawn_at == start + 5
    assert await presence.withdraw_room_link(ROOM, "j-3", start) is None  # another room's
    listed = {k.jti: k.withdrawn_at for k in await presence.room_links(ROOM)}
    assert listed == {"j-1": 0, "j-2": start + 5}


async def test_a_listed_link_is_forgotten_at_its_time(presence: PresenceStore) -> None:
    start = now_ms()
    await presence.add_room_link(ROOM, issued("short", start), start + 300)
    await presence.add_room_link(ROOM, issued("long", start), start + 60_000)
    if isinstance(presence, RedisPresence):
        ttl = await presence._redis.pttl("th:{r:room-a}:links")
        assert 50_000 < ttl <= 60_000  # the whole list lasts as long as its longest entry

    async def pruned() -> bool:
        return [k.jti for k in await presence.room_links(ROOM)] == ["long"]

    await until(pruned)
    assert await presence.withdraw_room_link(ROOM, "short", now_ms()) is None


@pytest.mark.parametrize(
    "text",
    ["", "0123456789ab", "0123456789abcd", "0123456789abI", "0123456789abu", "../../etc/pass"],
)
def test_only_well_formed_codes_are_codes(text: str) -> None:
    assert not links.is_code(text)


def test_codes_are_13_symbols_of_the_alphabet_and_short_urls_short() -> None:
    from telehealth.config import Settings

    codes = {links.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert links.is_code(code) and len(code) == 13 and set(code) <= set(links.ALPHABET)
    assert len(links.ALPHABET) == 32 and len(set(links.ALPHABET)) == 32  # 65 bits a code
    url = links.short_url(Settings(public_url="https://rapport.example"), codes.pop())
    assert len(url.removeprefix("https://rapport.example")) <= 16


async def test_register_lists_the_link_and_maps_its_code(presence: PresenceStore) -> None:
    exp = time.time() + 600
    client = ClientPrincipal(
        subject="jti-r", room=ROOM, jti="jti-r", not_before=time.time(), expires_at=exp
    )
    link = await links.register(presence, "the-token", client)
    assert await presence.short_link(link.code) == "the-token"
    assert [k.code for k in await presence.room_links(ROOM)] == [link.code]
    # A kept code comes back to its own token, never to another's.
    assert await links.reregister(presence, link.code, "the-token", client)
    assert not await links.reregister(presence, link.code, "another-token", client)
