"""Scans and order statistics: cumsum/cumprod, topk/argtopk, median and percentiles.

Scans run a per-block scan, then carry each block's running total into the next block
along the axis (a chain of small tasks). ``topk`` is a tree reduction keeping ``k``
candidates per partial. Median and percentiles are **exact**: the reduced axes are
rechunked into a single block first (memory grows with the length of those axes).

    >>> import numpy as np, graphengine.array as ga
    >>> ga.from_array(np.arange(1, 6), chunks=2).cumsum().compute(scheduler="sync").tolist()
    [1, 3, 6, 10, 15]
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.elementwise import map_blocks, new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["cumsum", "cumprod", "nancumsum", "nancumprod", "topk", "argtopk", "median",
           "nanmedian", "percentile", "nanpercentile", "quantile"]


def _as_array(a: Any) -> Array:
    from graphengine.collections.array.reductions import _as_array as conv
    return conv(a)


def _last(block: np.ndarray, axis: int) -> np.ndarray:
    index = [slice(None)] * block.ndim
    index[axis] = slice(-1, None)
    return block[tuple(index)]


def _scan(a: Any, axis: Any, dtype: Any, func: Callable, binop: Callable, name: str) -> Array:
    a = _as_array(a)
    if axis is None:
        a = a.reshape(-1)
        axis = 0
    from numpy.lib.array_utils import normalize_axis_index
    axis = normalize_axis_index(axis, a.ndim)
    with np.errstate(all="ignore"):
        dt = func(np.ones((1,), dtype=a.dtype), dtype=dtype).dtype
    scanned = map_blocks(_scan_block, a, scan=func, axis=axis, out_dtype=dt, dtype=dt,
                         name=new_name(name + "-block", a.name, axis, dt))
    if a.numblocks[axis] <= 1:
        return scanned
    token = new_name(name, a.name, axis, dt).rsplit("-", 1)[-1]
    carry, out = f"{name}-carry-{token}", f"{name}-{token}"
    carry_tasks, out_tasks = {}, {}
    for coords in itertools.product(*(range(n) for n in a.numblocks)):
        key = (out, *coords)
        if coords[axis] == 0:
            out_tasks[key] = Task(key, _identity, Ref((scanned.name, *coords)))
            continue
        prev = list(coords)
        prev[axis] -= 1
        prev = tuple(prev)
        last = Task(None, _last, Ref((scanned.name, *prev)), axis)
        ckey = (carry, *coords)
        if prev[axis] == 0:
            carry_tasks[ckey] = Task(ckey, _identity, last)
        else:
            carry_tasks[ckey] = Task(ckey, binop, Ref((carry, *prev)), last)
        out_tasks[key] = Task(key, binop, Ref((scanned.name, *coords)), Ref(ckey))
    graph = layer_graph(carry, MaterializedLayer(carry_tasks),
                                      dependencies=[scanned])
    graph = layer_graph(out, MaterializedLayer(out_tasks), dependencies=[graph])
    return Array(graph, out, a.chunks, dt)


def _identity(x: Any) -> Any:
    return x


def _scan_block(block: np.ndarray, scan: Callable, axis: int, out_dtype: np.dtype) -> np.ndarray:
    # The scan's dtype= must reach NumPy (map_blocks keeps dtype= for the output's metadata).
    return scan(block, axis=axis, dtype=out_dtype)


cumsum = implements(np.cumsum)(
    lambda a, axis=None, dtype=None, out=None: _scan(a, axis, dtype, np.cumsum, np.add,
                                                     "cumsum"))
cumprod = implements(np.cumprod)(
    lambda a, axis=None, dtype=None, out=None: _scan(a, axis, dtype, np.cumprod, np.multiply,
                                                     "cumprod"))
nancumsum = implements(np.nancumsum)(
    lambda a, axis=None, dtype=None, out=None: _scan(a, axis, dtype, np.nancumsum, np.add,
                                                     "nancumsum"))
nancumprod = implements(np.nancumprod)(
    lambda a, axis=None, dtype=None, out=None: _scan(a, axis, dtype, np.nancumprod,
                                                     np.multiply, "nancumprod"))
for _f, _n in ((cumsum, "cumsum"), (cumprod, "cumprod"), (nancumsum, "nancumsum"),
               (nancumprod, "nancumprod")):
    _f.__name__ = _n
    _f.__doc__ = f"``np.{_n}`` along ``axis`` (the flattened array for ``axis=None``)."


# --- topk ---------------------------------------------------------------------------------

def _topk_values(x: np.ndarray, axis: tuple, keepdims: bool, k: int) -> np.ndarray:
    a = axis[0]
    n = x.shape[a]
    kk = abs(k)
    if kk >= n:
        return x
    if k > 0:
        return np.take(np.partition(x, n - kk, axis=a), np.arange(n - kk, n), axis=a)
    return np.take(np.partition(x, kk - 1, axis=a), np.arange(kk), axis=a)


def _topk_agg(x: np.ndarray, axis: tuple, keepdims: bool, k: int) -> np.ndarray:
    a = axis[0]
    out = np.sort(_topk_values(x, axis, True, k), axis=a)
    return np.flip(out, axis=a) if k > 0 else out


# Partials hold the selected values ("val"), their positions relative to the start of the
# blocks they cover ("idx"), how many entries they hold ("count") and how long those
# blocks are ("len"); "count" and "len" have length one along the axis and one elsewhere.
# Each combine derives a block's offset from the lengths before it, so no offsets are
# needed when the graph is built and unknown chunk sizes (after a mask) reduce correctly.

def _argtopk_chunk(x: np.ndarray, axis: tuple, keepdims: bool, k: int) -> dict:
    a = axis[0]
    n = x.shape[a]
    one = [1] * x.ndim
    idx = np.broadcast_to(np.arange(n, dtype=np.int64).reshape(
        [-1 if i == a else 1 for i in range(x.ndim)]), x.shape)
    return _argtopk_select(x, idx, np.full(one, n, np.int64), axis, k)


def _argtopk_select(val: np.ndarray, idx: np.ndarray, length: np.ndarray, axis: tuple,
                    k: int) -> dict:
    a = axis[0]
    n = val.shape[a]
    kk = abs(k)
    if kk < n:
        order = np.argpartition(val, n - kk if k > 0 else kk - 1, axis=a)
        sel = np.take(order, np.arange(n - kk, n) if k > 0 else np.arange(kk), axis=a)
        val, idx = np.take_along_axis(val, sel, a), np.take_along_axis(idx, sel, a)
    return {"val": val, "idx": np.asarray(idx), "len": length,
            "count": np.full(length.shape, val.shape[a], np.int64)}


def _argtopk_combine(p: dict, axis: tuple, keepdims: bool, k: int) -> dict:
    a = axis[0]
    lens, counts = p["len"], p["count"]
    starts = np.cumsum(lens, axis=a) - lens
    # Every entry of a partial is shifted by the start of the blocks it came from.
    shift = np.repeat(starts, counts.reshape(-1), axis=a)
    return _argtopk_select(p["val"], p["idx"] + shift, np.sum(lens, axis=a, keepdims=True),
                           axis, k)


def _argtopk_agg(p: dict, axis: tuple, keepdims: bool, k: int) -> np.ndarray:
    a = axis[0]
    best = _argtopk_combine(p, axis, True, k)
    order = np.argsort(best["val"], axis=a, kind="stable")
    if k > 0:
        order = np.flip(order, axis=a)
    return np.take_along_axis(best["idx"], order, a).astype(np.intp, copy=False)


def _topk_common(a: Any, k: int, axis: int, split_every: Any, arg: bool) -> Array:
    from graphengine.collections.array.reductions import reduction
    from numpy.lib.array_utils import normalize_axis_index
    a = _as_array(a)
    axis = normalize_axis_index(axis, a.ndim)
    if k == 0 or abs(k) > a.shape[axis]:
        raise ValueError(f"k={k} must be non-zero and at most the axis length "
                         f"{a.shape[axis]}")
    kw = {"k": k}
    if arg:
        return reduction(a, _argtopk_chunk, _argtopk_agg, axis=axis, keepdims=True,
                         dtype=np.intp, split_every=split_every, combine=_argtopk_combine,
                         chunk_kwargs=kw, aggregate_kwargs=kw, reduced_length=abs(k))
    return reduction(a, _topk_values, _topk_agg, axis=axis, keepdims=True, dtype=a.dtype,
                     split_every=split_every, chunk_kwargs=kw, aggregate_kwargs=kw,
                     reduced_length=abs(k))


def topk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The ``k`` largest values along ``axis``, largest first (``k < 0``: the ``-k``
    smallest, smallest first)."""
    return _topk_common(a, k, axis, split_every, arg=False)


