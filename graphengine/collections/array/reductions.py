"""Reductions along axes with a tree of partial results: sum, mean, var, argmin, ...

A reduction is three functions: ``chunk`` (per block, fused with whatever produced the
block), ``combine`` (joins up to ``split_every`` partial results) and ``aggregate`` (the
last step). Partials may be arrays or dicts of arrays (``{"n", "total"}`` for a mean);
they keep the reduced axes with length 1 so that joining them is a concatenation.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    >>> x.mean(axis=0).compute(scheduler="sync").tolist()
    [4.0, 5.0, 6.0, 7.0]
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphengine import config
from graphengine.collections.array.chunks import chunk_offsets
from graphengine.collections.array.core import Array, handle_out, implements, layer_graph
from graphengine.collections.array.elementwise import asanyarray_operand, new_name
from graphengine.collections.array.layer import Blockwise, PerBlock, concatenate_nested
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["reduction", "sum", "prod", "mean", "var", "std", "min", "max", "any", "all",
           "argmin", "argmax", "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin",
           "nanmax", "nanargmin", "nanargmax", "cumsum", "cumprod", "nancumsum",
           "nancumprod", "topk", "argtopk", "median", "nanmedian", "percentile",
           "nanpercentile", "quantile", "ufunc_reduce", "count_nonzero", "average",
           "ptp"]

import builtins

# The module defines sum/min/max/any/all reductions; the builtins stay reachable here.
_builtin_min, _builtin_max = min, max


def normalize_axes(axis: Any, ndim: int) -> tuple:
    """Axis argument as a sorted tuple of non-negative ints (NumPy's AxisError if invalid)."""
    if axis is None:
        return tuple(range(ndim))
    from numpy.lib.array_utils import normalize_axis_tuple
    return tuple(sorted(normalize_axis_tuple(axis, ndim)))


def _split_every(split_every: Any, axes: tuple) -> dict:
    if split_every is None:
        split_every = config.get("array.split-every")
    if isinstance(split_every, dict):
        return {a: _builtin_max(int(split_every.get(a, 2)), 2) for a in axes}
    if int(split_every) < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    per_axis = _builtin_max(int(round(int(split_every) ** (1 / _builtin_max(len(axes), 1)))), 2)
    return {a: per_axis for a in axes}


def _scalar_if_0d(out: Any) -> Any:
    """A full reduction's result as NumPy gives it: ``np.float64(3.0)``, not a 0-d array."""
    return out[()] if type(out) is np.ndarray and out.ndim == 0 else out


class _Step:
    """A combine or aggregate step: join nested partials along ``axes``, then reduce."""

    __slots__ = ("func", "axes", "keepdims", "kwargs")

    def __init__(self, func: Callable, axes: tuple, keepdims: bool, kwargs: dict):
        self.func, self.axes, self.keepdims, self.kwargs = func, axes, keepdims, kwargs

    def __call__(self, nested: Any) -> Any:
        binary = _ELEMENTWISE_COMBINE.get(self.func)
        if binary is not None:
            parts = _flatten(nested)
            # builtins.all: this module defines the array reduction ``all`` further down.
            if len(parts) > 1 and builtins.all(type(p) is np.ndarray for p in parts) and \
                    builtins.all(p.shape[a] == 1 for p in parts for a in self.axes):
                # Partials of one element along the reduced axes: fold them pairwise
                # instead of copying them all into one array first.
                out = binary(parts[0], parts[1])
                for p in parts[2:]:
                    binary(out, p, out=out)
                dtype = self.kwargs.get("dtype")
                if dtype is not None and out.dtype != dtype:
                    out = out.astype(dtype)
                if not self.keepdims:
                    out = out.reshape(tuple(n for i, n in enumerate(out.shape)
                                            if i not in self.axes))
                return _scalar_if_0d(out)
        joined = concatenate_nested(nested, self.axes)
        out = self.func(joined, axis=self.axes, keepdims=self.keepdims, **self.kwargs)
        return out if self.keepdims else _scalar_if_0d(out)

    def __reduce__(self):
        return (_Step, (self.func, self.axes, self.keepdims, self.kwargs))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "reduce")


#: Reductions whose partial results combine elementwise (no concatenation needed).
_ELEMENTWISE_COMBINE = {np.sum: np.add, np.prod: np.multiply, np.min: np.minimum,
                        np.max: np.maximum, np.any: np.logical_or, np.all: np.logical_and,
                        np.nansum: np.add, np.nanmin: np.fmin, np.nanmax: np.fmax}


def _flatten(nested: Any) -> list:
    if isinstance(nested, list):
        return [p for n in nested for p in _flatten(n)]
    return [nested]


