"""``x[index] = value``: a new graph in which the touched blocks are copied and written.

The Array object is rebound to the new graph, so earlier references to the old array
(and its copies) keep their values. The index may hold ints, slices (any step),
Ellipsis, ``None`` (a new length-1 axis the value may broadcast against), boolean
scalars (``True`` selects everything under a new length-1 axis, ``False`` nothing, so the
array is unchanged) and one 1-d integer array, list or 1-d NumPy boolean mask along one
axis (negative indices count from the end; for a repeated index the last write wins, as
in NumPy). The selected region has NumPy's shape, advanced-index dimension placement
included, and the value is a scalar or an array (NumPy or lazy) broadcast to it. A
boolean mask of the array's shape takes a scalar. As in NumPy, a value may have extra
leading length-1 dimensions, and a scalar is converted to the array's dtype as NumPy
would (the same errors, raised by the assignment itself, before anything changes).

Each output block copies and writes only its own part of the region; blocks outside it
are passed through. Nothing is computed at assignment time.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.zeros(6), chunks=4)
    >>> x[1:5:2] = 7
    >>> x[[5, -6]] = [1, 2]
    >>> x.compute(scheduler="sync").tolist()
    [2.0, 7.0, 0.0, 7.0, 0.0, 1.0]
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, is_unknown, shape_text
from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.collections.array.slicing import normalize_index
from graphengine.collections.array.vindex import ellipsis_splits
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["setitem"]


def _assign(block: np.ndarray, local: tuple, value: Any) -> np.ndarray:
    out = block.copy()
    out[local] = value
    return out


def _arrange(piece: Any, perm: tuple, shape: tuple) -> np.ndarray:
    """A value piece, in the region's axis order, as the block's ``out[local]`` shape."""
    return np.reshape(np.transpose(piece, perm), shape)


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


class _Plan:
    """Where ``x[idx]`` writes, from a normalized index (one entry per axis plus Nones).

    ``ranges[a]`` is the increasing range of positions written along axis ``a`` (for an
    int or a slice), ``flips[a]`` whether its slice runs backwards, and ``array_axis``
    the axis of the integer array ``positions`` (if any). ``region`` is NumPy's shape of
    ``x[idx]`` and ``keys`` tells, per region dimension, the axis of ``x`` it runs along
    (-1 for the length-1 dimensions of None and of boolean scalars without an array);
    ``region_axes`` maps a sliced axis of ``x`` to its region dimension.
    """

    def __init__(self, x: Array, raw: tuple, idx: tuple):
        advanced = any(isinstance(v, (bool, np.ndarray)) for v in idx)
        has_ellipsis = any(v is Ellipsis for v in raw)
        self.ranges: dict = {}
        self.flips: dict = {}
        self.array_axis: int | None = None
        self.positions: np.ndarray | None = None
        # NumPy's "full integer index": ints only, no Ellipsis (``()`` on a 0-d array).
        self.all_ints = not has_ellipsis and all(
            isinstance(v, int) and not isinstance(v, bool) for v in idx)
        dims: list = []  # (length, key) of the basic dimensions, in order
        kinds: list = []  # "basic" / "advanced" per index entry, for NumPy's placement
        adv_shapes: list = []
        first_adv = None
        axis = 0
        for v in idx:
            if v is None:
                dims.append((1, -1))
                kinds.append("basic")
                continue
            if isinstance(v, bool):
                adv_shapes.append((int(v),))
            elif isinstance(v, int):
                self.ranges[axis] = range(v, v + 1)
                self.flips[axis] = False
                axis += 1
                if not advanced:
                    continue
                adv_shapes.append(())
            elif isinstance(v, slice):
                r = range(*v.indices(x.shape[axis]))
                self.flips[axis] = r.step < 0
                self.ranges[axis] = r[::-1] if r.step < 0 else r
                dims.append((len(r), axis))
                kinds.append("basic")
                axis += 1
                continue
            else:  # the one 1-d integer array (in bounds, non-negative)
                self.array_axis, self.positions = axis, v
                adv_shapes.append(v.shape)
                axis += 1
            if first_adv is None:
                first_adv = len(dims)
            kinds.append("advanced")
        self.length = None  # of the advanced dimension, if any
        if advanced:
            try:
                (self.length,) = np.broadcast_shapes(*adv_shapes)
            except ValueError:  # NumPy's error for index arrays that do not broadcast
                raise IndexError("shape mismatch: indexing arrays could not be broadcast "
                                 "together with shapes " + " ".join(
                                     shape_text(s) for s in adv_shapes if s)) from None
            at = [i for i, kind in enumerate(kinds) if kind == "advanced"]
            # NumPy puts the advanced dimension in place only if the advanced indices
            # (ints and boolean scalars included) are adjacent, with no Ellipsis between
            # them; otherwise it comes first.
            adjacent = at == list(range(at[0], at[-1] + 1)) and not ellipsis_splits(raw)
            where = first_adv if adjacent else 0
            key = -1 if self.array_axis is None else self.array_axis
            dims.insert(where, (self.length, key))
        self.region = tuple(n for n, _ in dims)
        self.keys = tuple(key for _, key in dims)
        self.advanced_dim = where if advanced else None
        self.region_axes = {key: d for d, key in enumerate(self.keys)
                            if key >= 0 and key != self.array_axis}


def _single_mask(index: Any, ndim: int) -> bool:
    """Whether ``index`` is one boolean index with ``ndim`` dimensions (a mask, a list of
    bools, a boolean scalar for a 0-d array): NumPy then takes a 0-d or 1-d value only."""
    if isinstance(index, tuple):
        if len(index) != 1:
            return False
        index = index[0]
    if isinstance(index, (bool, np.bool_)):
        return ndim == 0
    if isinstance(index, (np.ndarray, Array)):
        return index.dtype == bool and index.ndim == ndim
    if isinstance(index, list):
        arr = np.asarray(index)
        return arr.dtype == bool and arr.ndim == ndim
    return False


def _zeroed_arrays(index: Any) -> Any:
    """``index`` with its integer arrays and lists replaced by zeros of the same shape."""
    def zeroed(v: Any) -> Any:
        if isinstance(v, (list, np.ndarray)) and not isinstance(v, Array):
            arr = np.asarray(v)
            if arr.dtype.kind in "iu":
                return np.zeros(arr.shape, dtype=np.intp)
        return v
    return tuple(zeroed(v) for v in index) if isinstance(index, tuple) else zeroed(index)


def _check_supported(x: Array, idx: tuple) -> tuple:
    """``idx`` with 0-d integer arrays as ints (as NumPy reads them).

    Raises
    ------
    NotImplementedError
        For lazy index arrays, boolean masks over several axes (other than a mask of
        the whole array's shape), integer arrays of other than one dimension, and more
        than one integer array.
    ValueError
        For an array with unknown chunk lengths.
    """
    out = []
    arrays = 0
    for v in idx:
        if isinstance(v, Array):
            raise NotImplementedError(
                f"x[index] = value with a lazy index array ({v!r}) is only supported as "
                f"a boolean mask of x's shape {x.shape} with a scalar value; compute "
                f"the index first")
        if isinstance(v, np.ndarray):
            if v.dtype == bool:
                raise NotImplementedError(
                    f"x[index] = value with a boolean mask of shape {v.shape} over part of "
                    f"x's axes {x.shape}; use a mask of x's whole shape or a 1-d mask")
            if v.ndim == 0:
                v = int(v)
            elif v.ndim != 1:
                raise NotImplementedError(
                    f"x[index] = value with a {v.ndim}-d integer index array (shape "
                    f"{v.shape}); only 1-d integer arrays are supported")
            else:
                arrays += 1
        out.append(v)
    if arrays > 1:
        raise NotImplementedError(f"x[index] = value with {arrays} integer index arrays; "
                                  "only one integer array (among ints and slices) is "
                                  "supported")
    if any(is_unknown(n) for c in x.chunks for n in c):
        raise ValueError(f"x[index] = value on an array with unknown chunk sizes "
                         f"{x.chunks}; call x.compute_chunk_sizes() first")
    return tuple(out)


def setitem(x: Array, index: Any, value: Any) -> Array:
    """The array ``x`` with ``x[index] = value`` applied (a new graph; blocks are copied).

    Parameters
    ----------
    x : Array
    index : index
        A boolean mask of ``x``'s shape (NumPy or lazy; with a scalar value), or a tuple
        of ints, slices, Ellipsis, ``None``, boolean scalars and at most one 1-d integer
        array (or list, or 1-d NumPy boolean mask) along one axis, read as NumPy reads
        it (see the module docstring).
    value : scalar, array_like or Array
        Broadcast to the selected region (NumPy's shape of ``x[index]``); scalars are
        converted to ``x``'s dtype as NumPy converts them, arrays are cast.

    Returns
    -------
    Array
        A new array; only the blocks the region touches are copied and written.

    Raises
    ------
    IndexError
        As NumPy: an out-of-bounds int or array index, too many indices, a non-integer
        index array, index arrays and boolean scalars that do not broadcast together.
    ValueError, TypeError, OverflowError
        NumPy's error when a scalar value cannot be stored in ``x``'s dtype, or when an
        array value does not broadcast to the selected region (also for an array into a
        single element); ``x`` is then unchanged.
    NotImplementedError
        For index forms not listed above (several or multi-dimensional integer arrays,
        lazy index arrays other than a full mask, a full mask with an array value).
    """
    from graphengine.collections.array.elementwise import elemwise
    full_mask = (isinstance(index, (Array, np.ndarray)) and index.dtype == bool
                 and index.shape == x.shape)
    # A 0-d or 1-d NumPy mask with an array value is read as a boolean scalar or the
    # integer array of its True positions.
    if full_mask and not (isinstance(index, np.ndarray) and index.ndim <= 1
                          and (isinstance(value, Array) or np.ndim(value) != 0)):
        if isinstance(value, Array):
            raise NotImplementedError("x[mask] = array is not supported; use where(mask, y, x)")
        if np.ndim(value) != 0:
            raise ValueError(f"x[mask] = value needs a scalar value, not one of shape "
                             f"{shape_text(np.shape(value))}")
        value = _cast_scalar(value, x.dtype)
        return elemwise(_where_cast, index, value, x, dtype=x.dtype, extra=(x.dtype,))
    try:
        idx, out_of_bounds = normalize_index(index, x.shape), None
    except IndexError as err:
        # NumPy checks the value against the region before the bounds of index arrays
        # (not of ints): the region's shape does not depend on the arrays' values.
        try:
            idx, out_of_bounds = normalize_index(_zeroed_arrays(index), x.shape), err
        except IndexError:
            raise err from None
    # NumPy converts the value before it broadcasts the index arrays together.
    is_array = isinstance(value, Array) or np.ndim(value) != 0
    if not is_array:
        value = _cast_scalar(value, x.dtype)
    elif not isinstance(value, Array):
        value = np.asarray(value, dtype=x.dtype)
    idx = _check_supported(x, idx)
    plan = _Plan(x, index if isinstance(index, tuple) else (index,), idx)
    region = plan.region
    if is_array and plan.all_ints and np.ndim(value) != 0:
        # NumPy 2 stores only a scalar (or 0-d array) into a single element.
        raise ValueError("setting an array element with a sequence.")
    elif _single_mask(index, x.ndim) and np.ndim(value) > 1:
        raise TypeError(f"NumPy boolean array indexing assignment requires a 0 or "
                        f"1-dimensional input, input has {np.ndim(value)} dimensions")
    value_arr = value
    if is_array:
        if isinstance(value, Array):
            value_arr = value.astype(x.dtype)
            fitted = _fit_value_shape(value_arr.shape, region)
            if fitted != value_arr.shape:
                value_arr = value_arr.reshape(fitted)
            from graphengine.collections.array.shape import broadcast_to
            value_arr = broadcast_to(value_arr, region)
        else:
            value_arr = np.broadcast_to(
                value.reshape(_fit_value_shape(value.shape, region)), region)
        flip_dims = [plan.region_axes[a] for a, f in plan.flips.items() if f]
        if flip_dims:
            value_arr = value_arr[tuple(slice(None, None, -1) if d in flip_dims
                                        else slice(None) for d in range(len(region)))]
    if out_of_bounds is not None:
        raise out_of_bounds
    if 0 in region:  # nothing selected (x[False], x[[]], x[2:2]): x is unchanged
        return x
    perm = tuple(sorted(range(len(region)), key=lambda d: plan.keys[d]))
    # The points of the index array that fall in each block along its axis, in order.
    by_block: dict = {}
    if plan.array_axis is not None:
        offs_a = np.asarray(chunk_offsets(x.chunks[plan.array_axis]))
        blk = np.searchsorted(offs_a, plan.positions, side="right") - 1
        order = np.argsort(blk, kind="stable")
        ids, starts = np.unique(blk[order], return_index=True)
        for b, s, e in zip(ids.tolist(), starts, list(starts[1:]) + [len(order)]):
            by_block[b] = order[s:e]
    name = new_name("setitem", x.name, idx, region,
                    value if not isinstance(value, Array) else value.name)
    offs = [chunk_offsets(c) for c in x.chunks]
    tasks = {}
    deps = [x]
    for coords in itertools.product(*(range(n) for n in x.numblocks)):
        key = (name, *coords)
        local, shape, vindex = [], [], [slice(None)] * len(region)
        for a in range(x.ndim):
            lo, hi = offs[a][coords[a]], offs[a][coords[a] + 1]
            if a == plan.array_axis:
                sel = by_block.get(coords[a])
                if sel is None:
                    break
                local.append(plan.positions[sel] - lo)
                shape.append(len(sel))
                vindex[plan.advanced_dim] = sel
                continue
            r = plan.ranges[a]
            sub = _sub_range(r, lo, hi)
            if sub is None:
                break
            k0, k1 = sub
            local.append(slice(r[k0] - lo, r[k1 - 1] - lo + 1, r.step))
            shape.append(k1 - k0)
            if a in plan.region_axes:
                vindex[plan.region_axes[a]] = slice(k0, k1)
        else:
            if not is_array:
                piece: Any = value
            elif isinstance(value_arr, Array):
                part = value_arr[tuple(vindex)].rechunk(-1)
                deps.append(part)
                piece = Task(None, _arrange, Ref((part.name,) + (0,) * part.ndim), perm,
                             tuple(shape))
            else:
                # A copy: later changes to the caller's value must not reach the graph.
                piece = np.array(_arrange(value_arr[tuple(vindex)], perm, tuple(shape)),
                                 order="C")
            tasks[key] = Task(key, _assign, Ref((x.name, *coords)), tuple(local), piece)
            continue
        tasks[key] = Task(key, _identity, Ref((x.name, *coords)))
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=deps)
    return Array(graph, name, x.chunks, x.dtype)


def _where_cast(mask: Any, value: Any, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(mask, np.asarray(value).astype(dtype), x)


def _identity(x: Any) -> Any:
    return x
