"""Reductions over partitioned frames, as tree reductions.

Each reduction is three functions: ``chunk`` runs on every partition, ``combine`` merges
a list of up to ``split_every`` intermediate results into one (repeatedly, building a
tree), and ``aggregate`` turns the last list into the answer. Empty partitions give
``None`` from ``chunk`` where an empty result would change a dtype (``min`` of an empty
int Series is a float NaN), and are skipped.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series([1, 5, 2, 8]), npartitions=3)
    >>> int(s.max().compute()), bool(s.std().compute() == pd.Series([1, 5, 2, 8]).std())
    (8, True)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from graphengine import config
from graphengine.collections.dataframe.core import (
    Scalar, _Frame, _funcname, _tokenize, _union_categories, concat_parts, new_collection,
)
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["tree_reduction", "simple_reduction", "mean", "var", "nunique", "value_counts",
           "unique", "drop_duplicates", "idx_reduction", "memory_usage", "mode",
           "nlargest", "partition_lengths", "sum_of_parts", "single_task"]


def _split_every(split_every: int | None) -> int:
    se = split_every or config.get("dataframe.split-every")
    if se is False or se < 2:
        raise ValueError(f"split_every must be an int >= 2, got {split_every!r}")
    return int(se)


def tree_reduction(frames: list, chunk: Callable, combine: Callable, aggregate: Callable,
                   meta: Any, name: str, split_every: int | None = None,
                   chunk_args: tuple = (), combine_args: tuple = (),
                   aggregate_args: tuple = ()) -> Any:
    """Reduce aligned ``frames`` partition by partition, then in a tree of fan-in
    ``split_every``; the result has one partition (or is a Scalar)."""
    se = _split_every(split_every)
    token = _tokenize([f._name for f in frames], chunk, combine, aggregate, chunk_args,
                      combine_args, aggregate_args, se)
    name = f"{name}-{token}"
    npart = frames[0].npartitions
    layer: dict = {}
    level = []
    for i in range(npart):
        k = (f"{name}-chunk", i)
        layer[k] = Task(k, chunk, *[Ref((f._name, i)) for f in frames], *chunk_args)
        level.append(k)
    depth = 0
    while len(level) > se:
        nxt = []
        for j in range(0, len(level), se):
            k = (f"{name}-combine{depth}", j // se)
            layer[k] = Task(k, combine, [Ref(x) for x in level[j:j + se]], *combine_args)
            nxt.append(k)
        level = nxt
        depth += 1
    layer[(name, 0)] = Task((name, 0), aggregate, [Ref(x) for x in level], *aggregate_args)
    graph = HighLevelGraph.from_layer(name, layer, frames)
    return new_collection(graph, name, meta, (None, None))


def single_task(func: Callable, *objs: Any, meta: Any, name: str | None = None) -> Any:
    """``func(*values)`` as one task, where Scalars and one-partition frames among ``objs``
    are replaced by their values."""
    deps = [o for o in objs if isinstance(o, (Scalar, _Frame))]
    for o in deps:
        if isinstance(o, _Frame) and o.npartitions != 1:
            raise ValueError("single_task needs one-partition frames")
    name = f"{name or _funcname(func)}-{_tokenize(func, objs)}"
    args = [Ref((o._name, 0)) if isinstance(o, (Scalar, _Frame)) else o for o in objs]
    layer = {(name, 0): Task((name, 0), func, *args)}
    return new_collection(HighLevelGraph.from_layer(name, layer, deps), name, meta, (None, None))


# --- simple reductions -------------------------------------------------------------------

def _chunk_reduce(part: Any, how: str, kwargs: dict) -> Any:
    if len(part) == 0 and how in ("min", "max"):
        return None
    return getattr(part, how)(**kwargs)


def _stack(values: list) -> Any:
    if isinstance(values[0], pd.Series):
        return pd.DataFrame(values)
    return pd.Series(values)


def _combine_reduce(values: list, how: str, kwargs: dict) -> Any:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return getattr(_stack(values), how)(**kwargs)


def _aggregate_reduce(values: list, how: str, kwargs: dict, meta_empty: Any) -> Any:
    out = _combine_reduce(values, how, kwargs)
    if out is None:
        return getattr(meta_empty, how)(**kwargs)
    return out


def _reduction_meta(frame: _Frame, how: str, kwargs: dict) -> Any:
    return make_meta(getattr(meta_nonempty(frame._meta), how)(**kwargs))


def simple_reduction(frame: _Frame, how: str, split_every: int | None = None,
                     **kwargs: Any) -> Any:
    """``frame.<how>(**kwargs)`` for sum, prod, min, max, count, any, all."""
    meta = _reduction_meta(frame, how, kwargs)
    comb_how = "sum" if how == "count" else how
    comb_kw = {k: v for k, v in kwargs.items() if k in ("skipna",)}
    if how in ("sum", "prod") and "min_count" in kwargs:
        comb_kw["min_count"] = kwargs["min_count"]
    return tree_reduction([frame], _chunk_reduce, _combine_reduce, _aggregate_reduce, meta,
                          how, split_every, chunk_args=(how, kwargs),
                          combine_args=(comb_how, comb_kw),
                          aggregate_args=(comb_how, comb_kw, frame._meta))


# --- mean and variance -------------------------------------------------------------------

def _mean_chunk(part: Any, kwargs: dict) -> tuple:
    return part.sum(**kwargs), part.count(**{k: v for k, v in kwargs.items()
                                            if k == "numeric_only"})


def _mean_combine(values: list) -> tuple:
    s, c = values[0]
    for s2, c2 in values[1:]:
        s, c = s + s2, c + c2
    return s, c


def _mean_agg(values: list) -> Any:
    s, c = _mean_combine(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        if isinstance(s, pd.Series):
            return (s / c).astype("float64")
        return np.float64(s) / c if c else np.float64(np.nan)


def _dt_mean_chunk(part: pd.Series, skipna: bool) -> tuple:
    if not skipna and part.isna().any():
        return None, 1
    ints = part.dropna().to_numpy().view("i8")
    if not len(ints):
        return 0, 0
    base = int(ints[0])  # exact Python-int sum without int64 overflow
    return base * len(ints) + int((ints - base).sum()), len(ints)


def _dt_mean_combine(values: list) -> tuple:
    if any(s is None for s, _ in values):
        return None, 1
    return sum(s for s, _ in values), sum(c for _, c in values)


def _dt_mean_agg(values: list, meta: Any) -> Any:
    if any(s is None for s, _ in values):
        return pd.NaT
    total, count = sum(s for s, _ in values), sum(c for _, c in values)
    if not count:
        return pd.NaT
    q = abs(total) // count  # truncated toward zero, as pandas casts its float mean
    return pd.Series([q if total >= 0 else -q]).astype(meta.dtype).iloc[0]


def mean(frame: _Frame, split_every: int | None = None, **kwargs: Any) -> Any:
    if isinstance(frame._meta, pd.Series) and frame._meta.dtype.kind in "mM":
        # datetimes/timedeltas have no sum: average their integer representation
        meta = frame._meta.mean(**kwargs)
        return tree_reduction([frame], _dt_mean_chunk, _dt_mean_combine, _dt_mean_agg, meta,
                              "mean", split_every, chunk_args=(kwargs.get("skipna", True),),
                              aggregate_args=(frame._meta,))
    meta = _reduction_meta(frame, "mean", kwargs)
    return tree_reduction([frame], _mean_chunk, _mean_combine, _mean_agg, meta, "mean",
                          split_every, chunk_args=(kwargs,))


def _var_chunk(part: Any, columns: Any) -> tuple:
    x = part[list(columns)] if columns is not None else part
    if isinstance(x, pd.DataFrame):
        x = x.astype("float64")
        n = x.count().to_numpy(dtype="float64")
        s = x.sum().to_numpy(dtype="float64")
    else:
        x = x.astype("float64")
        n = np.array([x.count()], dtype="float64")
        s = np.array([x.sum()], dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(n > 0, s / np.where(n > 0, n, 1), 0.0)
    dev = (x - (m if x.ndim == 2 else m[0])) ** 2
    m2 = np.atleast_1d(np.asarray(dev.sum(), dtype="float64"))
    return n, m, m2


def _var_combine(values: list) -> tuple:
    n, m, m2 = values[0]
    for nb, mb, m2b in values[1:]:
        tot = n + nb
        safe = np.where(tot > 0, tot, 1)
        delta = mb - m
        m = np.where(tot > 0, m + delta * nb / safe, 0.0)
        m2 = m2 + m2b + delta ** 2 * n * nb / safe
        n = tot
    return n, m, m2


def _var_agg(values: list, ddof: int, sqrt: bool, columns: Any) -> Any:
    n, _, m2 = _var_combine(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(n - ddof > 0, m2 / np.where(n - ddof > 0, n - ddof, 1), np.nan)
    if sqrt:
        v = np.sqrt(v)
    if columns is not None:
        return pd.Series(v, index=columns, dtype="float64")
    return np.float64(v[0])


def var(frame: _Frame, ddof: int = 1, sqrt: bool = False, split_every: int | None = None,
        **kwargs: Any) -> Any:
    """Variance (``sqrt=True``: standard deviation) with a stable parallel algorithm
    (per-partition counts, means and sums of squared deviations, merged pairwise)."""
    how = "std" if sqrt else "var"
    full = getattr(meta_nonempty(frame._meta), how)(**dict(kwargs, ddof=ddof))
    meta = make_meta(full)
    columns = full.index if isinstance(full, pd.Series) else None
    return tree_reduction([frame], _var_chunk, _var_combine, _var_agg, meta, how, split_every,
                          chunk_args=(columns,), aggregate_args=(ddof, sqrt, columns))


# --- distinct values ---------------------------------------------------------------------

def _dedup_chunk(part: Any, kwargs: dict) -> Any:
    return part.drop_duplicates(**kwargs)


def _dedup_combine(parts: list, kwargs: dict) -> Any:
    return concat_parts(parts).drop_duplicates(**kwargs)


def _nunique_chunk(part: Any) -> Any:
    if isinstance(part, pd.DataFrame):
        return {i: part.iloc[:, i].drop_duplicates() for i in range(part.shape[1])}
    return part.drop_duplicates()


def _nunique_combine(parts: list) -> Any:
    if isinstance(parts[0], dict):
        return {i: concat_parts([p[i] for p in parts]).drop_duplicates() for i in parts[0]}
    return concat_parts(parts).drop_duplicates()


def _nunique_agg(parts: list, dropna: bool, columns: Any) -> Any:
    x = _nunique_combine(parts)
    if isinstance(x, dict):
        return pd.Series([x[i].nunique(dropna=dropna) for i in sorted(x)], index=columns,
                         dtype="int64")
    return np.int64(x.nunique(dropna=dropna))


def nunique(frame: _Frame, dropna: bool = True, split_every: int | None = None) -> Any:
    meta = make_meta(meta_nonempty(frame._meta).nunique(dropna=dropna))
    columns = frame._meta.columns if isinstance(frame._meta, pd.DataFrame) else None
    return tree_reduction([frame], _nunique_chunk, _nunique_combine, _nunique_agg, meta,
                          "nunique", split_every, aggregate_args=(dropna, columns))


def _vc_chunk(part: pd.Series, dropna: bool) -> pd.Series:
    return part.value_counts(dropna=dropna, sort=False)


def _vc_combine(parts: list, dropna: bool) -> pd.Series:
    cats = _union_categories([p.index.dtype for p in parts])
    if cats is not None:
        # unknown categoricals: every partition has its own categories; use their union
        dtype = pd.CategoricalDtype(cats, parts[0].index.dtype.ordered)
        parts = [p.set_axis(p.index.astype(dtype)) for p in parts]
    x = pd.concat(parts) if len(parts) > 1 else parts[0]
    out = x.groupby(level=0, dropna=dropna, sort=False, observed=False).sum()
    if out.index.dtype != parts[0].index.dtype:
        # concat and groupby infer "str" for object labels; keep the values' own dtype.
        out.index = out.index.astype(parts[0].index.dtype)
    return out


def _vc_agg(parts: list, dropna: bool, sort: bool, ascending: bool, normalize: bool
            ) -> pd.Series:
    x = _vc_combine(parts, dropna)
    if normalize:
        x = (x / x.sum()).rename("proportion")
    if sort:
        x = x.sort_values(ascending=ascending, kind="stable")
    return x


def value_counts(series: _Frame, normalize: bool = False, sort: bool = True,
                 ascending: bool = False, dropna: bool = True,
                 split_every: int | None = None) -> Any:
    """Counts of distinct values; ties keep the order of first appearance, as in pandas."""
    meta = make_meta(meta_nonempty(series._meta).value_counts(normalize=normalize,
                                                              dropna=dropna))
    return tree_reduction([series], _vc_chunk, _vc_combine, _vc_agg, meta, "value_counts",
                          split_every, chunk_args=(dropna,), combine_args=(dropna,),
                          aggregate_args=(dropna, sort, ascending, normalize))


def _unique_agg(parts: list) -> pd.Series:
    return concat_parts(parts).drop_duplicates().reset_index(drop=True)


def unique(series: _Frame, split_every: int | None = None) -> Any:
    """Distinct values in order of first appearance, as a Series."""
    meta = series._meta.reset_index(drop=True)
    return tree_reduction([series], _dedup_chunk, _dedup_combine, _unique_agg, meta, "unique",
                          split_every, chunk_args=({},), combine_args=({},))


def drop_duplicates(frame: _Frame, subset: Any = None, keep: str = "first",
                    split_every: int | None = None, split_out: int = 1) -> Any:
    """Rows without duplicates. ``keep="first"/"last"`` reduce in a tree (order kept);
    ``keep=False`` or ``split_out > 1`` hash-shuffle rows so duplicates meet."""
    kwargs = {"keep": keep}
    if subset is not None:
        kwargs["subset"] = subset
        frame._check_columns([subset] if not isinstance(subset, list) else subset)
    if keep is False or split_out > 1:
        from graphengine.collections.dataframe.shuffle import shuffle

        on = subset if subset is not None else (
            list(frame.columns) if isinstance(frame._meta, pd.DataFrame) else None)
        shuffled = shuffle(frame, on, npartitions=max(split_out, 1))
        return shuffled._method("drop_duplicates", **kwargs)
    return tree_reduction([frame], _dedup_chunk, _dedup_combine, _dedup_combine, frame._meta,
                          "drop_duplicates", split_every, chunk_args=(kwargs,),
                          combine_args=(kwargs,), aggregate_args=(kwargs,))


# --- idxmin / idxmax ---------------------------------------------------------------------

def _idx_chunk(part: Any, how: str, skipna: bool) -> Any:
    if len(part) == 0:
        return None
    if isinstance(part, pd.DataFrame):
        valid = part.notna().any()
        sub = part.loc[:, valid]
        idx = getattr(sub, f"idx{how}")(skipna=skipna)
        val = getattr(sub, how)(skipna=skipna)
        return pd.DataFrame({"idx": idx, "val": val})
    if part.notna().sum() == 0:
        return None
    return pd.DataFrame({"idx": [getattr(part, f"idx{how}")(skipna=skipna)],
                         "val": [getattr(part, how)(skipna=skipna)]}, index=[0])


def _idx_combine(parts: list, how: str) -> Any:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    x = pd.concat(parts)
    x.index.name = "__column"
    x = x.reset_index()
    best = getattr(x.groupby("__column", sort=False)["val"], f"idx{how}")()
    return x.loc[best.values].set_index("__column").rename_axis(None)


def _idx_agg(parts: list, how: str, columns: Any) -> Any:
    x = _idx_combine(parts, how)
    if x is None:
        raise ValueError(f"attempt to get arg{how} of an empty sequence")
    if columns is None:
        return x["idx"].iloc[0]
    return x["idx"].reindex(columns).rename(None)


def idx_reduction(frame: _Frame, how: str, skipna: bool = True,
                  split_every: int | None = None) -> Any:
    meta = make_meta(getattr(meta_nonempty(frame._meta), f"idx{how}")(skipna=skipna))
    columns = frame._meta.columns if isinstance(frame._meta, pd.DataFrame) else None
    return tree_reduction([frame], _idx_chunk, _idx_combine, _idx_agg, meta, f"idx{how}",
                          split_every, chunk_args=(how, skipna), combine_args=(how,),
                          aggregate_args=(how, columns))


# --- others ------------------------------------------------------------------------------

def _mem_chunk(part: Any, index: bool, deep: bool) -> Any:
    return part.memory_usage(index=index, deep=deep)


def _sum_combine(values: list) -> Any:
    if isinstance(values[0], pd.Series):
        return pd.DataFrame(values).sum()
    return sum(values[1:], values[0])


def memory_usage(frame: _Frame, index: bool = True, deep: bool = False) -> Any:
    meta = make_meta(frame._meta.memory_usage(index=index, deep=deep))
    return tree_reduction([frame], _mem_chunk, _sum_combine, _sum_combine, meta,
                          "memory_usage", chunk_args=(index, deep))


def _identity(x: Any) -> Any:
    return x


def sum_of_parts(frame: _Frame) -> Scalar:
    """The sum of a Series that has one integer per partition."""
    return tree_reduction([frame], _series_sum, _sum_combine, _sum_combine, np.int64(0),
                          "sum-parts")


def _series_sum(part: pd.Series) -> Any:
    return part.sum()


def partition_lengths(frame: _Frame) -> list[int]:
    """Computes the number of rows of each partition."""
    lens = frame.map_partitions(len, meta=np.int64(0)).compute()
    return [int(x) for x in lens]


def _mode_from_counts(counts: pd.Series, name: Any) -> pd.Series:
    if len(counts) == 0:
        return pd.Series([], dtype=counts.index.dtype, name=name)
    top = counts[counts == counts.max()].index
    return pd.Series(top.sort_values(), name=name).reset_index(drop=True)


def mode(frame: _Frame, dropna: bool = True, split_every: int | None = None) -> Any:
    """The most frequent value(s), sorted (Series only)."""
    if isinstance(frame._meta, pd.DataFrame):
        raise NotImplementedError("DataFrame.mode; use df[col].mode()")
    counts = value_counts(frame, dropna=dropna, sort=False, split_every=split_every)
    meta = frame._meta.reset_index(drop=True)
    return counts.map_partitions(_mode_from_counts, frame._meta.name, meta=meta)


def _nlargest_chunk(part: Any, n: int, how: str) -> Any:
    return getattr(part, how)(n)


def _nlargest_combine(parts: list, n: int, how: str) -> Any:
    return getattr(concat_parts(parts), how)(n)


def nlargest(frame: _Frame, n: int, how: str) -> Any:
    return tree_reduction([frame], _nlargest_chunk, _nlargest_combine, _nlargest_combine,
                          frame._meta, how, chunk_args=(n, how), combine_args=(n, how),
                          aggregate_args=(n, how))