def argtopk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """Indices of :func:`topk`'s values along ``axis``."""
    return _topk_common(a, k, axis, split_every, arg=True)


# --- order statistics (exact) -------------------------------------------------------------

def _order_stat(a: Any, axis: Any, keepdims: bool, func: Callable, q: Any, name: str,
                weights: Any = None, **kwargs: Any) -> Array:
    """``func`` (``np.median``, ``np.percentile``...) on blocks holding the whole of the
    reduced axes; ``q`` of any shape adds its axes in front, as in NumPy."""
    from graphengine.collections.array.moments import broadcastable_weights
    from graphengine.collections.array.reductions import normalize_axes
    from graphengine.collections.array.shape import broadcast_to
    a = _as_array(a)
    axes = normalize_axes(axis, a.ndim)
    w = None
    if weights is not None:
        w = broadcast_to(broadcastable_weights(a, weights, axis), a.shape)
    a = a.rechunk({ax: -1 for ax in axes})
    operands = [a]
    if w is not None:
        operands.append(w.rechunk(a.chunks))
    q_shape = () if q is None else np.shape(q)
    out_chunks = [((1,) if keepdims else None) if i in axes else c
                  for i, c in enumerate(a.chunks)]
    out_chunks = [(n,) for n in q_shape] + [c for c in out_chunks if c is not None]
    new_axis = tuple(range(len(q_shape))) or None
    qargs = () if q is None else (q,)
    drop = () if keepdims else axes

    def call(block: np.ndarray, *weight_block: np.ndarray) -> np.ndarray:
        extra = {"weights": weight_block[0]} if weight_block else {}
        return func(block, *qargs, axis=axes, keepdims=keepdims, **extra, **kwargs)

    call.__name__ = name
    sample = np.ones((2,) * max(a.ndim, 1), dtype=a.dtype)
    extra = {} if w is None else {"weights": np.ones(sample.shape, dtype=w.dtype)}
    with np.errstate(all="ignore"):  # also NumPy's checks of q, method and weights
        sample = func(sample, *qargs, **extra, **kwargs)
    return map_blocks(call, *operands, chunks=tuple(out_chunks), drop_axis=drop,
                      new_axis=new_axis, dtype=np.asarray(sample).dtype,
                      name=new_name(name, *(o.name for o in operands), axes, keepdims, q,
                                    kwargs))


