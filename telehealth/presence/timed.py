"""Presence with every call timed: for the Redis store, so the metrics show how Redis answers.

A thin proxy: each coroutine method of the wrapped store is timed and reported with its name
(a bounded set: the PresenceStore methods) and whether Redis was reachable.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from telehealth.rooms.ports import PresenceStore, PresenceUnavailable

Observer = Callable[[str, float, bool], None]


class TimedPresence:
    def __init__(self, inner: PresenceStore, observe: Observer) -> None:
        self._inner = inner
        self._observe = observe
        self._wrapped: dict[str, Callable[..., Awaitable[Any]]] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr  # healthy, and anything else that is not a call to the store
        wrapped = self._wrapped.get(name)
        if wrapped is None:
            wrapped = self._wrapped[name] = self._timed(name, attr)
        return wrapped

    def _timed(
        self, name: str, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        observe = self._observe

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            ok = True
            try:
                return await call(*args, **kwargs)
            except PresenceUnavailable:
                ok = False
                raise
            finally:
                observe(name, time.perf_counter() - start, ok)

        return timed


def timed(inner: PresenceStore, observe: Observer) -> PresenceStore:
    return cast(PresenceStore, TimedPresence(inner, observe))
