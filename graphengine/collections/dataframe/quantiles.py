"""Approximate quantiles of partitioned data (used by ``quantile``, ``describe``, ``set_index``).

The algorithm: each partition sorts its non-missing values and keeps at most
``dataframe.quantile-samples`` of them, at evenly spaced ranks, each weighted by the
number of rows it stands for. The samples of all partitions are merged by value, every
sample gets the (fractional) global rank of the middle of its weight, and quantile ``q``
is read by linear interpolation at rank ``q * (n - 1)``, like pandas' default
``interpolation="linear"``. When no partition has more rows than the sample size every
value is kept with weight 1 and the result is exact; otherwise the rank error is at most
about ``rows_per_partition / samples`` positions.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = pd.Series(range(100))
    >>> bool(gd.from_pandas(s, npartitions=4).quantile(0.3).compute() == s.quantile(0.3))
    True
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphengine import config
from graphengine.collections.dataframe.core import _Frame
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty

__all__ = ["quantile", "sample_chunk", "merge_samples"]


def _as_numbers(values: Any) -> tuple[np.ndarray, Any]:
    """Float values and the dtype to convert results back to (datetimes)."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and dtype.kind in "mM":
        return values.astype("int64").to_numpy(dtype="float64"), dtype
    return np.asarray(values, dtype="float64"), None


def sample_chunk(part: Any, samples: int) -> tuple:
    """Sorted samples and weights of one partition's non-missing values."""
    s = part.dropna()
    vals, kind = _as_numbers(s)
    vals = np.sort(vals)
    n = len(vals)
    if n <= samples:
        return vals, np.ones(n), kind
    pos = np.linspace(0, n - 1, samples)
    return np.interp(pos, np.arange(n), vals), np.full(samples, n / samples), kind


def merge_samples(chunks: list, qs: np.ndarray) -> np.ndarray:
    """Quantiles ``qs`` from the samples of every partition."""
    vals = np.concatenate([c[0] for c in chunks]) if chunks else np.array([])
    weights = np.concatenate([c[1] for c in chunks]) if chunks else np.array([])
    if len(vals) == 0:
        return np.full(len(qs), np.nan)
    order = np.argsort(vals, kind="stable")
    vals, weights = vals[order], weights[order]
    total = weights.sum()
    ranks = np.cumsum(weights) - weights / 2 - 0.5
    return np.interp(qs * (total - 1), ranks, vals)


def _chunk(part: Any, columns: Any, samples: int) -> Any:
    if columns is None:
        return sample_chunk(part, samples)
    return [sample_chunk(part[c], samples) for c in columns]


def _combine(parts: list) -> Any:
    # Samples are kept as they are until the end: merging them is exact bookkeeping.
    if isinstance(parts[0], list):
        return [[c for p in parts for c in p[i]] for i in range(len(parts[0]))]
    return [c for p in parts for c in (p if isinstance(p, list) else [p])]


def _flatten(parts: list, columns: Any) -> Any:
    if columns is None:
        out = []
        for p in parts:
            out.extend(p if isinstance(p, list) else [p])
        return out
    out = [[] for _ in columns]
    for p in parts:
        for i, c in enumerate(p):
            out[i].extend(c if isinstance(c, list) else [c])
    return out


def _restore(values: np.ndarray, kind: Any) -> Any:
    """Numbers back to datetimes/timedeltas in the column's own unit (and time zone)."""
    if kind is None:
        return values
    ints = np.round(values).astype("int64")
    if isinstance(kind, pd.DatetimeTZDtype):
        naive = pd.DatetimeIndex(ints.view(f"M8[{kind.unit}]"))
        return naive.tz_localize("UTC").tz_convert(kind.tz)
    return pd.Index(ints.view(kind))


def _aggregate(parts: list, qs: list, scalar_q: bool, columns: Any, name: Any) -> Any:
    flat = _flatten(parts, columns)
    q = np.asarray(qs, dtype="float64")
    if columns is None:
        kind = next((c[2] for c in flat if len(c[0])), None)
        res = _restore(merge_samples(flat, q), kind)
        if scalar_q:
            return res[0]
        return pd.Series(res, index=pd.Index(qs, dtype="float64"), name=name)
    cols = {}
    for c, chunks in zip(columns, flat):
        kind = next((x[2] for x in chunks if len(x[0])), None)
        cols[c] = _restore(merge_samples(chunks, q), kind)
    out = pd.DataFrame(cols, index=pd.Index(qs, dtype="float64"))
    out.columns = columns
    if scalar_q:
        return out.iloc[0].rename(qs[0])
    return out


def quantile(frame: _Frame, q: Any = 0.5, split_every: int | None = None) -> Any:
    """Approximate quantile(s) ``q`` of a Series or of each numeric DataFrame column.

    Returns a Scalar for a Series and scalar ``q``, a Series for a list ``q`` (or a
    DataFrame and scalar ``q``), a DataFrame for a DataFrame and list ``q``.
    """
    from graphengine.collections.dataframe.reductions import tree_reduction

    scalar_q = np.ndim(q) == 0
    qs = [float(q)] if scalar_q else [float(x) for x in q]
    for x in qs:
        if not 0 <= x <= 1:
            raise ValueError(f"quantile {x} is not between 0 and 1")
    meta = make_meta(meta_nonempty(frame._meta).quantile(q))
    columns = None
    if isinstance(frame._meta, pd.DataFrame):
        columns = meta_nonempty(frame._meta).quantile(qs).columns
    samples = int(config.get("dataframe.quantile-samples"))
    name = frame._meta.name if not isinstance(frame._meta, pd.DataFrame) else None
    return tree_reduction([frame], _chunk, _combine, _aggregate, meta, "quantile", split_every,
                          chunk_args=(columns, samples),
                          aggregate_args=(qs, scalar_q, columns, name))
