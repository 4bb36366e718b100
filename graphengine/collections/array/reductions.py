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
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from graphengine import config
from graphengine.collections.array.core import Array, handle_out, implements, layer_graph
from graphengine.collections.array.elementwise import asanyarray_operand, new_name
from graphengine.collections.array.layer import Blockwise, concatenate_nested
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
    """A 0-d result as NumPy gives it: ``np.float64(3.0)``, not a 0-d array (NumPy returns
    a scalar for every 0-d reduction result, also for 0-d input with ``keepdims=True``)."""
    return out[()] if type(out) is np.ndarray and out.ndim == 0 else out


class _Step:
    """A combine or aggregate step: join nested partials along ``axes``, then reduce."""

    __slots__ = ("func", "axes", "keepdims", "kwargs")

    def __init__(self, func: Callable, axes: tuple, keepdims: bool, kwargs: dict):
        self.func, self.axes, self.keepdims, self.kwargs = func, axes, keepdims, kwargs

    def __call__(self, nested: Any) -> Any:
        binary = _ELEMENTWISE_COMBINE.get(self.func)
        # ``initial`` (only ever in the aggregate) must reach NumPy's function, once.
        if binary is not None and "initial" not in self.kwargs:
            parts = _flatten(nested)
            # builtins.all: this module defines the array reduction ``all`` further down.
            if builtins.all(type(p) is np.ndarray for p in parts):
                # Empty blocks' partials (min/max, see _SkipEmptyBlock) hold nothing;
                # if every block was empty, one stays for NumPy to raise its error.
                parts = [p for p in parts
                         if not builtins.any(p.shape[a] == 0 for a in self.axes)] or parts
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
            if len(parts) == 1 and type(parts[0]) is np.ndarray:
                nested = parts[0]  # the one partial left: nothing to join
        joined = concatenate_nested(nested, self.axes)
        out = self.func(joined, axis=self.axes, keepdims=self.keepdims, **self.kwargs)
        return _scalar_if_0d(out)

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
    """The per-block step: ``func(block, axis=axes, keepdims=True, **kwargs)``; with
    ``with_where`` the block of the aligned mask comes last and is passed as ``where=``."""

    __slots__ = ("func", "axes", "kwargs", "with_where")

    def __init__(self, func: Callable, axes: tuple, kwargs: dict, with_where: bool = False):
        self.func, self.axes, self.kwargs, self.with_where = func, axes, kwargs, with_where

    def __call__(self, block: Any, *extra: Any) -> Any:
        kwargs = dict(self.kwargs, where=extra[-1]) if self.with_where else self.kwargs
        return self.func(block, axis=self.axes, keepdims=True, **kwargs)

    def __reduce__(self):
        return (_Chunk, (self.func, self.axes, self.kwargs, self.with_where))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "chunk")


