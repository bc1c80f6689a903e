"""The event loop the service runs on: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv) does the loop's work in C: in the relay benchmark it took roughly an eighth off
the CPU per message. ``TELEHEALTH_EVENT_LOOP=asyncio`` falls back to the standard loop, for
debugging or a platform without uvloop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

__all__ = ["LoopName", "loop_name", "new_event_loop", "run"]

T = TypeVar("T")
LoopName = Literal["uvloop", "asyncio"]


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:  # not installed (e.g. Windows): the standard loop does the same job
        return None
    return uvloop


def loop_name(wanted: str = "uvloop") -> LoopName:
    """The loop that ``wanted`` resolves to here ("uvloop" falls back when it is missing)."""
    if wanted == "uvloop" and _uvloop() is not None:
        return "uvloop"
    return "asyncio"


def new_event_loop(wanted: str = "uvloop") -> asyncio.AbstractEventLoop:
    uvloop = _uvloop() if loop_name(wanted) == "uvloop" else None
    loop: asyncio.AbstractEventLoop = (
        uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
    )
    return loop


def run(main: Coroutine[Any, Any, T], wanted: str = "uvloop") -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=lambda: new_event_loop(wanted)) as runner:
        return runner.run(main)
