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
import math
import operator
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import common_chunks
from graphengine.collections.array.core import Array, handle_out, implements, layer_graph
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


def _joined_dtype(arrays: list, dtype: Any, casting: str) -> np.dtype:
    """NumPy's dtype for joining ``arrays`` (``dtype`` or their common type) and its
    errors: an invalid ``casting``, or an input not castable under it (TypeError).
    np.concatenate itself decides, on empty arrays of the same dtypes."""
    return np.concatenate([np.empty(0, a.dtype) for a in arrays], dtype=dtype,
                          casting=casting).dtype


@implements(np.concatenate)
def concatenate(seq: Any, axis: int | None = 0, out: Any = None, *, dtype: Any = None,
                casting: str = "same_kind") -> Array:
    """Join arrays along an existing axis (``np.concatenate``).

    Parameters
    ----------
    seq : sequence of array_like
        Arrays with the same shape except along ``axis``.
    axis : int or None
        The axis to join along; None flattens the arrays first.
    out : Array, optional
        A graphengine Array of the result's shape to rebind to the result (cast to
        its dtype under ``casting``).
    dtype : dtype, optional
        The result's dtype; by default the inputs' common type.
    casting : {'no', 'equiv', 'safe', 'same_kind', 'unsafe'}
        Which casts of the inputs to the result's dtype are allowed (NumPy's rule).

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        If the number of dimensions or the other axis lengths differ, naming them, or
        for an invalid ``casting``.
    TypeError
        If both ``out`` and ``dtype`` are given, or an input cannot be cast under
        ``casting`` (NumPy's message).
    """
    if out is not None and dtype is not None:
        raise TypeError("concatenate() only takes `out` or `dtype` as an argument, but both "
                        "were provided.")
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
    # With out=, NumPy casts the inputs straight into out's dtype under ``casting``.
    target = dtype if out is None else getattr(out, "dtype", None)
    dtype = _joined_dtype(arrays, target, casting)
    arrays = [a.astype(dtype, casting="unsafe") for a in arrays]  # allowed: checked above
    if len(arrays) == 1:
        return handle_out("concatenate", out, arrays[0])
    common = [common_chunks(*[a.chunks[d] for a in arrays]) if d != axis else None
              for d in range(ndim)]
    arrays = [a.rechunk(tuple(c if c is not None else a.chunks[d]
                              for d, c in enumerate(common))) for a in arrays]
    name = new_name("concatenate", [a.name for a in arrays], axis)
    tasks = {}
    offset = 0
    for a in arrays:
        for coords in itertools.product(*(range(n) for n in a.numblocks)):
            where = list(coords)
            where[axis] += offset
            key = (name, *where)
            tasks[key] = Task(key, _identity, Ref((a.name, *coords)))
        offset += a.numblocks[axis]
    chunks = tuple(sum((a.chunks[axis] for a in arrays), ()) if d == axis else common[d]
                   for d in range(ndim))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=arrays)
    return handle_out("concatenate", out, Array(graph, name, chunks, dtype))


