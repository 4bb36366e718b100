"""Indexing: ``x[...]`` with ints, slices (any step), None, Ellipsis, integer and boolean
arrays (NumPy or lazy masks), boolean scalars, and ``x.blocks[...]`` (assignment is in
:mod:`.setitem`; several index arrays, masks over some axes, boolean scalars and
``x.vindex[...]`` are in :mod:`.vindex`, re-exported here).

Basic indexing maps each output block to one input block and a local index, computed per
axis, so it costs O(blocks along each axis) to plan. NumPy integer arrays gather from the
blocks they touch; a lazy integer array reads the whole indexed axis per output block. A
lazy boolean mask gives blocks of unknown length (``nan`` chunks) until
:meth:`Array.compute_chunk_sizes`.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(10), chunks=3)
    >>> x[::-3].compute(scheduler="sync").tolist(), x[[1, 8, 2]].compute(scheduler="sync").tolist()
    ([9, 6, 3, 0], [1, 8, 2])
"""
from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from numbers import Integral
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, is_unknown
from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.collections.array.sliced_sources import slice_source
from graphengine.collections.array.vindex import VIndex, ellipsis_splits, in_bounds, pointwise
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["getitem", "normalize_index", "VIndex", "blocks_getitem",
           "compute_chunk_sizes", "take"]


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))


def _is_bool_scalar(v: Any) -> bool:
    """``True``, ``np.True_`` or a 0-d boolean NumPy array: NumPy reads these as a new
    axis of length 1 or 0, using up no axis of the array."""
    return isinstance(v, (bool, np.bool_)) or (
        isinstance(v, np.ndarray) and v.dtype == bool and v.ndim == 0)


def _is_bool_list(v: Any) -> bool:
    """A (nested) Python list of bools only: a boolean mask, as NumPy reads it."""
    if isinstance(v, list):
        return bool(v) and all(_is_bool_list(e) for e in v)
    return isinstance(v, (bool, np.bool_))


def _known_length(shape: tuple, axis: int, what: str) -> int:
    n = shape[axis]
    if is_unknown(n):
        raise ValueError(f"cannot index axis {axis} of unknown length with {what}; call "
                         "compute_chunk_sizes() first")
    return n


