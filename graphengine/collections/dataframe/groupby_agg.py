"""Groupby aggregation kernels: what each task of a groupby tree reduction runs.

An aggregation is a list of *items* ``(output label, input column, function)``. For each
item, ``chunk`` turns a partition's pandas groupby into one or more intermediate Series
indexed by the group keys, ``combine`` merges concatenated intermediates by grouping
again on the keys (so it can repeat up a tree), and ``finalize`` produces the column.
Variances carry (count, sum, sum of squared deviations) and merge with Chan's formula;
``nunique`` carries distinct (key, value) pairs. Sums and counts by a small-range integer
key take a ``np.bincount`` fast path.

    >>> import pandas as pd
    >>> part = pd.DataFrame({"k": [1, 1, 2], "v": [1.0, 3.0, 5.0]})
    >>> opts = {"dropna": True, "observed": True, "sort": True, "ddof": 1}
    >>> chunks = [_gb_chunk(part, by=["k"], level=None, items=[("v", "v", "mean")],
    ...                     opts=opts, split_out=1)]
    >>> meta = part.groupby("k").v.mean().iloc[:0]
    >>> _gb_aggregate(chunks, [("v", "v", "mean")], opts, meta, True).tolist()
    [2.0, 5.0]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Aggregation"]


class Aggregation:
    """A custom groupby aggregation, as in Dask.

    Parameters
    ----------
    name : str
        Output column label when used in a list.
    chunk : callable
        ``chunk(SeriesGroupBy) -> Series | tuple of Series`` on each partition.
    agg : callable
        ``agg(*SeriesGroupBy) -> Series | tuple``: merges intermediates grouped again by key
        (used both in the tree and at the end).
    finalize : callable, optional
        ``finalize(*Series) -> Series`` on the merged intermediates.
    combine : callable, optional
        Merge step inside the tree if it differs from ``agg``.
    """

    def __init__(self, name: str, chunk: Callable, agg: Callable,
                 finalize: Callable | None = None, combine: Callable | None = None):
        self.__name__ = name
        self.chunk = chunk
        self.agg = agg
        self.combine = combine or agg
        self.finalize = finalize

    def __graphengine_tokenize__(self) -> tuple:
        return ("Aggregation", self.__name__, self.chunk, self.agg, self.finalize, self.combine)


_SIMPLE = {"sum": "sum", "prod": "prod", "min": "min", "max": "max", "first": "first",
           "last": "last", "count": "sum", "size": "sum"}
_KNOWN = set(_SIMPLE) | {"mean", "var", "std", "nunique"}


def _regroup(s: pd.Series, opts: dict) -> Any:
    return s.groupby(level=list(range(s.index.nlevels)), sort=False,
                     dropna=opts["dropna"], observed=opts["observed"])


def _chunk_item(g: Any, col: Any, func: Any, part: pd.DataFrame, keys: pd.DataFrame) -> list:
    if isinstance(func, Aggregation):
        out = func.chunk(g[col])
        return list(out) if isinstance(out, tuple) else [out]
    if func == "size":
        return [g.size()]
    if func in _SIMPLE:
        return [getattr(g[col], func)()]
    if func == "mean":
        return [g[col].sum(), g[col].count()]
    if func in ("var", "std"):
        n = g[col].count()
        s = g[col].sum().astype("float64")
        m2 = (g[col].var(ddof=0) * n).fillna(0.0)
        return [n, s, m2]
    if func == "nunique":
        pairs = pd.concat([keys, part[col].rename("__value")], axis=1).drop_duplicates()
        return [pairs.set_index(list(keys.columns))["__value"]]
    raise ValueError(f"unknown groupby aggregation {func!r}")


def _combine_item(cols: list, func: Any, opts: dict) -> list:
    if isinstance(func, Aggregation):
        out = func.combine(*[_regroup(c, opts) for c in cols])
        return list(out) if isinstance(out, tuple) else [out]
    if func in _SIMPLE:
        return [getattr(_regroup(cols[0], opts), _SIMPLE[func])()]
    if func == "mean":
        return [_regroup(cols[0], opts).sum(), _regroup(cols[1], opts).sum()]
    if func in ("var", "std"):
        n, s, m2 = cols
        ntot = _regroup(n, opts).sum()
        stot = _regroup(s, opts).sum()
        mean = (stot / ntot.where(ntot > 0)).reindex(n.index)
        with np.errstate(invalid="ignore", divide="ignore"):
            local = s / n.where(n > 0)
            extra = (n * (local - mean) ** 2).fillna(0.0)
        return [ntot, stot, _regroup(m2 + extra, opts).sum()]
    if func == "nunique":
        c = cols[0]
        names = list(c.index.names)
        return [c.reset_index().drop_duplicates().set_index(names)[c.name]]
    raise ValueError(f"unknown groupby aggregation {func!r}")


def _finalize_item(cols: list, func: Any, opts: dict) -> pd.Series:
    if isinstance(func, Aggregation):
        out = func.agg(*[_regroup(c, opts) for c in cols])
        out = list(out) if isinstance(out, tuple) else [out]
        return func.finalize(*out) if func.finalize else out[0]
    if func in _SIMPLE:
        return cols[0]
    if func == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return (cols[0] / cols[1]).astype("float64")
    if func in ("var", "std"):
        n, _, m2 = cols
        dof = n - opts["ddof"]
        v = (m2 / dof.where(dof > 0)).astype("float64")
        return np.sqrt(v) if func == "std" else v
    if func == "nunique":
        return _regroup(cols[0], opts).nunique(dropna=True)
    raise ValueError(f"unknown groupby aggregation {func!r}")


def _keys_of(part: pd.DataFrame, by: Any, by_parts: list, level: Any) -> tuple:
    """The groupby argument for a partition, and the key columns as a frame."""
    if level is not None:
        idx = part.index
        lv = level if isinstance(level, list) else [level]
        arrays = {(idx.names[lvl] if isinstance(lvl, int) else lvl) or f"level_{lvl}":
                  idx.get_level_values(lvl) for lvl in lv}
        return None, pd.DataFrame(arrays, index=part.index)
    keys = list(by_parts) if by_parts else [part[b] for b in by]
    names = [k.name for k in keys]
    return keys, pd.DataFrame(dict(zip(range(len(keys)), keys)), index=part.index).set_axis(
        names, axis=1)


_BINCOUNT_FUNCS = {"sum", "count", "mean", "size"}


def _bincount_chunk(part: pd.DataFrame, by: list, items: list, opts: dict) -> list | None:
    """Sums and counts by a small-range integer key with ``np.bincount``: several times
    faster than a hash groupby. ``None`` when the fast path does not apply."""
    if len(by) != 1 or not opts["sort"] or len(part) == 0:
        return None
    key = part[by[0]]
    if key.dtype.kind not in "iu" or not isinstance(key.dtype, np.dtype):
        return None
    for _, col, func in items:
        if func not in _BINCOUNT_FUNCS:
            return None
        if func in ("sum", "mean") and (part[col].dtype.kind != "f" or
                                        not isinstance(part[col].dtype, np.dtype)):
            return None
    k = key.to_numpy()
    lo, hi = int(k.min()), int(k.max())
    span = hi - lo + 1
    if span > max(4 * len(k), 1 << 16):
        return None
    codes = k - lo if lo else k
    size = np.bincount(codes, minlength=span)
    present = np.flatnonzero(size)
    index = pd.Index(present + lo, dtype=key.dtype, name=by[0])
    out = []
    for _, col, func in items:
        if func == "size":
            out.append([pd.Series(size[present], index=index)])
            continue
        values = part[col].to_numpy()
        nans = np.isnan(values) if values.dtype.kind == "f" else None
        if nans is not None and nans.any():
            cnt = np.bincount(codes[~nans], minlength=span)
            w = np.where(nans, 0.0, values)
        else:
            cnt, w = size, values
        count = pd.Series(cnt[present].astype(np.int64), index=index, name=col)
        if func == "count":
            out.append([count])
            continue
        sums = pd.Series(np.bincount(codes, weights=w, minlength=span)[present].astype(
            values.dtype), index=index, name=col)
        out.append([sums] if func == "sum" else [sums, count])
    return out


def _gb_chunk(part: pd.DataFrame, *by_parts: Any, by: list, level: Any, items: list,
              opts: dict, split_out: int) -> Any:
    fast = None if (by_parts or level is not None) else _bincount_chunk(part, by, items, opts)
    if fast is not None:
        return _split_lists(fast, split_out) if split_out > 1 else fast
    grouper, keys = _keys_of(part, by, by_parts, level)
    if level is not None:
        g = part.groupby(level=level, sort=False, dropna=opts["dropna"],
                         observed=opts["observed"])
    else:
        g = part.groupby(grouper if len(grouper) > 1 else grouper[0], sort=False,
                         dropna=opts["dropna"], observed=opts["observed"])
    out = [_chunk_item(g, col, func, part, keys) for _, col, func in items]
    if split_out > 1:
        return _split_lists(out, split_out)
    return out


def _split_lists(lists: list, n: int) -> list:
    """Hash-split each intermediate Series by its group key into ``n`` pieces."""
    pieces = [[[None] * len(cols) for cols in lists] for _ in range(n)]
    for i, cols in enumerate(lists):
        for j, s in enumerate(cols):
            h = pd.util.hash_pandas_object(s.index, index=False).to_numpy() % n
            for p in range(n):
                pieces[p][i][j] = s[h == p]
    return pieces


def _pick(x: list, i: int) -> Any:
    return x[i]


def _gb_combine(chunks: list, items: list, opts: dict) -> list:
    out = []
    for i, (_, _, func) in enumerate(items):
        width = len(chunks[0][i])
        cols = [pd.concat([c[i][j] for c in chunks]) for j in range(width)]
        out.append(_combine_item(cols, func, opts))
    return out


def _gb_aggregate(chunks: list, items: list, opts: dict, meta: Any, series_out: bool) -> Any:
    merged = _gb_combine(chunks, items, opts)
    results = [_finalize_item(cols, func, opts) for cols, (_, _, func) in zip(merged, items)]
    if series_out:
        out = results[0]
        out.name = meta.name
    else:
        out = pd.concat(results, axis=1) if len(results) > 1 else results[0].to_frame()
        out.columns = meta.columns
    if opts["sort"]:
        out = out.sort_index()
    idx_meta = meta.index
    if out.index.nlevels == 1 and out.index.dtype != idx_meta.dtype:
        try:
            out.index = out.index.astype(idx_meta.dtype)
        except (TypeError, ValueError):
            pass
    out.index.names = idx_meta.names
    for c, d in (meta.dtypes.items() if not series_out else [(None, meta.dtype)]):
        col = out if series_out else out[c]
        if col.dtype != d and len(out):
            try:
                converted = col.astype(d)
            except (TypeError, ValueError):
                continue
            if series_out:
                out = converted
            else:
                out[c] = converted
    return out


def _wrap_combine(chunks: list, items: list, opts: dict) -> list:
    return _gb_combine(chunks, items, opts)
