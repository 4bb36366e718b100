"""Metadata of partitioned frames: empty pandas objects that carry names and dtypes.

Every lazy frame keeps ``_meta``, an empty pandas object shaped like each partition.
Operations learn their output's metadata by running on a tiny *non-empty* stand-in
(:func:`meta_nonempty`), because many pandas operations pick dtypes from values.

    >>> import pandas as pd
    >>> meta = make_meta(pd.DataFrame({"a": [1], "b": ["x"]}))
    >>> len(meta), list(meta_nonempty(meta).dtypes) == list(meta.dtypes)
    (0, True)
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["make_meta", "meta_nonempty", "infer_meta", "is_frame_like", "UNKNOWN_CATEGORIES"]

#: Placeholder category of a categorical whose categories are not known without compute.
UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"


def is_frame_like(obj: Any) -> bool:
    return isinstance(obj, (pd.DataFrame, pd.Series, pd.Index))


def make_meta(obj: Any, index: pd.Index | None = None) -> Any:
    """An empty pandas object like ``obj``.

    ``obj`` may be a pandas object, a dict ``{column: dtype}``, a list of
    ``(column, dtype)`` pairs, a ``(name, dtype)`` tuple for a Series, or a scalar/dtype
    (a scalar result).
    """
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.iloc[:0]
    if isinstance(obj, pd.Index):
        return obj[:0]
    idx = index[:0] if index is not None else pd.RangeIndex(0)
    if isinstance(obj, dict):
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in obj.items()}, index=idx)
    if isinstance(obj, list) and all(isinstance(p, tuple) and len(p) == 2 for p in obj):
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in obj}, index=idx)
    if isinstance(obj, tuple) and len(obj) == 2:
        return pd.Series([], dtype=obj[1], name=obj[0], index=idx)
    if isinstance(obj, (np.dtype, str, type)) and not isinstance(obj, bool):
        try:
            return np.dtype(obj).type(0) if np.dtype(obj).kind in "biufc" else obj
        except TypeError:
            return obj
    return obj


def _nonempty_values(dtype: Any, n: int = 2) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if len(cats) == 0:
            cats = pd.Index([UNKNOWN_CATEGORIES])
        codes = np.arange(n) % len(cats)
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats, dtype.ordered))
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.date_range("2000-01-01", periods=n, tz=dtype.tz, unit=dtype.unit)
    if isinstance(dtype, pd.StringDtype):
        return pd.array(["foo", "bar"][:n] * (n // 2 + 1), dtype=dtype)[:n]
    if isinstance(dtype, pd.PeriodDtype):
        return pd.period_range("2000", periods=n, freq=dtype.freq)
    if isinstance(dtype, pd.IntervalDtype):
        return pd.interval_range(0, n)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(dtype, np.dtype):
        try:
            kind = dtype.kind
        except AttributeError:
            kind = "O"
        if kind in "iu":
            return pd.array(np.arange(1, n + 1), dtype=dtype)
        if kind == "f":
            return pd.array(np.arange(1, n + 1) + 0.5, dtype=dtype)
        if kind == "b":
            return pd.array([True, False] * n, dtype=dtype)[:n]
        try:
            return pd.array(["foo"] * n, dtype=dtype)
        except (TypeError, ValueError):
            return pd.array([None] * n, dtype=dtype)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([True, False] * n)[:n]
    if dtype.kind in "iu":
        return np.arange(1, n + 1, dtype=dtype)
    if dtype.kind == "f":
        return (np.arange(1, n + 1) + 0.5).astype(dtype)
    if dtype.kind == "c":
        return (np.arange(1, n + 1) + 1j).astype(dtype)
    if dtype.kind == "M":
        return pd.date_range("2000-01-01", periods=n).values.astype(dtype)
    if dtype.kind == "m":
        return (np.arange(1, n + 1) * np.timedelta64(1, "D")).astype(dtype)
    if dtype.kind in "SU":
        return np.array(["foo", "bar"] * n, dtype=dtype)[:n]
    return np.array(["foo", "bar"] * n, dtype=object)[:n]


def _nonempty_index(idx: pd.Index, n: int = 2) -> pd.Index:
    if isinstance(idx, pd.RangeIndex):
        return pd.RangeIndex(n, name=idx.name)
    if isinstance(idx, pd.MultiIndex):
        levels = [_nonempty_index(lvl, n) for lvl in idx.levels]
        return pd.MultiIndex.from_arrays(levels, names=idx.names)
    if isinstance(idx, pd.DatetimeIndex):
        return pd.date_range("2000-01-01", periods=n, tz=idx.tz, name=idx.name, unit=idx.unit)
    return pd.Index(_nonempty_values(idx.dtype, n), name=idx.name, dtype=idx.dtype)


def meta_nonempty(meta: Any, n: int = 2) -> Any:
    """A small non-empty pandas object with the same columns, dtypes and index type."""
    if isinstance(meta, pd.DataFrame):
        idx = _nonempty_index(meta.index, n)
        # Explicit dtypes: pandas would infer "str" for an object array of strings.
        data = {i: pd.Series(_nonempty_values(d, n), index=idx, dtype=d)
                for i, d in enumerate(meta.dtypes)}
        out = pd.DataFrame(data, index=idx)
        out.columns = meta.columns
        return out
    if isinstance(meta, pd.Series):
        return pd.Series(_nonempty_values(meta.dtype, n), index=_nonempty_index(meta.index, n),
                         name=meta.name, dtype=meta.dtype)
    if isinstance(meta, pd.Index):
        return _nonempty_index(meta, n)
    return meta


def _sample(obj: Any) -> Any:
    """The stand-in for one argument: frames become non-empty samples, others stay."""
    from graphengine.collections.dataframe.core import Scalar, _Frame

    if isinstance(obj, _Frame):
        return meta_nonempty(obj._meta)
    if isinstance(obj, Scalar):
        return obj._meta
    if isinstance(obj, list):
        return [_sample(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_sample(o) for o in obj)
    return obj


def infer_meta(func: Callable, args: tuple, kwargs: dict, name: str = "") -> Any:
    """Run ``func`` on small samples of the arguments and return an empty result like it.

    Raises the error pandas raises (KeyError for a missing column, TypeError for a bad
    operand) so that mistakes surface when the graph is built, not at compute time.
    """
    sargs = tuple(_sample(a) for a in args)
    skw = {k: _sample(v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        # Sample values are made up, so warnings about them would only mislead.
        warnings.simplefilter("ignore")
        result = func(*sargs, **skw)
    if is_frame_like(result):
        return make_meta(result)
    if isinstance(result, np.generic) or np.isscalar(result) or result is None:
        return result
    return result