class _Chunk:
    """The per-block step: ``func(block, axis=axes, keepdims=True, **kwargs)``."""

    __slots__ = ("func", "axes", "kwargs", "with_offsets")

    def __init__(self, func: Callable, axes: tuple, kwargs: dict, with_offsets: bool):
        self.func, self.axes, self.kwargs, self.with_offsets = func, axes, kwargs, with_offsets

    def __call__(self, block: Any, *offsets: Any) -> Any:
        if self.with_offsets:
            return self.func(block, offsets[0], axis=self.axes, keepdims=True, **self.kwargs)
        return self.func(block, axis=self.axes, keepdims=True, **self.kwargs)

    def __reduce__(self):
        return (_Chunk, (self.func, self.axes, self.kwargs, self.with_offsets))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "chunk")


class _BlockOffsets:
    __slots__ = ("offsets",)

    def __init__(self, chunks: tuple):
        self.offsets = [chunk_offsets(c) for c in chunks]

    def __call__(self, coords: tuple) -> tuple:
        return tuple(o[i] for o, i in zip(self.offsets, coords))


def reduction(x: Any, chunk: Callable, aggregate: Callable, axis: Any = None,
              keepdims: bool = False, dtype: Any = None, split_every: Any = None,
              combine: Callable | None = None, name: str | None = None,
              chunk_kwargs: dict | None = None, combine_kwargs: dict | None = None,
              aggregate_kwargs: dict | None = None, with_offsets: bool = False,
              reduced_length: int = 1) -> Array:
    """A tree reduction of ``x`` over ``axis``.

    Parameters
    ----------
    chunk : callable
        ``chunk(block, axis=axes, keepdims=True, **chunk_kwargs)`` -> partial (array or
        dict of arrays keeping the reduced axes). With ``with_offsets`` it also receives the
        block's global offsets as the second argument.
    aggregate : callable
        ``aggregate(joined_partials, axis=axes, keepdims=keepdims, **aggregate_kwargs)``.
    combine : callable, optional
        Like ``aggregate`` with ``keepdims=True``, for the inner levels of the tree
        (defaults to ``chunk``).
    split_every : int or dict, optional
        How many partials one task joins (default: ``array.split-every`` config).
    reduced_length : int
        Length of a reduced axis in the result when ``keepdims`` (1; ``k`` for topk).
    """
    x = asanyarray_operand(x)
    if not isinstance(x, Array):
        from graphengine.collections.array.creation import asarray
        x = asarray(x)
    axes = normalize_axes(axis, x.ndim)
    combine = combine or chunk
    chunk_kwargs = chunk_kwargs or {}
    combine_kwargs = combine_kwargs if combine_kwargs is not None else chunk_kwargs
    aggregate_kwargs = aggregate_kwargs or {}
    fname = getattr(aggregate, "__name__", "reduce").strip("_").replace("_", "-")
    if name is None:
        name = new_name(fname + "-aggregate", x.name, chunk, aggregate, axes, keepdims, dtype,
                        split_every, chunk_kwargs, aggregate_kwargs)
    token = name.rsplit("-", 1)[-1]
    ind = tuple(range(x.ndim))
    partial_name = f"{fname}-chunk-{token}"
    args = [(x.name, ind)]
    if with_offsets:
        args.append((PerBlock(_BlockOffsets(x.chunks)), ind))
    layer = Blockwise(partial_name, ind, _Chunk(chunk, axes, chunk_kwargs, with_offsets), args,
                      {x.name: x.numblocks})
    graph = layer_graph(partial_name, layer, dependencies=[x])
    layers = dict(graph.layers)
    deps = {k: set(v) for k, v in graph.layer_dependencies.items()}

    split = _split_every(split_every, axes)
    nb = list(x.numblocks)
    prev = partial_name
    level = 0
    while builtins.any(nb[a] > split[a] for a in axes):
        level += 1
        lname = f"{fname}-combine-{level}-{token}"
        new_nb = [math.ceil(n / split[a]) if a in split else n for a, n in enumerate(nb)]
        step = _Step(combine, axes, True, combine_kwargs)
        tasks = {}
        for coords in itertools.product(*(range(n) for n in new_nb)):
            key = (lname, *coords)
            tasks[key] = Task(key, step, _nested_refs(prev, coords, nb, axes, split))
        layers[lname] = MaterializedLayer(tasks)
        deps[lname] = {prev}
        prev, nb = lname, new_nb
    step = _Step(aggregate, axes, keepdims, aggregate_kwargs)
    tasks = {}
    full = {a: nb[a] for a in axes}
    out_nb = [1 if a in axes else n for a, n in enumerate(nb)]
    for coords in itertools.product(*(range(n) for n in out_nb)):
        out_coords = coords if keepdims else tuple(c for a, c in enumerate(coords)
                                                  if a not in axes)
        key = (name, *out_coords)
        tasks[key] = Task(key, step, _nested_refs(prev, coords, nb, axes, full))
    layers[name] = MaterializedLayer(tasks)
    deps[name] = {prev}
    chunks = tuple((reduced_length,) if a in axes else c for a, c in enumerate(x.chunks)
                   if keepdims or a not in axes)
    if dtype is None:
        dtype = x.dtype
    return Array(HighLevelGraph(layers, deps), name, chunks, dtype)


