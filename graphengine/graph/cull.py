"""Cull a graph: keep only the tasks that the requested keys need.

    >>> from graphengine.graph.spec import Task, Ref
    >>> g = {"a": 1, "b": Task("b", abs, Ref("a")), "unused": 2}
    >>> sorted(cull(g, ["b"])[0])
    ['a', 'b']
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphengine.errors import MissingDependencyError
from graphengine.graph.spec import Key, Task

__all__ = ["cull"]

_EMPTY: frozenset = frozenset()


def cull(graph: Mapping[Key, Any], keys: Iterable[Key]
         ) -> tuple[dict[Key, Any], dict[Key, frozenset]]:
    """Return ``(culled_graph, dependencies)`` holding only what ``keys`` need.

    Raises
    ------
    MissingDependencyError
        If a requested key, or a dependency of a needed task, is not in ``graph``; the
        error names the missing key and the task that needs it.
    """
    out: dict[Key, Any] = {}
    deps_out: dict[Key, frozenset] = {}
    stack: list[tuple[Key, Key | None]] = [(k, None) for k in keys]
    while stack:
        key, needed_by = stack.pop()
        if key in out:
            continue
        try:
            value = graph[key]
        except KeyError:
            raise MissingDependencyError(key, needed_by) from None
        out[key] = value
        deps = value.dependencies if type(value) is Task else _EMPTY
        deps_out[key] = deps
        for d in deps:
            if d not in out:
                stack.append((d, key))
    return out, deps_out
