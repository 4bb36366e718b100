"""The user-facing lazy ``DataFrame``, ``Series`` and ``Index`` and their row-wise methods.

Row-wise and elementwise methods build one partitionwise layer each; reductions,
groupby, joins and windows live in their own modules and are reached from here.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": [1, None, 3], "b": list("xyz")}), npartitions=2)
    >>> ddf.assign(c=ddf.a.fillna(0) * 2)["c"].compute().tolist()
    [2.0, 0.0, 6.0]
"""
from __future__ import annotations

import operator
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import Scalar, _call_method, _Frame, map_partitions
from graphengine.collections.dataframe.rowwise import _RowwiseMixin

__all__ = ["DataFrame", "Series", "Index"]


def _assign_part(df: pd.DataFrame, *pairs: Any) -> pd.DataFrame:
    df = df.copy(deep=False)
    for k, v in zip(pairs[::2], pairs[1::2]):
        df[k] = v
    return df


def _set_columns(df: pd.DataFrame, columns: list) -> pd.DataFrame:
    df = df.copy(deep=False)
    df.columns = columns
    return df


class DataFrame(_RowwiseMixin, _Frame):
    """A lazy pandas DataFrame split into partitions along its index.

    Build one with :func:`from_pandas`, :func:`read_csv`, :func:`read_parquet`...; use it
    like pandas; call ``.compute()`` for the pandas result.
    """

    _kind = "DataFrame"

    @property
    def columns(self) -> pd.Index:
        return self._meta.columns

    @columns.setter
    def columns(self, columns: Any) -> None:
        columns = list(columns)
        if len(columns) != len(self._meta.columns):
            raise ValueError(f"length mismatch: {len(self._meta.columns)} columns, "
                             f"{len(columns)} new names")
        self._assign_from(self.map_partitions(_set_columns, columns))

    @property
    def dtypes(self) -> pd.Series:
        return self._meta.dtypes

    @property
    def ndim(self) -> int:
        return 2

    @property
    def shape(self) -> tuple:
        return (self.map_partitions(len, meta=np.int64(0)).sum(), len(self.columns))

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | {c for c in self.columns if isinstance(c, str)})

    def __getattr__(self, key: str) -> Any:
        meta = self.__dict__.get("_meta")
        if meta is not None and not key.startswith("_") and key in meta.columns:
            return self[key]
        raise AttributeError(f"'DataFrame' object has no attribute {key!r}")

    def _check_columns(self, keys: list) -> None:
        missing = [k for k in keys if k not in self._meta.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; columns are "
                           f"{list(self._meta.columns)}")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, _Frame):
            return map_partitions(operator.getitem, self, key)
        if isinstance(key, (list, pd.Index, np.ndarray)):
            key = list(key)
            self._check_columns(key)
            return map_partitions(operator.getitem, self, key, meta=self._meta[key])
        if isinstance(key, slice):
            return self.loc[key]
        if isinstance(key, Hashable):
            self._check_columns([key])
            return map_partitions(operator.getitem, self, key, meta=self._meta[key])
        raise TypeError(f"cannot index a DataFrame with {type(key).__name__}")

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, list):
            pairs = []
            for k in key:
                pairs += [k, value[k]]
        else:
            pairs = [key, value]
        self._assign_from(map_partitions(_assign_part, self, *pairs))

    def assign(self, **kwargs: Any) -> "DataFrame":
        """New columns (values: frames, Scalars, scalars or callables of the frame)."""
        out = self
        for k, v in kwargs.items():
            if callable(v) and not isinstance(v, (_Frame, Scalar)):
                v = v(out)
            if isinstance(v, (np.ndarray, list)) and not np.isscalar(v):
                raise TypeError(f"assign({k}=...): arrays and lists cannot be split into "
                                "partitions; wrap the values in a Series or collection")
            out = map_partitions(_assign_part, out, k, v)
        return out

    def query(self, expr: str, **kwargs: Any) -> "DataFrame":
        return self._method("query", expr, **kwargs)

    def eval(self, expr: str, **kwargs: Any) -> Any:
        if kwargs.get("inplace"):
            raise NotImplementedError("eval(inplace=True)")
        return self._method("eval", expr, **kwargs)

    def select_dtypes(self, include: Any = None, exclude: Any = None) -> "DataFrame":
        meta = self._meta.select_dtypes(include=include, exclude=exclude)
        return self[list(meta.columns)]

    def set_index(self, other: Any, drop: bool = True, sorted: bool = False,
                  npartitions: int | None = None, divisions: Any = None) -> "DataFrame":
        """Index by a column, sorting globally; divisions come from approximate quantiles."""
        from graphengine.collections.dataframe.sorting import set_index

        return set_index(self, other, drop=drop, sorted=sorted, npartitions=npartitions,
                         divisions=divisions)

    def merge(self, right: Any, **kwargs: Any) -> "DataFrame":
        from graphengine.collections.dataframe.joins import merge

        return merge(self, right, **kwargs)

    def join(self, other: Any, on: Any = None, how: str = "left", lsuffix: str | None = None,
             rsuffix: str | None = None, *, suffixes: tuple | None = None) -> "DataFrame":
        """Join ``other`` on the index (or on column ``on`` of this frame), as pandas.

        ``suffixes=(left, right)`` (pandas 3.1) or ``lsuffix``/``rsuffix`` (earlier
        pandas and Dask) rename overlapping columns; giving both is a ValueError, as in
        pandas.
        """
        from graphengine.collections.dataframe.joins import merge

        if suffixes is not None and (lsuffix is not None or rsuffix is not None):
            raise ValueError("Cannot specify both 'suffixes' and 'lsuffix'/'rsuffix'.")
        if suffixes is None:
            suffixes = (lsuffix or "", rsuffix or "")
        if on is not None:
            return merge(self, other, how=how, left_on=on, right_index=True,
                         suffixes=suffixes)
        return merge(self, other, how=how, left_index=True, right_index=True,
                     suffixes=suffixes)

    def to_parquet(self, path: str, **kwargs: Any) -> Any:
        from graphengine.collections.dataframe.io_parquet import to_parquet

        return to_parquet(self, path, **kwargs)

    def to_records(self, index: bool = True, lengths: bool = True) -> Any:
        """The rows as a 1-D graphengine Array of NumPy records."""
        from graphengine.collections.dataframe.io_array import to_records

        return to_records(self, index=index, lengths=lengths)

    def items(self) -> Any:
        for c in self.columns:
            yield c, self[c]

    def __iter__(self) -> Any:
        return iter(self._meta.columns)


