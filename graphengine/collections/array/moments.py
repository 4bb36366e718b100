"""Moments: ``mean``, ``var``, ``std`` (and their ``nan*`` forms) and ``average``.

Each block contributes its count and sum (a mean) or count, mean and sum of squared
deviations (a variance); the tree joins them exactly (Chan et al.), so no pass over the
data is needed for the mean first.

    >>> import numpy as np, graphengine.array as ga
    >>> ga.from_array(np.arange(6.0), chunks=4).var().compute(scheduler="sync")
    np.float64(2.9166666666666665)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, handle_out, implements
from graphengine.collections.array.reductions import (_as_array, normalize_axes, reduction,
                                                      sum)

__all__ = ["mean", "nanmean", "var", "std", "nanvar", "nanstd", "average",
           "broadcastable_weights"]


# --- moments ------------------------------------------------------------------------------

def _count(x: np.ndarray, axis: tuple, nan: bool) -> np.ndarray:
    if nan:
        return np.sum(~np.isnan(x), axis=axis, keepdims=True, dtype=np.int64)
    n = 1
    for a in axis:
        n *= x.shape[a]
    return np.full(tuple(1 if i in axis else s for i, s in enumerate(x.shape)), n,
                   dtype=np.int64)


def _mean_chunk(x: np.ndarray, axis: tuple, keepdims: bool, dtype: Any, nan: bool) -> dict:
    total = (np.nansum if nan else np.sum)(x, axis=axis, keepdims=True, dtype=dtype)
    return {"n": _count(x, axis, nan), "total": total}


def _mean_combine(p: dict, axis: tuple, keepdims: bool, dtype: Any, nan: bool) -> dict:
    return {"n": np.sum(p["n"], axis=axis, keepdims=True),
            "total": np.sum(p["total"], axis=axis, keepdims=True, dtype=dtype)}


def _mean_agg(p: dict, axis: tuple, keepdims: bool, dtype: Any, nan: bool,
              result_dtype: Any = None) -> np.ndarray:
    if result_dtype is not None:
        return _mean_agg(p, axis, keepdims, dtype, nan).astype(result_dtype)
    n = np.sum(p["n"], axis=axis, keepdims=keepdims)
    total = np.sum(p["total"], axis=axis, keepdims=keepdims, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.issubdtype(dtype, np.inexact):
            out = np.divide(total, n, dtype=dtype)
        else:  # NumPy divides in floating point, then casts to the integer/bool dtype
            out = np.true_divide(total, n).astype(dtype)
    return out


def _mean_dtype(a: Array, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    return np.mean(np.ones((1,), dtype=a.dtype)).dtype


def _make_mean(nan: bool):
    def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             split_every: Any = None, out: Any = None) -> Array:
        a = _as_array(a)
        dt = _mean_dtype(a, dtype)
        kw = {"dtype": dt, "nan": nan}
        agg_kw = kw
        if dtype is None and a.dtype == np.float16 and not nan:
            # NumPy's mean adds float16 values in float32 and rounds the result back.
            kw = {"dtype": np.dtype("f4"), "nan": nan}
            agg_kw = dict(kw, result_dtype=dt)
        return handle_out(mean.__name__, out, reduction(
            a, _mean_chunk, _mean_agg, axis=axis, keepdims=keepdims, dtype=dt,
            split_every=split_every, combine=_mean_combine, chunk_kwargs=kw,
            aggregate_kwargs=agg_kw))
    mean.__name__ = "nanmean" if nan else "mean"
    mean.__doc__ = "Arithmetic mean along ``axis`` (NaNs ignored for nanmean)."
    return mean


mean = implements(np.mean)(_make_mean(False))
nanmean = implements(np.nanmean)(_make_mean(True))


def _moment_chunk(x: np.ndarray, axis: tuple, keepdims: bool, dtype: Any, nan: bool) -> dict:
    n = _count(x, axis, nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = (np.nansum if nan else np.sum)(x, axis=axis, keepdims=True, dtype=dtype)
        mu = total / np.maximum(n, 1)
        d = x - mu
        if type(d) is np.ndarray:
            # Square the one temporary in place: a second block-sized array costs about
            # as much as the arithmetic (a fresh allocation page-faults on every page).
            np.multiply(d, np.conj(d) if np.iscomplexobj(d) else d, out=d)
            sq = d.real
        else:  # a 0-d block gives a scalar; array subclasses keep their own operators
            sq = (d * np.conj(d)).real if np.iscomplexobj(d) else d * d
        m2 = (np.nansum if nan else np.sum)(sq, axis=axis, keepdims=True)
    return {"n": n, "mean": mu, "m2": m2}


def _moment_combine(p: dict, axis: tuple, keepdims: bool = True, **kw: Any) -> dict:
    n_i, mu_i, m2_i = p["n"], p["mean"], p["m2"]
    n = np.sum(n_i, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.sum(n_i * mu_i, axis=axis, keepdims=True) / np.maximum(n, 1)
        d = mu_i - mu
        sq = (d * np.conj(d)).real if np.iscomplexobj(d) else d * d
        m2 = np.sum(m2_i + n_i * sq, axis=axis, keepdims=True)
    return {"n": n, "mean": mu, "m2": m2}


def _moment_agg(p: dict, axis: tuple, keepdims: bool, ddof: int, sqrt: bool, dtype: Any,
                **kw: Any) -> np.ndarray:
    c = _moment_combine(p, axis)
    n, m2 = c["n"], c["m2"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m2 / np.maximum(n - ddof, 0)
    if sqrt:
        out = np.sqrt(out)
    if not keepdims:
        out = out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in axis))
    return np.asarray(out).astype(dtype, copy=False) if dtype is not None else out


def _make_moment(nan: bool, sqrt: bool):
    def moment(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
               split_every: Any = None, out: Any = None, correction: Any = None) -> Array:
        a = _as_array(a)
        if correction is not None:
            ddof = correction
        dt = _mean_dtype(a, dtype)
        if np.issubdtype(dt, np.complexfloating):
            dt = np.empty(0, dtype=dt).real.dtype
        kw = {"dtype": None, "nan": nan}
        return handle_out(moment.__name__, out, reduction(
            a, _moment_chunk, _moment_agg, axis=axis, keepdims=keepdims, dtype=dt,
            split_every=split_every, combine=_moment_combine, chunk_kwargs=kw,
            aggregate_kwargs={"ddof": ddof, "sqrt": sqrt, "dtype": dt}))
    base = "std" if sqrt else "var"
    moment.__name__ = ("nan" if nan else "") + base
    moment.__doc__ = (f"{'Standard deviation' if sqrt else 'Variance'} along ``axis`` with "
                      "``ddof``, combined exactly from per-block counts, means and squared "
                      "deviations (Chan et al.).")
    return moment


var = implements(np.var)(_make_moment(False, False))
std = implements(np.std)(_make_moment(False, True))
nanvar = implements(np.nanvar)(_make_moment(True, False))
nanstd = implements(np.nanstd)(_make_moment(True, True))


def _nonzero_weights(scl: np.ndarray) -> np.ndarray:
    if np.any(scl == 0):  # NumPy's error, raised when the sums are computed
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return scl


def broadcastable_weights(a: Array, weights: Any, axis: Any) -> Array:
    """``weights`` checked against ``a`` like NumPy's ``average``/``quantile``: the shape
    of ``a``, or the shape of ``a`` along ``axis`` (then reshaped to broadcast)."""
    w = _as_array(weights)
    if w.shape == a.shape:
        return w
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    from numpy.lib.array_utils import normalize_axis_tuple
    axes = normalize_axis_tuple(axis, a.ndim, argname="axis")  # in the order given
    if w.shape != tuple(a.shape[ax] for ax in axes):
        raise ValueError("Shape of weights must be consistent with shape of a along "
                         "specified axis.")
    w = w.transpose(tuple(int(i) for i in np.argsort(axes)))
    return w.reshape(tuple(s if ax in axes else 1 for ax, s in enumerate(a.shape)))


@implements(np.average)
def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False,
            keepdims: bool = False) -> Any:
    """Weighted mean along ``axis`` (``np.average``).

    Parameters
    ----------
    a : array_like
        Data to average.
    axis : int or tuple of ints, optional
        Axes to average over (default: all).
    weights : array_like, optional
        Weights shaped like ``a``, or like ``a`` along ``axis``.
    returned : bool
        Also return the sum of the weights (the element count without weights).
    keepdims : bool
        Keep the reduced axes with length one.

    Returns
    -------
    Array or (Array, Array)
        The average, and with ``returned`` the sum of weights, broadcast to its shape.
        With weights, integer or bool data are averaged in (at least) float64.

    Raises
    ------
    ZeroDivisionError
        When the weights sum to zero (raised when computed).
    """
    from graphengine.collections.array.creation import full
    from graphengine.collections.array.elementwise import map_blocks
    from graphengine.collections.array.shape import broadcast_to
    a = _as_array(a)
    axes = None if axis is None else normalize_axes(axis, a.ndim)
    if weights is None:
        avg = mean(a, axis=axes, keepdims=keepdims)
        if not returned:
            return avg
        # NumPy: the count as the average's dtype (0.0 for empty data, not avg * 0).
        count = avg.dtype.type(a.size / avg.size)
        return avg, full(avg.shape, count, dtype=avg.dtype, chunks=avg.chunks)
    w = broadcastable_weights(a, weights, axis)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        result_dtype = np.result_type(a.dtype, w.dtype, "f8")
    else:
        result_dtype = np.result_type(a.dtype, w.dtype)
    scl = sum(w, axis=axes, dtype=result_dtype, keepdims=keepdims)
    scl = map_blocks(_nonzero_weights, scl, dtype=scl.dtype)
    avg = sum(a.astype(result_dtype) * w.astype(result_dtype), axis=axes,
              keepdims=keepdims) / scl
    if not returned:
        return avg
    return avg, (scl if scl.shape == avg.shape else broadcast_to(scl, avg.shape))