@implements(np.median)
def median(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Exact median along ``axis`` (those axes are rechunked into one block)."""
    return _order_stat(a, axis, keepdims, np.median, None, "median")


@implements(np.nanmedian)
def nanmedian(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Exact median ignoring NaNs along ``axis``."""
    return _order_stat(a, axis, keepdims, np.nanmedian, None, "nanmedian")


_ORDER_DOC = """Exact {what} ``q`` ({scale}, any shape) along ``axis`` (``np.{name}``).

    The reduced axes are rechunked into one block. ``weights`` (shaped like ``a``, or
    like ``a`` along ``axis``) need ``method="inverted_cdf"``, as in NumPy. The result
    has the shape ``q.shape`` followed by the shape of ``a`` without ``axis``."""


@implements(np.percentile)
def percentile(a: Any, q: Any, axis: Any = None, method: str = "linear",
               keepdims: bool = False, *, weights: Any = None) -> Array:
    return _order_stat(a, axis, keepdims, np.percentile, q, "percentile", weights,
                       method=method)


@implements(np.nanpercentile)
def nanpercentile(a: Any, q: Any, axis: Any = None, method: str = "linear",
                  keepdims: bool = False, *, weights: Any = None) -> Array:
    return _order_stat(a, axis, keepdims, np.nanpercentile, q, "nanpercentile", weights,
                       method=method)


@implements(np.quantile)
def quantile(a: Any, q: Any, axis: Any = None, method: str = "linear",
             keepdims: bool = False, *, weights: Any = None) -> Array:
    return _order_stat(a, axis, keepdims, np.quantile, q, "quantile", weights, method=method)


percentile.__doc__ = _ORDER_DOC.format(what="percentiles", scale="0-100", name="percentile")
nanpercentile.__doc__ = _ORDER_DOC.format(what="percentiles, ignoring NaNs,", scale="0-100",
                                          name="nanpercentile")
quantile.__doc__ = _ORDER_DOC.format(what="quantiles", scale="0-1", name="quantile")
