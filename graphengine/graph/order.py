"""Static ordering: a priority for every task so that branches finish before new ones start.

The order is the post-order of a depth-first walk from the outputs: a task runs right
after the last of its dependencies, and a dependency subtree is completed before its
sibling subtree is started. Under the sync scheduler this bounds the results held at once
by the depth of the graph times its fan-in — O(log n) for a tree reduction — instead of
the O(n) of running all leaves first.

Among siblings the walk takes first the dependency whose subtree is smallest, so cheap
branches finish (and release their inputs) early; ties break on the key, so priorities
are the same in every process.

    >>> from graphengine.graph.spec import Task, Ref
    >>> g = {"a": 1, "b": 2, "ab": Task("ab", max, Ref("a"), Ref("b"))}
    >>> order(g)
    {'a': 0, 'b': 1, 'ab': 2}
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphengine.graph.spec import Key, key_sort_key
from graphengine.graph.toposort import dependencies_map, dependents_map, toposort

__all__ = ["order"]

_SIZE_CAP = 1 << 40


def order(graph: Mapping[Key, Any],
          dependencies: Mapping[Key, Iterable[Key]] | None = None,
          outputs: Iterable[Key] | None = None) -> dict[Key, int]:
    """Return ``{key: priority}``; lower runs first.

    Parameters
    ----------
    graph : mapping
        The (culled) graph.
    dependencies : mapping, optional
        Its dependency map, if already computed.
    outputs : iterable of keys, optional
        Where the walk starts; by default the keys nothing depends on.

    Raises
    ------
    CycleError
        If the graph has a cycle.
    """
    if dependencies is None:
        dependencies = dependencies_map(graph)
    deps = {k: [d for d in v if d in dependencies] for k, v in dependencies.items()}

    # Subtree sizes (a shared task counted once per user: a cheap, stable estimate).
    size: dict[Key, int] = {}
    for key in toposort(graph, deps):  # raises CycleError
        s = 1
        for d in deps[key]:
            s += size[d]
        # Capped: shared subgraphs make the sum grow combinatorially in lattices.
        size[key] = s if s < _SIZE_CAP else _SIZE_CAP

    if outputs is None:
        dependents = dependents_map(deps)
        roots = [k for k, users in dependents.items() if not users]
    else:
        roots = list(dict.fromkeys(outputs))
    roots.sort(key=lambda k: (size[k], key_sort_key(k)))

    result: dict[Key, int] = {}
    counter = 0
    for root in roots:
        if root in result:
            continue
        # Iterative post-order DFS: the stack holds (key, remaining children, reversed).
        stack = [(root, _children(root, deps, size))]
        entered = {root}
        while stack:
            key, children = stack[-1]
            while children:
                child = children.pop()
                if child not in result and child not in entered:
                    entered.add(child)
                    stack.append((child, _children(child, deps, size)))
                    break
            else:
                stack.pop()
                result[key] = counter
                counter += 1
    # Keys unreachable from the given outputs still get a (late) priority.
    if len(result) < len(deps):
        for key in toposort(graph, deps):
            if key not in result:
                result[key] = counter
                counter += 1
    return result


def _children(key: Key, deps: Mapping[Key, list], size: Mapping[Key, int]) -> list:
    children = deps[key]
    if len(children) > 1:
        # Reversed so that pop() yields the smallest subtree first.
        children = sorted(children, key=lambda k: (size[k], key_sort_key(k)), reverse=True)
    else:
        children = list(children)
    return children