def _nested_refs(prev: str, coords: tuple, nb: list, axes: tuple, split: dict) -> Any:
    """Nested lists (one level per reduced axis) of refs to the partials a task joins."""
    ranges = []
    for a, c in enumerate(coords):
        if a in split:
            lo = c * split[a]
            ranges.append(range(lo, _builtin_min(lo + split[a], nb[a])))
        else:
            ranges.append(None)

    def build(a: int, prefix: tuple) -> Any:
        if a == len(coords):
            return Ref((prev, *prefix))
        if ranges[a] is None:
            return build(a + 1, prefix + (coords[a],))
        return [build(a + 1, prefix + (i,)) for i in ranges[a]]

    return build(0, ())


def _result_dtype(func: Callable, dtype: Any, x: Array) -> np.dtype:
    with np.errstate(all="ignore"):
        return np.asarray(func(np.ones((1,), dtype=x.dtype), dtype=dtype)).dtype


def _check_nonempty(x: Array, axes: tuple, what: str) -> None:
    for a in axes:
        if x.shape[a] == 0:
            raise ValueError(f"zero-size array to reduction operation {what} which has no "
                             "identity")


# --- simple reductions --------------------------------------------------------------------

def _simple(npfunc: Callable, name: str, needs_data: bool = False) -> Callable:
    def reduce(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
               split_every: Any = None, out: Any = None, **kwargs: Any) -> Array:
        a = _as_array(a)
        axes = normalize_axes(axis, a.ndim)
        if needs_data:
            _check_nonempty(a, axes, name)
        takes_dtype = name in ("sum", "prod", "nansum", "nanprod")
        if takes_dtype:
            rdtype = _result_dtype(npfunc, dtype, a)
            kw = {"dtype": rdtype}
        else:
            rdtype = (np.dtype(bool) if name in ("any", "all") else a.dtype)
            kw = {}
        return handle_out(name, out, reduction(
            a, npfunc, npfunc, axis=axes, keepdims=keepdims, dtype=rdtype,
            split_every=split_every, chunk_kwargs=kw, aggregate_kwargs=kw))
    reduce.__name__ = name
    reduce.__doc__ = (f"``np.{name}`` over ``axis`` (int, tuple or None) as a tree "
                      f"reduction; ``split_every`` sets the fan-in of the tree.")
    return reduce


def _as_array(a: Any) -> Array:
    if isinstance(a, Array):
        return a
    from graphengine.collections.array.creation import asarray
    return asarray(a)


sum = implements(np.sum)(_simple(np.sum, "sum"))
prod = implements(np.prod)(_simple(np.prod, "prod"))
min = implements(np.min, np.amin)(_simple(np.min, "min", needs_data=True))
max = implements(np.max, np.amax)(_simple(np.max, "max", needs_data=True))
any = implements(np.any)(_simple(np.any, "any"))
all = implements(np.all)(_simple(np.all, "all"))
nansum = implements(np.nansum)(_simple(np.nansum, "nansum"))
nanprod = implements(np.nanprod)(_simple(np.nanprod, "nanprod"))
nanmin = implements(np.nanmin)(_simple(np.nanmin, "nanmin", needs_data=True))
nanmax = implements(np.nanmax)(_simple(np.nanmax, "nanmax", needs_data=True))


