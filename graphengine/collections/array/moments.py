"""Moments: ``mean``, ``var``, ``std`` (and their ``nan*`` forms), ``average``, and the
covariance and correlation matrices (``cov``, ``corrcoef``).

Each block contributes its count and sum (a mean) or count, mean and sum of squared
deviations (a variance); the tree joins them exactly (Chan et al.), so no pass over the
data is needed for the mean first. ``where=`` masks elements out of the counts and sums.
Given ``mean=`` (NumPy 2), ``var``/``std`` instead sum the squared deviations from it in
one pass, as NumPy does; ``correction=`` is NumPy's other name for ``ddof``.

    >>> import numpy as np, graphengine.array as ga
    >>> ga.from_array(np.arange(6.0), chunks=4).var().compute(scheduler="sync")
    np.float64(2.9166666666666665)
    >>> x = ga.from_array(np.arange(6.0).reshape(2, 3), chunks=2)
    >>> ga.var(x, axis=1, mean=x.mean(axis=1, keepdims=True)).compute(scheduler="sync")
    array([0.66666667, 0.66666667])
    >>> x = ga.from_array(np.arange(6.0), chunks=4)
    >>> ga.mean(x, where=np.arange(6) % 2 == 0).compute(scheduler="sync")
    np.float64(2.0)
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, handle_out, implements
from graphengine.collections.array.reductions import (_as_array, normalize_axes,
                                                      numpy_result_dtype, reduction, sum,
                                                      where_mask)

__all__ = ["mean", "nanmean", "var", "std", "nanvar", "nanstd", "average",
           "broadcastable_weights", "cov", "corrcoef"]


# --- moments ------------------------------------------------------------------------------

def _count(x: np.ndarray, axis: tuple, nan: bool, where: Any = True) -> np.ndarray:
    if nan or where is not True:
        selected = ~np.isnan(x) if nan else np.ones(x.shape, bool)
        if where is not True:  # the mask's block, aligned with x's
            selected &= where
        return np.sum(selected, axis=axis, keepdims=True, dtype=np.int64)
    n = 1
    for a in axis:
        n *= x.shape[a]
    return np.full(tuple(1 if i in axis else s for i, s in enumerate(x.shape)), n,
                   dtype=np.int64)


def _mean_chunk(x: np.ndarray, axis: tuple, keepdims: bool, dtype: Any, nan: bool,
                where: Any = True) -> dict:
    total = (np.nansum if nan else np.sum)(x, axis=axis, keepdims=True, dtype=dtype,
                                           where=where)
    return {"n": _count(x, axis, nan, where), "total": total}


def _mean_combine(p: dict, axis: tuple, keepdims: bool, dtype: Any, nan: bool) -> dict:
    return {"n": np.sum(p["n"], axis=axis, keepdims=True),
            "total": np.sum(p["total"], axis=axis, keepdims=True, dtype=dtype)}


def _mean_agg(p: dict, axis: tuple, keepdims: bool, dtype: Any, nan: bool,
              result_dtype: Any = None) -> np.ndarray:
    if result_dtype is not None:
        return np.asarray(_mean_agg(p, axis, keepdims, dtype, nan)).astype(result_dtype)
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
    npfunc = np.nanmean if nan else np.mean

    def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
             split_every: Any = None, out: Any = None, *, where: Any = True) -> Array:
        a = _as_array(a)
        axes = normalize_axes(axis, a.ndim)
        # NumPy's result dtype, and its errors (nanmean of floats with an integer dtype...).
        rdt = numpy_result_dtype(npfunc, a, axes, where, dtype=dtype, keepdims=keepdims)
        dt = _mean_dtype(a, dtype)
        kw = {"dtype": dt, "nan": nan}
        agg_kw = kw if rdt == dt else dict(kw, result_dtype=rdt)
        if dtype is None and a.dtype == np.float16 and not nan:
            # NumPy's mean adds float16 values in float32 and rounds the result back.
            kw = {"dtype": np.dtype("f4"), "nan": nan}
            agg_kw = dict(kw, result_dtype=rdt)
        return handle_out(mean.__name__, out, reduction(
            a, _mean_chunk, _mean_agg, axis=axes, keepdims=keepdims, dtype=rdt,
            split_every=split_every, combine=_mean_combine, chunk_kwargs=kw,
            aggregate_kwargs=agg_kw, where=where_mask(a, where)))
    mean.__name__ = mean.__qualname__ = "nanmean" if nan else "mean"
    mean.__doc__ = f"""Arithmetic mean along ``axis``{' ignoring NaNs' if nan else ''}, as
    ``np.{mean.__name__}``, from per-block counts and sums.

    Parameters
    ----------
    a : array_like
    axis : None, int or tuple of ints
        Axes to average over (default: all).
    dtype : dtype, optional
        Accumulator and result dtype.
    keepdims : bool
        Keep the reduced axes with length one.
    split_every : int or dict, optional
        Fan-in of the tree.
    out : Array, optional
        A graphengine Array rebound to the result.
    where : array_like of bool or Array, optional
        Elements to include: the others count neither in the sum nor in the count.

    Returns
    -------
    Array

    Raises
    ------
    TypeError
        Where NumPy raises it (a non-boolean ``where``{', an integer dtype for inexact data'
                                                        if nan else ''}).
    """
    return mean


mean = implements(np.mean)(_make_mean(False))
nanmean = implements(np.nanmean)(_make_mean(True))


def _moment_chunk(x: np.ndarray, axis: tuple, keepdims: bool, dtype: Any, nan: bool,
                  int_dtype: Any = None, where: Any = True) -> dict:
    n = _count(x, axis, nan, where)
    sumf = np.nansum if nan else np.sum
    with np.errstate(divide="ignore", invalid="ignore"):
        total = sumf(x, axis=axis, keepdims=True, dtype=dtype, where=where)
        mu = total / np.maximum(n, 1)
        d = x - mu
        if type(d) is np.ndarray:
            # Square the one temporary in place: a second block-sized array costs about
            # as much as the arithmetic (a fresh allocation page-faults on every page).
            np.multiply(d, np.conj(d) if np.iscomplexobj(d) else d, out=d)
            sq = d.real
        else:  # a 0-d block gives a scalar; array subclasses keep their own operators
            sq = (d * np.conj(d)).real if np.iscomplexobj(d) else d * d
        m2 = sumf(sq, axis=axis, keepdims=True, where=where)
    out = {"n": n, "mean": mu, "m2": m2}
    if int_dtype is not None:  # NumPy's sum in the integer dtype, for its truncated mean
        out["total"] = sumf(x, axis=axis, keepdims=True, dtype=int_dtype, where=where)
    return out


def _moment_combine(p: dict, axis: tuple, keepdims: bool = True, **kw: Any) -> dict:
    n_i, mu_i, m2_i = p["n"], p["mean"], p["m2"]
    n = np.sum(n_i, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.sum(n_i * mu_i, axis=axis, keepdims=True) / np.maximum(n, 1)
        d = mu_i - mu
        sq = (d * np.conj(d)).real if np.iscomplexobj(d) else d * d
        m2 = np.sum(m2_i + n_i * sq, axis=axis, keepdims=True)
    out = {"n": n, "mean": mu, "m2": m2}
    if "total" in p:
        out["total"] = np.sum(p["total"], axis=axis, keepdims=True, dtype=p["total"].dtype)
    return out


def _moment_agg(p: dict, axis: tuple, keepdims: bool, ddof: Any, sqrt: bool, dtype: Any,
                nan: bool = False, int_dtype: Any = None, exact: bool = False,
                **kw: Any) -> np.ndarray:
    c = _moment_combine(p, axis)
    n, m2 = c["n"], c["m2"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if int_dtype is not None:
            # NumPy subtracts the mean truncated to the integer dtype, and
            # sum((x - m)**2) = m2 + n * (mean - m)**2 (an integer for integer data).
            m = np.true_divide(c["total"], n).astype(int_dtype)
            m2 = m2 + n * np.abs(c["mean"] - m) ** 2
            if exact:  # NumPy sums the squares in that dtype, wrapping around on overflow
                m2 = np.rint(m2).astype(np.int64).astype(int_dtype)
        out = m2 / np.maximum(n - ddof, 0)
        if int_dtype is not None:  # NumPy divides into, and takes sqrt of, that dtype
            out = out.astype(int_dtype)
        if sqrt:
            out = np.sqrt(out)
        if nan:  # nanvar/nanstd: NaN where ddof leaves no degrees of freedom
            out = np.where(n - ddof <= 0, np.nan, out)
    if not keepdims:
        out = out.reshape(tuple(s for i, s in enumerate(out.shape) if i not in axis))
    return np.asarray(out).astype(dtype, copy=False) if dtype is not None else out


# --- var/std with a given mean (NumPy 2's ``mean=``) ------------------------------------

def _squared_deviation(x: np.ndarray, mu: Any) -> np.ndarray:
    """``|x - mu|**2`` as NumPy's ``var(mean=mu)`` forms it: the difference in the
    promoted dtype, squared for integer and float data, ``re**2 + im**2`` for complex."""
    d = np.subtract(x, mu)
    if x.dtype.kind in "iuf":
        return np.square(d)  # NumPy squares (even a complex difference) for real data
    if d.dtype.kind == "c":
        return np.square(d.real) + np.square(d.imag)
    return np.multiply(d, np.conj(d)).real


def _nan_squared_deviation(x: np.ndarray, mu: Any) -> np.ndarray:
    """``nanvar(mean=mu)``'s squares: the difference stored back into ``x``'s dtype
    (NumPy subtracts in place, casting unsafely), zero where ``x`` is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        d = np.asarray(np.subtract(x, mu)).astype(x.dtype)
    d[np.isnan(x)] = 0
    return (d * np.conj(d)).real if d.dtype.kind == "c" else d * d


