"""Methods every lazy DataFrame and Series has: row-wise pandas methods (one partitionwise
layer each) and the entry points to reductions, windows, groupby, shuffles and IO.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series([1.0, None, 3.0]), npartitions=2)
    >>> s.fillna(0).cumsum().compute().tolist()
    [1.0, 1.0, 4.0]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import (
    _call_method, _Frame, map_partitions, new_collection,
)
from graphengine.collections.dataframe.meta import UNKNOWN_CATEGORIES

__all__ = ["_RowwiseMixin"]


def _astype_unknown_categories(part: Any, dtype: Any) -> Any:
    return part.astype(dtype)


def _unknown_categorical_meta(meta: Any, columns: list | None) -> Any:
    cat = pd.CategoricalDtype([UNKNOWN_CATEGORIES])
    if isinstance(meta, pd.Series):
        return meta.astype(cat)
    meta = meta.copy()
    for c in columns if columns is not None else meta.columns:
        meta[c] = meta[c].astype(cat)
    return meta


def _is_unknown_category_spec(dtype: Any) -> bool:
    return (isinstance(dtype, str) and dtype == "category") or (
        isinstance(dtype, pd.CategoricalDtype) and dtype.categories is None)


class _RowwiseMixin:
    """Methods shared by DataFrame and Series that act on each partition independently."""

    def _assign_from(self, other: _Frame) -> None:
        self.graph, self._name = other.graph, other._name
        self._meta, self.divisions = other._meta, other.divisions

    # elementwise -------------------------------------------------------------------------
    def isna(self) -> Any:
        return self._method("isna")

    isnull = isna

    def notna(self) -> Any:
        return self._method("notna")

    notnull = notna

    def fillna(self, value: Any = None, **kwargs: Any) -> Any:
        """Fill missing values with ``value`` (a scalar, dict, or Series/Scalar)."""
        return map_partitions(_call_method, self, "fillna", value, **kwargs)

    def ffill(self, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.windows import fill_across

        return fill_across(self, "ffill", **kwargs)

    def bfill(self, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.windows import fill_across

        return fill_across(self, "bfill", **kwargs)

    def dropna(self, **kwargs: Any) -> Any:
        return self._method("dropna", **kwargs)

    def isin(self, values: Any) -> Any:
        if isinstance(values, _Frame):
            raise NotImplementedError("isin with a lazy collection; compute it first")
        return self._method("isin", values)

    def astype(self, dtype: Any) -> Any:
        """Cast to ``dtype``; ``"category"`` gives categories unknown until computed."""
        meta = None
        if _is_unknown_category_spec(dtype):
            meta = _unknown_categorical_meta(self._meta.astype(dtype), None)
        elif isinstance(dtype, dict) and any(_is_unknown_category_spec(d) for d in dtype.values()):
            cols = [c for c, d in dtype.items() if _is_unknown_category_spec(d)]
            meta = _unknown_categorical_meta(self._meta.astype(dtype), cols)
        return self._method("astype", dtype, meta=meta)

    def where(self, cond: Any, other: Any = np.nan, **kwargs: Any) -> Any:
        return map_partitions(_call_method, self, "where", cond, other, **kwargs)

    def mask(self, cond: Any, other: Any = np.nan, **kwargs: Any) -> Any:
        return map_partitions(_call_method, self, "mask", cond, other, **kwargs)

    def clip(self, lower: Any = None, upper: Any = None, **kwargs: Any) -> Any:
        return map_partitions(_call_method, self, "clip", lower, upper, **kwargs)

    def round(self, decimals: int = 0) -> Any:
        return self._method("round", decimals)

    def abs(self) -> Any:
        return self._method("abs")

    def replace(self, *args: Any, **kwargs: Any) -> Any:
        return self._method("replace", *args, **kwargs)

    def between(self, left: Any, right: Any, inclusive: str = "both") -> Any:
        return self._method("between", left, right, inclusive=inclusive)

    def copy(self, deep: bool = False) -> Any:
        return new_collection(self.graph, self._name, self._meta, self.divisions)

    def drop(self, labels: Any = None, axis: int = 0, columns: Any = None,
             errors: str = "raise", **kwargs: Any) -> Any:
        return self._method("drop", labels, axis=axis, columns=columns, errors=errors,
                            **kwargs)

    def rename(self, *args: Any, **kwargs: Any) -> Any:
        return self._method("rename", *args, **kwargs)

    def add_prefix(self, prefix: str) -> Any:
        return self._method("add_prefix", prefix)

    def add_suffix(self, suffix: str) -> Any:
        return self._method("add_suffix", suffix)

    def apply(self, func: Callable, *args: Any, meta: Any = None, **kwargs: Any) -> Any:
        """Apply ``func`` row by row (DataFrame, ``axis=1``) or element by element (Series).

        ``meta=`` avoids running ``func`` on a sample to learn the output type.
        """
        if isinstance(self._meta, pd.DataFrame) and kwargs.get("axis", 0) not in (1, "columns"):
            raise NotImplementedError("DataFrame.apply only supports axis=1 (row-wise)")
        return map_partitions(_call_method, self, "apply", func, *args, meta=meta, **kwargs)

    def to_frame(self, name: Any = None) -> "DataFrame":
        return self._method("to_frame") if name is None else self._method("to_frame", name)

    # arithmetic with options ------------------------------------------------------------
    def _opmethod(self, op: str, other: Any, **kwargs: Any) -> Any:
        return map_partitions(_call_method, self, op, other, **kwargs)

    def reset_index(self, drop: bool = False) -> Any:
        """Reset to a global 0..n-1 index (partition lengths are computed lazily)."""
        from graphengine.collections.dataframe.indexing import reset_index

        return reset_index(self, drop=drop)

    @property
    def loc(self) -> Any:
        from graphengine.collections.dataframe.indexing import LocIndexer

        return LocIndexer(self)

    @property
    def iloc(self) -> Any:
        from graphengine.collections.dataframe.indexing import ILocIndexer

        return ILocIndexer(self)

    # reductions ------------------------------------------------------------------------
    def sum(self, **kw: Any) -> Any:
        return self._reduce("sum", **kw)

    def prod(self, **kw: Any) -> Any:
        return self._reduce("prod", **kw)

    product = prod

    def min(self, **kw: Any) -> Any:
        return self._reduce("min", **kw)

    def max(self, **kw: Any) -> Any:
        return self._reduce("max", **kw)

    def count(self, **kw: Any) -> Any:
        return self._reduce("count", **kw)

    def any(self, **kw: Any) -> Any:
        return self._reduce("any", **kw)

    def all(self, **kw: Any) -> Any:
        return self._reduce("all", **kw)

    def mean(self, **kw: Any) -> Any:
        from graphengine.collections.dataframe.reductions import mean

        return mean(self, **kw)

    def var(self, ddof: int = 1, **kw: Any) -> Any:
        from graphengine.collections.dataframe.reductions import var

        return var(self, ddof=ddof, **kw)

    def std(self, ddof: int = 1, **kw: Any) -> Any:
        from graphengine.collections.dataframe.reductions import var

        return var(self, ddof=ddof, sqrt=True, **kw)

    def nunique(self, dropna: bool = True, split_every: int | None = None) -> Any:
        from graphengine.collections.dataframe.reductions import nunique

        return nunique(self, dropna=dropna, split_every=split_every)

    def idxmin(self, skipna: bool = True, split_every: int | None = None) -> Any:
        from graphengine.collections.dataframe.reductions import idx_reduction

        return idx_reduction(self, "min", skipna=skipna, split_every=split_every)

    def idxmax(self, skipna: bool = True, split_every: int | None = None) -> Any:
        from graphengine.collections.dataframe.reductions import idx_reduction

        return idx_reduction(self, "max", skipna=skipna, split_every=split_every)

    def memory_usage(self, index: bool = True, deep: bool = False) -> Any:
        from graphengine.collections.dataframe.reductions import memory_usage

        return memory_usage(self, index=index, deep=deep)

    def quantile(self, q: Any = 0.5, method: str = "approximate") -> Any:
        """Approximate quantiles (see :mod:`graphengine.collections.dataframe.quantiles`)."""
        from graphengine.collections.dataframe.quantiles import quantile

        return quantile(self, q)

    def describe(self, percentiles: Any = None) -> Any:
        from graphengine.collections.dataframe.describe import describe

        return describe(self, percentiles=percentiles)

    def mode(self, dropna: bool = True, split_every: int | None = None) -> Any:
        from graphengine.collections.dataframe.reductions import mode

        return mode(self, dropna=dropna, split_every=split_every)

    def _reduce(self, how: str, split_every: int | None = None, **kw: Any) -> Any:
        from graphengine.collections.dataframe.reductions import simple_reduction

        return simple_reduction(self, how, split_every=split_every, **kw)

    def cumsum(self, skipna: bool = True) -> Any:
        from graphengine.collections.dataframe.cumulative import cumulative

        return cumulative(self, "cumsum", skipna=skipna)

    def cumprod(self, skipna: bool = True) -> Any:
        from graphengine.collections.dataframe.cumulative import cumulative

        return cumulative(self, "cumprod", skipna=skipna)

    def cummax(self, skipna: bool = True) -> Any:
        from graphengine.collections.dataframe.cumulative import cumulative

        return cumulative(self, "cummax", skipna=skipna)

    def cummin(self, skipna: bool = True) -> Any:
        from graphengine.collections.dataframe.cumulative import cumulative

        return cumulative(self, "cummin", skipna=skipna)

    # windows / reshaping ---------------------------------------------------------------
    def shift(self, periods: int = 1, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.windows import shift

        return shift(self, periods, **kwargs)

    def diff(self, periods: int = 1) -> Any:
        from graphengine.collections.dataframe.windows import diff

        return diff(self, periods)

    def rolling(self, window: Any, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.windows import Rolling

        return Rolling(self, window, **kwargs)

    def groupby(self, by: Any = None, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.groupby import GroupBy

        return GroupBy(self, by, **kwargs)

    def repartition(self, npartitions: int | None = None, divisions: Any = None,
                    partition_size: Any = None) -> Any:
        from graphengine.collections.dataframe.repartition import repartition

        return repartition(self, npartitions=npartitions, divisions=divisions,
                           partition_size=partition_size)

    def shuffle(self, on: Any = None, npartitions: int | None = None, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.shuffle import shuffle

        return shuffle(self, on, npartitions=npartitions, **kwargs)

    def drop_duplicates(self, subset: Any = None, keep: str = "first",
                        split_every: int | None = None, split_out: int = 1) -> Any:
        from graphengine.collections.dataframe.reductions import drop_duplicates

        return drop_duplicates(self, subset=subset, keep=keep, split_every=split_every,
                               split_out=split_out)

    def sort_values(self, by: Any = None, ascending: bool = True, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.sorting import sort_values

        return sort_values(self, by, ascending=ascending, **kwargs)

    def to_delayed(self) -> list:
        """One Delayed per partition."""
        from graphengine.collections.delayed import Delayed

        keys = self.__graphengine_keys__()
        return [Delayed(k, self.graph) for k in keys]

    def to_array(self, lengths: bool = True) -> Any:
        """The values as a graphengine Array (see :func:`to_array`)."""
        from graphengine.collections.dataframe.io_array import to_array

        return to_array(self, lengths=lengths)

    to_dask_array = to_array

    def to_csv(self, path: Any, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.io_csv import to_csv

        return to_csv(self, path, **kwargs)


def _make_opmethods(cls: type) -> None:
    names = ["add", "sub", "mul", "div", "truediv", "floordiv", "mod", "pow", "radd", "rsub",
             "rmul", "rdiv", "rtruediv", "rfloordiv", "rmod", "rpow", "eq", "ne", "lt", "le",
             "gt", "ge"]
    for n in names:
        setattr(cls, n, (lambda name: lambda self, other, **kw: self._opmethod(name, other, **kw))(n))


_make_opmethods(_RowwiseMixin)


