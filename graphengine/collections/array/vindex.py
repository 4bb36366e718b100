"""Pointwise ("fancy") indexing with NumPy's rules: ``x.vindex[...]``, and ``x[...]`` with
several NumPy index arrays, boolean masks over some of the axes or boolean scalars.

The index arrays, together with the ints and boolean scalars among the indices (NumPy
counts those as index arrays too), broadcast to one shape. That shape replaces the indexed
axes when the array indices are adjacent, and comes first when a slice, ``None`` or
Ellipsis separates them; sliced axes keep their order. A boolean mask counts as the
integer arrays of its ``nonzero()``; a boolean scalar as a new axis of length one indexed
by ``[0]`` (``True``) or ``[]`` (``False``).

Each output block holds every broadcast position and one block of each sliced axis. It is
gathered from the input blocks that hold its points, one task per input block touched, so
planning costs O(points + blocks touched).

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(24).reshape(2, 3, 4), chunks=2)
    >>> x.vindex[[0, 1], :, [1, 2]].compute(scheduler="sync").tolist()
    [[1, 5, 9], [14, 18, 22]]
    >>> x.vindex[:, [0, 1], 3].shape, x.vindex[1, 2, 3].compute(scheduler="sync")
    ((2, 2), np.int64(23))
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, is_unknown
from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["VIndex", "pointwise"]


class VIndex:
    """``x.vindex[i0, i1, ...]``: NumPy's fancy indexing, with integer arrays (or lists)
    applied pointwise after broadcasting together, next to ints, slices, ``None``,
    Ellipsis and boolean masks."""

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, index: Any) -> Array:
        """``x.vindex[index]``, as NumPy's ``a[index]``.

        Raises
        ------
        IndexError
            As NumPy: out-of-bounds indices, too many indices, index arrays whose shapes do
            not broadcast, or non-integer arrays.
        NotImplementedError
            For lazy (graphengine) index arrays.
        """
        from graphengine.collections.array.slicing import getitem, normalize_index
        x = self.array
        idx = normalize_index(index, x.shape)
        if not any(_is_advanced(v) for v in idx):
            return getitem(x, idx)  # only slices and None: basic indexing
        return pointwise(x, idx)


def _is_advanced(v: Any) -> bool:
    # Ints and boolean scalars are advanced indices when arrays are present (NumPy's rule).
    return isinstance(v, (bool, int, np.ndarray))


def pointwise(x: Array, idx: tuple) -> Array:
    """``x[idx]`` for a normalized index (see :func:`.slicing.normalize_index`: one entry
    per axis plus Nones; ints and integer arrays in bounds and non-negative, boolean
    scalars as Python bools, multi-dimensional masks as boolean arrays) with NumPy's
    advanced-indexing rules (see the module docstring).

    Raises
    ------
    IndexError
        When the index arrays do not broadcast together (NumPy's message).
    ValueError
        When an indexed axis has unknown chunk lengths.
    NotImplementedError
        For lazy index arrays.
    """
    from graphengine.collections.array.slicing import _basic
    basic: list = []
    adv: dict[int, np.ndarray] = {}  # axis of the basic-indexed array -> index array
    for v in idx:
        if isinstance(v, Array):
            raise NotImplementedError("lazy index arrays cannot be combined with other index "
                                      "arrays; compute them first")
        if v is None or isinstance(v, slice):
            basic.append(v)
        elif isinstance(v, bool):
            # A new axis of length one, of which True keeps the one element, False none.
            basic.append(None)
            adv[len(basic) - 1] = np.zeros(int(v), dtype=np.intp)
        elif isinstance(v, np.ndarray) and v.dtype == bool:
            for part in np.nonzero(v):
                basic.append(slice(None))
                adv[len(basic) - 1] = part
        else:
            basic.append(slice(None))
            adv[len(basic) - 1] = np.asarray(v, dtype=np.intp)
    y = _basic(x, tuple(basic))
    axes = sorted(adv)
    arrs = [adv[a] for a in axes]
    try:
        bshape = np.broadcast_shapes(*(v.shape for v in arrs))
    except ValueError:  # NumPy's error for pointwise indices that do not broadcast
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         "with shapes " + " ".join(str(v.shape) for v in arrs)) from None
    for a in axes:
        if any(is_unknown(c) for c in y.chunks[a]):
            raise ValueError(f"cannot index axis {a} of unknown length with an array; call "
                             "compute_chunk_sizes() first")
    rest = [a for a in range(y.ndim) if a not in adv]
    # NumPy puts the broadcast dims where the indexed axes were only if those are adjacent.
    adjacent = axes == list(range(axes[0], axes[-1] + 1))
    where = axes[0] if adjacent else 0
    flat = [np.broadcast_to(v, bshape).ravel() for v in arrs]
    offs = [np.asarray(chunk_offsets(y.chunks[a])) for a in axes]
    groups = _group_by_block(flat, offs, tuple(y.numblocks[a] for a in axes))
    name = new_name("vindex", y.name, axes, arrs)
    tasks: dict = {}
    for rc in itertools.product(*(range(y.numblocks[a]) for a in rest)):
        parts, positions = [], []
        for i, (bc, pts) in enumerate(groups):
            coords = [0] * y.ndim
            for a, b in zip(axes, bc):
                coords[a] = b
            for a, b in zip(rest, rc):
                coords[a] = b
            local = tuple(f[pts] - o[b] for f, o, b in zip(flat, offs, bc))
            pkey = (name + "-part", i, *rc)
            tasks[pkey] = Task(pkey, _gather_points, Ref((y.name, *coords)), tuple(axes), local)
            parts.append(Ref(pkey))
            positions.append(pts)
        key = (name, *rc[:where], *(0,) * len(bshape), *rc[where:])
        tasks[key] = Task(key, _assemble, bshape, where, parts, positions)
    rest_chunks = [y.chunks[a] for a in rest]
    chunks = tuple(rest_chunks[:where] + [(n,) for n in bshape] + rest_chunks[where:])
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[y])
    return Array(graph, name, chunks, y.dtype)


def _group_by_block(flat: list, offs: list, numblocks: tuple) -> list:
    """``[(block coords along the indexed axes, point positions)]``, sorted by block, for
    the flattened points ``flat``; one empty group when there are no points (so that the
    output block still gets its dtype and sliced shape from an input block)."""
    n = len(flat[0])
    if not n:
        return [((0,) * len(flat), np.empty(0, dtype=np.intp))]
    # side="right" skips empty blocks: a point at an offset belongs to the next non-empty one.
    blk = [np.searchsorted(o, f, side="right") - 1 for o, f in zip(offs, flat)]
    gid = np.ravel_multi_index(tuple(blk), numblocks)
    order = np.argsort(gid, kind="stable")
    ids, starts = np.unique(gid[order], return_index=True)
    ends = list(starts[1:]) + [n]
    return [(tuple(int(c) for c in np.unravel_index(g, numblocks)), order[s:e])
            for g, s, e in zip(ids, starts, ends)]


def _gather_points(block: np.ndarray, axes: tuple, local: tuple) -> np.ndarray:
    """The points ``local`` (one array per axis in ``axes``) of ``block``: shape
    ``(points, *other axes)``."""
    return np.moveaxis(block, axes, range(len(axes)))[local]


def _assemble(bshape: tuple, where: int, parts: list, positions: list) -> Any:
    """Put the gathered ``parts`` at their flat ``positions``, shape the broadcast dims and
    move them to axis ``where``; a 0-d result is a NumPy scalar, as NumPy's ``a[1, 2]``."""
    first = parts[0]
    if len(parts) == 1:  # one block holds every point, already in order
        out = first
    else:
        out = np.empty((math.prod(bshape),) + first.shape[1:], dtype=first.dtype)
        for part, pos in zip(parts, positions):
            out[pos] = part
    out = out.reshape(tuple(bshape) + first.shape[1:])
    if where:
        out = np.moveaxis(out, range(len(bshape)), range(where, where + len(bshape)))
    return out if out.ndim else out[()]
