"""``delayed``: build task graphs from ordinary Python functions and values.

``delayed(func)`` wraps a function so that calling it records a task instead of running
it; ``delayed(value)`` wraps a value. The result is a :class:`Delayed`, a lazy stand-in
for the eventual result: its attributes, methods, operators and items are lazy too, and
``.compute()`` runs the whole graph on a scheduler.

    >>> from graphengine import delayed
    >>> total = delayed(sum)([delayed(abs)(-1), 2]) * 10
    >>> total.compute(scheduler="sync")
    30

Semantics (following ``dask.delayed`` where it is sensible):

- Keys are ``"<funcname>-<token>"``. With ``pure=True`` the token is
  ``tokenize(func, args, kwargs)`` (equal calls share one key and run once); with
  ``pure=False`` it is random. ``pure=None`` takes the config value ``delayed.pure``
  (default ``False``, as in Dask). Attribute access, indexing and operators are always
  pure: ``x.a`` built twice names one task.
- ``delayed(func, name="k")`` names the wrapped *function*, not its calls (as in Dask); to
  choose the key of one call pass ``graphengine_key_name="k"`` when calling. That keyword
  is taken out and never reaches the function. ``delayed(value, name="k")`` names the value.
- Arguments are searched for :class:`Delayed` objects and other graphengine collections
  inside lists, tuples, sets, dicts and slices (once, when the call is recorded). A
  collection argument arrives in the function as its computed value (its postcompute is
  applied inside the task).
- ``nout=n`` makes the result iterable into ``n`` lazy items (``a, b = f(x)``). Wrapping a
  list or tuple gives a Delayed of that known length. ``len()`` of anything else raises
  ``TypeError``, and so does ``bool()``: the truth of a lazy value is unknown.
"""
from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphengine import config
from graphengine.collections.base import Collection, is_collection
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.graph.spec import Key, Ref, Task, literal

__all__ = ["delayed", "Delayed", "DelayedLeaf", "DelayedAttr"]

_MISSING = object()


# --- functions the tasks call (module level, so the processes scheduler can pickle them) --

def _identity(x: Any) -> Any:
    return x


def _first(results: list) -> Any:
    return results[0]