def _not_nan(x: np.ndarray) -> np.ndarray:
    return ~np.isnan(x)


def _divide_by_dof(total: Any, n: Any, ddof: Any, sqrt: bool, nan: bool,
                   dtype: np.dtype) -> Any:
    """NumPy's last step of ``var``/``nanvar``: the sum of squares divided (into its own
    dtype) by ``max(n - ddof, 0)`` (``n - ddof`` for nanvar, NaN where it is <= 0), then
    the square root for ``std``."""
    total = np.asarray(total)
    dof = np.asarray(n) - ddof
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.true_divide(total, dof if nan else np.maximum(dof, 0)).astype(total.dtype)
        if nan:
            out = np.where(dof <= 0, np.nan, out).astype(total.dtype)
        if sqrt:
            out = np.sqrt(out)
    out = out.astype(dtype, copy=False)
    return out[()] if out.ndim == 0 else out


def _mean_operand(mean: Any) -> Any:
    """``mean`` as an elementwise operand: Python scalars stay as they are (NumPy's weak
    scalars), anything else becomes an array."""
    if isinstance(mean, Array) or type(mean) in (bool, int, float, complex):
        return mean
    return np.asarray(mean)


def _mean_stand_in(mean: Any) -> Any:
    """A NumPy stand-in of ``mean`` for the dtype probe: its dtype, length one (or zero)
    along each axis."""
    if type(mean) in (bool, int, float, complex):
        return mean
    return np.zeros(tuple(0 if n == 0 else 1 for n in mean.shape), dtype=mean.dtype)