def normalize_index(index: Any, shape: tuple) -> tuple:
    """``index`` as a tuple with Ellipsis expanded and one entry per axis (plus Nones).

    Ints are checked against the axis length; lists become NumPy arrays; boolean NumPy
    arrays over one axis become integer arrays; boolean scalars (and 0-d boolean arrays)
    become Python bools, using up no axis; multi-dimensional boolean masks are kept and
    checked against the axes they cover.

    Raises
    ------
    IndexError
        For too many indices, more than one Ellipsis, or an out-of-bounds int, with
        NumPy's wording.
    ValueError
        For an int or integer array on an axis of unknown length (after a lazy mask).
    """
    if not isinstance(index, tuple):
        index = (index,)
    ndim = len(shape)
    n_ellipsis = sum(1 for v in index if v is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = 0
    for v in index:
        if v is None or v is Ellipsis or _is_bool_scalar(v):
            continue
        if isinstance(v, (np.ndarray, Array)) and v.dtype == bool:
            used += max(v.ndim, 1)
        else:
            used += 1
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{used} were indexed")
    out: list = []
    for v in index:
        if v is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(v)
    if not n_ellipsis:
        out.extend([slice(None)] * (ndim - used))
    result = []
    axis = 0
    for v in out:
        if v is None:
            result.append(None)
            continue
        if isinstance(v, list):
            v = np.asarray(v)
            if v.size == 0:
                v = v.astype(np.intp)
        if isinstance(v, np.generic) and not isinstance(v, np.bool_):
            v = v.item()
        if _is_bool_scalar(v):
            result.append(bool(v))
            continue
        if isinstance(v, Array):
            if v.dtype != bool and not np.issubdtype(v.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            if v.dtype == bool:
                _check_mask_shape(v.shape, shape, axis)
            result.append(v)
            axis += max(v.ndim, 1) if v.dtype == bool else 1
            continue
        if isinstance(v, np.ndarray):
            if v.dtype == bool:
                _check_mask_shape(v.shape, shape, axis)
                if v.ndim == 1:
                    v = np.flatnonzero(v)
                else:
                    result.append(v)
                    axis += v.ndim
                    continue
            elif not np.issubdtype(v.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            result.append(in_bounds(v, _known_length(shape, axis, "an integer array"), axis))
            axis += 1
            continue
        if _is_int(v):
            n = _known_length(shape, axis, "an integer")
            if not -n <= v < n:
                raise IndexError(f"index {v} is out of bounds for axis {axis} with size {n}")
            result.append(int(v) + (n if v < 0 else 0))
            axis += 1
            continue
        if isinstance(v, slice):
            result.append(v)
            axis += 1
            continue
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis "
                         f"(`None`) and integer or boolean arrays are valid indices, not "
                         f"{type(v).__name__}")
    return tuple(result)


def _check_mask_shape(mask_shape: tuple, shape: tuple, axis: int) -> None:
    """NumPy's IndexError for a boolean mask that does not match the axes it covers
    (axes of unknown length are checked when computed)."""
    for d, m in enumerate(mask_shape):
        n = shape[axis + d]
        if not is_unknown(n) and not is_unknown(m) and m != n:
            raise IndexError(f"boolean index did not match indexed array along axis "
                             f"{axis + d}; size of axis is {n} but size of corresponding "
                             f"boolean axis is {m}")


# --- basic indexing -----------------------------------------------------------------------

def _slice_plan(s: slice, chunks: tuple) -> tuple[list, tuple]:
    """For a slice along one axis: ``[(in_block, local_slice)]`` per output block, and the
    output chunks."""
    n = sum(chunks)
    start, stop, step = s.indices(n)
    offs = chunk_offsets(chunks)
    plan, out = [], []
    if step > 0:
        for b in range(len(chunks)):
            lo, hi = offs[b], offs[b + 1]
            first_pos = max(start, lo)
            if first_pos >= min(stop, hi):
                continue
            first = start + math.ceil((first_pos - start) / step) * step
            end = min(stop, hi)
            if first >= end:
                continue
            count = len(range(first, end, step))
            plan.append((b, slice(first - lo, end - lo, step)))
            out.append(count)
    else:
        for b in reversed(range(len(chunks))):
            lo, hi = offs[b], offs[b + 1]
            top = min(start, hi - 1)
            if top < lo or top <= stop:
                continue
            first = start - math.ceil((start - top) / -step) * -step
            bottom = max(stop + 1, lo)
            if first < bottom:
                continue
            count = len(range(first, bottom - 1, step))
            local_stop = bottom - 1 - lo
            plan.append((b, slice(first - lo, local_stop if local_stop >= 0 else None, step)))
            out.append(count)
    if not plan:
        plan, out = [(0, slice(0, 0))], [0]
    return plan, tuple(out)


def _getitem_block(block: np.ndarray, index: tuple) -> np.ndarray:
    return block[index]


def _basic(x: Array, index: tuple) -> Array:
    """Ints, slices and Nones only (one entry per axis plus Nones)."""
    if all(isinstance(v, slice) and v == slice(None) for v in index) and len(index) == x.ndim:
        return x
    axis = 0
    per_entry = []  # per index entry: list of (in_block or None, local) and out chunks
    for v in index:
        if v is None:
            per_entry.append(([(None, None)], (1,)))
            continue
        chunks = x.chunks[axis]
        if isinstance(v, int):
            offs = chunk_offsets(chunks)
            b = bisect_right(offs, v) - 1
            b = min(b, len(chunks) - 1)
            per_entry.append(([(b, v - offs[b])], None))
        else:
            if any(is_unknown(c) for c in chunks):
                if v != slice(None):
                    raise ValueError(f"cannot slice axis {axis} of unknown length; call "
                                     "compute_chunk_sizes() first")
                per_entry.append(([(b, slice(None)) for b in range(len(chunks))], chunks))
            else:
                plan, out = _slice_plan(v, chunks)
                per_entry.append((plan, out))
        axis += 1
    name = new_name("getitem", x.name, index)
    out_chunks = tuple(c for _, c in per_entry if c is not None)
    sliced = slice_source(x, per_entry, name, out_chunks)
    if sliced is not None:
        return sliced
    tasks = {}
    for combo in itertools.product(*(range(len(p)) for p, _ in per_entry)):
        in_coords, local, out_coords = [], [], []
        for (plan, c), j in zip(per_entry, combo):
            b, loc = plan[j]
            if b is not None:
                in_coords.append(b)
            local.append(loc)
            if c is not None:
                out_coords.append(j)
        key = (name, *out_coords)
        tasks[key] = Task(key, _getitem_block, Ref((x.name, *in_coords)), tuple(local))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, out_chunks, x.dtype)


# --- integer arrays -----------------------------------------------------------------------

def _gather(axis: int, total: int, blocks: list, locals_: list, positions: list) -> np.ndarray:
    if len(blocks) == 1 and positions[0] is None:
        return np.take(blocks[0], locals_[0], axis=axis)
    shape = list(blocks[0].shape)
    shape[axis] = total
    out = np.empty(shape, dtype=blocks[0].dtype)
    for blk, loc, pos in zip(blocks, locals_, positions):
        index = [slice(None)] * out.ndim
        index[axis] = pos
        out[tuple(index)] = np.take(blk, loc, axis=axis)
    return out


def take(x: Array, indices: np.ndarray, axis: int) -> Array:
    """Select ``indices`` (non-negative, in bounds) along ``axis``, in their order."""
    indices = np.asarray(indices, dtype=np.intp).ravel()
    chunks = x.chunks[axis]
    offs = np.asarray(chunk_offsets(chunks))
    piece = max(max(chunks) if chunks else 1, 1)
    pieces = [indices[i:i + piece] for i in range(0, len(indices), piece)] or [indices]
    name = new_name("take", x.name, indices, axis)
    tasks = {}
    other = [range(n) for a, n in enumerate(x.numblocks) if a != axis]
    for j, idx in enumerate(pieces):
        blk_of = np.searchsorted(offs, idx, side="right") - 1
        blocks_used = list(dict.fromkeys(blk_of.tolist())) or [0]
        for rest in itertools.product(*other):
            refs, locs, poss = [], [], []
            for b in blocks_used:
                sel = np.flatnonzero(blk_of == b)
                coords = list(rest)
                coords.insert(axis, b)
                refs.append(Ref((x.name, *coords)))
                locs.append(idx[sel] - offs[b])
                poss.append(None if len(blocks_used) == 1 else sel)
            out_coords = list(rest)
            out_coords.insert(axis, j)
            key = (name, *out_coords)
            tasks[key] = Task(key, _gather, axis, len(idx), refs, locs, poss)
    out_chunks = list(x.chunks)
    out_chunks[axis] = tuple(len(p) for p in pieces)
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, tuple(out_chunks), x.dtype)