def _apply(func: Callable, /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _call_method(obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    return getattr(obj, name)(*args, **kwargs)


# --- turning arguments into task arguments --------------------------------------------------

def _refs(keys: Any) -> Any:
    """A collection's (nested-list) keys as the same nesting of ``Ref`` objects."""
    if isinstance(keys, list):
        return [_refs(k) for k in keys]
    return Ref(keys)


def _unpack(expr: Any, found: list) -> Any:
    """``expr`` as a task argument: Delayed objects become ``Ref``, other collections a
    keyless task applying their postcompute; both are appended to ``found``.

    Containers holding no collection come back as the identical object, so plain data is
    never copied.
    """
    if isinstance(expr, Delayed):
        found.append(expr)
        return Ref(expr._key)
    if is_collection(expr):
        found.append(expr)
        func, extra = expr.__graphengine_postcompute__()
        return Task(None, func, _refs(expr.__graphengine_keys__()), *extra)
    t = type(expr)
    if t is list or t is tuple:
        items = [_unpack(v, found) for v in expr]
        if any(a is not b for a, b in zip(items, expr)):
            return items if t is list else tuple(items)
        return expr
    if t is dict:
        pairs = [(_unpack(k, found), _unpack(v, found)) for k, v in expr.items()]
        if any(k2 is not k for (k2, _), k in zip(pairs, expr)):
            # A lazy dict key cannot be a key of the rebuilt dict until it is computed.
            return Task(None, dict, [list(p) for p in pairs])
        if any(v2 is not v for (_, v2), v in zip(pairs, expr.values())):
            return dict(pairs)
        return expr
    if t is set or t is frozenset:
        items = [_unpack(v, found) for v in expr]
        if any(type(v) in (Ref, Task) for v in items):
            return Task(None, t, items)
        return expr
    if t is slice:
        parts = [_unpack(v, found) for v in (expr.start, expr.stop, expr.step)]
        if any(type(v) in (Ref, Task) for v in parts):
            return Task(None, slice, *parts)
        return expr
    if t is Task or t is Ref:
        # A user's own Task or Ref object is data here, not a graph instruction.
        return literal(expr)
    return expr


def _graph_entry(key: Key, value: Any) -> Any:
    """``value`` as stored under ``key`` in a graph (a Task object stays data)."""
    return literal(value).with_key(key) if type(value) is Task else value


def _layer_name(key: Key) -> str:
    return key if type(key) is str else str(key)


def _distinct(objs: list) -> list:
    seen: set = set()
    out = []
    for o in objs:
        if id(o) not in seen:
            seen.add(id(o))
            out.append(o)
    return out


def _is_pure(pure: bool | None) -> bool:
    return bool(config.get("delayed.pure")) if pure is None else bool(pure)


def _token(pure: bool | None, *parts: Any) -> str:
    if _is_pure(pure):
        from graphengine.graph.tokenize import tokenize
        return tokenize(*parts)
    return uuid.uuid4().hex


def _funcname(func: Any) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        name = type(func).__name__
    return "lambda" if name == "<lambda>" else name


def _check_nout(nout: Any) -> int | None:
    if nout is None:
        return None
    if not isinstance(nout, int) or isinstance(nout, bool) or nout < 0:
        raise ValueError(f"nout must be None or a non-negative int, got {nout!r}")
    return nout


def _record(func: Callable, args: tuple, kwargs: dict, prefix: str, pure: bool | None,
            nout: int | None) -> "Delayed":
    """The Delayed result of calling ``func(*args, **kwargs)`` lazily."""
    key = kwargs.pop("graphengine_key_name", None)
    found: list = []
    task_args = [_unpack(a, found) for a in args]
    task_kwargs = {k: _unpack(v, found) for k, v in kwargs.items()}
    if key is None:
        key = f"{prefix}-{_token(pure, func, task_args, task_kwargs)}"
    task = Task(key, func, *task_args, **task_kwargs)
    return Delayed._from_task(task, found, nout)


def _assemble(root: "Delayed") -> HighLevelGraph:
    """The HighLevelGraph of ``root``: its layer and, transitively, its dependencies'.

    Delayed objects keep only their own one-task layer and their direct dependencies;
    the layered graph is assembled once, when first asked for. Merging graphs at every
    call instead would copy all earlier layers each time, quadratic in a chain like
    ``for i in range(n): x = x + 1``.
    """
    layers: dict[str, Any] = {}
    layer_deps: dict[str, set] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        name = _layer_name(node._key)
        if name in layer_deps:
            continue
        layers[name] = node._layer
        mine = layer_deps[name] = set()
        for dep in node._deps:
            if isinstance(dep, Delayed) and dep._graph is None:
                mine.add(_layer_name(dep._key))
                stack.append(dep)
                continue
            graph = dep.__graphengine_graph__()
            if isinstance(graph, HighLevelGraph):
                layers.update(graph.layers)
                for n, d in graph.layer_dependencies.items():
                    layer_deps.setdefault(n, set()).update(d)
                mine.update(graph.top_layers())
            else:
                other = f"graph-{id(graph):x}"
                layers[other] = graph
                layer_deps.setdefault(other, set())
                mine.add(other)
        mine.discard(name)
    return HighLevelGraph(layers, layer_deps)


# --- the collection -----------------------------------------------------------------------

class Delayed(Collection):
    """A lazy value: the result of the task ``key`` in a graph.

    Build one with :func:`delayed`; operate on it as on the value itself (attributes,
    method calls, operators, indexing) to record more tasks; ``.compute()`` to run.

    Parameters
    ----------
    key : str or tuple
        The key of the task whose result this is.
    graph : mapping
        A graph (plain mapping or :class:`~graphengine.graph.layers.HighLevelGraph`)
        defining ``key`` and everything it needs.
    length : int, optional
        The length of the value when known in advance (makes it iterable).

    Examples
    --------
    >>> from graphengine.graph.spec import Task
    >>> d = Delayed("x", {"x": Task("x", sum, [1, 2])})
    >>> d, (d + 1).compute(scheduler="sync")
    (Delayed('x'), 4)
    """

    __slots__ = ("_key", "_graph", "_length", "_layer", "_deps")
    __graphengine_scheduler__ = "threads"
    # Makes NumPy return NotImplemented from `array + delayed`, so Python calls our
    # reflected operator instead of NumPy treating the Delayed as an object scalar.
    __array_ufunc__ = None

    def __init__(self, key: Key, graph: Mapping, length: int | None = None):
        if not isinstance(graph, HighLevelGraph):
            graph = HighLevelGraph.from_layer(_layer_name(key), graph)
        self._set(key, graph, length, None, ())

    def _set(self, key: Key, graph: HighLevelGraph | None, length: int | None,
             layer: Mapping | None, deps: tuple) -> None:
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_graph", graph)
        object.__setattr__(self, "_length", _check_nout(length))
        object.__setattr__(self, "_layer", layer)
        object.__setattr__(self, "_deps", deps)

    @classmethod
    def _from_task(cls, task: Task, deps: list, length: int | None = None) -> "Delayed":
        """A Delayed for ``task`` whose graph is assembled from ``deps`` when needed."""
        new = cls.__new__(cls)
        new._set(task.key, None, length, MaterializedLayer({task.key: task}),
                 tuple(_distinct(deps)))
        return new

    @property
    def key(self) -> Key:
        """The key of this value's task."""
        return self._key

    # The collection protocol.
    def __graphengine_graph__(self) -> HighLevelGraph:
        if self._graph is None:
            object.__setattr__(self, "_graph", _assemble(self))
        return self._graph

    def __graphengine_keys__(self) -> list:
        return [self._key]

    def __graphengine_postcompute__(self) -> tuple[Callable, tuple]:
        return _first, ()

    def __graphengine_postpersist__(self) -> tuple[Callable, tuple]:
        return _rebuild_persisted, (self._key, self._length)

    def __graphengine_tokenize__(self) -> Any:
        return ("Delayed", self._key)

    # Python object behaviour.
    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self):
        return (Delayed, (self._key, self.__graphengine_graph__(), self._length))

    def __dir__(self) -> list[str]:
        return sorted(set(dir(type(self))) | {"key"})

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"Delayed objects are immutable: cannot set attribute {name!r}")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("Delayed objects are immutable: item assignment is not supported")

    def __bool__(self) -> bool:
        raise TypeError(
            f"truth of {self!r} is not known until it is computed; compute() it first "
            "or branch inside a delayed function"
        )

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(
                f"{self!r} has no known length; pass nout= to delayed(...) to make a "
                "call's result a fixed-length sequence"
            )
        return self._length

    def __iter__(self) -> Iterator["Delayed"]:
        if self._length is None:
            raise TypeError(
                f"{self!r} of unknown length is not iterable; pass nout= to delayed(...)"
            )
        return iter([self[i] for i in range(self._length)])

    def __getattr__(self, attr: str) -> "DelayedAttr":
        # Private and dunder names are never lazy: copy, pickle and friends probe for
        # them and must see them missing, not get a Delayed back.
        if attr.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        return DelayedAttr(self, attr)

    def __getitem__(self, index: Any) -> "Delayed":
        return _record(operator.getitem, (self, index), {}, "getitem", True, None)

    def __call__(self, *args: Any, **kwargs: Any) -> "Delayed":
        # The value is itself a callable: apply it lazily.
        return _record(_apply, (self, *args), kwargs, "call", None, None)