def _moment_with_mean(a: Array, axes: tuple, dtype: Any, keepdims: bool, ddof: Any,
                      split_every: Any, where: Any, mean: Any, nan: bool, sqrt: bool,
                      rdt: np.dtype) -> Array:
    """``var``/``std`` (``nan`` forms too) of ``a`` about the given ``mean``, as NumPy
    computes them: the sum of squared deviations from ``mean`` over ``axes`` divided by
    the degrees of freedom; ``mean`` broadcasts against ``a`` blockwise."""
    from graphengine.collections.array.elementwise import elemwise
    if nan:
        sq = elemwise(_nan_squared_deviation, a, mean)
        valid = elemwise(_not_nan, a, dtype=bool)
        n = sum(valid, axis=axes, dtype=np.intp, keepdims=keepdims, where=where,
                split_every=split_every)
        sum_dtype = dtype
    else:
        sq = elemwise(_squared_deviation, a, mean)
        mask = where_mask(a, where)
        if mask is None:
            n = np.intp(np.prod([a.shape[ax] for ax in axes], dtype=np.intp))
        else:
            n = sum(mask, axis=axes, dtype=np.intp, keepdims=keepdims,
                    split_every=split_every)
        # NumPy sums the squares of integer and boolean data in float64.
        sum_dtype = dtype if dtype is not None or a.dtype.kind not in "biu" else \
            np.dtype("f8")
    total = sum(sq, axis=axes, dtype=sum_dtype, keepdims=keepdims, where=where,
                split_every=split_every)
    return elemwise(_divide_by_dof, total, n, dtype=rdt, extra=(ddof, sqrt, nan, rdt))


