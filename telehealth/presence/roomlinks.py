"""Personal room links in presence: ``MemoryRoomLinks`` for one node, ``RedisRoomLinks`` for
every node sharing a Redis (or a Cluster), chosen by ``create_room_links``.

In Redis a link is two keys in two Cluster slots: the room's record (``th:{r:ROOM}:link``, in
the room's slot) and the slug's pointer to the room (``th:room-link:SLUG``, unique across the
deployment). No one script can hold both on a Cluster, so they are written in a safe order:

1. claim the slug (SET NX with a short TTL, lua/slug_claim.lua): two rooms can never both
   claim it;
2. point the room's record at it, if the record still names the slug it had
   (compare-and-set, lua/room_link_set.lua); on failure give the claim back;
3. keep the claim for good (PERSIST, lua/slug_keep.lua);
4. free the room's old slug, if it still points at this room (lua/slug_release.lua).

A slug counts as published only when its pointer and the room's record agree (``resolve``).
A node that dies between the steps leaves at worst a pointer the record does not name: with
a TTL it lapses by itself; without one (after step 3) the next room to claim that slug
checks the record and takes the orphan over, in one script that refuses if a claim is in
flight again meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from signaling.errors import Code, RapportError
from telehealth import rediskeys as keys
from telehealth.config import Settings
from telehealth.redisconn import UNREACHABLE
from telehealth.rooms.ports import PresenceUnavailable, RoomLinkStore
from telehealth.rooms.roomlinks import RoomLink

CLAIM_TTL_MS = 30_000  # far longer than steps 1-3 take; short enough that a crash heals soon


def _taken() -> RapportError:
    return RapportError(Code.SLUG_TAKEN)


def _changed_meanwhile() -> RapportError:
    return RapportError(
        Code.INVALID_TRANSITION, "The room link was changed meanwhile; please try again."
    )


class MemoryRoomLinks:
    """One node's room links: every call runs to its end without yielding, so it is atomic."""

    def __init__(self) -> None:
        self._by_room: dict[str, RoomLink] = {}
        self._by_slug: dict[str, str] = {}

    async def room_link(self, room: str) -> RoomLink | None:
        return self._by_room.get(room)

    async def resolve(self, slug: str) -> RoomLink | None:
        room = self._by_slug.get(slug)
        return self._by_room.get(room) if room is not None else None

    async def publish(self, room: str, slug: str, by: str, at_ms: int) -> tuple[RoomLink, str]:
        current = self._by_room.get(room)
        if current is not None and current.slug == slug:
            return current, slug
        if self._by_slug.get(slug, room) != room:
            raise _taken()
        locked = current.locked if current is not None else False
        link = RoomLink(room=room, slug=slug, locked=locked, by=by, at=at_ms)
        self._by_slug[slug] = room
        self._by_room[room] = link
        if current is not None:
            del self._by_slug[current.slug]
        return link, current.slug if current is not None else ""

    async def remove(self, room: str) -> RoomLink | None:
        current = self._by_room.pop(room, None)
        if current is not None:
            del self._by_slug[current.slug]
        return current

    async def set_locked(self, room: str, locked: bool, by: str, at_ms: int) -> RoomLink | None:
        current = self._by_room.get(room)
        if current is None:
            return None
        link = self._by_room[room] = RoomLink(
            room=room, slug=current.slug, locked=locked, by=by, at=at_ms
        )
        return link

    async def close(self) -> None:
        return None


def _script(name: str) -> str:
    return resources.files("telehealth.presence").joinpath("lua", name).read_text()


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


