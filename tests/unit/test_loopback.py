"""The loopback-only ICE patch: counted, restored, and refused in a server process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import aioice.ice
import pytest

from rapport_sdk.loopback import forbid_in_this_process, loopback_only


def test_nested_uses_patch_once_and_restore_at_the_last_exit() -> None:
    before = aioice.ice.get_host_addresses
    with loopback_only():
        patched = aioice.ice.get_host_addresses
        assert patched(True, True) == ["127.0.0.1"]
        with loopback_only():
            assert aioice.ice.get_host_addresses is patched
        assert aioice.ice.get_host_addresses is patched
    assert aioice.ice.get_host_addresses is before


def test_a_server_cannot_be_started_while_the_patch_is_active() -> None:
    with loopback_only(), pytest.raises(RuntimeError, match="cannot start"):
        forbid_in_this_process()
    # It raised before arming the guard: this (test) process may still use the patch.
    with loopback_only():
        pass


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter: the guard, once armed, stays for the process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_once_forbidden_the_patch_raises_a_clear_error() -> None:
    done = _run(
        """
        from rapport_sdk.loopback import forbid_in_this_process, loopback_only
        forbid_in_this_process()
        try:
            with loopback_only():
                print("patched")
        except RuntimeError as exc:
            print("refused:", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: loopback-only ICE is forbidden in this process")


def test_telehealth_serve_forbids_the_patch_before_the_server_starts() -> None:
    # The event loop runner is replaced: it reports whether the patch would still be allowed
    # at the moment the server would start, and starts nothing.
    done = _run(
        """
        import sys
        from telehealth import cli, eventloop
        from rapport_sdk.loopback import loopback_only

        def run(coro, _loop):
            coro.close()
            try:
                with loopback_only():
                    print("allowed")
            except RuntimeError:
                print("refused")

        eventloop.run = run
        sys.exit(cli.main(["serve", "--dev", "--port", "8080"]))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "refused"