def _check_mean_shape(a: Array, mean: Any) -> None:
    """NumPy subtracts ``mean`` from ``a``: it must broadcast to ``a``'s shape (the
    documented form is the ``keepdims=True`` shape of the result).

    Raises
    ------
    ValueError
        If it does not, naming both shapes.
    """
    shape = tuple(mean.shape) if isinstance(mean, (Array, np.ndarray)) else ()
    try:
        ok = np.broadcast_shapes(shape, a.shape) == tuple(a.shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"mean with shape {shape} does not broadcast to the array's shape "
                         f"{a.shape}; give it the keepdims=True shape of the result")


def _make_moment(nan: bool, sqrt: bool):
    npfunc = {(False, False): np.var, (False, True): np.std, (True, False): np.nanvar,
              (True, True): np.nanstd}[nan, sqrt]

    def moment(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
               ddof: Any = 0, split_every: Any = None, out: Any = None,
               correction: Any = None, *, where: Any = True, mean: Any = None) -> Array:
        a = _as_array(a)
        if correction is not None:
            if ddof != 0:  # NumPy's check: ddof=0 may be given with correction
                raise ValueError("ddof and correction can't be provided simultaneously.")
            ddof = correction
        axes = normalize_axes(axis, a.ndim)
        if mean is not None:
            mean = _mean_operand(mean)
            _check_mean_shape(a, mean)
            # NumPy's result dtype for this mean, and its errors (bool - bool...).
            rdt = numpy_result_dtype(npfunc, a, axes, where, dtype=dtype, ddof=ddof,
                                     keepdims=keepdims, mean=_mean_stand_in(mean))
            return handle_out(moment.__name__, out, _moment_with_mean(
                a, axes, dtype, keepdims, ddof, split_every, where, mean,
                nan and a.dtype.kind in "fc", sqrt, rdt))
        # NumPy's result dtype (complex for dtype=complex) and its errors (std along an
        # axis in an integer dtype, nanvar of floats in an integer dtype...).
        rdt = numpy_result_dtype(npfunc, a, axes, where, dtype=dtype, ddof=ddof,
                                 keepdims=keepdims)
        # nanvar of data that cannot hold NaN is NumPy's var (inf, not NaN, for ddof >= n).
        is_nan = nan and a.dtype.kind in "fc"
        chunk_dtype = dtype if dtype is not None and np.dtype(dtype).kind in "fc" else None
        int_dtype = np.dtype(dtype) if dtype is not None and \
            np.dtype(dtype).kind in "iu" else None
        kw = {"dtype": chunk_dtype, "nan": is_nan, "int_dtype": int_dtype}
        return handle_out(moment.__name__, out, reduction(
            a, _moment_chunk, _moment_agg, axis=axes, keepdims=keepdims, dtype=rdt,
            split_every=split_every, combine=_moment_combine, chunk_kwargs=kw,
            aggregate_kwargs={"ddof": ddof, "sqrt": sqrt, "dtype": rdt, "nan": is_nan,
                              "int_dtype": int_dtype, "exact": a.dtype.kind in "biu"},
            where=where_mask(a, where)))
    base = "std" if sqrt else "var"
    moment.__name__ = moment.__qualname__ = ("nan" if nan else "") + base
    moment.__doc__ = f"""{'Standard deviation' if sqrt else 'Variance'} along ``axis``
    {'ignoring NaNs ' if nan else ''}as ``np.{moment.__name__}``, combined exactly from
    per-block counts, means and squared deviations (Chan et al.).

    Parameters
    ----------
    a : array_like
    axis : None, int or tuple of ints
        Axes to reduce (default: all).
    dtype : dtype, optional
        Result dtype as NumPy gives it. An integer dtype gives NumPy's values for integer
        data (the mean truncated first, the squares summed in that dtype); NumPy's
        truncation of each squared deviation of float data is not reproduced.
    keepdims : bool
        Keep the reduced axes with length one.
    ddof, correction : int or float
        Delta degrees of freedom (give one of them).{'''
        NaN where ``ddof`` is at least the count of non-NaN values.''' if nan else ''}
    split_every : int or dict, optional
        Fan-in of the tree.
    out : Array, optional
        A graphengine Array rebound to the result.
    where : array_like of bool or Array, optional
        Elements to include in the counts, means and deviations.
    mean : array_like or Array, optional
        The mean to take deviations from instead of computing it (NumPy 2's ``mean=``),
        shaped as the result with ``keepdims=True`` (anything that broadcasts to ``a``
        works, as in NumPy). The squared deviations are summed over ``axis`` in one pass
        and divided by the degrees of freedom, with NumPy's dtypes.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        If both ``ddof`` and ``correction`` are given, or if ``mean`` does not broadcast
        to ``a``'s shape.
    TypeError
        Where NumPy raises it for ``dtype`` or ``where`` (``UFuncTypeError`` included).
    """
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