def _rebuild_persisted(data: Mapping, key: Key, length: int | None) -> Delayed:
    return Delayed(key, {key: _graph_entry(key, data[key])}, length)


def _unary(op: Callable) -> Callable:
    name = _funcname(op)

    def method(self: Delayed) -> Delayed:
        return _record(op, (self,), {}, name, True, None)

    method.__name__ = f"__{name.rstrip('_')}__"
    return method


def _binary(op: Callable, reflected: bool = False) -> Callable:
    name = _funcname(op)

    def method(self: Delayed, other: Any) -> Delayed:
        args = (other, self) if reflected else (self, other)
        return _record(op, args, {}, name, True, None)

    method.__name__ = f"__{'r' if reflected else ''}{name.rstrip('_')}__"
    return method


for _op in (operator.abs, operator.neg, operator.pos, operator.invert):
    setattr(Delayed, f"__{_funcname(_op)}__", _unary(_op))
for _op in (operator.add, operator.sub, operator.mul, operator.matmul, operator.truediv,
            operator.floordiv, operator.mod, operator.pow, operator.lshift, operator.rshift,
            operator.and_, operator.or_, operator.xor):
    _dunder = _funcname(_op).rstrip("_")
    setattr(Delayed, f"__{_dunder}__", _binary(_op))
    setattr(Delayed, f"__r{_dunder}__", _binary(_op, reflected=True))