@implements(np.stack)
def stack(seq: Any, axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Array:
    """Join arrays of one shape along a new axis (``np.stack``).

    ``out``, ``dtype`` and ``casting`` are as in :func:`concatenate`.

    Raises
    ------
    ValueError
        If there are no arrays or their shapes differ.
    TypeError
        If an input cannot be cast to ``dtype`` under ``casting``.
    """
    arrays = [asarray(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, out=out,
                       dtype=dtype, casting=casting)


def _one_or_tuple(out: list) -> Any:
    # NumPy: one array for one argument, otherwise a tuple (not a list).
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least one axis (``np.atleast_1d``): an array for one input,
    a tuple of arrays for several."""
    out = []
    for a in arys:
        a = asarray(a)
        out.append(a if a.ndim >= 1 else a[None])
    return _one_or_tuple(out)


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two axes, new ones in front (``np.atleast_2d``): an
    array for one input, a tuple of arrays for several."""
    out = []
    for a in arys:
        a = asarray(a)
        while a.ndim < 2:
            a = a[None]
        out.append(a)
    return _one_or_tuple(out)


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three axes (``np.atleast_3d``: (N,) becomes (1, N, 1),
    (M, N) becomes (M, N, 1)): an array for one input, a tuple for several."""
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
    return _one_or_tuple(out)


@implements(np.hstack)
def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Join along the first axis of 1-d inputs, else the second (``np.hstack``);
    ``dtype`` and ``casting`` as in :func:`concatenate`."""
    arrs = [atleast_1d(a) for a in tup]
    axis = 0 if arrs and arrs[0].ndim == 1 else 1
    return concatenate(arrs, axis=axis, dtype=dtype, casting=casting)


@implements(np.vstack)
def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Join along the first axis, 1-d inputs as rows (``np.vstack``); ``dtype`` and
    ``casting`` as in :func:`concatenate`."""
    return concatenate([atleast_2d(a) for a in tup], axis=0, dtype=dtype, casting=casting)


@implements(np.dstack)
def dstack(tup: Any) -> Array:
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def _block_index(index: list) -> str:
    """``arrays[1][0]``: where an element sits in ``np.block``'s nested lists."""
    return "arrays" + "".join(f"[{i}]" for i in index if i is not None)


def _block_bottom(obj: Any, index: list) -> list:
    """The index of the first leaf (or of the last empty list) under ``obj``, as NumPy's
    ``_block_check_depths_match``: its length is the nesting depth, and a trailing
    ``None`` marks an empty list, which NumPy rejects only after checking the depths.

    Raises
    ------
    TypeError
        If a tuple appears in the nesting (NumPy refuses to guess whether it is a block).
    ValueError
        If the leaves sit at different depths, naming the first one that differs.
    """
    # ``type(...) is`` rather than isinstance, as NumPy: list subclasses are leaves.
    if type(obj) is tuple:
        raise TypeError(f"{_block_index(index)} is a tuple. Only lists can be used to "
                        "arrange blocks, and np.block does not allow implicit conversion "
                        "from tuple to ndarray.")
    if type(obj) is not list:
        return index
    if not obj:
        return index + [None]
    first = None
    for i, o in enumerate(obj):
        bottom = _block_bottom(o, index + [i])
        if first is None:
            first = bottom
            continue
        if len(bottom) != len(first):
            raise ValueError(f"List depths are mismatched. First element was at depth "
                             f"{len(first)}, but there is an element at depth "
                             f"{len(bottom)} ({_block_index(bottom)})")
        if bottom[-1] is None:  # carry the empty-list marker up, as NumPy does
            first = bottom
    return first


@implements(np.block)
def block(arrays: Any) -> Array:
    """Assemble an array from nested lists of blocks (``np.block``).

    Parameters
    ----------
    arrays : nested list of array_like or scalars
        The innermost lists are joined along the last axis, the next ones out along the
        second-to-last, and so on. A bare array (no list) is returned as it is.

    Returns
    -------
    Array
        With ``max(depth of nesting, ndim of the blocks)`` dimensions.

    Raises
    ------
    TypeError
        If the nesting contains a tuple.
    ValueError
        If the nesting depths differ or a list is empty, naming where (``arrays[1]``).
    """
    bottom = _block_bottom(arrays, [])
    if bottom and bottom[-1] is None:
        raise ValueError(f"List at {_block_index(bottom)} cannot be empty")
    depth = len(bottom)

    def leaves(obj: Any) -> list:
        return [v for o in obj for v in leaves(o)] if type(obj) is list else [obj]

    ndim = max(max(asarray(v).ndim for v in leaves(arrays)), depth)

    def rec(obj: Any, level: int) -> Array:
        if type(obj) is not list:
            a = asarray(obj)
            while a.ndim < ndim:
                a = a[None]
            return a
        return concatenate([rec(o, level + 1) for o in obj], axis=-(depth - level))

    return rec(arrays, 0)


# --- pad / tile / repeat --------------------------------------------------------------------

def _pad_block(block: np.ndarray, pad_width: tuple, mode: str, kwargs: dict) -> np.ndarray:
    return np.pad(block, pad_width, mode=mode, **kwargs)


def _check_pad_like_numpy(x: Array, pw: list, mode: Any, kwargs: dict) -> None:
    """NumPy's eager errors for ``np.pad`` (an unknown mode or keyword, a zero
    ``stat_length``, an empty axis padded by a non-constant mode, a constant that does
    not fit the dtype), from padding a stand-in of at most one element per axis by at
    most one on each side; a callable mode is not probed (it may have side effects)."""
    if callable(mode) or any(math.isnan(n) for n in x.shape):
        return
    probe = np.zeros(tuple(min(int(n), 1) for n in x.shape), dtype=x.dtype)
    np.pad(probe, [[min(b, 1), min(a, 1)] for b, a in pw] if x.ndim else 0, mode, **kwargs)


@implements(np.pad)
def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Array:
    """Pad an array (``np.pad``).

    ``constant`` padding adds blocks; other modes join each padded axis into one block
    first.

    Parameters
    ----------
    array : array_like
        The array to pad.
    pad_width : int or sequence of ints
        ``(before, after)`` widths per axis, broadcast to ``(ndim, 2)`` as in NumPy.
    mode : str or callable
        Any ``np.pad`` mode.
    **kwargs
        The mode's keywords (``constant_values``, ``stat_length``...).

    Returns
    -------
    Array
        The padded array (a 0-d array is returned unchanged, as NumPy does).

    Raises
    ------
    TypeError
        If ``pad_width`` is not of a signed integer type (as NumPy: floats, bools and
        strings are refused rather than truncated).
    ValueError
        If a width is negative or ``pad_width`` does not broadcast to ``(ndim, 2)``;
        and, when the graph is built, NumPy's own errors for the mode and its keywords
        (an unknown mode, ``stat_length=0``, a non-constant mode on an empty axis).
    OverflowError
        For a ``constant_values`` that does not fit the dtype, as NumPy.
    """
    x = asarray(array)
    widths = np.asarray(pad_width)
    # NumPy's own checks, made eagerly: ``astype(int)`` would truncate 1.5 to 1.
    if widths.dtype.kind != "i":
        raise TypeError("`pad_width` must be of integral type.")
    if widths.min() < 0:  # an empty pad_width fails here with NumPy's ValueError too
        raise ValueError("index can't contain negative values")
    pw = np.broadcast_to(widths, (x.ndim, 2)).tolist()
    _check_pad_like_numpy(x, pw, mode, kwargs)
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
    # A 0-d block has no axes, and np.pad cannot take the empty (0, 2) widths (its
    # min() fails), so it gets a scalar 0; np.pad still checks mode and keywords.
    block_pw = tuple(tuple(p) for p in pw) if x.ndim else 0
    return map_blocks(_pad_block, x, block_pw, mode, kwargs, chunks=out_chunks,
                      dtype=x.dtype)


@implements(np.tile)
def tile(A: Any, reps: Any) -> Array:
    """Repeat the whole array ``reps`` times along each axis (``np.tile``).

    Parameters
    ----------
    A : array_like
        The array to repeat.
    reps : int or sequence of ints
        Repetitions per axis, aligned to the last axes; any integer type (NumPy's too).

    Returns
    -------
    Array
        With ``max(A.ndim, len(reps))`` dimensions.

    Raises
    ------
    TypeError
        If a repetition count is not an integer.
    ValueError
        If a repetition count is negative.
    """
    x = asarray(A)
    # As NumPy: anything iterable is a sequence of counts, anything else one count; each
    # count goes through operator.index so np.int64 works and 1.5 is a TypeError.
    reps = tuple(reps) if np.iterable(reps) else (reps,)
    reps = tuple(operator.index(r) for r in reps)
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
