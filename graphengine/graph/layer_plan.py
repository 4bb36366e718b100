"""Grid plans: which keys each task of a lazy layer reads, as plain data.

A :class:`GridPlan` describes a layer whose output keys are ``(name, i, j, ...)`` over a
grid of blocks and whose tasks read blocks of other layers by index arithmetic. It holds
only names and ints, so it crosses the wire as msgpack and the scheduler expands it into
task dependencies without unpickling anything a user wrote. The layer itself (function,
literal arguments) travels once as an opaque blob that only workers open.

The same plan generates the references of the layer's tasks on the client
(:class:`~graphengine.collections.array.layer.Blockwise`), so what the scheduler waits for
and what a task reads cannot disagree.

Each input is ``(input_name, axes, levels)``. ``levels`` lists, outermost first, the
number of blocks iterated for each contracted axis (the task gets nested lists of keys, one
list level per entry). ``axes`` gives one code per axis of the input's keys: ``p >= 0``
takes output coordinate ``p``; ``-1`` is block 0 (a broadcast axis); ``-2 - l`` takes the
value of level ``l``.

    >>> plan = GridPlan("y", (2, 3), [("x", (1, 0), ()), ("b", (0, -2), (2,))])
    >>> plan.input_keys((1, 2))
    [('x', 2, 1), [('b', 1, 0), ('b', 1, 1)]]
    >>> len(plan), plan.dependencies((1, 2))
    (6, [('x', 2, 1), ('b', 1, 0), ('b', 1, 1)])
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

from graphengine.graph.spec import Key, Task

__all__ = ["GridPlan", "shipping_plan"]


class GridPlan:
    """Output keys of a grid layer and the input keys each output reads.

    Parameters
    ----------
    name : str
        The layer's output key name.
    numblocks : sequence of int
        Blocks along each output axis.
    inputs : sequence of (str, tuple of int, tuple of int)
        Per key-reading argument: input name, axis codes, contracted level sizes.
    constants : sequence of keys
        Keys every task reads besides the grid inputs (e.g. one scalar result).
    """

    __slots__ = ("name", "numblocks", "inputs", "constants")

    def __init__(self, name: str, numblocks: Sequence[int],
                 inputs: Sequence[tuple], constants: Sequence[Key] = ()):
        self.name = name
        self.numblocks = tuple(int(n) for n in numblocks)
        self.inputs = tuple((str(n), tuple(a), tuple(lv)) for n, a, lv in inputs)
        self.constants = tuple(constants)
        ndim = len(self.numblocks)
        for n, axes, levels in self.inputs:
            for a in axes:
                if a >= ndim or a < -1 - len(levels):
                    raise ValueError(f"grid plan {name!r}: axis code {a} of input {n!r} is "
                                     f"out of range for {ndim} output axes and "
                                     f"{len(levels)} levels")

    def __len__(self) -> int:
        return math.prod(self.numblocks)

    def __repr__(self) -> str:
        return f"GridPlan<{self.name}: blocks={self.numblocks}, inputs={len(self.inputs)}>"

    def keys(self) -> Iterator[tuple]:
        """The output keys, last axis fastest."""
        name = self.name
        for coords in itertools.product(*(range(n) for n in self.numblocks)):
            yield (name, *coords)

    def input_keys(self, coords: Sequence[int]) -> list:
        """Per input, the key (or nested lists of keys) output block ``coords`` reads."""
        out = []
        for name, axes, levels in self.inputs:
            if not levels:
                out.append((name, *[coords[a] if a >= 0 else 0 for a in axes]))
            else:
                out.append(_nested_keys(name, axes, levels, coords, [0] * len(levels), 0))
        return out

    def dependencies(self, coords: Sequence[int]) -> list:
        """Every key output block ``coords`` reads, each once, in argument order."""
        found: dict = {}
        for item in self.input_keys(coords):
            _flatten_into(item, found)
        for k in self.constants:
            found[k] = None
        return list(found)

    def expand(self) -> Iterator[tuple[tuple, list]]:
        """``(key, dependencies)`` for every output key, in :meth:`keys` order."""
        simple = all(not levels for _, _, levels in self.inputs)
        if simple and len(self.inputs) == 1 and not self.constants:
            # The common case (one input, no contraction), without the general walk.
            ((iname, axes, _),) = self.inputs
            for key in self.keys():
                yield key, [(iname, *[key[a + 1] if a >= 0 else 0 for a in axes])]
            return
        for key in self.keys():
            yield key, self.dependencies(key[1:])

    def input_names(self) -> set:
        return {n for n, _, _ in self.inputs}

    def all_input_keys(self) -> set:
        """Every key the whole grid reads. An input read along distinct coordinates on
        each of its axes is read in full, so its keys are listed without expanding."""
        keys: set = set(self.constants)
        partial = []
        for name, axes, levels in self.inputs:
            codes = [a for a in axes if a != -1]
            if len(set(codes)) != len(codes):
                partial.append((name, axes, levels))
                continue
            ranges = [range(self.numblocks[a]) if a >= 0 else range(1) if a == -1
                      else range(levels[-a - 2]) for a in axes]
            keys.update((name, *idx) for idx in itertools.product(*ranges))
        if partial:
            sub = GridPlan(self.name, self.numblocks, partial)
            for key in sub.keys():
                keys.update(sub.dependencies(key[1:]))
        return keys

    def to_msg(self) -> dict:
        """The plan as plain data for the wire (tuples survive the message codec)."""
        return {"name": self.name, "numblocks": self.numblocks, "inputs": self.inputs,
                "constants": self.constants}

    @classmethod
    def from_msg(cls, msg: dict) -> "GridPlan":
        """Rebuild a plan sent with :meth:`to_msg`.

        Raises
        ------
        ValueError
            If the message is malformed; the message names the field.
        """
        try:
            return cls(msg["name"], msg["numblocks"], msg["inputs"], msg.get("constants", ()))
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed grid plan {msg.get('name', '?')!r}: {e!r}") from None


def _nested_keys(name: str, axes: tuple, levels: tuple, coords: Sequence[int],
                 values: list, level: int) -> Any:
    if level == len(levels):
        return (name, *[coords[a] if a >= 0 else (0 if a == -1 else values[-a - 2])
                        for a in axes])
    out = []
    for j in range(levels[level]):
        values[level] = j
        out.append(_nested_keys(name, axes, levels, coords, values, level + 1))
    return out


def _flatten_into(item: Any, found: dict) -> None:
    if type(item) is list:
        for i in item:
            _flatten_into(i, found)
    else:
        found[item] = None


def shipping_plan(layer: Any) -> GridPlan | None:
    """The plan under which ``layer`` may be shipped whole, or None.

    The layer gives its grid (``layer.grid_plan()``); the keys its tasks read besides
    the grid (a scalar, say) become the plan's constants. The first and last tasks are
    built and checked against the plan; a layer whose tasks read more or other keys than
    the plan says is not shipped as a layer (its tasks are sent one by one instead).
    """
    grid_plan = getattr(layer, "grid_plan", None)
    grid = grid_plan() if grid_plan is not None else None
    if grid is None or len(grid) == 0:
        return None
    first = (grid.name, *[0] * len(grid.numblocks))
    last = (grid.name, *[n - 1 for n in grid.numblocks])
    constants = None
    for key in dict.fromkeys([first, last]):
        task = layer.task_for(key)
        deps = task.dependencies if type(task) is Task else frozenset()
        planned = set(grid.dependencies(key[1:]))
        if not planned <= deps:
            return None
        extra = deps - planned
        if constants is None:
            constants = extra
        elif extra != constants:
            return None
    if not constants:
        return grid
    return GridPlan(grid.name, grid.numblocks, grid.inputs, sorted(constants, key=repr))