# --- lazy boolean masks -------------------------------------------------------------------

def _compress(block: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    return np.compress(mask, block, axis=axis)


def _nan(n: Any) -> float:
    return math.nan


def _mask_axes(x: Array, mask: Array, axis: int) -> Array:
    """``x`` indexed by the lazy boolean ``mask`` covering axes ``axis, axis + 1, ...``:
    the covered axes are merged into one (a reshape) and masked as one axis, so the
    result has one axis of unknown length in their place, as NumPy's ``a[..., mask]``."""
    k = mask.ndim
    if k == 0:
        raise NotImplementedError("a 0-d lazy boolean index is only supported on a 0-d array")
    if k == 1:
        return _mask_axis(x, mask, axis)
    covered = x.shape[axis:axis + k]
    if any(is_unknown(n) for n in covered + mask.shape):
        raise ValueError("cannot mask axes of unknown length with a multi-dimensional "
                         "boolean index; call compute_chunk_sizes() first")
    merged = x.shape[:axis] + (math.prod(covered),) + x.shape[axis + k:]
    return _mask_axis(x.reshape(merged), mask.reshape(-1), axis)


def _mask_axis(x: Array, mask: Array, axis: int, counts: tuple | None = None) -> Array:
    """``x`` masked along ``axis`` by the lazy 1-d ``mask``; ``counts`` are the output
    block lengths when known (a NumPy mask), else they are unknown (``nan``)."""
    from graphengine.collections.array.elementwise import blockwise
    if not is_unknown(mask.shape[0]) and not is_unknown(x.shape[axis]) \
            and mask.shape[0] != x.shape[axis]:
        raise IndexError(f"boolean index did not match indexed array along axis {axis}; "
                         f"size of axis is {x.shape[axis]} but size of corresponding boolean "
                         f"axis is {mask.shape[0]}")
    if mask.chunks[0] != x.chunks[axis]:
        mask = mask.rechunk((x.chunks[axis],))
    ind = tuple(range(x.ndim))
    return blockwise(_compress, ind, x, ind, mask, (axis,), axis, None,
                     dtype=x.dtype, adjust_chunks={axis: counts or _nan},
                     align_arrays=False,
                     name=new_name("compress", x.name, mask.name, axis))


def _full_mask(x: Array, mask: Any) -> Array:
    if tuple(mask.shape) != tuple(x.shape):
        raise IndexError(f"boolean index shape {mask.shape} does not match the array shape "
                         f"{x.shape}")
    if x.ndim != 1:
        x, mask = x.reshape(-1), mask.reshape(-1)
    counts = None
    if isinstance(mask, np.ndarray):
        from graphengine.collections.array.creation import from_array
        chunks = x.chunks[0]
        if not any(is_unknown(c) for c in chunks):
            # A NumPy mask tells the block lengths now, as NumPy knows the result's shape.
            offs = chunk_offsets(chunks)
            counts = tuple(int(np.count_nonzero(mask[lo:hi])) for lo, hi in zip(offs, offs[1:]))
        mask = from_array(mask, chunks=(chunks,))
    return _mask_axis(x, mask, 0, counts)


def _take_block(block: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    return np.take(block, indices, axis=axis)


def _lazy_take(x: Array, indices: Array, axis: int) -> Array:
    """``x`` indexed along ``axis`` by a lazy 1-d integer array: each output block reads
    the whole axis (joined into one block) and takes its indices from it. Out-of-bounds
    indices raise NumPy's IndexError when computed."""
    from graphengine.collections.array.elementwise import blockwise
    if indices.ndim != 1:
        raise NotImplementedError("lazy integer indices must be 1-d")
    ind = tuple(range(x.ndim))
    in_ind = tuple("axis" if i == axis else s for i, s in enumerate(ind))
    out_ind = tuple("pick" if i == axis else s for i, s in enumerate(ind))
    return blockwise(_take_block, out_ind, x, in_ind, indices, ("pick",), axis, None,
                     dtype=x.dtype, concatenate=True,
                     name=new_name("take-lazy", x.name, indices.name, axis))


# --- getitem ------------------------------------------------------------------------------

def getitem(x: Array, index: Any) -> Array:
    """``x[index]`` with NumPy semantics (see the module docstring)."""
    if _is_bool_list(index):
        index = np.asarray(index, dtype=bool)  # NumPy reads a list of bools as a mask
    if isinstance(index, tuple) and len(index) == 1 and \
            isinstance(index[0], (Array, np.ndarray)) and index[0].dtype == bool:
        index = index[0]  # x[(mask,)] is x[mask]
    if isinstance(index, Array) and index.dtype == bool and index.ndim == x.ndim:
        return _full_mask(x, index)
    if isinstance(index, np.ndarray) and index.dtype == bool and index.ndim == x.ndim \
            and x.ndim > 1:
        return _full_mask(x, index)
    split = ellipsis_splits(index)
    idx = normalize_index(index, x.shape)
    lazy = [i for i, v in enumerate(idx) if isinstance(v, Array)]
    arrays = [i for i, v in enumerate(idx) if isinstance(v, np.ndarray)]
    bools = [i for i, v in enumerate(idx) if isinstance(v, bool)]
    if lazy:
        pos = lazy[0]
        mask = idx[pos]
        several = len(lazy) + len(arrays) + len(bools) > 1
        if mask.dtype != bool and (several or mask.ndim != 1):
            return pointwise(x, idx, split)  # NumPy's rules (chunk sizes must be known)
        if several:
            raise NotImplementedError("a lazy boolean index cannot be combined with other "
                                      "index arrays; compute it first")
        k = max(mask.ndim, 1) if mask.dtype == bool else 1  # axes the index covers
        basic = idx[:pos] + (slice(None),) * k + idx[pos + 1:]
        y = _basic(x, basic)
        axis = sum(1 for v in idx[:pos] if not isinstance(v, int))
        if mask.dtype != bool:
            # A 1-d lazy take (unknown lengths allowed); ints elsewhere are advanced too.
            return _advanced_first(_lazy_take(y, mask, axis), idx, axis, 1, split)
        return _mask_axes(y, mask, axis)
    if bools or len(arrays) > 1 or any(idx[i].dtype == bool for i in arrays):
        # Several index arrays (pointwise), masks over some axes, boolean scalars.
        return pointwise(x, idx, split)
    if arrays:
        pos = arrays[0]
        arr = idx[pos]
        basic = idx[:pos] + (slice(None),) + idx[pos + 1:]
        y = _basic(x, basic)
        axis = sum(1 for v in idx[:pos] if not isinstance(v, int))
        y = take(y, arr.ravel(), axis)
        if arr.ndim != 1:
            shape = y.shape[:axis] + arr.shape + y.shape[axis + 1:]
            y = y.reshape(shape)
        return _advanced_first(y, idx, axis, arr.ndim, split)
    return _basic(x, idx)


def _advanced_first(y: Array, idx: tuple, axis: int, ndim: int, split: bool) -> Array:
    """``y`` with the ``ndim`` axes an index array put at ``axis`` moved first when
    NumPy's rule says so: the advanced indices (the array and any ints) are not adjacent,
    or an Ellipsis stands between them (``split``)."""
    advanced = [i for i, v in enumerate(idx) if isinstance(v, (int, np.ndarray, Array))]
    if (split or advanced != list(range(advanced[0], advanced[-1] + 1))) and axis != 0:
        from graphengine.collections.array.shape import moveaxis
        y = moveaxis(y, list(range(axis, axis + ndim)), list(range(ndim)))
    return y


def _identity(x: Any) -> Any:
    return x


# --- blocks, chunk sizes ------------------------------------------------------------------

def blocks_getitem(x: Array, index: Any) -> Array:
    """An array of the blocks ``index`` selects from the block grid (dimensions kept)."""
    if not isinstance(index, tuple):
        index = (index,)
    if len(index) > x.ndim:
        raise IndexError(f"too many indices for a block grid of {x.ndim} dimensions")
    index = index + (slice(None),) * (x.ndim - len(index))
    selected = []
    for a, v in enumerate(index):
        n = x.numblocks[a]
        if _is_int(v) and not -n <= v < n:
            raise IndexError(f"block index {v} is out of bounds for axis {a} with {n} blocks")
        sel = np.arange(n)[v]
        selected.append(np.atleast_1d(sel).tolist())
    name = new_name("blocks", x.name, selected)
    tasks = {}
    for out_coords in itertools.product(*(range(len(s)) for s in selected)):
        key = (name, *out_coords)
        tasks[key] = Task(key, _identity,
                          Ref((x.name, *[s[i] for s, i in zip(selected, out_coords)])))
    chunks = tuple(tuple(c[i] for i in s) for c, s in zip(x.chunks, selected))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, chunks, x.dtype)


class _Shapes:
    """A throwaway collection computing the shape of every block of an array."""

    def __init__(self, x: Array):
        name = new_name("chunk-shapes", x.name)
        self.keys = [(name, *c) for c in itertools.product(*(range(n) for n in x.numblocks))]
        tasks = {k: Task(k, np.shape, Ref((x.name, *k[1:]))) for k in self.keys}
        self.graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])

    def __graphengine_graph__(self) -> HighLevelGraph:
        return self.graph

    def __graphengine_keys__(self) -> list:
        return self.keys

    def __graphengine_postcompute__(self) -> tuple:
        return _identity, ()

    def __graphengine_postpersist__(self) -> tuple:
        raise NotImplementedError


def compute_chunk_sizes(x: Array) -> tuple:
    """The chunks of ``x`` with unknown lengths measured by computing its blocks."""
    from graphengine.collections.base import compute
    if not any(is_unknown(n) for c in x.chunks for n in c):
        return x.chunks
    helper = _Shapes(x)
    (shapes,) = compute(helper)
    by_coords = {k[1:]: s for k, s in zip(helper.keys, shapes)}
    chunks = []
    for a, n in enumerate(x.numblocks):
        chunks.append(tuple(by_coords[tuple(i if b == a else 0 for b in range(x.ndim))][a]
                            for i in range(n)))
    return tuple(chunks)
