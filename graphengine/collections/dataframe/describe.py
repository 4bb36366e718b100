"""``describe``: pandas' summary statistics, assembled from lazy reductions.

Numeric columns get count, mean, std, min, percentiles and max (percentiles approximate,
see :mod:`~graphengine.collections.dataframe.quantiles`); datetimes the same without std;
other columns count, unique, top and freq (top: most frequent, ties to the first seen).

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series(["a", "b", "a"]), npartitions=2)
    >>> [str(v) for v in s.describe().compute()]
    ['3', '2', 'a', '2']
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import _Frame
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty
from graphengine.collections.dataframe.reductions import single_task, value_counts

__all__ = ["describe"]


def _numeric(count: Any, mean: Any, std: Any, mn: Any, qs: Any, mx: Any, labels: list,
             name: Any) -> pd.Series:
    qv = list(np.atleast_1d(np.asarray(qs, dtype="float64")))
    return pd.Series([count, mean, std, mn, *qv, mx],
                     index=["count", "mean", "std", "min", *labels, "max"], name=name,
                     dtype="float64")


def _datetime(count: Any, mean_ns: Any, mn: Any, qs: Any, mx: Any, labels: list, name: Any,
              dtype: Any) -> pd.Series:
    mean = pd.Series([mean_ns]).astype("int64").astype(dtype).iloc[0] if count else pd.NaT
    return pd.Series([count, mean, mn, *list(qs), mx],
                     index=["count", "mean", "min", *labels, "max"], name=name, dtype=object)


def _categorical(count: Any, unique: Any, counts: pd.Series, name: Any) -> pd.Series:
    top = counts.index[0] if len(counts) else np.nan
    freq = counts.iloc[0] if len(counts) else np.nan
    return pd.Series([count, unique, top, freq], index=["count", "unique", "top", "freq"],
                     name=name, dtype=object)


def _as_ints(part: pd.Series) -> pd.Series:
    return part.dropna().astype("int64").astype("float64")


def _series_pieces(s: _Frame, pct: list, labels: list) -> Any:
    from graphengine.collections.dataframe.quantiles import quantile

    meta = s._meta
    name = meta.name
    if pd.api.types.is_numeric_dtype(meta.dtype) and not pd.api.types.is_bool_dtype(meta.dtype):
        return single_task(_numeric, s.count(), s.mean(), s.std(), s.min(), quantile(s, pct),
                           s.max(), labels, name, meta=pd.Series([], dtype="float64", name=name),
                           name="describe")
    if meta.dtype.kind == "M":
        mean_ns = s.map_partitions(_as_ints, meta=pd.Series([], dtype="float64")).mean()
        return single_task(_datetime, s.count(), mean_ns, s.min(), quantile(s, pct), s.max(),
                           labels, name, meta.dtype, meta=pd.Series([], dtype=object, name=name),
                           name="describe")
    counts = value_counts(s, dropna=True)
    return single_task(_categorical, s.count(), s.nunique(), counts, name,
                       meta=pd.Series([], dtype=object, name=name), name="describe")


def _assemble(*described: pd.Series) -> pd.DataFrame:
    names: list = []
    # Row order as pandas builds it: shortest description first, new labels appended.
    for index in sorted((d.index for d in described), key=len):
        for label in index:
            if label not in names:
                names.append(label)
    return pd.concat([d.reindex(names) for d in described], axis=1, sort=False)


def describe(frame: _Frame, percentiles: Any = None) -> Any:
    """Summary statistics like :meth:`pandas.DataFrame.describe` (default ``include``)."""
    pct = [0.25, 0.5, 0.75] if percentiles is None else sorted(set(percentiles) | {0.5})
    labels = [f"{p * 100:g}%" for p in pct]
    if isinstance(frame._meta, pd.Series):
        return _series_pieces(frame, pct, labels)
    sample = meta_nonempty(frame._meta).describe(percentiles=pct)
    parts = [_series_pieces(frame[c], pct, labels) for c in sample.columns]
    return single_task(_assemble, *parts, meta=make_meta(sample), name="describe")
