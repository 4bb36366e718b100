"""Joining and repeating arrays: concatenate, stack, block, pad, tile, repeat.

Joining re-labels existing blocks (no data moves until computed); only the axes that
must line up are rechunked to a common chunking.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(3), chunks=2)
    >>> ga.concatenate([x, x]).chunks, ga.stack([x, x]).shape
    (((2, 1, 2, 1),), (2, 3))
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import common_chunks
from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.creation import asarray, full
from graphengine.collections.array.elementwise import map_blocks, new_name
from graphengine.collections.array.shape import _axis, expand_dims
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["concatenate", "stack", "hstack", "vstack", "dstack", "block", "pad", "tile",
           "repeat", "atleast_1d", "atleast_2d", "atleast_3d"]


# --- joining ------------------------------------------------------------------------------

def _identity(x: Any) -> Any:
    return x


@implements(np.concatenate)
def concatenate(seq: Any, axis: int | None = 0) -> Array:
    """Join arrays along an existing axis (``np.concatenate``).

    Raises
    ------
    ValueError
        If the number of dimensions or the other axis lengths differ, naming them.
    """
    arrays = [asarray(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [a.reshape(-1) for a in arrays]
        axis = 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != ndim:
            raise ValueError(f"all the input arrays must have same number of dimensions, but "
                             f"the array at index 0 has {ndim} dimension(s) and the array at "
                             f"index {i} has {a.ndim} dimension(s)")
    axis = _axis(axis, ndim)
    for d in range(ndim):
        if d == axis:
            continue
        for i, a in enumerate(arrays[1:], 1):
            if a.shape[d] != arrays[0].shape[d]:
                raise ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {d}, the array at index 0 has size "
                    f"{arrays[0].shape[d]} and the array at index {i} has size {a.shape[d]}")
    dtype = np.result_type(*[a.dtype for a in arrays])
    arrays = [a.astype(dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    common = [common_chunks(*[a.chunks[d] for a in arrays]) if d != axis else None
              for d in range(ndim)]
    arrays = [a.rechunk(tuple(c if c is not None else a.chunks[d]
                              for d, c in enumerate(common))) for a in arrays]
    name = new_name("concatenate", [a.name for a in arrays], axis)
    tasks = {}
    offset = 0
    for a in arrays:
        for coords in itertools.product(*(range(n) for n in a.numblocks)):
            out = list(coords)
            out[axis] += offset
            key = (name, *out)
            tasks[key] = Task(key, _identity, Ref((a.name, *coords)))
        offset += a.numblocks[axis]
    chunks = tuple(sum((a.chunks[axis] for a in arrays), ()) if d == axis else common[d]
                   for d in range(ndim))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=arrays)
    return Array(graph, name, chunks, dtype)


@implements(np.stack)
def stack(seq: Any, axis: int = 0) -> Array:
    """Join arrays along a new axis (``np.stack``)."""
    arrays = [asarray(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def atleast_1d(*arys: Any) -> Any:
    out = [asarray(a) if asarray(a).ndim >= 1 else asarray(a)[None] for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    out = []
    for a in arys:
        a = asarray(a)
        while a.ndim < 2:
            a = a[None]
        out.append(a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = a[None, None, None]
        elif a.ndim == 1:
            a = a[None, :, None]
        elif a.ndim == 2:
            a = a[:, :, None]
        out.append(a)
    return out[0] if len(out) == 1 else out


@implements(np.hstack)
def hstack(tup: Any) -> Array:
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if arrs[0].ndim == 1 else 1)


@implements(np.vstack)
def vstack(tup: Any) -> Array:
    return concatenate([atleast_2d(a) for a in tup], axis=0)


@implements(np.dstack)
def dstack(tup: Any) -> Array:
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def _depth(obj: Any) -> int:
    return 1 + _depth(obj[0]) if isinstance(obj, list) else 0


@implements(np.block)
def block(arrays: Any) -> Array:
    """Assemble an array from nested lists of blocks (``np.block``)."""
    depth = _depth(arrays)

    def check_depths(obj: Any, level: int, where: str) -> None:
        if isinstance(obj, list):
            for i, o in enumerate(obj):
                check_depths(o, level + 1, f"{where}[{i}]")
        elif level != depth:  # NumPy's ValueError for ragged nesting
            raise ValueError(f"List depths are mismatched. First element was at depth "
                             f"{depth}, but there is an element at depth {level} ({where})")

    check_depths(arrays, 0, "arrays")

    def leaves(obj: Any) -> list:
        return [v for o in obj for v in leaves(o)] if isinstance(obj, list) else [obj]

    ndim = max(max(asarray(v).ndim for v in leaves(arrays)), depth)

    def rec(obj: Any, level: int) -> Array:
        if not isinstance(obj, list):
            a = asarray(obj)
            while a.ndim < ndim:
                a = a[None]
            return a
        if not obj:
            raise ValueError("Lists cannot be empty")
        return concatenate([rec(o, level + 1) for o in obj], axis=-(depth - level))

    return rec(arrays, 0)


# --- pad / tile / repeat --------------------------------------------------------------------

def _pad_block(block: np.ndarray, pad_width: tuple, mode: str, kwargs: dict) -> np.ndarray:
    return np.pad(block, pad_width, mode=mode, **kwargs)


@implements(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """Pad an array (``np.pad``). ``constant`` padding adds blocks; other modes join each
    padded axis into one block first."""
    x = asarray(array)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2)).tolist()
    if mode == "constant":
        value = kwargs.get("constant_values", 0)
        cv = np.broadcast_to(np.asarray(value), (x.ndim, 2)).tolist()
        for ax, ((before, after), (vb, va)) in enumerate(zip(pw, cv)):
            parts = []
            if before:
                shp = list(x.shape)
                shp[ax] = before
                parts.append(full(tuple(shp), vb, dtype=x.dtype,
                                  chunks=tuple(c if i != ax else (before,)
                                               for i, c in enumerate(x.chunks))))
            parts.append(x)
            if after:
                shp = list(x.shape)
                shp[ax] = after
                parts.append(full(tuple(shp), va, dtype=x.dtype,
                                  chunks=tuple(c if i != ax else (after,)
                                               for i, c in enumerate(x.chunks))))
            if len(parts) > 1:
                x = concatenate(parts, axis=ax)
        return x
    axes = [ax for ax, (b, a) in enumerate(pw) if b or a]
    x = x.rechunk({ax: -1 for ax in axes})
    out_chunks = tuple((sum(c) + pw[ax][0] + pw[ax][1],) if ax in axes else c
                       for ax, c in enumerate(x.chunks))
    return map_blocks(_pad_block, x, tuple(tuple(p) for p in pw), mode, kwargs,
                      chunks=out_chunks, dtype=x.dtype)


@implements(np.tile)
def tile(A: Any, reps: Any) -> Array:
    x = asarray(A)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    if any(r < 0 for r in reps):
        raise ValueError("negative dimensions are not allowed")
    ndim = max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    while x.ndim < ndim:
        x = x[None]
    for ax, r in enumerate(reps):
        if r == 0:
            idx = [slice(None)] * ndim
            idx[ax] = slice(0, 0)
            x = x[tuple(idx)]
        elif r > 1:
            x = concatenate([x] * r, axis=ax)
    return x


def _repeat_block(block: np.ndarray, repeats: int, axis: int) -> np.ndarray:
    return np.repeat(block, repeats, axis=axis)


@implements(np.repeat)
def repeat(a: Any, repeats: Any, axis: int | None = None) -> Array:
    """Repeat each element ``repeats`` (an int) times along ``axis``."""
    x = asarray(a)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    if not isinstance(repeats, (int, np.integer)):
        raise NotImplementedError("repeat supports an int number of repeats")
    if repeats < 0:
        raise ValueError("negative dimensions are not allowed")
    axis = _axis(axis, x.ndim)
    chunks = tuple(tuple(n * repeats for n in c) if d == axis else c
                   for d, c in enumerate(x.chunks))
    return map_blocks(_repeat_block, x, int(repeats), axis, chunks=chunks, dtype=x.dtype)
