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

from graphengine.errors import CycleError
from graphengine.graph.spec import Key, key_sort_key
from graphengine.graph.toposort import dependencies_map, find_cycle

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
    deps = dependencies_map(graph) if dependencies is None else dependencies
    size, external = _subtree_sizes(deps)  # raises CycleError

    if outputs is None:
        used: set = set().union(*deps.values()) if deps else set()
        roots = [k for k in deps if k not in used]
    else:
        roots = [k for k in dict.fromkeys(outputs) if k in deps]
    roots = _smallest_first(roots, size)

    # Iterative post-order DFS over one stack. A key is pushed by each parent that finds
    # it unfinished; its first visit expands it (pushes its children, smallest subtree
    # on top), its next visit as the top of the stack numbers it, later copies are
    # skipped. The sizes pass already ruled out cycles, so an expanded key on top of the
    # stack always means its children are done.
    result: dict[Key, int] = {}
    expanded: set = set()
    counter = 0
    for root in roots:
        if root in result:
            continue
        stack = [root]
        while stack:
            key = stack[-1]
            if key in result:
                stack.pop()
                continue
            if key in expanded:
                stack.pop()
                result[key] = counter
                counter += 1
                continue
            children = [d for d in deps[key] if d not in result]
            if external and children:
                children = [d for d in children if d in deps]
            n = len(children)
            if n == 0:
                stack.pop()
                result[key] = counter
                counter += 1
                continue
            expanded.add(key)
            if n == 1:
                stack.append(children[0])
            elif n == 2:
                a, b = children
                sa, sb = size[a], size[b]
                if sa > sb or (sa == sb and _key_greater(a, b)):
                    a, b = b, a
                stack.append(b)  # the smaller (a) goes on top and runs first
                stack.append(a)
            else:
                children = _smallest_first(children, size)
                children.reverse()
                stack.extend(children)
    # Keys unreachable from the given outputs still get a (late) priority; the sizes
    # dict is filled in post-order, so this keeps dependencies first.
    if len(result) < len(size):
        for key in size:
            if key not in result:
                result[key] = counter
                counter += 1
    return result


def _subtree_sizes(deps: Mapping[Key, Iterable[Key]]) -> tuple[dict[Key, int], bool]:
    """``({key: 1 + sizes of its dependencies}, whether some dependency is outside deps)``.

    A shared task is counted once per user: a cheap, stable estimate, capped because
    in lattices the sum grows combinatorially. The dict is filled in a topological
    post-order. Keys are tried in reverse insertion order first, which is already
    dependencies-first for a culled graph, so most keys cost one pass over their
    dependencies; any other key falls back to a DFS that also detects cycles.
    """
    size: dict[Key, int] = {}
    external = False
    for key in reversed(list(deps)):
        if key in size:
            continue
        s = 1
        try:
            for d in deps[key]:
                s += size[d]
        except KeyError:
            external |= _size_subtree(key, deps, size)
            continue
        size[key] = s if s < _SIZE_CAP else _SIZE_CAP
    return size, external


def _size_subtree(start: Key, deps: Mapping[Key, Iterable[Key]], size: dict) -> bool:
    """Size ``start`` and everything below it; True if a dependency is outside ``deps``.

    Raises
    ------
    CycleError
        If a cycle is reachable from ``start``.
    """
    external = False
    grey: set = set()  # expanded, not yet sized: on the current DFS path
    stack = [start]
    while stack:
        key = stack[-1]
        if key in size:
            stack.pop()
            continue
        if key in grey:
            stack.pop()
            s = 1
            for d in deps[key]:
                s += size.get(d, 0)  # outside the graph: counts nothing
            size[key] = s if s < _SIZE_CAP else _SIZE_CAP
            continue
        grey.add(key)
        for d in deps[key]:
            if d in size:
                continue
            if d in grey:
                cycle = find_cycle({k: deps[k] for k in grey})
                raise CycleError(cycle or sorted(grey, key=repr)[:10])
            if d in deps:
                stack.append(d)
            else:
                external = True
    return external


def _key_greater(a: Key, b: Key) -> bool:
    """``a > b`` in a total order over keys: natural order, or key_sort_key when mixed."""
    try:
        return a > b
    except TypeError:
        return (key_sort_key(a), repr(a)) > (key_sort_key(b), repr(b))


def _smallest_first(keys: list, size: Mapping[Key, int]) -> list:
    """``keys`` sorted by subtree size, then by key (a total order, whatever the hashes)."""
    try:
        return sorted(keys, key=lambda k: (size[k], k))
    except TypeError:  # str and tuple keys mixed: compare them through key_sort_key
        return sorted(keys, key=lambda k: (size[k], key_sort_key(k), repr(k)))
