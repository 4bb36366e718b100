"""Lazy graph layers for partitioned frames.

A :class:`PartitionwiseLayer` stands for ``func`` applied to partition ``i`` of its
inputs for every ``i``. It generates only the tasks that survive culling, so a chain of
elementwise operations on a 10,000-partition frame costs one small object per step
until ``head()`` asks for one partition.

    >>> import operator
    >>> layer = PartitionwiseLayer("y", operator.neg, 3, (PartRef("x"),), {})
    >>> ("y", 1) in layer.output_keys(), sorted(layer.cull({("y", 1)})[1])
    (True, [('x', 1)])
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Set
from typing import Any

from graphengine.graph.layer_plan import GridPlan
from graphengine.graph.layers import Layer, MaterializedLayer
from graphengine.graph.spec import Key, Ref, Task

__all__ = ["PartRef", "PartitionwiseLayer", "KeyRange"]


class PartRef:
    """Inside a partitionwise layer's arguments: "partition ``i`` of collection ``name``"."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"PartRef({self.name!r})"


class KeyRange(Set):
    """The keys ``(name, 0) ... (name, n - 1)`` as a set, without building them."""

    __slots__ = ("name", "n")

    def __init__(self, name: str, n: int):
        self.name = name
        self.n = n

    def __contains__(self, key: object) -> bool:
        return (type(key) is tuple and len(key) == 2 and key[0] == self.name
                and type(key[1]) is int and 0 <= key[1] < self.n)

    def __iter__(self) -> Iterator[Key]:
        return ((self.name, i) for i in range(self.n))

    def __len__(self) -> int:
        return self.n


def _bind(obj: Any, i: int) -> Any:
    t = type(obj)
    if t is PartRef:
        return Ref((obj.name, i))
    if t is list:
        return [_bind(o, i) for o in obj]
    if t is tuple:
        return tuple(_bind(o, i) for o in obj)
    return obj


def _part_names(obj: Any, found: dict) -> None:
    t = type(obj)
    if t is PartRef:
        found[obj.name] = None
    elif t is list or t is tuple:
        for o in obj:
            _part_names(o, found)


class PartitionwiseLayer(Layer):
    """``(name, i) = func(*args_i, **kwargs_i)`` for ``i`` in ``range(npartitions)``.

    Parameters
    ----------
    name : str
        Output key name.
    func : callable
    npartitions : int
    args, kwargs
        Arguments; :class:`PartRef` (also inside lists/tuples) becomes partition ``i``
        of that collection, ``Ref(key)`` stays a reference to one key (a scalar), any
        other value is passed as is.
    """

    def __init__(self, name: str, func: Callable, npartitions: int, args: tuple,
                 kwargs: dict):
        self.name = name
        self.func = func
        self.npartitions = npartitions
        self.args = args
        self.kwargs = kwargs

    def output_keys(self) -> KeyRange:
        return KeyRange(self.name, self.npartitions)

    def task(self, i: int) -> Task:
        args = [_bind(a, i) for a in self.args]
        kwargs = {k: _bind(v, i) for k, v in self.kwargs.items()}
        return Task((self.name, i), self.func, *args, **kwargs)

    def _materialize(self) -> dict[Key, Any]:
        return {(self.name, i): self.task(i) for i in range(self.npartitions)}

    def grid_plan(self) -> GridPlan:
        """Partition ``i`` reads partition ``i`` of each :class:`PartRef` input."""
        names: dict = {}
        _part_names(self.args, names)
        _part_names(tuple(self.kwargs.values()), names)
        return GridPlan(self.name, (self.npartitions,), [(n, (0,), ()) for n in names])

    def task_for(self, key: Key) -> Task:
        return self.task(key[1])

    def cull(self, keys: set) -> tuple[Layer, set]:
        whole = self.cull_whole(keys)
        if whole is not None:
            return whole
        out = {}
        external: set = set()
        for k in keys:
            t = self.task(k[1])
            out[k] = t
            external |= t.dependencies
        return MaterializedLayer(out), external

    def __repr__(self) -> str:
        fname = getattr(self.func, "__name__", type(self.func).__name__)
        return f"<PartitionwiseLayer {self.name!r}: {fname} x {self.npartitions}>"
