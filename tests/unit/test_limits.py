"""The in-memory limit counters and the limit settings (the Redis ones run in tests/e2e)."""

from __future__ import annotations

import pytest

from telehealth.config import ConfigError, from_env
from telehealth.presence.limits import MemoryLimits

SECRET = "unit-secret-" + "y" * 40


async def test_hits_in_a_window_then_a_wait() -> None:
    limits = MemoryLimits()
    assert [await limits.hit("k", 2, 60) for _ in range(2)] == [0.0, 0.0]
    wait = await limits.hit("k", 2, 60)
    assert 59 < wait <= 60
    assert await limits.hit("other", 2, 60) == 0.0


async def test_places_are_taken_and_given_back() -> None:
    limits = MemoryLimits()
    assert await limits.acquire("p", 2, 30) and await limits.acquire("p", 2, 30)
    assert not await limits.acquire("p", 2, 30)
    await limits.release("p")
    assert await limits.acquire("p", 2, 30)


async def test_places_not_given_back_fade() -> None:
    limits = MemoryLimits()
    assert await limits.acquire("p", 1, 0)
    assert await limits.acquire("p", 1, 30)  # the first one's lifetime is over


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TELEHEALTH_TRUSTED_PROXIES": "10.0.0.1,nonsense"}, "TRUSTED_PROXIES"),
        ({"TELEHEALTH_API_RATE": "0"}, "TELEHEALTH_API_RATE"),
        ({"TELEHEALTH_ADDRESS_KEY": "short"}, "ADDRESS_KEY"),
    ],
)
def test_bad_limit_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_env({"TELEHEALTH_JWT_SECRET": SECRET, **env}).validate()


def test_limit_settings_are_read() -> None:
    settings = from_env(
        {
            "TELEHEALTH_JWT_SECRET": SECRET,
            "TELEHEALTH_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "TELEHEALTH_SINGLE_DEVICE_LINKS": "1",
            "TELEHEALTH_ADDRESS_MAX_PENDING": "5",
        }
    )
    settings.validate()
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert settings.single_device_links and settings.address_max_pending == 5
