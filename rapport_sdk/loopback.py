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

__all__ = ["LOOPBACK_ADDRESS", "loopback_only"]

LOOPBACK_ADDRESS = "127.0.0.1"

_loopback_depth = 0
_saved_get_host_addresses: Any = None


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stand-in for ``aioice.ice.get_host_addresses``: only 127.0.0.1 (no IPv6 loopback)."""
    return [LOOPBACK_ADDRESS] if use_ipv4 else []


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """While active, aioice gathers only a 127.0.0.1 host candidate.

    ``aioice.ice.Connection.gather_candidates`` looks ``get_host_addresses`` up as a module
    global of ``aioice.ice`` at call time, so the module attribute is what is replaced.
    Nested and overlapping uses (several peers or probes in one process) are counted: the
    original function is put back when the last one exits. Only this process is affected.
    Combine with ``iceServers=[]`` (see :func:`rapport_sdk.ice.rtc_configuration`) so that no
    STUN or TURN traffic leaves the machine either.
    """
    global _loopback_depth, _saved_get_host_addresses
    import aioice.ice

    if _loopback_depth == 0:
        _saved_get_host_addresses = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = _loopback_host_addresses
    _loopback_depth += 1
    try:
        yield
    finally:
        _loopback_depth -= 1
        if _loopback_depth == 0:
            if aioice.ice.get_host_addresses is _loopback_host_addresses:
                aioice.ice.get_host_addresses = _saved_get_host_addresses
            _saved_get_host_addresses = None
