"""Running one batch of tasks: the inner loop every local pool shares.

    >>> from graphengine.graph.spec import Task, Ref
    >>> run_batch([("b", Task("b", abs, Ref("a")))], {"a": -2}, None)
    ([('b', 2)], None)
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphengine.graph.spec import Task

__all__ = ["run_batch"]


def run_batch(batch: list, data: Mapping, computation: Any) -> tuple[list, Any]:
    """Run ``[(key, task)]`` in order, reading inputs from ``data`` (and earlier results).

    Returns ``(done, error)``: results of the tasks that ran, and ``(key, exception)``
    for the first that failed (``None`` if none did). Stops early, without error, once
    ``computation.cancelled`` is set by the loop.
    """
    done = []
    append = done.append
    for key, task in batch:
        if computation is not None and computation.cancelled:
            break
        try:
            value = task(data) if type(task) is Task else task
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, re-raised there
            return done, (key, exc)
        append((key, value))
    return done, None
