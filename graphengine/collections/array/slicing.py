"""Indexing: ``x[...]`` with ints, slices (any step), None, Ellipsis, integer and boolean
arrays (NumPy or lazy masks), ``x.vindex[...]`` and ``x.blocks[...]`` (assignment is in
:mod:`.setitem`).

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
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["getitem", "normalize_index", "VIndex", "blocks_getitem",
           "compute_chunk_sizes", "take"]


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))


def normalize_index(index: Any, shape: tuple) -> tuple:
    """``index`` as a tuple with Ellipsis expanded and one entry per axis (plus Nones).

    Ints are checked against the axis length; lists become NumPy arrays; boolean NumPy
    arrays over one axis become integer arrays.

    Raises
    ------
    IndexError
        For too many indices, more than one Ellipsis, or an out-of-bounds int, with
        NumPy's wording.
    """
    if not isinstance(index, tuple):
        index = (index,)
    ndim = len(shape)
    n_ellipsis = sum(1 for v in index if v is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = 0
    for v in index:
        if v is None or v is Ellipsis:
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
        if isinstance(v, Array):
            if v.dtype != bool and not np.issubdtype(v.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            result.append(v)
            axis += max(v.ndim, 1) if v.dtype == bool else 1
            continue
        if isinstance(v, np.ndarray):
            if v.dtype == bool:
                if v.ndim == 1:
                    if v.shape[0] != shape[axis]:
                        raise IndexError(f"boolean index did not match indexed array along "
                                         f"axis {axis}; size of axis is {shape[axis]} but "
                                         f"size of corresponding boolean axis is {v.shape[0]}")
                    v = np.flatnonzero(v)
                else:
                    result.append(v)
                    axis += v.ndim
                    continue
            elif not np.issubdtype(v.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            n = shape[axis]
            if v.size and not is_unknown(n) and (v.max() >= n or v.min() < -n):
                bad = v.max() if v.max() >= n else v.min()
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
            result.append(np.where(v < 0, v + n, v).astype(np.intp))
            axis += 1
            continue
        if _is_int(v):
            n = shape[axis]
            if not is_unknown(n) and not -n <= v < n:
                raise IndexError(f"index {v} is out of bounds for axis {axis} with size {n}")
            result.append(int(v) + (n if v < 0 else 0))
            axis += 1
            continue
        if isinstance(v, slice):
            result.append(v)
            axis += 1
            continue
        if isinstance(v, (bool, np.bool_)):
            raise NotImplementedError("indexing with a boolean scalar is not supported")
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis "
                         f"(`None`) and integer or boolean arrays are valid indices, not "
                         f"{type(v).__name__}")
    return tuple(result)


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


def _mask_axis(x: Array, mask: Array, axis: int) -> Array:
    from graphengine.collections.array.elementwise import blockwise
    if mask.ndim != 1:
        raise IndexError("a lazy boolean index must be 1-d over one axis or have the "
                         "array's full shape")
    if not is_unknown(mask.shape[0]) and not is_unknown(x.shape[axis]) \
            and mask.shape[0] != x.shape[axis]:
        raise IndexError(f"boolean index did not match indexed array along axis {axis}; "
                         f"size of axis is {x.shape[axis]} but size of corresponding boolean "
                         f"axis is {mask.shape[0]}")
    if mask.chunks[0] != x.chunks[axis]:
        mask = mask.rechunk((x.chunks[axis],))
    ind = tuple(range(x.ndim))
    return blockwise(_compress, ind, x, ind, mask, (axis,), axis, None,
                     dtype=x.dtype, adjust_chunks={axis: _nan}, align_arrays=False,
                     name=new_name("compress", x.name, mask.name, axis))


def _full_mask(x: Array, mask: Any) -> Array:
    if tuple(mask.shape) != tuple(x.shape):
        raise IndexError(f"boolean index shape {mask.shape} does not match the array shape "
                         f"{x.shape}")
    if x.ndim == 1:
        return _mask_axis(x, mask if isinstance(mask, Array) else _from_np(mask, x), 0)
    from graphengine.collections.array.creation import asarray
    flat_mask = asarray(mask).reshape(-1)
    return _mask_axis(x.reshape(-1), flat_mask, 0)


def _from_np(mask: np.ndarray, like: Array) -> Array:
    from graphengine.collections.array.creation import from_array
    return from_array(mask, chunks=like.chunks)


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
    if isinstance(index, tuple) and len(index) == 1 and \
            isinstance(index[0], (Array, np.ndarray)) and index[0].dtype == bool:
        index = index[0]  # x[(mask,)] is x[mask]
    if isinstance(index, Array) and index.dtype == bool and index.ndim == x.ndim:
        return _full_mask(x, index)
    if isinstance(index, np.ndarray) and index.dtype == bool and index.ndim == x.ndim \
            and x.ndim > 1:
        return _full_mask(x, index)
    idx = normalize_index(index, x.shape)
    lazy = [i for i, v in enumerate(idx) if isinstance(v, Array)]
    arrays = [i for i, v in enumerate(idx) if isinstance(v, np.ndarray)]
    if any(isinstance(idx[i], np.ndarray) and idx[i].dtype == bool for i in arrays):
        raise IndexError("a multi-dimensional boolean index must cover the whole array")
    if lazy:
        if len(lazy) + len(arrays) > 1:
            raise NotImplementedError("only one array index per indexing operation is "
                                      "supported with a lazy index")
        pos = lazy[0]
        mask = idx[pos]
        basic = idx[:pos] + (slice(None),) + idx[pos + 1:]
        y = _basic(x, basic)
        axis = sum(1 for v in idx[:pos] if not isinstance(v, int))
        if mask.dtype != bool:
            return _lazy_take(y, mask, axis)
        return _mask_axis(y, mask, axis)
    if len(arrays) > 1:
        raise NotImplementedError("indexing with more than one integer array is pointwise "
                                  "in NumPy; use x.vindex[...] for that")
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
        advanced = [i for i, v in enumerate(idx) if isinstance(v, (int, np.ndarray))]
        if advanced != list(range(advanced[0], advanced[-1] + 1)) and axis != 0:
            from graphengine.collections.array.shape import moveaxis
            y = moveaxis(y, list(range(axis, axis + arr.ndim)), list(range(arr.ndim)))
        return y
    return _basic(x, idx)


def _identity(x: Any) -> Any:
    return x


# --- vindex, blocks, chunk sizes ----------------------------------------------------------

def _vindex_block(block: np.ndarray, local: tuple) -> np.ndarray:
    return block[local]


def _vindex_assemble(shape: tuple, dtype: np.dtype, parts: list, positions: list) -> np.ndarray:
    if not parts:
        return np.empty(shape, dtype=dtype)
    first = parts[0]
    out = np.empty((int(np.prod(shape)),) + first.shape[1:], dtype=dtype)
    for part, pos in zip(parts, positions):
        out[pos] = part
    return out.reshape(tuple(shape) + first.shape[1:])


class VIndex:
    """``x.vindex[i0, i1, ...]``: pointwise indexing with broadcast integer arrays."""

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, index: Any) -> Array:
        x = self.array
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) > x.ndim:
            raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, "
                             f"but {len(index)} were indexed")
        arrs = []
        for a, v in enumerate(index):
            if isinstance(v, slice):
                if v != slice(None):
                    raise NotImplementedError("vindex takes integer arrays (and trailing ':')")
                break
            v = np.asarray(v)
            if not np.issubdtype(v.dtype, np.integer):
                raise IndexError("vindex takes integer arrays")
            n = x.shape[a]
            if v.size and (v.max() >= n or v.min() < -n):
                bad = v.max() if v.max() >= n else v.min()
                raise IndexError(f"index {bad} is out of bounds for axis {a} with size {n}")
            arrs.append(np.where(v < 0, v + n, v))
        k = len(arrs)
        try:
            b = np.broadcast_arrays(*arrs)
        except ValueError:  # NumPy's error for pointwise indices that do not broadcast
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                             "with shapes " + " ".join(str(v.shape) for v in arrs)) from None
        shape = b[0].shape
        flat = [v.ravel() for v in b]
        blk = [np.searchsorted(chunk_offsets(x.chunks[a]), flat[a], side="right") - 1
               for a in range(k)]
        offs = [np.asarray(chunk_offsets(x.chunks[a])) for a in range(k)]
        groups: dict = {}
        for p in range(len(flat[0]) if flat else 0):
            groups.setdefault(tuple(int(blk[a][p]) for a in range(k)), []).append(p)
        name = new_name("vindex", x.name, [v.tolist() for v in arrs])
        rest = x.chunks[k:]
        if rest and any(len(c) > 1 for c in rest):
            x = x.rechunk(tuple(x.chunks[:k]) + tuple((sum(c),) for c in rest))
        tasks, parts, positions = {}, [], []
        for i, (bc, pts) in enumerate(sorted(groups.items())):
            pts = np.asarray(pts)
            local = tuple(flat[a][pts] - offs[a][bc[a]] for a in range(k))
            pkey = (name + "-part", i)
            tasks[pkey] = Task(pkey, _vindex_block, Ref((x.name, *bc, *([0] * len(rest)))),
                               local)
            parts.append(Ref(pkey))
            positions.append(pts)
        key = (name,) + (0,) * (len(shape) + len(rest))
        tasks[key] = Task(key, _vindex_assemble, shape, x.dtype, parts, positions)
        graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
        chunks = tuple((n,) for n in shape) + tuple((sum(c),) for c in rest)
        return Array(graph, name, chunks, x.dtype)


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
