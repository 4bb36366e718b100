"""``x[index] = value``: a new graph in which the touched blocks are copied and written.

The Array object is rebound to the new graph, so earlier references to the old array
(and its copies) keep their values. Ints and slices (any step) take a scalar or an array
value broadcast to the selected region; a boolean mask of the array's shape takes a
scalar. As in NumPy, a value may have extra leading length-1 dimensions, and a scalar
is converted to the array's dtype as NumPy would (the same errors, raised by the
assignment itself, before anything changes).

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.zeros(6), chunks=4)
    >>> x[1:5:2] = 7
    >>> x.compute(scheduler="sync").tolist()
    [0.0, 7.0, 0.0, 7.0, 0.0, 0.0]
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, shape_text
from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.collections.array.slicing import normalize_index
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["setitem"]


def _assign(block: np.ndarray, local: tuple, value: Any) -> np.ndarray:
    out = block.copy()
    out[local] = value
    return out


def _sub_range(r: range, lo: int, hi: int) -> tuple[int, int] | None:
    """Positions ``k0:k1`` of the elements of increasing range ``r`` inside ``[lo, hi)``."""
    if not len(r):
        return None
    k0 = max(math.ceil((lo - r.start) / r.step), 0)
    k1 = min(math.ceil((hi - r.start) / r.step), len(r))
    return (k0, k1) if k1 > k0 else None


def _cast_scalar(value: Any, dtype: np.dtype) -> Any:
    """``value`` as NumPy stores it in an array of ``dtype``.

    Assigning into a one-element probe raises NumPy's own error (OverflowError for 300
    into int8, ValueError for NaN into ints, TypeError for a complex into floats, ...)
    while nothing is built yet, so a failed assignment leaves the array as it was.
    """
    probe = np.zeros(1, dtype=dtype)
    probe[:] = value
    return probe[0]


def _fit_value_shape(shape: tuple, region: tuple) -> tuple:
    """The shape a value of ``shape`` is broadcast from into the selected ``region``:
    NumPy drops the value's leading length-1 dimensions beyond the region's ndim.

    Raises
    ------
    ValueError
        NumPy's error when the value does not broadcast to the region.
    """
    shape, region = tuple(shape), tuple(region)
    fitted = shape
    while len(fitted) > len(region) and fitted[0] == 1:
        fitted = fitted[1:]
    try:
        if np.broadcast_shapes(fitted, region) == region:
            return fitted
    except ValueError:
        pass
    raise ValueError(f"could not broadcast input array from shape {shape_text(shape)} into shape "
                     f"{shape_text(region)}")


def setitem(x: Array, index: Any, value: Any) -> Array:
    """The array ``x`` with ``x[index] = value`` applied (a new graph; blocks are copied).

    ``index`` may be a boolean mask of ``x``'s shape (NumPy or lazy) or ints and slices.

    Raises
    ------
    ValueError, TypeError, OverflowError
        NumPy's error when a scalar value cannot be stored in ``x``'s dtype, or when an
        array value does not broadcast to the selected region; ``x`` is then unchanged.
    """
    from graphengine.collections.array.elementwise import elemwise
    if isinstance(value, Array) and isinstance(index, (Array, np.ndarray)) \
            and getattr(index, "dtype", None) == bool:
        raise NotImplementedError("x[mask] = array is not supported; use where(mask, y, x)")
    if (isinstance(index, (Array, np.ndarray)) and index.dtype == bool
            and index.shape == x.shape):
        if np.ndim(value) != 0:
            raise ValueError("x[mask] = value needs a scalar value")
        if not isinstance(value, Array):
            value = _cast_scalar(value, x.dtype)
        return elemwise(_where_cast, index, value, x, dtype=x.dtype, extra=(x.dtype,))
    idx = normalize_index(index, x.shape)
    if any(v is None or isinstance(v, (bool, np.ndarray, Array)) for v in idx):
        raise NotImplementedError("x[index] = value supports ints and slices (or a full "
                                  "boolean mask)")
    ranges, flips = [], []
    for v, n in zip(idx, x.shape):
        if isinstance(v, int):
            ranges.append(range(v, v + 1))
            flips.append(False)
        else:
            r = range(*v.indices(n))
            flips.append(r.step < 0)
            ranges.append(r[::-1] if r.step < 0 else r)
    region = tuple(len(r) for r, v in zip(ranges, idx) if not isinstance(v, int))
    if np.ndim(value) == 0 and not isinstance(value, Array):
        value = _cast_scalar(value, x.dtype)
    elif np.ndim(value) != 0 and all(isinstance(v, int) for v in idx):
        # NumPy 2 stores only a scalar (or 0-d array) into a single element.
        raise ValueError("setting an array element with a sequence.")
    value_arr = value
    if np.ndim(value) != 0:
        if isinstance(value, Array):
            value_arr = value.astype(x.dtype)
            fitted = _fit_value_shape(value_arr.shape, region)
            if fitted != value_arr.shape:
                value_arr = value_arr.reshape(fitted)
            from graphengine.collections.array.shape import broadcast_to
            value_arr = broadcast_to(value_arr, region)
        else:
            value_arr = np.asarray(value, dtype=x.dtype)
            value_arr = np.broadcast_to(
                value_arr.reshape(_fit_value_shape(value_arr.shape, region)), region)
        flip_axes = [i for i, (f, v) in enumerate(
            [(f, v) for f, v in zip(flips, idx) if not isinstance(v, int)]) if f]
        if flip_axes:
            sl = tuple(slice(None, None, -1) if i in flip_axes else slice(None)
                       for i in range(len(region)))
            value_arr = value_arr[sl]
    name = new_name("setitem", x.name, idx, value if not isinstance(value, Array) else value.name)
    offs = [chunk_offsets(c) for c in x.chunks]
    tasks = {}
    deps = [x]
    for coords in itertools.product(*(range(n) for n in x.numblocks)):
        key = (name, *coords)
        local, vindex, hit = [], [], True
        for a, (r, v) in enumerate(zip(ranges, idx)):
            lo, hi = offs[a][coords[a]], offs[a][coords[a] + 1]
            sub = _sub_range(r, lo, hi)
            if sub is None:
                hit = False
                break
            k0, k1 = sub
            first = r[k0]
            local.append(slice(first - lo, r[k1 - 1] - lo + 1, r.step))
            if not isinstance(v, int):
                vindex.append(slice(k0, k1))
        if not hit:
            tasks[key] = Task(key, _identity, Ref((x.name, *coords)))
            continue
        if np.ndim(value) == 0:
            piece: Any = value
        elif isinstance(value_arr, Array):
            part = value_arr[tuple(vindex)].rechunk(-1)
            deps.append(part)
            piece = Ref((part.name,) + (0,) * part.ndim)
        else:
            piece = np.ascontiguousarray(value_arr[tuple(vindex)])
            if any(isinstance(v, int) for v in idx):
                piece = piece.reshape([s.stop - s.start if s.step == 1 else
                                       len(range(s.start, s.stop, s.step))
                                       for s in local]) if piece.size else piece
        if isinstance(value_arr, Array) and any(isinstance(v, int) for v in idx):
            shape = tuple(len(range(s.start, s.stop, s.step)) for s in local)
            piece = Task(None, np.reshape, piece, shape)
        tasks[key] = Task(key, _assign, Ref((x.name, *coords)), tuple(local), piece)
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=deps)
    return Array(graph, name, x.chunks, x.dtype)


def _where_cast(mask: Any, value: Any, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(mask, np.asarray(value).astype(dtype), x)


def _identity(x: Any) -> Any:
    return x
