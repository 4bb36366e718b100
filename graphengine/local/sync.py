"""The synchronous scheduler: every task runs in the calling thread, in priority order.

For debugging (pdb works inside tasks, tracebacks are plain) and for tiny graphs.

    >>> from graphengine.graph.spec import Task
    >>> get_sync({"x": Task("x", sum, [1, 2])}, "x")
    3
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphengine.graph.spec import Key, Task
from graphengine.local.batch import run_batch

__all__ = ["SyncPool", "get_sync"]


class SyncPool:
    """Runs tasks in the calling thread.

    The loop sees ``inline = True`` and calls each task itself, one at a time in priority
    order; ``submit``/``wait`` serve callers that drive the pool by hand.
    """

    nworkers = 1
    inline = True

    def __init__(self) -> None:
        self._pending: list = []

    def submit(self, batch: list, data: Mapping, computation: Any) -> None:
        self._pending.append((batch, data))

    def wait(self, computation: Any) -> list:
        pending, self._pending = self._pending, []
        return [run_batch(batch, data, computation) for batch, data in pending]


def get_sync(graph: Mapping[Key, Any], keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` (a key, or nested lists of keys) of ``graph`` in this thread."""
    from graphengine.local.get import get
    return get(graph, keys, scheduler="sync", **kwargs)
