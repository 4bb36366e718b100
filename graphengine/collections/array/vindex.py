"""Pointwise ("fancy") indexing with NumPy's rules: ``x.vindex[...]``, and ``x[...]`` with
several NumPy index arrays, boolean masks over some of the axes or boolean scalars.

The index arrays, together with the ints and boolean scalars among the indices (NumPy
counts those as index arrays too), broadcast to one shape. That shape replaces the indexed
axes when the array indices are adjacent, and comes first when a slice, ``None`` or
Ellipsis separates them; sliced axes keep their order. A boolean mask counts as the
integer arrays of its ``nonzero()``; a boolean scalar as a new axis of length one indexed
by ``[0]`` (``True``) or ``[]`` (``False``).

With NumPy index arrays, each output block holds every broadcast position and one block
of each sliced axis. It is gathered from the input blocks that hold its points, one task
per input block touched, so planning costs O(points + blocks touched).

Lazy (graphengine) integer index arrays, mixed with NumPy ones, lists, ints and slices,
follow the same rules; their values are only known when computed. They are broadcast
together lazily (their blocks aligned); each block of that broadcast index, with one block
of each sliced axis, is one output block. It is assembled from every input block along the
indexed axes (each contributing the points that fall in it), so planning costs
O(index blocks x input blocks) rather than O(points). The index arrays' chunk sizes must
be known; negative indices count from the end and out-of-bounds ones raise NumPy's
IndexError when computed.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(24).reshape(2, 3, 4), chunks=2)
    >>> x.vindex[[0, 1], :, [1, 2]].compute(scheduler="sync").tolist()
    [[1, 5, 9], [14, 18, 22]]
    >>> x.vindex[:, [0, 1], 3].shape, x.vindex[1, 2, 3].compute(scheduler="sync")
    ((2, 2), np.int64(23))
    >>> i = ga.from_array(np.array([[1, 0], [-1, 0]]), chunks=1)
    >>> x.vindex[i, 2, [3, -1]].compute(scheduler="sync").tolist()
    [[23, 11], [23, 11]]
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

__all__ = ["VIndex", "ellipsis_splits", "in_bounds", "pointwise"]


class VIndex:
    """``x.vindex[i0, i1, ...]``: NumPy's fancy indexing, with integer arrays (NumPy,
    lists or lazy graphengine Arrays) applied pointwise after broadcasting together, next
    to ints, slices, ``None``, Ellipsis and (NumPy) boolean masks."""

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, index: Any) -> Array:
        """``x.vindex[index]``, as NumPy's ``a[index]``.

        Parameters
        ----------
        index : int, slice, None, Ellipsis, array_like or Array, or a tuple of them
            Integer index arrays may be NumPy arrays, lists or graphengine Arrays (with
            known chunk sizes, except for one 1-d lazy array alone, taken as by
            ``x[i]``); a lone lazy boolean Array is a mask, as in ``x[mask]``.

        Returns
        -------
        Array
            NumPy's ``a[index]`` shape: the index arrays' broadcast shape in place of the
            indexed axes (first when they are not adjacent), then the sliced axes.

        Raises
        ------
        IndexError
            As NumPy: out-of-bounds indices (for lazy index arrays when computed), too
            many indices, index arrays whose shapes do not broadcast, or non-integer
            arrays.
        ValueError
            For a lazy index array with unknown chunk sizes, or an axis of unknown length
            indexed by an array (call ``compute_chunk_sizes()`` first).
        NotImplementedError
            For a lazy boolean mask together with other index arrays.
        """
        from graphengine.collections.array.slicing import getitem, normalize_index
        x = self.array
        idx = normalize_index(index, x.shape)
        adv = [v for v in idx if _is_advanced(v)]
        if not adv:
            return getitem(x, idx)  # slices, None, a lazy mask: basic indexing or x[mask]
        if len(adv) == 1 and isinstance(adv[0], Array) and adv[0].ndim == 1 and any(
                is_unknown(c) for c in adv[0].chunks[0]):
            # One 1-d lazy array of unknown length, alone: x[i] takes it (whole axis per
            # output block), giving unknown chunks, as it always has.
            return getitem(x, idx)
        return pointwise(x, idx, ellipsis_splits(index))


def _is_advanced(v: Any) -> bool:
    # Ints and boolean scalars are advanced indices when arrays are present (NumPy's rule).
    return isinstance(v, (bool, int, np.ndarray)) or (isinstance(v, Array) and v.dtype != bool)


def ellipsis_splits(index: Any) -> bool:
    """Whether an Ellipsis in the raw ``index`` stands between two advanced indices
    (arrays, lists, boolean scalars, ints): NumPy then puts the broadcast dimensions first, even
    when the Ellipsis covers no axis (``a[:, [0, 1], ..., 0]`` on 3-d ``a``)."""
    if not isinstance(index, tuple) or Ellipsis not in [v for v in index if v is Ellipsis]:
        return False
    at = next(i for i, v in enumerate(index) if v is Ellipsis)

    def advanced(v: Any) -> bool:
        return isinstance(v, (int, np.integer, np.bool_, list, np.ndarray, Array))

    if not any(isinstance(v, (bool, np.bool_, list, np.ndarray, Array)) for v in index):
        return False  # ints alone are basic indices
    return any(advanced(v) for v in index[:at]) and any(advanced(v) for v in index[at + 1:])


def pointwise(x: Array, idx: tuple, split: bool = False) -> Array:
    """``x[idx]`` for a normalized index (see :func:`.slicing.normalize_index`: one entry
    per axis plus Nones; ints and NumPy integer arrays in bounds and non-negative, lazy
    integer Arrays as given, boolean scalars as Python bools, multi-dimensional masks as
    boolean arrays) with NumPy's advanced-indexing rules (see the module docstring).
    ``split`` (see :func:`ellipsis_splits`) puts the broadcast dimensions first.

    Raises
    ------
    IndexError
        When the index arrays do not broadcast together (NumPy's message), or, when
        computed, for an out-of-bounds value of a lazy index array (NumPy's message).
    ValueError
        When an indexed axis, or a lazy index array, has unknown chunk lengths.
    NotImplementedError
        For lazy boolean masks (``x[mask]`` takes one alone).
    """
    from graphengine.collections.array.slicing import _basic
    basic: list = []
    adv: dict[int, Any] = {}  # axis of the basic-indexed array -> index array
    x_axis: dict[int, int] = {}  # the same axis of x, for out-of-bounds messages
    for v in idx:
        if isinstance(v, Array):
            if v.dtype == bool:
                raise NotImplementedError("a lazy boolean index cannot be combined with other "
                                          "index arrays; compute it first, or index by it "
                                          "alone (x[mask])")
            if any(is_unknown(c) for cs in v.chunks for c in cs):
                raise ValueError(f"cannot index with a lazy array of unknown chunk sizes "
                                 f"{v.chunks}; call compute_chunk_sizes() on it first")
            basic.append(slice(None))
            adv[len(basic) - 1] = v
            x_axis[len(basic) - 1] = sum(1 for b in basic if b is not None) - 1
        elif v is None or isinstance(v, slice):
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
    adjacent = not split and axes == list(range(axes[0], axes[-1] + 1))
    where = axes[0] if adjacent else 0
    if any(isinstance(v, Array) for v in arrs):
        return _lazy_pointwise(y, axes, arrs, [x_axis.get(a) for a in axes], bshape, rest,
                               where)
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


# --- lazy index arrays ----------------------------------------------------------------------

def in_bounds(block: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Integer indices into ``axis`` of length ``n`` (a NumPy index, or a block of a lazy
    one) as non-negative ``intp``; NumPy's IndexError for the first out-of-bounds one."""
    bad = (block >= n) | (block < -n)
    if bad.any():
        value = block.flat[np.flatnonzero(bad)[0]]
        raise IndexError(f"index {value} is out of bounds for axis {axis} with size {n}")
    v = block.astype(np.intp)  # first: int8 -1 + 300 would overflow
    return np.where(v < 0, v + n, v)


def _locate(lo: tuple, hi: tuple, *index: np.ndarray) -> tuple:
    """For one block of each (broadcast) index array: the flat positions of the points in
    the input block spanning ``lo[k] <= index[k] < hi[k]``, and their local indices."""
    flat = [np.ravel(v) for v in index]
    hit = np.ones(flat[0].shape, dtype=bool)
    for f, a, b in zip(flat, lo, hi):
        hit &= (f >= a) & (f < b)
    pos = np.flatnonzero(hit)
    return pos, tuple(f[pos] - a for f, a in zip(flat, lo))


def _gather_located(block: np.ndarray, axes: tuple, located: tuple) -> tuple:
    pos, local = located
    return pos, _gather_points(block, axes, local)


def _assemble_located(ishape: tuple, where: int, parts: list) -> Any:
    # Every point is in bounds (checked first), so one part holds them all, in order.
    return _assemble(ishape, where, [p[1] for p in parts], [p[0] for p in parts])


def _lazy_pointwise(y: Array, axes: list, arrs: list, x_axes: list, bshape: tuple,
                    rest: list, where: int) -> Array:
    """:func:`pointwise` when some index arrays are lazy: the index arrays (bounds-checked
    and made non-negative when computed) are broadcast to ``bshape`` with aligned blocks;
    each block of them is located in every input block along ``axes``, each input block
    gives its points, and one task per output block puts them in place."""
    from graphengine.collections.array.creation import from_array
    from graphengine.collections.array.elementwise import unify_chunks
    from graphengine.collections.array.shape import broadcast_to
    index = []
    for a, xa, v in zip(axes, x_axes, arrs):
        if isinstance(v, Array):
            v = v.map_blocks(in_bounds, y.shape[a], xa, dtype=np.intp)
        else:  # NumPy: already in bounds and non-negative
            v = from_array(v, chunks=-1)
        index.append(broadcast_to(v, bshape))
    index, _ = unify_chunks(index, [tuple(range(len(bshape)))] * len(index))
    ichunks = index[0].chunks
    offs = [chunk_offsets(y.chunks[a]) for a in axes]
    # Empty input blocks hold no points; keep one block when all are (for the dtype and
    # the sliced shape of an empty result).
    spans = [bc for bc in itertools.product(*(range(y.numblocks[a]) for a in axes))
             if all(o[b] < o[b + 1] for o, b in zip(offs, bc))] or [(0,) * len(axes)]
    name = new_name("vindex-lazy", y.name, axes, [v.name for v in index])
    tasks: dict = {}
    for ic in itertools.product(*(range(len(c)) for c in ichunks)):
        ishape = tuple(c[i] for c, i in zip(ichunks, ic))
        refs = [Ref((v.name, *ic)) for v in index]
        for j, bc in enumerate(spans):
            lkey = (name + "-locate", *ic, j)
            tasks[lkey] = Task(lkey, _locate, tuple(o[b] for o, b in zip(offs, bc)),
                               tuple(o[b + 1] for o, b in zip(offs, bc)), *refs)
        for rc in itertools.product(*(range(y.numblocks[a]) for a in rest)):
            parts = []
            for j, bc in enumerate(spans):
                coords = [0] * y.ndim
                for a, b in zip(axes, bc):
                    coords[a] = b
                for a, b in zip(rest, rc):
                    coords[a] = b
                pkey = (name + "-part", *ic, *rc, j)
                tasks[pkey] = Task(pkey, _gather_located, Ref((y.name, *coords)),
                                   tuple(axes), Ref((name + "-locate", *ic, j)))
                parts.append(Ref(pkey))
            key = (name, *rc[:where], *ic, *rc[where:])
            tasks[key] = Task(key, _assemble_located, ishape, where, parts)
    rest_chunks = [y.chunks[a] for a in rest]
    chunks = tuple(rest_chunks[:where] + list(ichunks) + rest_chunks[where:])
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[y, *index])
    return Array(graph, name, chunks, y.dtype)
