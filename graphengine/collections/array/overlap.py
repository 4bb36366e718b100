"""``map_overlap``: apply a function to blocks extended by a margin of their neighbours.

Each block is extended by ``depth`` elements from the neighbouring blocks (axis by axis,
so corners come along), the outer edges are handled by ``boundary`` (``"none"``: no
margin there, ``"reflect"``, ``"periodic"``, ``"nearest"`` or a constant), the function
runs per extended block, and the margins are trimmed off again.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(8.0), chunks=4)
    >>> smooth = lambda b: (np.roll(b, 1) + b + np.roll(b, -1)) / 3
    >>> ga.map_overlap(smooth, x, depth=1, boundary="periodic").compute(scheduler="sync")[3]
    np.float64(3.0)
"""
from __future__ import annotations

import itertools
from numbers import Number
from typing import Any, Callable

import numpy as np

from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.creation import asarray, full
from graphengine.collections.array.elementwise import map_blocks, new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["map_overlap", "overlap", "trim_overlap"]


def _depths(depth: Any, ndim: int) -> dict:
    if isinstance(depth, dict):
        return {a % ndim: int(d) for a, d in depth.items()}
    if isinstance(depth, (int, np.integer)):
        return {a: int(depth) for a in range(ndim)}
    depth = tuple(depth)
    if len(depth) != ndim:
        raise ValueError(f"depth {depth!r} has {len(depth)} entries for {ndim} dimensions")
    return {a: int(d) for a, d in enumerate(depth)}


def _boundaries(boundary: Any, ndim: int) -> dict:
    if isinstance(boundary, dict):
        return {a: boundary.get(a, "none") for a in range(ndim)}
    return {a: boundary for a in range(ndim)}


_NUMPY_PAD_MODE = {"reflect": "symmetric", "periodic": "wrap"}


def _runs(index: np.ndarray) -> list[slice]:
    """``index`` (positions along an axis) as slices of consecutive runs of step 1 or
    -1, so a wide pad is a few basic slices rather than one per element."""
    runs: list[slice] = []
    i = 0
    while i < len(index):
        j = i + 1
        step = int(index[j] - index[i]) if j < len(index) else 1
        if step not in (1, -1):
            step = 1
        while j < len(index) and index[j] - index[j - 1] == step:
            j += 1
        lo, hi = int(index[i]), int(index[j - 1])
        runs.append(slice(lo, hi + 1) if step == 1 else
                    slice(lo, hi - 1 if hi > 0 else None, -1))
        i = j
    return runs


def _pad_axis(x: Array, axis: int, d: int, kind: Any) -> Array:
    from graphengine.collections.array.joining import concatenate
    if kind in ("none", None) or d == 0:
        return x
    n = x.shape[axis]

    def sl(s: slice) -> tuple:
        idx = [slice(None)] * x.ndim
        idx[axis] = s
        return tuple(idx)

    if kind in _NUMPY_PAD_MODE or kind == "nearest":
        if n == 0:
            raise ValueError(f"boundary {kind!r} cannot pad axis {axis} of length 0 by "
                             f"depth {d}")
    if kind in _NUMPY_PAD_MODE:
        # The positions np.pad takes ("symmetric"/"wrap"): for a depth beyond the axis
        # length they reflect or wrap around repeatedly, as np.pad does.
        where = np.pad(np.arange(n), d, mode=_NUMPY_PAD_MODE[kind])
        left = concatenate([x[sl(r)] for r in _runs(where[:d])], axis=axis)
        right = concatenate([x[sl(r)] for r in _runs(where[-d:])], axis=axis)
    elif kind == "nearest":
        left = concatenate([x[sl(slice(0, 1))]] * d, axis=axis)
        right = concatenate([x[sl(slice(n - 1, n))]] * d, axis=axis)
    elif isinstance(kind, Number):
        shape = list(x.shape)
        shape[axis] = d
        chunks = tuple((d,) if a == axis else c for a, c in enumerate(x.chunks))
        left = right = full(tuple(shape), kind, dtype=x.dtype, chunks=chunks)
    else:
        raise ValueError(f"boundary {kind!r} is not understood; use 'none', 'reflect', "
                         "'periodic', 'nearest' or a number")
    out = concatenate([left, x, right], axis=axis)
    chunks = list(x.chunks[axis])
    chunks[0] += d
    chunks[-1] += d
    return out.rechunk({axis: tuple(chunks)})


