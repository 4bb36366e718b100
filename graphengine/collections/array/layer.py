"""The ``Blockwise`` layer: one lazy graph layer for an operation applied block by block.

An elementwise or blockwise operation over N blocks is one :class:`Blockwise` object, not N
tasks: it records the function, which input blocks each output block reads (by index
symbols, as in ``einsum``) and generates tasks only when the graph is culled or
materialized, and then only for the blocks asked for. A new blockwise operation whose input
comes straight from another blockwise layer absorbs that layer's work
(:func:`fuse_blockwise`), so a chain like ``(x + 1) * 2 - x.T`` runs as one task per block.

    >>> import operator
    >>> layer = Blockwise("y", ("i",), operator.neg, [("x", ("i",))], {"x": (3,)})
    >>> len(layer), ("y", 2) in layer.output_keys(), ("y", 3) in layer.output_keys()
    (3, True, False)
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from graphengine.graph.layer_plan import GridPlan
from graphengine.graph.layers import Layer, MaterializedLayer
from graphengine.graph.spec import Key, Ref, Task

__all__ = ["Blockwise", "PerBlock", "fuse_blockwise", "concatenate_nested", "BlockKeys"]

#: Most input blocks a fused task may read; beyond this fusion stops (tasks stay small).
MAX_FUSED_INPUTS = 32
#: Deepest nesting of fused functions (each level is a Python call frame per block).
MAX_FUSED_DEPTH = 40


class PerBlock:
    """An argument whose value depends on the output block: ``func(block_indices)``.

    ``block_indices`` holds the block numbers along the argument's index symbols. Used for
    per-block shapes, slices and random seeds, computed only when tasks are generated.
    """

    __slots__ = ("func",)

    def __init__(self, func: Callable[[tuple], Any]):
        self.func = func


class _Compose:
    """``func`` applied to some leaves and to the results of nested compositions.

    The callable of a fused layer: ``plan`` lists, per argument of ``func``, the position
    of a leaf argument or a nested ``_Compose`` run on the same leaves.
    """

    __slots__ = ("func", "kwargs", "plan")

    def __init__(self, func: Callable, kwargs: dict, plan: tuple):
        self.func = func
        self.kwargs = kwargs
        self.plan = plan

    def __call__(self, *leaves: Any) -> Any:
        args = [leaves[p] if type(p) is int else p(*leaves) for p in self.plan]
        return self.func(*args, **self.kwargs)

    def __reduce__(self):
        return (_Compose, (self.func, self.kwargs, self.plan))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "fused")


class BlockKeys:
    """The keys ``(name, i, j, ...)`` of a grid of blocks, without building them."""

    __slots__ = ("name", "numblocks")

    def __init__(self, name: str, numblocks: tuple):
        self.name = name
        self.numblocks = numblocks

    def __contains__(self, key: object) -> bool:
        if type(key) is not tuple or len(key) != len(self.numblocks) + 1 or key[0] != self.name:
            return False
        for i, n in zip(key[1:], self.numblocks):
            if type(i) is not int or not 0 <= i < n:
                return False
        return True

    def __len__(self) -> int:
        return math.prod(self.numblocks)

    def __iter__(self) -> Iterator[tuple]:
        name = self.name
        for idx in itertools.product(*(range(n) for n in self.numblocks)):
            yield (name, *idx)


def concatenate_nested(nested: Any, axes: Sequence[int]) -> Any:
    """Join nested lists of blocks into one array: the outer list level along ``axes[0]``.

    Dict blocks (partial reduction results) are joined field by field.
    """
    if not axes:
        return nested
    if not isinstance(nested, list):
        return nested
    parts = [concatenate_nested(n, axes[1:]) for n in nested]
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts], axis=axes[0]) for k in parts[0]}
    return np.concatenate(parts, axis=axes[0])


class Blockwise(Layer):
    """Apply ``func`` block by block; tasks are generated only when needed.

    Parameters
    ----------
    name : str
        Output keys are ``(name, *block_indices)``.
    out_ind : tuple
        One index symbol per output axis.
    func : callable
        Called as ``func(*args, **kwargs)`` with one value per entry of ``args``.
    args : sequence of (value, ind)
        ``(layer_name, ind)`` for the blocks of another array (``ind`` gives its symbols);
        ``(PerBlock, ind)`` for a per-block value; ``(value, None)`` for a literal.
    numblocks : dict
        Block-grid shape of each input layer named in ``args``.
    new_axes : dict, optional
        Number of blocks along output symbols that no input has.
    concatenate : bool
        For symbols read but not in ``out_ind`` (contractions): pass blocks along them
        concatenated into one array (True) or as nested lists (False).
    kwargs : dict, optional
        Keyword arguments for every call.
    """

    def __init__(self, name: str, out_ind: tuple, func: Callable, args: Sequence[tuple],
                 numblocks: Mapping[str, tuple], new_axes: Mapping | None = None,
                 concatenate: bool = False, kwargs: Mapping | None = None):
        self.name = name
        self.out_ind = tuple(out_ind)
        self.func = func
        self.args = tuple((v, tuple(ind) if ind is not None else None) for v, ind in args)
        self.numblocks = dict(numblocks)
        self.new_axes = dict(new_axes or {})
        self.concatenate = concatenate
        self.kwargs = dict(kwargs or {})
        self.depth = 1
        self._grid: GridPlan | None = None
        self._arg_plans: tuple = ()
        sizes: dict = dict(self.new_axes)
        for v, ind in self.args:
            if type(v) is str and ind is not None:
                nb = self.numblocks[v]
                if len(nb) != len(ind):
                    raise ValueError(f"blockwise: input {v!r} has {len(nb)} block dimensions "
                                     f"but index {ind!r}")
                for s, n in zip(ind, nb):
                    if n != 1 or s not in sizes:
                        if sizes.get(s, 1) not in (1, n):
                            raise ValueError(f"blockwise: index {s!r} has {sizes[s]} blocks "
                                             f"in one input and {n} in {v!r}")
                        sizes[s] = max(sizes.get(s, 1), n)
        self.symbol_blocks = sizes
        missing = [s for s in self.out_ind if s not in sizes]
        if missing:
            raise ValueError(f"blockwise: output index {missing} appears in no input; give "
                             "it in new_axes")
        self.out_numblocks = tuple(sizes[s] for s in self.out_ind)
        self.contracted = tuple(dict.fromkeys(
            s for _, ind in self.args if ind is not None for s in ind if s not in self.out_ind))

    def __repr__(self) -> str:
        fname = getattr(self.func, "__name__", type(self.func).__name__)
        return f"Blockwise<{self.name}: {fname}, blocks={self.out_numblocks}>"

    # --- Layer interface -------------------------------------------------------------------
    def output_keys(self) -> BlockKeys:
        return BlockKeys(self.name, self.out_numblocks)

    def __len__(self) -> int:
        return math.prod(self.out_numblocks)

    def __contains__(self, key: object) -> bool:
        return key in self.output_keys()

    def _materialize(self) -> dict[Key, Any]:
        return dict(self._tasks(iter(self.output_keys())))

    def cull(self, keys: set) -> tuple[Layer, set]:
        whole = self.cull_whole(keys)
        if whole is not None:
            return whole
        tasks = dict(self._tasks(keys))
        external: set = set()
        for t in tasks.values():
            external.update(t.dependencies)
        return MaterializedLayer(tasks), external

    def input_names(self) -> set:
        return {v for v, ind in self.args if type(v) is str and ind is not None}

    def grid_plan(self) -> GridPlan:
        """The keys each block reads, as a :class:`GridPlan` (built once)."""
        if self._grid is None:
            self._grid, self._arg_plans = self._plan()
        return self._grid

    def task_for(self, key: Key) -> Task:
        return next(self._tasks((key,)))[1]

    # --- task generation -------------------------------------------------------------------
    def _plan(self) -> tuple[GridPlan, tuple]:
        """The grid of key-reading arguments, and per argument how to build its value:
        ``(0, literal)``, ``(1, PerBlock func, output positions)``, ``(2,)`` one key,
        ``(3, contracted axes)`` nested keys."""
        out_pos = {s: i for i, s in enumerate(self.out_ind)}
        inputs = []
        plans = []
        for v, ind in self.args:
            if ind is None:
                plans.append((0, v))
            elif type(v) is PerBlock:
                plans.append((1, v.func, tuple(out_pos.get(s, -1) for s in ind)))
            else:
                nb = self.numblocks[v]
                free = [(i, s) for i, s in enumerate(ind) if s not in out_pos]
                # A contracted symbol read twice takes the value of its last level.
                last_level = {s: lv for lv, (_, s) in enumerate(free)}
                axes = tuple(-1 if n == 1 else out_pos[s] if s in out_pos
                             else -2 - last_level[s] for s, n in zip(ind, nb))
                inputs.append((v, axes, tuple(nb[i] for i, _ in free)))
                plans.append((3, [i for i, _ in free]) if free else (2,))
        return GridPlan(self.name, self.out_numblocks, inputs), tuple(plans)

    def _tasks(self, keys: Iterable[tuple]) -> Iterator[tuple[Key, Task]]:
        grid = self.grid_plan()
        plans = self._arg_plans
        func, kwargs, concatenate = self.func, self.kwargs, self.concatenate
        input_keys = grid.input_keys
        for key in keys:
            coords = key[1:]
            read = iter(input_keys(coords))
            args = []
            for plan in plans:
                kind = plan[0]
                if kind == 0:
                    args.append(plan[1])
                elif kind == 2:
                    args.append(Ref(next(read)))
                elif kind == 1:
                    args.append(plan[1](tuple(coords[p] if p >= 0 else 0 for p in plan[2])))
                else:
                    nested = _refs(next(read))
                    args.append(Task(None, concatenate_nested, nested, plan[1])
                                if concatenate else nested)
            yield key, Task(key, func, *args, **kwargs)


def _refs(nested: Any) -> Any:
    if type(nested) is list:
        return [_refs(n) for n in nested]
    return Ref(nested)


def _is_simple(layer: Blockwise) -> bool:
    """Whether ``layer`` can be folded into a consumer: one input block per output block."""
    return not layer.contracted


def _no_per_block(layer: Blockwise) -> bool:
    # A per-block argument reads output block numbers, which a broadcast input must not see.
    return not any(type(v) is PerBlock for v, _ in layer.args)


def fuse_blockwise(outer: Blockwise, layers: Mapping[str, Any]) -> Blockwise:
    """Fold the blockwise layers that feed ``outer`` (looked up in ``layers``) into it.

    The result computes the same blocks under the same keys but reads the inner layers'
    inputs directly, so the inner layers are culled away before execution.
    """
    if outer.concatenate and outer.contracted:
        return outer
    new_args: list = []
    seen: dict = {}
    numblocks: dict = {}

    def add_leaf(v: Any, ind: tuple | None, nb: tuple | None) -> int:
        if type(v) is str and ind is not None:
            k = (v, ind)
            if k in seen:
                return seen[k]
            seen[k] = len(new_args)
            numblocks[v] = nb
        new_args.append((v, ind))
        return len(new_args) - 1

    plan: list = []
    fused_any = False
    depth = 1
    new_axes = dict(outer.new_axes)
    out_syms = set(outer.out_ind)
    for v, ind in outer.args:
        inner = layers.get(v) if type(v) is str and ind is not None else None
        if (type(inner) is Blockwise and _is_simple(inner) and all(s in out_syms for s in ind)
                and len(set(ind)) == len(ind) and len(ind) == len(inner.out_ind)
                and len(new_args) + len(inner.args) <= MAX_FUSED_INPUTS
                and inner.depth < MAX_FUSED_DEPTH
                and ((_no_per_block(inner) and not inner.new_axes) or inner.out_numblocks
                     == tuple(outer.symbol_blocks[s] for s in ind))):
            rename = dict(zip(inner.out_ind, ind))
            for s, n in inner.new_axes.items():
                new_axes[rename[s]] = n
            positions = []
            for iv, iind in inner.args:
                rind = tuple(rename[s] for s in iind) if iind is not None else None
                positions.append(add_leaf(iv, rind, inner.numblocks.get(iv) if type(iv) is str
                                            else None))
            plan.append(_Compose(inner.func, inner.kwargs, tuple(positions)))
            depth = max(depth, inner.depth + 1)
            fused_any = True
        else:
            plan.append(add_leaf(v, ind, outer.numblocks.get(v) if type(v) is str else None))
    if not fused_any:
        return outer
    func = _Compose(outer.func, outer.kwargs, tuple(plan))
    fused = Blockwise(outer.name, outer.out_ind, func, new_args, numblocks,
                      new_axes=new_axes, concatenate=outer.concatenate)
    fused.depth = depth
    return fused


def fuse_graph(graph: Any, output: str) -> Any:
    """``graph`` with every blockwise layer folded into its consumer when that is safe.

    A blockwise layer is folded when exactly one other layer reads it, that layer is
    blockwise and reads it through one index pattern, and it is not ``output``: then
    folding never computes a block twice. Layers are visited inputs first, so chains
    fold all the way into their last layer.
    """
    from graphengine.graph.layers import HighLevelGraph
    from graphengine.graph.toposort import toposort

    layers = dict(graph.layers)
    deps = {k: set(v) for k, v in graph.layer_dependencies.items()}
    if not any(type(v) is Blockwise for v in layers.values()):
        return graph
    readers: dict = {}
    for name, ds in deps.items():
        for d in ds:
            readers.setdefault(d, set()).add(name)
    changed = False
    for name in toposort(layers, deps):
        layer = layers[name]
        if type(layer) is not Blockwise:
            continue
        patterns: dict = {}
        for v, ind in layer.args:
            if type(v) is str and ind is not None:
                patterns.setdefault(v, set()).add(ind)
        candidates = {v: layers[v] for v, inds in patterns.items()
                      if v != output and v in layers and type(layers[v]) is Blockwise
                      and len(inds) == 1 and readers.get(v, set()) == {name}}
        if not candidates:
            continue
        fused = fuse_blockwise(layer, candidates)
        if fused is layer:
            continue
        absorbed = {v for v in candidates if v not in fused.input_names()}
        layers[name] = fused
        for v in absorbed:
            deps[name] |= deps.get(v, set())
            for d in deps.get(v, set()):
                readers.setdefault(d, set()).add(name)
        changed = True
    if not changed:
        return graph
    for name in layers:
        deps[name].discard(name)
    return HighLevelGraph(layers, deps)
