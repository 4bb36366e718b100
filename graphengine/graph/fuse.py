"""Linear-chain fusion and inlining: fewer, larger tasks with the same results.

:func:`fuse` merges each chain ``a -> b -> c`` (every link: a task with one dependent
that has one dependency) into one task that calls the chain's functions nested, under a
readable key built from the chain's names (``"add-mul-sum-<token>"``). :func:`inline` puts
cheap values or tasks straight into the tasks that use them.

    >>> from graphengine.graph.spec import Task, Ref
    >>> g = {"a": 1, "inc-1": Task("inc-1", abs, Ref("a")), "neg-1": Task("neg-1", abs, Ref("inc-1"))}
    >>> fused = fuse(g, keys=["neg-1"])
    >>> sorted(fused, key=str), fused["neg-1"]({"a": -3})
    (['a', 'neg-1'], 3)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphengine.graph.spec import _HEX, Key, Ref, Task, _Nested, key_name, literal
from graphengine.graph.toposort import dependencies_map, dependents_map, toposort

__all__ = ["fuse", "inline", "fused_key", "mark_cheap", "is_cheap"]

_CHEAP_ATTR = "__graphengine_cheap__"


def mark_cheap(func: Callable) -> Callable:
    """Mark ``func`` as cheap enough to be recomputed wherever it is used (see :func:`inline`)."""
    try:
        setattr(func, _CHEAP_ATTR, True)
    except (AttributeError, TypeError):
        _cheap_builtins.add(func)
    return func


_cheap_builtins: set = set()


def is_cheap(func: Callable) -> bool:
    try:
        return getattr(func, _CHEAP_ATTR, False) or func in _cheap_builtins
    except TypeError:  # unhashable callables
        return False


def _prefix(name: str) -> str:
    """The readable part of a generated name: ``"add"`` for ``"add-9f86d081"``."""
    head, sep, tail = name.rpartition("-")
    if sep and len(tail) >= 8 and _HEX.issuperset(tail):
        return head
    return name


def fused_key(chain: list[Key]) -> Key:
    """Readable key for a fused chain (ordered from first to last task).

    The indices and full name of the last key are kept, so distinct chains keep distinct
    keys: ``[("inc-1f2e", 3), ("neg-9a8b", 3)]`` gives ``("inc-neg-9a8b", 3)``.
    """
    last = chain[-1]
    prefixes = []
    for k in chain[:-1]:
        p = _prefix(key_name(k))
        if not prefixes or prefixes[-1] != p:
            prefixes.append(p)
    name = "-".join(prefixes + [key_name(last)])
    if type(last) is tuple:
        return (name,) + last[1:]
    return name


def fuse(graph: Mapping[Key, Any], keys: Iterable[Key] = (),
         dependencies: Mapping[Key, Iterable[Key]] | None = None,
         max_width: int = 64, rename: bool = True) -> dict[Key, Any]:
    """Fuse linear chains of tasks.

    Parameters
    ----------
    graph : mapping
        A culled graph.
    keys : iterable of keys
        Outputs: never fused away and never renamed.
    dependencies : mapping, optional
        The dependency map, if already computed.
    max_width : int
        Longest chain fused into one task; longer chains are cut into pieces.
    rename : bool
        Give fused tasks readable fused names (dependents are rewritten to match).

    Returns
    -------
    dict
        The fused graph.
    """
    if dependencies is None:
        dependencies = dependencies_map(graph)
    outputs = set(keys)
    dependents = dependents_map(dependencies)

    # into[k] = d when k can be folded into its only dependent d.
    into: dict[Key, Key] = {}
    for k, users in dependents.items():
        if len(users) != 1 or k in outputs or type(graph.get(k)) is not Task:
            continue
        (d,) = users
        # A dependent that reads k twice would run k's folded-in work twice.
        if len(dependencies[d]) == 1 and type(graph[d]) is Task and _ref_count(graph[d], k) == 1:
            into[k] = d
    if not into:
        return dict(graph)

    folded_into = set(into)
    out: dict[Key, Any] = {}
    renamed: dict[Key, Key] = {}
    for key, value in graph.items():
        if key in folded_into:
            continue
        if type(value) is not Task:
            out[key] = value
            continue
        # Walk down the chain that ends at `key`.
        chain = [key]
        cur = key
        while True:
            (dep,) = dependencies[cur] if len(dependencies[cur]) == 1 else (None,)
            if dep is None or into.get(dep) != cur:
                break
            chain.append(dep)
            cur = dep
        if len(chain) == 1:
            out[key] = value
            continue
        chain.reverse()  # first task first
        pieces = [chain[i:i + max_width] for i in range(0, len(chain), max_width)]
        # A piece after the first refers to the previous piece's last key; if that key
        # is renamed, the final pass below rewrites the reference.
        for piece in pieces:
            inner = graph[piece[0]].with_key(None)
            for prev, k in zip(piece, piece[1:]):
                inner = graph[k].substitute({prev: inner}, key=None)
            last = piece[-1]
            new_key = last
            if rename and last not in outputs and len(piece) > 1:
                new_key = fused_key(piece)
                if new_key in graph or new_key in out:
                    new_key = last
            if new_key != last:
                renamed[last] = new_key
            out[new_key] = inner.with_key(new_key)
    if renamed:
        for k, v in list(out.items()):
            if type(v) is Task and not v.dependencies.isdisjoint(renamed):
                out[k] = v.substitute({old: Ref(new) for old, new in renamed.items()
                                       if old in v.dependencies})
    return out


def _ref_count(obj: Any, key: Key) -> int:
    """How many times ``Ref(key)`` occurs in a task's (prepared) arguments."""
    t = type(obj)
    if t is Ref:
        return int(obj.key == key)
    if t is Task:
        if key not in obj.dependencies:
            return 0
        return (sum(_ref_count(a, key) for a in obj.args)
                + sum(_ref_count(v, key) for v in obj.kwargs.values()))
    if t is _Nested:
        values = obj.items if obj.kind is not dict else [v for _, v in obj.items]
        return sum(_ref_count(v, key) for v in values)
    return 0


