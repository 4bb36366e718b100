"""Callbacks that observe a local computation: start, each task, finish.

Used as a context manager a :class:`Callback` observes every local computation started
in the block; passed as ``compute(callbacks=[...])`` it observes that one only.

    >>> seen = []
    >>> with Callback(posttask=lambda key, result, graph, state: seen.append(key)):
    ...     pass
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Callback", "active_callbacks"]

_active: list["Callback"] = []
_lock = threading.Lock()


def active_callbacks() -> list["Callback"]:
    """Callbacks registered with ``with Callback(...)`` or :meth:`Callback.register`."""
    return list(_active)


class Callback:
    """Hooks into the local scheduler loop.

    Parameters
    ----------
    start : callable(graph), optional
        Before anything runs.
    start_state : callable(graph, state), optional
        With the initial state: ``state`` is a dict with ``ready``, ``waiting``,
        ``finished`` (count) and ``total`` (count).
    pretask : callable(key, graph, state), optional
        When a task is handed to a worker.
    posttask : callable(key, result, graph, state), optional
        When a task's result has arrived.
    finish : callable(graph, state, errored), optional
        At the end, also after an error or interrupt.

    Subclasses may instead override the methods ``_start``, ``_start_state``,
    ``_pretask``, ``_posttask`` and ``_finish``.
    """

    def __init__(self, start: Callable | None = None, start_state: Callable | None = None,
                 pretask: Callable | None = None, posttask: Callable | None = None,
                 finish: Callable | None = None):
        if start:
            self._start = start
        if start_state:
            self._start_state = start_state
        if pretask:
            self._pretask = pretask
        if posttask:
            self._posttask = posttask
        if finish:
            self._finish = finish

    def _start(self, graph: Any) -> None:
        pass

    def _start_state(self, graph: Any, state: Any) -> None:
        pass

    def _pretask(self, key: Any, graph: Any, state: Any) -> None:
        pass

    def _posttask(self, key: Any, result: Any, graph: Any, state: Any) -> None:
        pass

    def _finish(self, graph: Any, state: Any, errored: bool) -> None:
        pass

    def register(self) -> None:
        """Observe every local computation until :meth:`unregister`."""
        with _lock:
            _active.append(self)

    def unregister(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def __enter__(self) -> "Callback":
        self.register()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unregister()
