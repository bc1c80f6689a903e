"""docker-compose.yml and deploy/Caddyfile agree with the code: every setting exists, the nodes
share Redis and secrets, and coturn checks the TURN credentials the nodes sign."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from telehealth import config

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
CADDYFILE = REPO_ROOT / "deploy" / "Caddyfile"
NODES = ("node-a", "node-b")
# ${NAME}, ${NAME:-default}, ${NAME:?message}: compose interpolation from the host's environment.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        pytest.fail(
            "PyYAML is needed to read docker-compose.yml: add pyyaml to the test extra in "
            "pyproject.toml and run `make venv`"
        )
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, written as a mapping or as a list of NAME=value."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def _variables(value: str) -> set[str]:
    return {m.group(1) for m in INTERPOLATION.finditer(value)}


def _interpolate(value: str) -> str:
    """Stand-in values: defaults where given, else a secret strong enough for validate()."""

    def one(m: re.Match[str]) -> str:
        return m.group(3) if m.group(2) == "-" else "x" * 48

    return INTERPOLATION.sub(one, value)


def test_services(compose: dict[str, Any]) -> None:
    assert {"redis", "node-a", "node-b", "proxy", "coturn"} <= set(_services(compose))


def test_every_telehealth_variable_is_a_setting(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        for key, value in _environment(service).items():
            if key.startswith("TELEHEALTH_"):
                assert key in config.ENV_VARS, f"{name}: {key} is not in config.ENV_VARS"
            for var in _variables(value):
                if var.startswith("TELEHEALTH_"):
                    assert var in config.ENV_VARS, f"{name}: ${{{var}}} is not a setting"


@pytest.mark.parametrize("node", NODES)
def test_node_environment_is_a_valid_configuration(compose: dict[str, Any], node: str) -> None:
    env = {k: _interpolate(v) for k, v in _environment(_services(compose)[node]).items()}
    settings = config.from_env(env)
    settings.validate()
    assert settings.redis_url and settings.node_id == node
    assert settings.turn_urls and settings.turn_secret
    assert settings.base_url.startswith("https://")


@pytest.mark.parametrize("node", NODES)
def test_node_runs_telehealth_serve(compose: dict[str, Any], node: str) -> None:
    assert _command(_services(compose)[node])[:2] == ["telehealth", "serve"]


def test_nodes_share_redis_and_secrets_but_not_ids(compose: dict[str, Any]) -> None:
    envs = [_environment(_services(compose)[node]) for node in NODES]
    for key in ("TELEHEALTH_REDIS_URL", "TELEHEALTH_JWT_SECRET", "TELEHEALTH_TURN_SECRET"):
        assert envs[0][key] == envs[1][key], key
    assert envs[0]["TELEHEALTH_NODE_ID"] != envs[1]["TELEHEALTH_NODE_ID"]


def test_turn_secret_is_shared_with_coturn(compose: dict[str, Any]) -> None:
    services = _services(compose)
    node_vars = {
        frozenset(_variables(_environment(services[node])["TELEHEALTH_TURN_SECRET"]))
        for node in NODES
    }
    assert len(node_vars) == 1
    (secret_vars,) = node_vars
    assert len(secret_vars) == 1, "the TURN secret must come from one ${...} variable"
    coturn = _command(services["coturn"])
    assert "--use-auth-secret" in coturn
    static = [a for a in coturn if a.startswith("--static-auth-secret=")]
    assert len(static) == 1
    assert _variables(static[0]) == secret_vars


def test_redis_keeps_an_append_only_file(compose: dict[str, Any]) -> None:
    command = _command(_services(compose)["redis"])
    assert "--appendonly" in command
    assert command[command.index("--appendonly") + 1] == "yes"


def test_proxy_balances_both_nodes_on_readiness(compose: dict[str, Any]) -> None:
    volumes = [str(v) for v in _services(compose)["proxy"].get("volumes", [])]
    assert any(v.startswith("./deploy/Caddyfile:/etc/caddy/Caddyfile") for v in volumes)
    caddyfile = CADDYFILE.read_text()
    assert re.search(r"reverse_proxy\s+node-a:8080\s+node-b:8080", caddyfile)
    assert re.search(r"health_uri\s+/readyz", caddyfile)


def test_redis_needs_the_password_the_nodes_use(compose: dict[str, Any]) -> None:
    services = _services(compose)
    command = _command(services["redis"])
    password = command[command.index("--requirepass") + 1]
    url = _environment(services["node-a"])["TELEHEALTH_REDIS_URL"]
    assert _variables(password) and _variables(password) <= _variables(url)
    assert config.from_env({"TELEHEALTH_REDIS_URL": _interpolate(url)}).redis_url


def test_coturn_listens_for_turns_and_the_nodes_hand_it_out(compose: dict[str, Any]) -> None:
    services = _services(compose)
    coturn = _command(services["coturn"])
    assert "--tls-listening-port=5349" in coturn
    assert "--no-tls" not in coturn
    assert any(a.startswith("--cert=") for a in coturn) and any(
        a.startswith("--pkey=") for a in coturn
    )
    turn_urls = _interpolate(_environment(services["node-a"])["TELEHEALTH_TURN_URLS"])
    assert any(u.startswith("turns:") and ":5349" in u for u in turn_urls.split(","))
