"""Slicing pushed into the layer that makes the blocks: ``zeros(...)[::2]``,
``random(...)[:10]`` or ``from_array(h5py_dataset)[:100]`` makes or reads only the part of
each block it keeps.

A creation function whose blocks are computed from their position (constants, random
draws) or read from one stored object (``from_array``) can register a *subset* function: ``subset(*block_args, local)`` must return
exactly ``func(*block_args)[local]``, without making what ``local`` drops. Basic
indexing of such an array then builds a new source layer instead of a getitem layer
over the old one: each output block calls ``subset`` with the one input block's
arguments and its local index. Values are bit-for-bit those of slicing the full block;
only time and memory change.

    >>> import graphengine.array as ga
    >>> x = ga.ones((6, 6), chunks=3)[::2, 1]
    >>> x.compute(scheduler="sync").tolist(), len(dict(x.__graphengine_graph__()))
    ([1.0, 1.0, 1.0], 2)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.layer import Blockwise, PerBlock
from graphengine.graph.layers import HighLevelGraph

__all__ = ["register_block_subset", "slice_source"]

#: ``block function -> subset function`` (see the module docstring).
_SUBSETS: dict[Callable, Callable] = {}


def register_block_subset(func: Callable, subset: Callable) -> None:
    """Declare that ``subset(*args, local)`` equals ``func(*args)[local]``."""
    _SUBSETS[func] = subset


class _OutCoords:
    """Per-block: the output block's own coordinates."""

    __slots__ = ()

    def __call__(self, coords: tuple) -> tuple:
        return coords

    def __reduce__(self):
        return (_OutCoords, ())


class _SubsetBlock:
    """One output block of a sliced source: the input block's arguments and the local
    index, from the output block's coordinates (one plan entry per index entry)."""

    __slots__ = ("subset", "args", "symbols", "per_entry", "kwargs")

    def __init__(self, subset: Callable, args: tuple, symbols: tuple, per_entry: tuple,
                 kwargs: dict):
        self.subset, self.args, self.symbols = subset, args, symbols
        self.per_entry, self.kwargs = per_entry, kwargs

    def __call__(self, *leading: Any) -> Any:
        # The values of the source's whole-key inputs (a from_array's stored object),
        # then this block's coordinates.
        out_coords = leading[-1]
        inputs = iter(leading[:-1])
        in_coords, local = [], []
        k = 0
        for plan, has_axis in self.per_entry:
            if has_axis:
                b, loc = plan[out_coords[k]]
                k += 1
            else:  # an integer index: no output axis, always its one block
                b, loc = plan[0]
            if b is not None:
                in_coords.append(b)
            local.append(loc)
        at = dict(zip(self.symbols, in_coords))
        values = [v.func(tuple(at[s] for s in ind)) if type(v) is PerBlock
                  else next(inputs) if ind == () else v
                  for v, ind in self.args]
        return self.subset(*values, tuple(local), **self.kwargs)

    def __reduce__(self):
        return (_SubsetBlock, (self.subset, self.args, self.symbols, self.per_entry,
                               self.kwargs))

    @property
    def __name__(self) -> str:
        return getattr(self.subset, "__name__", "subset")


def slice_source(x: Array, per_entry: list, name: str, out_chunks: tuple) -> Array | None:
    """``x`` basic-indexed by ``per_entry`` as a new source layer, or None when ``x`` is
    not a registered source (then the caller builds an ordinary getitem layer).

    ``per_entry`` holds, per index entry, ``(plan, out_chunks_or_None)``: ``plan`` lists
    ``(input block or None, local index)`` per output block along that entry.
    """
    graph = x._graph
    layer = graph.layers.get(x.name)
    if type(layer) is not Blockwise or not out_chunks:
        return None
    subset = _SUBSETS.get(layer.func)
    if subset is None:
        return None
    # Inputs read whole (ind ``()``: one key, like a from_array's stored object) stay
    # inputs of the new layer; a source reading blocks of another array is no source.
    whole = [v for v, ind in layer.args if ind == () and type(v) is str]
    if len(whole) != len(layer.input_names()):
        return None
    entries = tuple((tuple(plan), c is not None) for plan, c in per_entry)
    call = _SubsetBlock(subset, layer.args, layer.out_ind, entries, layer.kwargs)
    ind = tuple(range(len(out_chunks)))
    new = Blockwise(name, ind, call,
                    [(v, ()) for v in whole] + [(PerBlock(_OutCoords()), ind)],
                    {v: () for v in whole},
                    new_axes={i: len(c) for i, c in enumerate(out_chunks)})
    if not whole:
        return Array(layer_graph(name, new), name, out_chunks, x.dtype)
    layers = {v: graph.layers[v] for v in whole}
    layers[name] = new
    deps = {v: set() for v in whole}
    deps[name] = set(whole)
    return Array(HighLevelGraph(layers, deps), name, out_chunks, x.dtype)
