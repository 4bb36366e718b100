"""Shape manipulation: transpose, reshape, squeeze, expand_dims, flip, roll, broadcast_to.

Transposes are blockwise (they fuse with elementwise work). ``reshape`` maps each input
block to one output block when the chunking allows it, rechunking the input first
otherwise (each group of merged or split axes keeps only its first axis chunked).

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(6).reshape(2, 3), chunks=1)
    >>> x.reshape(3, 2).compute(scheduler="sync").tolist()
    [[0, 1], [2, 3], [4, 5]]
"""
from __future__ import annotations

import itertools
import math
import operator
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import is_unknown, normalize_chunks
from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.creation import BlockShape, asarray
from graphengine.collections.array.elementwise import blockwise, new_name
from graphengine.collections.array.layer import Blockwise, PerBlock
from graphengine.collections.array.elementwise import array_from_layer
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["transpose", "swapaxes", "moveaxis", "rollaxis", "reshape", "ravel", "squeeze",
           "expand_dims", "flip", "flipud", "fliplr", "roll", "broadcast_to",
           "broadcast_arrays"]


def _axis(axis: int, ndim: int) -> int:
    from numpy.lib.array_utils import normalize_axis_index
    return normalize_axis_index(axis, ndim)


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Array:
    """Permute the axes (reverse them by default), blockwise."""
    a = asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(_axis(ax, a.ndim) for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError("axes don't match array")
    if axes == tuple(range(a.ndim)):
        return a
    return blockwise(np.transpose, axes, a, tuple(range(a.ndim)), axes=axes, dtype=a.dtype,
                     name=new_name("transpose", a.name, axes))


@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    a = asarray(a)
    order = list(range(a.ndim))
    i, j = _axis(axis1, a.ndim), _axis(axis2, a.ndim)
    order[i], order[j] = order[j], order[i]
    return transpose(a, order)


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    a = asarray(a)
    from numpy.lib.array_utils import normalize_axis_tuple
    source = normalize_axis_tuple(source, a.ndim, "source")
    destination = normalize_axis_tuple(destination, a.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [n for n in range(a.ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, order)


def rollaxis(a: Any, axis: int, start: int = 0) -> Array:
    a = asarray(a)
    axis = _axis(axis, a.ndim)
    if start < 0:
        start += a.ndim
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


# --- reshape ------------------------------------------------------------------------------

def _shape_entries(shape: Any) -> tuple:
    """Each length of ``shape`` as a Python int, as NumPy converts shapes: any integer
    type (np.int64, a 0-d integer array) is accepted, but bools and floats are a
    TypeError rather than silently becoming 1 or being truncated."""
    out = []
    for n in shape:
        if isinstance(n, (bool, np.bool_)):
            raise TypeError("an integer is required")
        out.append(operator.index(n))
    return tuple(out)


def _normalize_shape(shape: Any, size: int) -> tuple:
    if not np.iterable(shape):  # one length; a 0-d integer array counts as one too
        if isinstance(shape, (bool, np.bool_)) or not hasattr(shape, "__index__"):
            raise TypeError(f"expected a sequence of integers or a single integer, "
                            f"got '{shape}'")
        shape = (shape,)
    shape = _shape_entries(shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension")
    known = math.prod(n for n in shape if n != -1)
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape "
                             f"{tuple(shape)}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    return shape


def _groups(old: tuple, new: tuple) -> list[tuple[list, list]]:
    """Pair runs of input axes with runs of output axes having equal products."""
    groups = []
    i = j = 0
    while i < len(old) or j < len(new):
        gi, gj = [], []
        pi = pj = 1
        if i < len(old):
            gi.append(i)
            pi = old[i]
            i += 1
        if j < len(new):
            gj.append(j)
            pj = new[j]
            j += 1
        while pi != pj:
            if pi < pj and i < len(old):
                gi.append(i)
                pi *= old[i]
                i += 1
            elif j < len(new):
                gj.append(j)
                pj *= new[j]
                j += 1
            else:
                gi.append(i)
                pi *= old[i]
                i += 1
        # Trailing length-1 axes join the current group so no group is left empty.
        while i < len(old) and old[i] == 1 and (j >= len(new) or new[j] != 1):
            gi.append(i)
            i += 1
        while j < len(new) and new[j] == 1 and (i >= len(old) or old[i] != 1):
            gj.append(j)
            j += 1
        groups.append((gi, gj))
    return groups


def _reshape_block(block: np.ndarray, shape: tuple) -> np.ndarray:
    return block.reshape(shape)


def _order(order: Any, what: str) -> str:
    """NumPy's reading of ``order=``: None is 'C', letters in either case, and 'A'/'K'
    (which follow the memory layout, which a chunked array does not have) refused."""
    if order is None:
        return "C"
    letter = order.upper() if isinstance(order, str) else order
    if letter not in ("C", "F", "A", "K"):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    if letter == "K" and what == "reshape":
        raise ValueError("order 'K' is not permitted for reshaping")
    if letter in ("A", "K"):
        raise NotImplementedError(f"{what}(order={order!r}) depends on the memory layout, "
                                  "which a chunked array does not have; use 'C' or 'F'")
    return letter


@implements(np.reshape)
def reshape(x: Any, shape: Any, order: str = "C", *, merge_chunks: bool = True,
            limit: Any = None) -> Array:
    """The same data in a new shape, as ``np.reshape``.

    Parameters
    ----------
    x : array_like
    shape : int or tuple of ints
        The new shape; one length may be -1 (inferred).
    order : {'C', 'F'}
        Read and place the elements in row-major ('C', default) or column-major ('F')
        index order. 'A' is not supported (chunked arrays have no memory layout).
    merge_chunks, limit
        Accepted for Dask compatibility.

    Raises
    ------
    ValueError
        If the sizes differ, naming both, if an axis length is unknown, or for an
        invalid ``order`` (NumPy's messages).
    NotImplementedError
        For ``order='A'``.
    """
    x = asarray(x)
    order = _order(order, "reshape")
    if any(is_unknown(n) for n in x.shape):
        raise ValueError("cannot reshape an array with unknown chunk lengths; call "
                         "compute_chunk_sizes() first")
    shape = _normalize_shape(shape, x.size)
    if order == "F":
        # Column-major order of x is row-major order of x.T, so an F reshape is a C
        # reshape between reversed axes.
        return transpose(reshape(transpose(x), shape[::-1]))
    if shape == x.shape:
        return x
    name = new_name("reshape", x.name, shape)
    if x.npartitions == 1 or x.size == 0:
        if x.npartitions > 1:
            x = x.rechunk(-1)
        key = (name,) + (0,) * len(shape)
        layer = {key: Task(key, _reshape_block, Ref((x.name,) + (0,) * x.ndim), shape)}
        graph = layer_graph(name, MaterializedLayer(layer), dependencies=[x])
        return Array(graph, name, tuple((n,) for n in shape), x.dtype)
    groups = _groups(x.shape, shape)
    want = list(x.chunks)
    for gi, gj in groups:
        if len(gi) == 1 and len(gj) == 1:
            continue
        if not gi:
            continue
        for a in gi[1:]:
            want[a] = (x.shape[a],)
        p_in = math.prod(x.shape[a] for a in gi[1:])
        p_out = math.prod(shape[b] for b in gj[1:]) if gj else 1
        m = p_out // math.gcd(p_in, p_out) if p_out else 1
        first = gi[0]
        if m > 1 and any(c % m for c in want[first]):
            size = max(m, int(round(max(want[first]) / m)) * m)
            want[first] = normalize_chunks((size,), (x.shape[first],))[0]
            if sum(want[first]) != x.shape[first]:
                raise ValueError(f"cannot reshape {x.shape} into {shape} blockwise")
    if tuple(want) != x.chunks:
        x = x.rechunk(tuple(want))
    out_chunks: list = [None] * len(shape)
    for gi, gj in groups:
        if not gj:
            continue
        p_in = math.prod(x.shape[a] for a in gi[1:]) if gi else 1
        p_out = math.prod(shape[b] for b in gj[1:])
        lead = x.chunks[gi[0]] if gi else (1,)
        out_chunks[gj[0]] = tuple(c * p_in // p_out for c in lead)
        for b in gj[1:]:
            out_chunks[b] = (shape[b],)
    out_chunks = tuple(out_chunks)
    tasks = {}
    for in_coords in itertools.product(*(range(n) for n in x.numblocks)):
        out_coords = [0] * len(shape)
        for gi, gj in groups:
            if gi and gj:
                out_coords[gj[0]] = in_coords[gi[0]]
        if any(in_coords[a] for gi, _ in groups for a in gi[1:]):
            continue
        block_shape = tuple(c[i] for c, i in zip(out_chunks, out_coords))
        key = (name, *out_coords)
        tasks[key] = Task(key, _reshape_block, Ref((x.name, *in_coords)), block_shape)
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, out_chunks, x.dtype)


@implements(np.ravel)
def ravel(x: Any, order: str = "C") -> Array:
    """The elements as a 1-d array in 'C' (row-major, default) or 'F' (column-major)
    index order (``np.ravel``).

    Raises
    ------
    ValueError
        For an invalid ``order``.
    NotImplementedError
        For ``order='A'`` or ``'K'`` (chunked arrays have no memory layout).
    """
    return reshape(asarray(x), (-1,), order=_order(order, "ravel"))


@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Array:
    a = asarray(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        from numpy.lib.array_utils import normalize_axis_tuple
        axes = normalize_axis_tuple(axis, a.ndim)
        if any(a.shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal "
                             "to one")
    if not axes:
        return a
    return a[tuple(0 if i in axes else slice(None) for i in range(a.ndim))]


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Array:
    a = asarray(a)
    from numpy.lib.array_utils import normalize_axis_tuple
    # NumPy's rule: only a tuple or list is several axes; anything else (np.int64, a
    # 0-d array) is one axis, checked by normalize_axis_tuple.
    if type(axis) not in (tuple, list):
        axis = (axis,)
    out_ndim = a.ndim + len(axis)
    axes = normalize_axis_tuple(axis, out_ndim)
    return a[tuple(None if i in axes else slice(None) for i in range(out_ndim))]


@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Array:
    m = asarray(m)
    from numpy.lib.array_utils import normalize_axis_tuple
    axes = range(m.ndim) if axis is None else normalize_axis_tuple(axis, m.ndim)
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))]


def flipud(m: Any) -> Array:
    return flip(m, 0)


def fliplr(m: Any) -> Array:
    return flip(m, 1)


@implements(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Array:
    """Shift elements along ``axis``, wrapping around (``np.roll``).

    Parameters
    ----------
    a : array_like
        The array to roll.
    shift : int or sequence of ints
        Places to shift by (any integer type); broadcast against ``axis``.
    axis : int or sequence of ints, optional
        Axes to roll along (repeats add up); by default the flattened array is rolled.

    Returns
    -------
    Array
        Of the same shape as ``a``.

    Raises
    ------
    ValueError
        If ``shift`` and ``axis`` do not broadcast, or are not scalars or 1-D.
    AxisError
        If an axis is out of range.
    """
    a = asarray(a)
    if axis is None:
        return roll(a.reshape(-1), shift, 0).reshape(a.shape)
    from numpy.lib.array_utils import normalize_axis_tuple
    # NumPy's own steps, so any integer type works for shift and axis, a shift is
    # truncated with int() as NumPy does, and repeated axes add their shifts.
    axes = normalize_axis_tuple(axis, a.ndim, allow_duplicate=True)
    pairs = np.broadcast(shift, axes)  # NumPy's ValueError on mismatched lengths
    if pairs.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    total = dict.fromkeys(range(a.ndim), 0)
    for sh, ax in pairs:
        total[int(ax)] += int(sh)
    result = a
    for ax, s in total.items():
        n = a.shape[ax]
        if n == 0:
            continue
        s = s % n
        if s == 0:
            continue
        idx_head = [slice(None)] * a.ndim
        idx_tail = [slice(None)] * a.ndim
        idx_head[ax] = slice(n - s, None)
        idx_tail[ax] = slice(None, n - s)
        from graphengine.collections.array.joining import concatenate
        result = concatenate([result[tuple(idx_head)], result[tuple(idx_tail)]], axis=ax)
    return result


# --- broadcasting ---------------------------------------------------------------------------

def _broadcast_block(block: np.ndarray, shape: tuple) -> np.ndarray:
    return np.broadcast_to(block, shape)


@implements(np.broadcast_to)
def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """A read-only view of ``x`` broadcast to ``shape`` (``np.broadcast_to``).

    Raises
    ------
    ValueError
        If ``x``'s shape is not compatible with ``shape``, naming both.
    """
    x = asarray(x)
    # NumPy's conversion: any integer type, but not bool or float (int() would accept
    # both, turning True into 1 and 5.0 into 5).
    shape = _shape_entries(shape if np.iterable(shape) else (shape,))
    if any(n < 0 for n in shape):
        raise ValueError("all elements of broadcast shape must be non-negative")
    ndim = len(shape)
    if ndim < x.ndim or any(
            o != n and o != 1 for o, n in zip(x.shape, shape[ndim - x.ndim:])):
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {x.shape} and requested shape {shape}")
    if shape == x.shape:
        return x
    x = x[(None,) * (ndim - x.ndim)] if ndim > x.ndim else x
    out_chunks = []
    for d, (c, n) in enumerate(zip(x.chunks, shape)):
        if x.shape[d] == n:
            out_chunks.append(c)
        else:
            if len(c) != 1:
                x = x.rechunk({d: -1})
            out_chunks.append((n,))
    out_chunks = tuple(out_chunks)
    if chunks is not None:
        wanted = normalize_chunks(chunks, shape, dtype=x.dtype)
    else:
        wanted = None
    ind = tuple(range(ndim))
    name = new_name("broadcast-to", x.name, shape)
    layer = Blockwise(name, ind, _broadcast_block,
                      [(x.name, ind), (PerBlock(BlockShape(out_chunks)), ind)],
                      {x.name: x.numblocks},
                      new_axes={d: len(c) for d, c in enumerate(out_chunks)})
    out = array_from_layer(layer, [x], out_chunks, x.dtype)
    return out.rechunk(wanted) if wanted is not None else out


def broadcast_arrays(*args: Any) -> list:
    from graphengine.collections.array.elementwise import broadcast_shapes
    arrays = [asarray(a) for a in args]
    shape = broadcast_shapes(*[a.shape for a in arrays])
    return [broadcast_to(a, shape) for a in arrays]
