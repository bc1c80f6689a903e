"""A room's profile in both stores: unset reads as empty, a set one reads back exactly (line
breaks and all), rooms are kept apart, and setting it empty deletes it (in Redis, the key)."""

from __future__ import annotations

from telehealth.rooms.ports import PresenceStore
from telehealth.rooms.profile import RoomProfile

NOTE = "Welcome.\n\nPlease find a quiet room — Dr. Ünal"


async def test_room_profiles_round_trip_and_clear(presence: PresenceStore) -> None:
    assert await presence.room_profile("r1") == RoomProfile()
    profile = RoomProfile(display_name="Dr. Ünal", welcome_note=NOTE)
    await presence.set_room_profile("r1", profile)
    assert await presence.room_profile("r1") == profile
    assert await presence.room_profile("r2") == RoomProfile()
    changed = RoomProfile(display_name="", welcome_note=NOTE)
    await presence.set_room_profile("r1", changed)
    assert await presence.room_profile("r1") == changed
    await presence.set_room_profile("r1", RoomProfile())
    assert await presence.room_profile("r1") == RoomProfile()


async def test_an_empty_profile_leaves_no_key_in_redis(presence: PresenceStore) -> None:
    from telehealth import rediskeys

    redis = getattr(presence, "_redis", None)
    await presence.set_room_profile("r1", RoomProfile(display_name="Dr. Ünal"))
    if redis is not None:
        assert await redis.exists(rediskeys.room_profile("r1")) == 1
    await presence.set_room_profile("r1", RoomProfile())
    if redis is not None:
        assert await redis.exists(rediskeys.room_profile("r1")) == 0
    assert (await presence.room_profile("r1")).empty
