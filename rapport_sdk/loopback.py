"""Loopback-only ICE: make aioice gather only a 127.0.0.1 host candidate.

aioice never offers loopback addresses, so on a machine (or network namespace) with only
loopback, aiortc would gather no candidate and hang in ``new``. :func:`loopback_only` replaces
``aioice.ice.get_host_addresses`` for as long as it is active. It patches this whole process,
which is why the tests, the probe and the benchmarks use it, and a server never should.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["LOOPBACK_ADDRESS", "forbid_in_this_process", "loopback_only"]

LOOPBACK_ADDRESS = "127.0.0.1"


class _PatchState:
    """The patch is of a module attribute, so its state is the process's: one instance below."""

    def __init__(self) -> None:
        self.depth = 0  # active loopback_only() uses
        self.saved: Any = None  # aioice's own get_host_addresses while patched
        self.forbidden = False  # set once by a server process; never cleared


_state = _PatchState()


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stand-in for ``aioice.ice.get_host_addresses``: only 127.0.0.1 (no IPv6 loopback)."""
    return [LOOPBACK_ADDRESS] if use_ipv4 else []


def forbid_in_this_process() -> None:
    """Refuse :func:`loopback_only` in this process from now on; ``telehealth serve`` calls it.

    The patch is process-wide: inside a server it would silently change what every aiortc
    connection of that process gathers. Raises ``RuntimeError`` if the patch is active now.
    """
    if _state.depth:
        raise RuntimeError(
            "the loopback-only ICE patch is active in this process, so a server cannot start here"
        )
    _state.forbidden = True


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """While active, aioice gathers only a 127.0.0.1 host candidate.

    ``aioice.ice.Connection.gather_candidates`` looks ``get_host_addresses`` up as a module
    global of ``aioice.ice`` at call time, so the module attribute is what is replaced.
    Nested and overlapping uses (several peers or probes in one process) are counted: the
    original function is put back when the last one exits. Only this process is affected.
    Combine with ``iceServers=[]`` (see :func:`rapport_sdk.ice.rtc_configuration`) so that no
    STUN or TURN traffic leaves the machine either.

    Raises ``RuntimeError`` in a process that runs a server (:func:`forbid_in_this_process`).
    """
    if _state.forbidden:
        raise RuntimeError(
            "loopback-only ICE is forbidden in this process: it runs a server (telehealth serve),"
            " and the patch would change what every aiortc connection of the process gathers"
        )
    import aioice.ice

    if _state.depth == 0:
        _state.saved = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = _loopback_host_addresses
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0:
            if aioice.ice.get_host_addresses is _loopback_host_addresses:
                aioice.ice.get_host_addresses = _state.saved
            _state.saved = None
