"""The webhook settings: off without a URL, and a node refuses to start with a secret that is
not a Standard Webhooks ``whsec_`` secret or with limits that cannot work."""

from __future__ import annotations

import base64

import pytest

from telehealth.config import ConfigError, from_env

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BASE = {"TELEHEALTH_JWT_SECRET": "s" * 40}


def settings(**env: str) -> None:
    from_env(BASE | env).validate()


def test_webhooks_are_off_without_a_url_and_refused_without_a_whsec_secret() -> None:
    settings()  # off
    settings(TELEHEALTH_WEBHOOK_SECRET="anything")  # a secret alone turns nothing on
    url = {"TELEHEALTH_WEBHOOK_URL": "https://hooks.example.org/rapport"}
    settings(**url, TELEHEALTH_WEBHOOK_SECRET=SECRET)
    bad: list[dict[str, str]] = [
        url,
        url | {"TELEHEALTH_WEBHOOK_SECRET": base64.b64encode(b"k" * 32).decode()},
        url | {"TELEHEALTH_WEBHOOK_SECRET": "whsec_not*base64"},
        url | {"TELEHEALTH_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"short").decode()},
        {"TELEHEALTH_WEBHOOK_URL": "ftp://x/", "TELEHEALTH_WEBHOOK_SECRET": SECRET},
        url | {"TELEHEALTH_WEBHOOK_SECRET": SECRET, "TELEHEALTH_WEBHOOK_RETRY_FOR": "0"},
        url | {"TELEHEALTH_WEBHOOK_SECRET": SECRET, "TELEHEALTH_WEBHOOK_TIMEOUT": "600"},
        url | {"TELEHEALTH_WEBHOOK_SECRET": SECRET, "TELEHEALTH_WEBHOOK_DEAD_LETTERS": "0"},
        url | {"TELEHEALTH_WEBHOOK_SECRET": SECRET, "TELEHEALTH_WEBHOOK_TAKEOVER": "x"},
    ]
    for env in bad:
        with pytest.raises(ConfigError, match="TELEHEALTH_WEBHOOK"):
            settings(**env)