class RedisRoomLinks:
    """The deployment's room links in Redis (see the module's docstring for the order)."""

    def __init__(self, client: Redis | RedisCluster, deadline: float) -> None:
        self._redis = client
        self._deadline = deadline
        self._claim = client.register_script(_script("slug_claim.lua"))
        self._keep = client.register_script(_script("slug_keep.lua"))
        self._release = client.register_script(_script("slug_release.lua"))
        self._set = client.register_script(_script("room_link_set.lua"))
        self._lock = client.register_script(_script("room_link_lock.lua"))

    async def _call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """One call under an overall deadline: a frozen Redis must not hold a request."""
        try:
            async with asyncio.timeout(self._deadline):
                return await fn()
        except UNREACHABLE as exc:  # asyncio's TimeoutError is an OSError, so it is here too
            raise PresenceUnavailable(type(exc).__name__) from exc

    async def _script_call(self, script: Any, key: str, *args: str | int) -> Any:
        return await self._call(lambda: script(keys=[key], args=list(args)))

    async def room_link(self, room: str) -> RoomLink | None:
        raw: dict[bytes, bytes] = await self._call(
            lambda: self._redis.hgetall(keys.room_link(room))
        )
        slug = _text(raw.get(b"slug"))
        if not slug:
            return None
        return RoomLink(
            room=room,
            slug=slug,
            locked=raw.get(b"locked") == b"1",
            by=_text(raw.get(b"by")),
            at=int(raw.get(b"at") or 0),
        )

    async def resolve(self, slug: str) -> RoomLink | None:
        owner = _text(await self._call(lambda: self._redis.get(keys.room_link_slug(slug))))
        if not owner:
            return None
        link = await self.room_link(owner)
        return link if link is not None and link.slug == slug else None

    async def publish(self, room: str, slug: str, by: str, at_ms: int) -> tuple[RoomLink, str]:
        current = await self.room_link(room)
        old = current.slug if current is not None else ""
        if old == slug:
            assert current is not None
            return current, slug
        await self._claim_slug(room, slug)
        changed = await self._script_call(
            self._set, keys.room_link(room), old, slug, by, str(at_ms)
        )
        if not changed:
            await self._script_call(self._release, keys.room_link_slug(slug), room)
            raise _changed_meanwhile()
        if not await self._script_call(self._keep, keys.room_link_slug(slug), room):
            # The claim lapsed before it was kept (a stall longer than CLAIM_TTL_MS): put the
            # record back, so it never names a slug another room may hold now.
            await self._script_call(self._set, keys.room_link(room), slug, old, by, str(at_ms))
            raise _taken()
        if old:
            await self._script_call(self._release, keys.room_link_slug(old), room)
        link = await self.room_link(room)
        assert link is not None
        return link, old

    async def _claim_slug(self, room: str, slug: str) -> None:
        """Step 1: the slug's pointer at ``room``, with a TTL; SLUG_TAKEN when another room
        holds it or is claiming it. An orphan (a pointer whose room does not name it, with no
        claim in flight) is taken over."""
        orphan_of = ""
        for _ in range(2):
            reply = await self._script_call(
                self._claim, keys.room_link_slug(slug), room, CLAIM_TTL_MS, orphan_of
            )
            if int(reply[0]) == 1:
                return
            owner, pttl = _text(reply[1]), int(reply[2])
            if pttl != -1:
                raise _taken()  # another room's claim is in flight
            held = await self.room_link(owner)
            if held is not None and held.slug == slug:
                raise _taken()
            orphan_of = owner
        raise _taken()

    async def remove(self, room: str) -> RoomLink | None:
        current = await self.room_link(room)
        if current is None:
            return None
        if not await self._script_call(self._set, keys.room_link(room), current.slug, "", "", "0"):
            raise _changed_meanwhile()
        await self._script_call(self._release, keys.room_link_slug(current.slug), room)
        return current

    async def set_locked(self, room: str, locked: bool, by: str, at_ms: int) -> RoomLink | None:
        done = await self._script_call(
            self._lock, keys.room_link(room), "1" if locked else "0", by, str(at_ms)
        )
        return await self.room_link(room) if done else None

    async def close(self) -> None:
        await self._redis.aclose()


def create_room_links(settings: Settings) -> RoomLinkStore:
    """In memory on a single node; in Redis when nodes share one."""
    if not settings.redis_url:
        return MemoryRoomLinks()
    from telehealth.redisconn import make_client

    return RedisRoomLinks(make_client(settings), deadline=settings.presence_deadline)