for _op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
    # Python reflects comparisons itself (5 < d calls d.__gt__(5)).
    setattr(Delayed, f"__{_funcname(_op)}__", _binary(_op))
del _op, _dunder


class DelayedLeaf(Delayed):
    """A wrapped function or value that has no dependencies; calling it records a task.

    What ``delayed(func)`` and ``@delayed`` return.
    """

    __slots__ = ("_obj", "_pure")

    def __init__(self, obj: Any, key: Key, pure: bool | None = None, nout: int | None = None):
        self._set(key, None, nout, MaterializedLayer({key: _graph_entry(key, obj)}), ())
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_pure", pure)

    def __call__(self, *args: Any, **kwargs: Any) -> Delayed:
        return _record(self._obj, args, kwargs, _funcname(self._obj), self._pure,
                       self._length)

    @property
    def __name__(self) -> str:
        return _funcname(self._obj)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return getattr(self._obj, "__doc__", None)

    @property
    def __wrapped__(self) -> Any:
        return self._obj

    def __reduce__(self):
        return (DelayedLeaf, (self._obj, self._key, self._pure, self._length))


class DelayedAttr(Delayed):
    """``obj.attr`` of a Delayed ``obj``; calling it records a method call instead."""

    __slots__ = ("_obj", "_attr")

    def __init__(self, obj: Delayed, attr: str):
        from graphengine.graph.tokenize import tokenize
        key = f"getattr-{tokenize(obj._key, attr)}"
        task = Task(key, getattr, Ref(obj._key), attr)
        self._set(key, None, None, MaterializedLayer({key: task}), (obj,))
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_attr", attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Delayed:
        return _record(_call_method, (self._obj, self._attr, *args), kwargs, self._attr,
                       None, None)

    def __reduce__(self):
        return (DelayedAttr, (self._obj, self._attr))


# --- the entry point ----------------------------------------------------------------------

def delayed(obj: Any = _MISSING, name: Key | None = None, pure: bool | None = None,
            nout: int | None = None, traverse: bool = True) -> Any:
    """Wrap a function or a value so that operations on it build a task graph.

    Parameters
    ----------
    obj : callable or object
        A function (calling the result records a task) or a value. Lists, tuples, sets,
        dicts and slices holding Delayed objects or collections become a task that
        rebuilds them from the computed parts. A :class:`Delayed` is returned as is.
        Omitted, ``delayed(**options)`` returns a decorator.
    name : str or tuple, optional
        The key of the wrapped object (not of calls to it: for those pass
        ``graphengine_key_name=`` when calling).
    pure : bool, optional
        Whether calls are named by a hash of their inputs (``True``: equal calls share a
        key) or randomly (``False``). ``None`` reads the ``delayed.pure`` config value.
    nout : int, optional
        The length of each call's result, making it unpackable (``a, b = f(x)``).
    traverse : bool
        Look inside built-in containers for Delayed objects and collections.

    Returns
    -------
    Delayed
        A :class:`DelayedLeaf` for a function or a plain value.

    Raises
    ------
    ValueError
        If ``nout`` is not ``None`` or a non-negative int.

    Examples
    --------
    >>> @delayed(pure=True)
    ... def inc(x):
    ...     return x + 1
    >>> a, b = delayed(divmod, nout=2)(inc(6), 3)
    >>> (a * 10 + b).compute(scheduler="sync")
    21
    """
    if obj is _MISSING:
        return functools.partial(delayed, name=name, pure=pure, nout=nout, traverse=traverse)
    if isinstance(obj, Delayed):
        return obj
    nout = _check_nout(nout)
    found: list = []
    arg = _unpack(obj, found) if traverse or is_collection(obj) else obj
    length = nout
    if length is None and type(obj) in (list, tuple):
        length = len(obj)
    if arg is obj:
        prefix = _funcname(obj) if callable(obj) else type(obj).__name__
        key = name if name is not None else f"{prefix}-{_token(pure, obj, nout)}"
        if callable(obj):
            return DelayedLeaf(obj, key, pure=pure, nout=nout)
        return DelayedLeaf(obj, key, pure=pure, nout=length)
    key = name if name is not None else f"{type(obj).__name__}-{_token(pure, arg)}"
    return Delayed._from_task(Task(key, _identity, arg), found, length)