def reduction(x: Any, chunk: Callable, aggregate: Callable, axis: Any = None,
              keepdims: bool = False, dtype: Any = None, split_every: Any = None,
              combine: Callable | None = None, name: str | None = None,
              chunk_kwargs: dict | None = None, combine_kwargs: dict | None = None,
              aggregate_kwargs: dict | None = None, reduced_length: int = 1,
              where: Array | None = None) -> Array:
    """A tree reduction of ``x`` over ``axis``.

    Parameters
    ----------
    chunk : callable
        ``chunk(block, axis=axes, keepdims=True, **chunk_kwargs)`` -> partial (array or
        dict of arrays keeping the reduced axes). Partials must not depend on where the
        block lies (chunk sizes may be unknown): positional results carry block lengths.
    aggregate : callable
        ``aggregate(joined_partials, axis=axes, keepdims=keepdims, **aggregate_kwargs)``.
    combine : callable, optional
        Like ``aggregate`` with ``keepdims=True``, for the inner levels of the tree
        (defaults to ``chunk``).
    split_every : int or dict, optional
        How many partials one task joins (default: ``array.split-every`` config).
    reduced_length : int
        Length of a reduced axis in the result when ``keepdims`` (1; ``k`` for topk).
    where : Array, optional
        A boolean mask with exactly ``x``'s chunks (see :func:`where_mask`); its blocks
        reach ``chunk`` as ``where=``.
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
                        split_every, chunk_kwargs, aggregate_kwargs,
                        None if where is None else where.name)
    token = name.rsplit("-", 1)[-1]
    ind = tuple(range(x.ndim))
    partial_name = f"{fname}-chunk-{token}"
    args = [(x.name, ind)]
    numblocks = {x.name: x.numblocks}
    if where is not None:
        args.append((where.name, ind))
        numblocks[where.name] = where.numblocks
    layer = Blockwise(partial_name, ind,
                      _Chunk(chunk, axes, chunk_kwargs, where is not None),
                      args, numblocks)
    graph = layer_graph(partial_name, layer,
                        dependencies=[x] if where is None else [x, where])
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


# --- NumPy probes and where= masks --------------------------------------------------------

def numpy_result_dtype(func: Callable, x: Array, axes: tuple, where: Any = True,
                       **kwargs: Any) -> np.dtype:
    """The dtype of NumPy's ``func(x, axis=axes, where=where, **kwargs)``, found on a
    stand-in of ``x``.

    The stand-in has ``x``'s dtype and ndim and at most one element per axis (zero-length
    axes stay empty), so NumPy's own errors for the arguments (an impossible ``dtype``,
    ``where`` without ``initial`` for ``min``, a zero-size ``max``...) are raised when the
    graph is built, with NumPy's exception types and messages.
    """
    if not (where is None or isinstance(where, (bool, int, float, complex))):
        # NumPy casts Python scalars to bool but takes only boolean arrays: probe with a
        # 0-d array of the mask's dtype.
        where = np.ones((), where.dtype if isinstance(where, Array) else
                        np.asarray(where).dtype)
    if where is not True:
        kwargs["where"] = where
    sample = np.zeros(tuple(0 if s == 0 else 1 for s in x.shape), dtype=x.dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degrees-of-freedom and empty-slice warnings
        out = func(sample, axis=axes, **kwargs)
    if isinstance(out, (np.ndarray, np.generic)):
        return out.dtype
    return np.dtype(object)  # object arrays reduce to plain Python objects


def _same_chunks(a: tuple, b: tuple) -> bool:
    """Chunks equal, an unknown (nan) length matching an unknown one."""
    def key(c: tuple) -> tuple:
        return tuple(tuple(-1 if n != n else n for n in cs) for cs in c)
    return key(a) == key(b)


def where_mask(x: Array, where: Any) -> Array | None:
    """NumPy's ``where=`` as a boolean mask with exactly ``x``'s shape and chunks (so the
    chunk step gets the mask's block with each block of ``x``); None for ``where=True``.

    Raises
    ------
    ValueError
        If ``where`` does not broadcast to ``x``'s shape, or ``x`` has unknown chunk
        sizes and ``where`` is not a graphengine array with the same chunks.
    """
    if where is True:
        return None
    from graphengine.collections.array.creation import asarray
    from graphengine.collections.array.shape import broadcast_to
    if where is None or isinstance(where, (bool, int, float, complex)):
        where = np.array(bool(where))  # NumPy's cast of a Python scalar (None: False)
    if isinstance(where, Array) and _same_chunks(where.chunks, x.chunks):
        return where if where.dtype == bool else where.astype(bool)
    if builtins.any(n != n for c in x.chunks for n in c):
        raise ValueError(f"where= on an array with unknown chunk sizes {x.chunks} needs a "
                         "graphengine mask with the same chunks; call "
                         "x.compute_chunk_sizes() first")
    shape = tuple(where.shape) if isinstance(where, Array) else np.shape(where)
    if len(shape) > x.ndim or builtins.any(
            w != 1 and w != n for w, n in zip(shape[::-1], x.shape[::-1])):
        raise ValueError(f"operands could not be broadcast together: where= has shape "
                         f"{shape} but the array has shape {x.shape}")
    mask = broadcast_to(asarray(where), x.shape)
    if not _same_chunks(mask.chunks, x.chunks):
        mask = mask.rechunk(x.chunks)
    return mask if mask.dtype == bool else mask.astype(bool)


# --- simple reductions --------------------------------------------------------------------

#: Default of arguments whose absence differs from every value (NumPy's ``np._NoValue``).
_UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "<no value>"})()


class _SkipEmptyBlock:
    """``min``/``max`` of one block, where an empty block (after a boolean mask, whose
    block lengths are known only when computed) gives a partial of length 0 along the
    reduced axes instead of NumPy's "zero-size array" error: joining the partials then
    leaves it out, and only an array with no element at all raises that error."""

    __slots__ = ("func",)

    def __init__(self, func: Callable):
        self.func = func

    def __call__(self, block: Any, axis: tuple, **kwargs: Any) -> Any:
        if "initial" not in kwargs and builtins.any(block.shape[a] == 0 for a in axis):
            return block[tuple(slice(0, 0) if i in axis else slice(None)
                               for i in range(block.ndim))]
        return self.func(block, axis=axis, **kwargs)

    def __reduce__(self):
        return (_SkipEmptyBlock, (self.func,))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "reduce")


def _simple(npfunc: Callable, name: str, takes_dtype: bool = False,
            takes_initial: bool = True, idempotent: bool = False) -> Callable:
    def reduce(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
               split_every: Any = None, out: Any = None, *, initial: Any = _UNSET,
               where: Any = True) -> Array:
        # NumPy's signatures: min/max/any/all take no dtype, any/all no initial.
        if initial is not _UNSET and not takes_initial:
            raise TypeError(f"{name}() got an unexpected keyword argument 'initial'")
        if dtype is not None and not takes_dtype:
            raise TypeError(f"{name}() got an unexpected keyword argument 'dtype'")
        a = _as_array(a)
        axes = normalize_axes(axis, a.ndim)
        np_kw = {"dtype": dtype} if takes_dtype else {}
        if initial is not _UNSET and initial is not None:  # NumPy: None is no initial
            np_kw["initial"] = initial
        rdtype = numpy_result_dtype(npfunc, a, axes, where, keepdims=keepdims, **np_kw)
        mask = where_mask(a, where)
        kw = {"dtype": rdtype} if takes_dtype else {}
        agg_kw = dict(kw, **{k: v for k, v in np_kw.items() if k == "initial"})
        # A sum or product takes initial once, in the aggregate. min and max may take it
        # in every block too; NumPy needs it there for blocks the mask leaves empty.
        chunk_kw = agg_kw if idempotent else kw
        # A NaN partial of nansum/nanprod comes from inf - inf or 0 * inf, which NumPy
        # keeps: later levels of the tree must not drop it.
        join = {np.nansum: np.sum, np.nanprod: np.prod}.get(npfunc, npfunc)
        chunk = _SkipEmptyBlock(npfunc) if idempotent else npfunc
        return handle_out(name, out, reduction(
            a, chunk, join, axis=axes, keepdims=keepdims, dtype=rdtype,
            split_every=split_every, combine=join, chunk_kwargs=chunk_kw,
            aggregate_kwargs=agg_kw, where=mask, name=new_name(
                f"{name}-aggregate", a.name, axes, keepdims, rdtype, split_every, chunk_kw,
                agg_kw, None if mask is None else mask.name)))
    reduce.__name__ = reduce.__qualname__ = name  # Python's TypeErrors name it like NumPy
    reduce.__doc__ = _simple_doc(name, takes_dtype, takes_initial)
    return reduce


def _reduction_doc(summary: str, extra: str, raises: str,
                   axis: str = "None, int or tuple of ints") -> str:
    """A NumPy-style docstring for a generated reduction: most parameters are shared."""
    return f"""{summary}

    Parameters
    ----------
    a : array_like
    axis : {axis}
        Axes to reduce (default: all).
    keepdims : bool
        Keep the reduced axes with length one.
    split_every : int or dict, optional
        Fan-in of the tree (default: the ``array.split-every`` config).
    out : Array, optional
        A graphengine Array rebound to the result.{extra}

    Returns
    -------
    Array

    Raises
    ------
    {raises}
    """


def _simple_doc(name: str, takes_dtype: bool, takes_initial: bool) -> str:
    extra = ("\n    dtype : dtype, optional\n        Accumulator and result dtype."
             if takes_dtype else "")
    if takes_initial:
        extra += ("\n    initial : scalar, optional\n        Starting value, applied once "
                  "(not per block) as in NumPy.")
    extra += ("\n    where : array_like of bool or Array, optional\n        Elements to "
              "include, broadcast to ``a`` and aligned with its blocks.")
    return _reduction_doc(
        f"``np.{name}`` over ``axis`` as a tree reduction of per-block partials.", extra,
        "TypeError, ValueError\n        As NumPy does: unknown keywords, a non-boolean or "
        "non-broadcasting ``where``,\n        ``where`` without ``initial`` for min/max, an "
        "empty reduction without identity.")


def _as_array(a: Any) -> Array:
    if isinstance(a, Array):
        return a
    from graphengine.collections.array.creation import asarray
    return asarray(a)


sum = implements(np.sum)(_simple(np.sum, "sum", takes_dtype=True))
prod = implements(np.prod)(_simple(np.prod, "prod", takes_dtype=True))
min = implements(np.min, np.amin)(_simple(np.min, "min", idempotent=True))
max = implements(np.max, np.amax)(_simple(np.max, "max", idempotent=True))
any = implements(np.any)(_simple(np.any, "any", takes_initial=False))
all = implements(np.all)(_simple(np.all, "all", takes_initial=False))
nansum = implements(np.nansum)(_simple(np.nansum, "nansum", takes_dtype=True))
nanprod = implements(np.nanprod)(_simple(np.nanprod, "nanprod", takes_dtype=True))
nanmin = implements(np.nanmin)(_simple(np.nanmin, "nanmin", idempotent=True))
nanmax = implements(np.nanmax)(_simple(np.nanmax, "nanmax", idempotent=True))


@implements(np.ptp)
def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Range of values (``max - min``) along ``axis``."""
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def ufunc_reduce(ufunc: np.ufunc, a: Any, axis: Any = 0, dtype: Any = None,
                 keepdims: bool = False, **kwargs: Any) -> Any:
    """``ufunc.reduce`` for the ufuncs with a matching reduction (``np.add.reduce``...);
    ``initial`` and ``where`` are passed on where the reduction takes them."""
    table = {np.add: sum, np.multiply: prod, np.minimum: min, np.maximum: max,
             np.logical_and: all, np.logical_or: any}
    func = table.get(ufunc)
    allowed = {"where"} if func in (all, any) else {"initial", "where"}
    if func is None or not set(kwargs) <= allowed:
        return NotImplemented
    if func in (sum, prod):
        return func(a, axis=axis, dtype=dtype, keepdims=keepdims, **kwargs)
    return func(a, axis=axis, keepdims=keepdims, **kwargs)


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

# argmin/argmax and their nan forms live in their own module.
from graphengine.collections.array.arg_reductions import (  # noqa: E402
    argmax, argmin, nanargmax, nanargmin)