def inline(graph: Mapping[Key, Any], keys: Iterable[Key] | None = None,
           outputs: Iterable[Key] = (),
           dependencies: Mapping[Key, Iterable[Key]] | None = None) -> dict[Key, Any]:
    """Put cheap values and tasks directly into the tasks that use them.

    Parameters
    ----------
    graph : mapping
        The graph.
    keys : iterable of keys, optional
        What to inline. By default: plain small constants (numbers, strings, None) and
        tasks whose function is marked with :func:`mark_cheap` and whose own
        dependencies are all in the graph.
    outputs : iterable of keys
        Never removed (they are still inlined into dependents when selected).

    Returns
    -------
    dict
        A new graph without the inlined keys (except outputs).
    """
    if dependencies is None:
        dependencies = dependencies_map(graph)
    outputs = set(outputs)
    if keys is None:
        selected = {k for k, v in graph.items()
                    if (type(v) is not Task and _is_small_constant(v))
                    or (type(v) is Task and is_cheap(v.func))}
    else:
        selected = set(keys) & graph.keys()
    if not selected:
        return dict(graph)
    dependents = dependents_map(dependencies)
    # Inline in dependency order so an inlined task can itself hold inlined tasks.
    replacement: dict[Key, Any] = {}
    out = dict(graph)
    for key in toposort(graph, dependencies):
        value = out[key]
        if type(value) is Task:
            hit = [d for d in value.dependencies if d in replacement]
            if hit:
                value = value.substitute({d: replacement[d] for d in hit})
                out[key] = value
        if key in selected and dependents.get(key):
            replacement[key] = value.with_key(None) if type(value) is Task else _wrap(value)
    for key in selected:
        if key not in outputs and dependents.get(key):
            del out[key]
    return out


def _wrap(value: Any) -> Any:
    # A constant that is itself a container of refs must not be re-read as references.
    if isinstance(value, (list, tuple, dict)):
        return literal(value)
    return value


def _is_small_constant(v: Any) -> bool:
    return v is None or type(v) in (int, float, bool, str, complex) and (
        type(v) is not str or len(v) < 1000)
