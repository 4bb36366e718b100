"""Dependency maps, validation and topological sort of a task graph.

All walks are iterative, so a 1,000,000-task chain needs no recursion limit. A cycle is
reported with the keys on it; a missing dependency with the key and who needs it.

    >>> from graphengine.graph.spec import Task, Ref
    >>> g = {"a": 1, "b": Task("b", abs, Ref("a")), "c": Task("c", abs, Ref("b"))}
    >>> toposort(g)
    ['a', 'b', 'c']
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphengine.errors import CycleError, MissingDependencyError
from graphengine.graph.spec import Key, Task

__all__ = [
    "get_dependencies",
    "dependencies_map",
    "dependents_map",
    "validate_graph",
    "find_cycle",
    "toposort",
]

_EMPTY: frozenset = frozenset()


def get_dependencies(graph: Mapping[Key, Any], key: Key) -> frozenset:
    """Keys that the value stored at ``key`` depends on.

    Raises
    ------
    MissingDependencyError
        If ``key`` is not in ``graph``.
    """
    try:
        value = graph[key]
    except KeyError:
        raise MissingDependencyError(key) from None
    return value.dependencies if type(value) is Task else _EMPTY


def dependencies_map(graph: Mapping[Key, Any]) -> dict[Key, frozenset]:
    """``{key: dependencies}`` for every key of ``graph``."""
    return {k: (v.dependencies if type(v) is Task else _EMPTY) for k, v in graph.items()}


def dependents_map(dependencies: Mapping[Key, Iterable[Key]]) -> dict[Key, set]:
    """Invert a dependency map: ``{key: keys that depend on it}`` (every key present)."""
    dependents: dict[Key, set] = {k: set() for k in dependencies}
    for key, deps in dependencies.items():
        for d in deps:
            try:
                dependents[d].add(key)
            except KeyError:
                dependents[d] = {key}
    return dependents


def validate_graph(graph: Mapping[Key, Any], available: Iterable[Key] = ()) -> None:
    """Check that every dependency exists (in ``graph`` or ``available``) and no cycle exists.

    Raises
    ------
    MissingDependencyError
        Naming the first missing key and the task that needs it.
    CycleError
        Naming the keys on a cycle.
    """
    have = set(available)
    for key, value in graph.items():
        if type(value) is Task:
            for d in value.dependencies:
                if d not in graph and d not in have:
                    raise MissingDependencyError(d, key)
    toposort(graph)


def find_cycle(dependencies: Mapping[Key, Iterable[Key]]) -> list[Key] | None:
    """Return one cycle as ``[k1, k2, ..., k1]`` (each depends on the next), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color: dict[Key, int] = {}
    for start in dependencies:
        if color.get(start, WHITE) != WHITE:
            continue
        # Explicit stack of (key, iterator over its dependencies): iterative DFS.
        path: list[Key] = [start]
        stack = [iter(dependencies.get(start, ()))]
        color[start] = GREY
        while stack:
            for dep in stack[-1]:
                c = color.get(dep, WHITE)
                if c == GREY:
                    i = path.index(dep)
                    return path[i:] + [dep]
                if c == WHITE and dep in dependencies:
                    color[dep] = GREY
                    path.append(dep)
                    stack.append(iter(dependencies[dep]))
                    break
            else:
                color[path.pop()] = BLACK
                stack.pop()
    return None


def toposort(graph: Mapping[Key, Any], dependencies: Mapping[Key, Iterable[Key]] | None = None
             ) -> list[Key]:
    """Keys of ``graph`` ordered so that every key comes after its dependencies.

    Dependencies outside the graph are ignored here (see :func:`validate_graph`).

    Raises
    ------
    CycleError
        If the graph has a cycle; the error names the keys on it.
    """
    if dependencies is None:
        dependencies = dependencies_map(graph)
    remaining: dict[Key, int] = {}
    dependents: dict[Key, list] = {}
    ready: list[Key] = []
    for key, deps in dependencies.items():
        n = 0
        for d in deps:
            if d in dependencies:
                n += 1
                try:
                    dependents[d].append(key)
                except KeyError:
                    dependents[d] = [key]
        if n:
            remaining[key] = n
        else:
            ready.append(key)
    order: list[Key] = []
    append = order.append
    while ready:
        key = ready.pop()
        append(key)
        for dep in dependents.get(key, ()):
            n = remaining[dep] - 1
            if n:
                remaining[dep] = n
            else:
                del remaining[dep]
                ready.append(dep)
    if remaining:
        cycle = find_cycle({k: dependencies[k] for k in remaining})
        raise CycleError(cycle or sorted(remaining, key=repr)[:10])
    return order