def _cat(parts: list, axis: int) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _slice(block: np.ndarray, index: tuple) -> np.ndarray:
    return block[index]


def _exchange(x: Array, axis: int, d: int) -> Array:
    """Extend every block along ``axis`` by ``d`` elements from each neighbour."""
    if d == 0 or x.numblocks[axis] == 1:
        return x
    if any(c < d for c in x.chunks[axis]):
        raise ValueError(f"depth {d} is larger than the smallest block {min(x.chunks[axis])} "
                         f"along axis {axis}; rechunk to larger blocks")
    name = new_name("overlap", x.name, axis, d)
    n = x.numblocks[axis]
    tasks = {}
    for coords in itertools.product(*(range(k) for k in x.numblocks)):
        parts = []
        i = coords[axis]
        if i > 0:
            prev = list(coords)
            prev[axis] -= 1
            idx = [slice(None)] * x.ndim
            idx[axis] = slice(-d, None)
            parts.append(Task(None, _slice, Ref((x.name, *prev)), tuple(idx)))
        parts.append(Ref((x.name, *coords)))
        if i < n - 1:
            nxt = list(coords)
            nxt[axis] += 1
            idx = [slice(None)] * x.ndim
            idx[axis] = slice(0, d)
            parts.append(Task(None, _slice, Ref((x.name, *nxt)), tuple(idx)))
        key = (name, *coords)
        tasks[key] = Task(key, _cat, parts, axis)
    chunks = list(x.chunks)
    chunks[axis] = tuple(c + (d if i > 0 else 0) + (d if i < n - 1 else 0)
                         for i, c in enumerate(x.chunks[axis]))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, tuple(chunks), x.dtype)


def overlap(x: Array, depth: Any, boundary: Any = "none") -> Array:
    """``x`` with every block extended by ``depth`` from its neighbours and the edges
    padded per ``boundary``."""
    depths = _depths(depth, x.ndim)
    bounds = _boundaries(boundary, x.ndim)
    for a in range(x.ndim):
        x = _pad_axis(x, a, depths.get(a, 0), bounds[a])
    for a in range(x.ndim):
        x = _exchange(x, a, depths.get(a, 0))
    return x


class _Trim:
    """Per block: cut the margins that :func:`overlap` added."""

    def __init__(self, numblocks: tuple, depths: dict, bounds: dict):
        self.numblocks, self.depths, self.bounds = numblocks, depths, bounds

    def __call__(self, block: np.ndarray, block_id: tuple = ()) -> np.ndarray:
        index = []
        for a, i in enumerate(block_id):
            d = self.depths.get(a, 0)
            padded = self.bounds[a] not in ("none", None)
            lo = d if (i > 0 or padded) else 0
            hi = d if (i < self.numblocks[a] - 1 or padded) else 0
            index.append(slice(lo, block.shape[a] - hi))
        return block[tuple(index)]


def trim_overlap(x: Array, depth: Any, boundary: Any = "none", chunks: tuple = None) -> Array:
    depths = _depths(depth, x.ndim)
    bounds = _boundaries(boundary, x.ndim)
    trim = _Trim(x.numblocks, depths, bounds)
    return map_blocks(_TrimCall(trim), x, chunks=chunks, dtype=x.dtype)


class _TrimCall:
    def __init__(self, trim: _Trim):
        self.trim = trim

    def __call__(self, block: np.ndarray, block_id: tuple = ()) -> np.ndarray:
        return self.trim(block, block_id)


def map_overlap(func: Callable, *args: Any, depth: Any = None, boundary: Any = "none",
                trim: bool = True, dtype: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` to blocks extended by ``depth`` neighbours (see module docstring).

    ``func`` must return a block of the shape it was given. With ``trim=False`` the
    extended blocks are returned as ``func`` left them.
    """
    if depth is None:
        raise TypeError("map_overlap needs depth=")
    arrays = [asarray(a) if not isinstance(a, Array) else a for a in args]
    if len(arrays) != 1:
        raise NotImplementedError("map_overlap takes one array")
    x = arrays[0]
    extended = overlap(x, depth, boundary)
    out = map_blocks(func, extended, dtype=dtype or x.dtype, **kwargs)
    if not trim:
        return out
    return trim_overlap(out, depth, boundary, chunks=x.chunks)