class Series(_RowwiseMixin, _Frame):
    """A lazy pandas Series split into partitions along its index."""

    _kind = "Series"

    @property
    def ndim(self) -> int:
        return 1

    @property
    def str(self) -> Any:
        from graphengine.collections.dataframe.accessors import Accessor

        return Accessor(self, "str")

    @property
    def dt(self) -> Any:
        from graphengine.collections.dataframe.accessors import Accessor

        return Accessor(self, "dt")

    @property
    def cat(self) -> Any:
        from graphengine.collections.dataframe.accessors import CategoricalAccessor

        return CategoricalAccessor(self)

    def map(self, arg: Any, na_action: Any = None, meta: Any = None) -> "Series":
        return map_partitions(_call_method, self, "map", arg, na_action=na_action, meta=meta)

    def rename(self, index: Any = None, **kwargs: Any) -> "Series":
        return self._method("rename", index, **kwargs)

    def value_counts(self, normalize: bool = False, sort: bool = True, ascending: bool = False,
                     dropna: bool = True, split_every: int | None = None) -> "Series":
        from graphengine.collections.dataframe.reductions import value_counts

        return value_counts(self, normalize=normalize, sort=sort, ascending=ascending,
                            dropna=dropna, split_every=split_every)

    def unique(self, split_every: int | None = None) -> "Series":
        from graphengine.collections.dataframe.reductions import unique

        return unique(self, split_every=split_every)

    def nlargest(self, n: int = 5) -> "Series":
        from graphengine.collections.dataframe.reductions import nlargest

        return nlargest(self, n, "nlargest")

    def nsmallest(self, n: int = 5) -> "Series":
        from graphengine.collections.dataframe.reductions import nlargest

        return nlargest(self, n, "nsmallest")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, _Frame):
            return map_partitions(operator.getitem, self, key)
        return self.loc[key]

    def __iter__(self) -> Any:
        raise TypeError("iterating a lazy Series; compute it first")


class Index(_Frame):
    """A lazy pandas Index split into partitions."""

    _kind = "Index"

    @property
    def ndim(self) -> int:
        return 1

    def _structure(self) -> pd.DataFrame:
        return pd.DataFrame({"dtype": [str(self._meta.dtype)]},
                            index=pd.Index([f"npartitions={self.npartitions}"]))

    def to_series(self) -> Series:
        return self.map_partitions(_call_method, "to_series")

    def min(self, **kw: Any) -> Scalar:
        return self.to_series().min(**kw)

    def max(self, **kw: Any) -> Scalar:
        return self.to_series().max(**kw)

    def __len__(self) -> int:
        from graphengine.collections.dataframe.reductions import partition_lengths

        return int(sum(partition_lengths(self)))