@implements(np.ptp)
def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Range of values (``max - min``) along ``axis``."""
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


# --- arg reductions -----------------------------------------------------------------------

def _arg_chunk(x: np.ndarray, offsets: tuple, axis: tuple, keepdims: bool, kind: str,
               shape: tuple, nan: bool) -> dict:
    missing = None
    if nan and x.dtype.kind in "fc":
        missing = np.isnan(x)
        x = np.where(missing, np.inf if kind == "min" else -np.inf, x)
    pick = np.argmin if kind == "min" else np.argmax
    if len(axis) == 1:
        a = axis[0]
        local = pick(x, axis=a, keepdims=True)
        out = {"val": np.take_along_axis(x, local, a), "idx": local + offsets[a]}
        if missing is not None:  # nanarg*: NumPy raises for an all-NaN slice
            out["allnan"] = np.all(missing, axis=a, keepdims=True)
        return out
    j = int(pick(x)) if x.size else 0
    coords = np.unravel_index(j, x.shape)
    flat = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, offsets)), shape)
    ones = (1,) * x.ndim
    out = {"val": x.reshape(-1)[j:j + 1].reshape(ones), "idx": np.full(ones, flat, np.int64)}
    if missing is not None:
        out["allnan"] = np.full(ones, bool(missing.all()))
    return out


def _arg_combine(p: dict, axis: tuple, keepdims: bool, kind: str, **kw: Any) -> dict:
    val, idx = p["val"], p["idx"]
    pick = np.argmin if kind == "min" else np.argmax
    if len(axis) == 1:
        a = axis[0]
        local = pick(val, axis=a, keepdims=True)
        out = {"val": np.take_along_axis(val, local, a), "idx": np.take_along_axis(idx, local, a)}
    else:
        v, i = val.reshape(-1), idx.reshape(-1)
        isnan = np.isnan(v) if v.dtype.kind in "fc" else np.zeros(v.shape, bool)
        if isnan.any():
            sel = i[isnan].min()
            best = v[isnan][0]
        else:
            best = v.min() if kind == "min" else v.max()
            sel = i[v == best].min()
        ones = (1,) * val.ndim
        out = {"val": np.full(ones, best, val.dtype), "idx": np.full(ones, sel, np.int64)}
    if "allnan" in p:
        if len(axis) == 1:
            out["allnan"] = np.all(p["allnan"], axis=axis[0], keepdims=True)
        else:
            out["allnan"] = np.full((1,) * val.ndim, bool(p["allnan"].all()))
    return out


def _arg_agg(p: dict, axis: tuple, keepdims: bool, kind: str, **kw: Any) -> np.ndarray:
    combined = _arg_combine(p, axis, True, kind)
    if "allnan" in combined and combined["allnan"].any():
        raise ValueError("All-NaN slice encountered")
    idx = combined["idx"]
    if not keepdims:
        idx = idx.reshape(tuple(s for i, s in enumerate(idx.shape) if i not in axis))
    return idx.astype(np.intp, copy=False)


def _make_arg(kind: str, nan: bool):
    def arg(a: Any, axis: int | None = None, keepdims: bool = False,
            split_every: Any = None, out: Any = None) -> Array:
        a = _as_array(a)
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise TypeError(f"arg{kind}: axis must be an int or None, not {axis!r}")
        axes = normalize_axes(axis, a.ndim)
        name = ("nanarg" if nan else "arg") + kind
        _check_nonempty(a, axes, name)
        if a.ndim == 0:
            axes = ()
        kw = {"kind": kind, "shape": a.shape, "nan": nan}
        return handle_out(name, out, reduction(
            a, _arg_chunk, _arg_agg, axis=axes, keepdims=keepdims, dtype=np.intp,
            split_every=split_every, combine=_arg_combine, chunk_kwargs=kw,
            combine_kwargs={"kind": kind}, aggregate_kwargs={"kind": kind},
            with_offsets=True))
    arg.__name__ = ("nanarg" if nan else "arg") + kind
    arg.__doc__ = f"Index of the {kind}imum along ``axis`` (flat index for ``axis=None``)."
    return arg


argmin = implements(np.argmin)(_make_arg("min", False))
argmax = implements(np.argmax)(_make_arg("max", False))
nanargmin = implements(np.nanargmin)(_make_arg("min", True))
nanargmax = implements(np.nanargmax)(_make_arg("max", True))


def ufunc_reduce(ufunc: np.ufunc, a: Any, axis: Any = 0, dtype: Any = None,
                 keepdims: bool = False, **kwargs: Any) -> Any:
    """``ufunc.reduce`` for the ufuncs with a matching reduction (``np.add.reduce``...)."""
    table = {np.add: sum, np.multiply: prod, np.minimum: min, np.maximum: max,
             np.logical_and: all, np.logical_or: any}
    func = table.get(ufunc)
    if func is None or kwargs:
        return NotImplemented
    if func in (sum, prod):
        return func(a, axis=axis, dtype=dtype, keepdims=keepdims)
    return func(a, axis=axis, keepdims=keepdims)


@implements(np.count_nonzero)
def count_nonzero(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Number of non-zero values along ``axis``."""
    a = _as_array(a)
    return sum(a != 0, axis=axis, keepdims=keepdims, dtype=np.intp)


# The scans, sorting-based reductions and order statistics live in their own module.
from graphengine.collections.array.scans import (  # noqa: E402
    argtopk, cumprod, cumsum, median, nancumprod, nancumsum, nanmedian, nanpercentile,
    percentile, quantile, topk)

# Means, variances and the weighted average live in their own module.
from graphengine.collections.array.moments import (  # noqa: E402
    average, mean, nanmean, nanstd, nanvar, std, var)