# --- covariance -----------------------------------------------------------------------

@implements(np.cov)
def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False,
        ddof: int | None = None, fweights: Any = None, aweights: Any = None, *,
        dtype: Any = None) -> Array:
    """Covariance matrix (``np.cov``).

    Parameters
    ----------
    m, y : array_like
        Variables (rows, or columns with ``rowvar=False``) and their observations.
    rowvar, bias, ddof
        As in NumPy.
    fweights, aweights
        Not supported (``NotImplementedError``).
    dtype : dtype, optional
        Data type of the computation and the result (default: at least float64).

    Returns
    -------
    Array
        The covariance matrix, squeezed (a 0-d array for a single variable).
    """
    from graphengine.collections.array.joining import concatenate
    from graphengine.collections.array.products import dot
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov(fweights=..., aweights=...) is not supported")
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    x = _as_array(m)
    if x.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    yy = None if y is None else _as_array(y)
    if yy is not None and yy.ndim > 2:
        raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(x.dtype, np.float64) if yy is None else \
            np.result_type(x.dtype, yy.dtype, np.float64)
    dtype = np.dtype(dtype)
    ndim = x.ndim
    x = x.astype(dtype)
    if x.ndim < 2:  # NumPy: array(m, ndmin=2)
        x = x.reshape((1, -1))
    if not rowvar and ndim != 1:
        x = x.T
    if x.shape[0] == 0:
        return _as_array(np.array([]).reshape(0, 0))
    if yy is not None:
        yy = yy.astype(dtype)
        if yy.ndim < 2:
            yy = yy.reshape((1, -1))
        if not rowvar and yy.shape[0] != 1:
            yy = yy.T
        x = concatenate([x, yy], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    fact = x.shape[1] - ddof
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    x = x - x.mean(axis=1, keepdims=True)
    # NumPy scales in place by 1/fact (a float64 scalar), keeping the dtype.
    c = (dot(x, x.T.conj()) * np.true_divide(1, fact)).astype(dtype)
    return c.squeeze() if c.shape == (1, 1) else c


@implements(np.corrcoef)
def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Array:
    """Pearson correlation coefficients (``np.corrcoef``)."""
    from graphengine.collections.array.routines import diag
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = diag(c)
    sd = d ** 0.5
    c = c / sd[:, None]
    c = c / sd[None, :]
    return c.clip(-1, 1) if not np.iscomplexobj(np.empty(0, c.dtype)) else c
