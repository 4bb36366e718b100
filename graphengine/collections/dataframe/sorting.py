"""Global sorting: ``set_index`` and ``sort_values`` by range-partitioning on sampled divisions.

Divisions are chosen from a sample: every partition sends about
``dataframe.quantile-samples`` of its key values taken at evenly spaced positions (plus its
minimum and maximum), weighted by how many rows each stands for; cut points are read at evenly spaced cumulative weights. Rows are
then range-partitioned on those cut points (equal keys always land together) and sorted
within each partition.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"k": [5, 3, 9, 1], "v": range(4)}), npartitions=2)
    >>> out = ddf.set_index("k")
    >>> out.known_divisions, out.compute().index.tolist()
    (True, [1, 3, 5, 9])
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphengine import config
from graphengine.collections.dataframe.core import _Frame, map_partitions, new_collection
from graphengine.collections.dataframe.shuffle import range_partition_ids, shuffle_by

__all__ = ["set_index", "sort_values", "compute_divisions"]


def _samples(part: Any, col: Any, k: int) -> tuple:
    values = (part.index.to_series() if col == "__index__" else part[col]).dropna()
    n = len(values)
    if n == 0:
        return [], np.array([])
    # A systematic sample of the unsorted values (O(n), no full sort) plus the extremes,
    # so the first and last divisions are the true minimum and maximum.
    pos = np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))
    sample = values.iloc[pos].sort_values(kind="stable")
    picked = [values.min()] + list(sample) + [values.max()]
    return picked, np.full(len(picked), n / len(picked))


def compute_divisions(frame: _Frame, col: Any, npartitions: int) -> tuple:
    """Approximately equal-count cut points of ``frame[col]`` (computes a sample)."""
    k = int(config.get("dataframe.quantile-samples"))
    samples = frame.map_partitions(_sample_series, col, k, meta=pd.Series([], dtype=object))
    pairs = samples.compute()
    if len(pairs) == 0:
        return (None, None)
    values = pd.Series([p[0] for p in pairs])
    weights = np.array([p[1] for p in pairs], dtype="float64")
    order = np.argsort(values.to_numpy(), kind="stable")
    values = values.iloc[order].reset_index(drop=True)
    cum = np.cumsum(weights[order])
    targets = np.linspace(0, cum[-1], npartitions + 1)[1:-1]
    cuts = [values.iloc[min(int(np.searchsorted(cum, t)), len(values) - 1)] for t in targets]
    divs = [values.iloc[0]] + cuts + [values.iloc[-1]]
    out: list = []
    for d in divs:
        if not out or d > out[-1]:
            out.append(d)
    if len(out) == 1:
        out.append(out[0])
    return tuple(d.item() if isinstance(d, np.generic) else d for d in out)


def _sample_series(part: Any, col: Any, k: int) -> pd.Series:
    vals, w = _samples(part, col, k)
    return pd.Series(list(zip(vals, w)), dtype=object)


def _set_index_part(part: pd.DataFrame, col: Any, drop: bool) -> pd.DataFrame:
    out = part.set_index(col, drop=drop)
    values = out.index.to_numpy()
    if values.dtype.kind not in "iufmM" or len(values) < 2:
        return out.sort_index(kind="stable")
    # Quicksort is much faster than a stable sort; it only differs when the key has
    # duplicates, which the sorted values reveal in one pass.
    order = np.argsort(values, kind="quicksort")
    ordered = values[order]
    if (ordered[1:] == ordered[:-1]).any():
        order = np.argsort(values, kind="stable")
    return out.take(order)


def _minmax(part: Any, col: Any) -> pd.Series:
    v = part[col]
    return pd.Series([(v.min(), v.max(), len(v))], dtype=object)


def set_index(frame: _Frame, other: Any, drop: bool = True, sorted: bool = False,
              npartitions: int | None = None, divisions: Any = None) -> _Frame:
    """Make column ``other`` the index, globally sorted, with known divisions.

    Parameters
    ----------
    other : column label or lazy Series
    sorted : bool
        The column is already sorted across partitions: no shuffle, divisions from each
        partition's min/max (computed); raises ValueError if it is not sorted.
    npartitions : int, optional
        Output partitions (default: as many as the input).
    divisions : sequence, optional
        Cut points to use instead of sampling.
    """
    if isinstance(other, _Frame):
        frame = frame.assign(__set_index__=other)
        out = set_index(frame, "__set_index__", drop=True, sorted=sorted,
                        npartitions=npartitions, divisions=divisions)
        name = other._meta.name
        return out.map_partitions(_rename_index, name)
    frame._check_columns([other])
    meta = frame._meta.set_index(other, drop=drop)
    if sorted:
        stats = frame.map_partitions(_minmax, other, meta=pd.Series([], dtype=object)).compute()
        stats = [s for s in stats if s[2] > 0]
        for (a_min, a_max, _), (b_min, _, _) in zip(stats, stats[1:]):
            if a_max > b_min:
                raise ValueError(f"set_index(sorted=True): column {other!r} is not sorted "
                                 f"across partitions ({a_max!r} > {b_min!r})")
        out = map_partitions(_set_index_part, frame, other, drop, meta=meta)
        if len(stats) == frame.npartitions and stats:
            divs = tuple(s[0] for s in stats) + (stats[-1][1],)
            if all(a < b for a, b in zip(divs[:-1], divs[1:-1])):
                return new_collection(out.graph, out._name, out._meta, divs)
        return out
    if divisions is None:
        divisions = compute_divisions(frame, other, npartitions or frame.npartitions)
        if divisions[0] is None:
            return map_partitions(_set_index_part, frame, other, drop, meta=meta)
    divisions = tuple(divisions)
    n = len(divisions) - 1
    shuffled = shuffle_by(frame, range_partition_ids, n, (other, list(divisions)),
                          name="set_index-shuffle")
    out = map_partitions(_set_index_part, shuffled, other, drop, meta=meta)
    return new_collection(out.graph, out._name, out._meta, divisions)


def _rename_index(part: pd.DataFrame, name: Any) -> pd.DataFrame:
    return part.rename_axis(name)


def _sort_part(part: Any, by: Any, ascending: Any, na_position: str) -> Any:
    if isinstance(part, pd.Series):
        return part.sort_values(ascending=ascending, kind="stable", na_position=na_position)
    return part.sort_values(by, ascending=ascending, kind="stable", na_position=na_position)


def sort_values(frame: _Frame, by: Any = None, ascending: Any = True,
                na_position: str = "last", npartitions: int | None = None) -> _Frame:
    """Globally sort rows by ``by`` (ties keep their order, like ``kind="stable"``).

    Rows are range-partitioned on the first sort key; the index is kept, so the result
    has unknown divisions.
    """
    series = isinstance(frame._meta, pd.Series)
    if series:
        col = frame._meta.name if frame._meta.name is not None else 0
        frame_df = frame.to_frame(name=col)
        out = sort_values(frame_df, col, ascending, na_position, npartitions)
        return out.map_partitions(_take_column, col, frame._meta.name, meta=frame._meta)
    keys = by if isinstance(by, list) else [by]
    frame._check_columns(keys)
    first = keys[0]
    asc0 = ascending[0] if isinstance(ascending, list) else ascending
    if isinstance(frame._meta[first].dtype, pd.CategoricalDtype):
        # pandas orders categoricals by their codes (unordered ones too): range-partition
        # on the codes, which are only comparable across partitions for known categories.
        if not frame[first].cat.known:
            raise NotImplementedError(
                f"sort_values by categorical column {first!r} with unknown categories; "
                "call .cat.as_known() first")
        key = frame[first]
        tmp = frame.assign(__sort_codes__=key.cat.codes.where(key.notna()))
        out = _range_sort(tmp, "__sort_codes__", by, ascending, asc0, na_position,
                          npartitions, frame._meta)
        return out.drop(columns="__sort_codes__") if out is not tmp else frame
    return _range_sort(frame, first, by, ascending, asc0, na_position, npartitions,
                       frame._meta)


def _range_sort(frame: _Frame, first: Any, by: Any, ascending: Any, asc0: bool,
                na_position: str, npartitions: int | None, meta: Any) -> _Frame:
    divisions = compute_divisions(frame, first, npartitions or frame.npartitions)
    if divisions[0] is None:
        return frame
    n = len(divisions) - 1
    shuffled = shuffle_by(frame, range_partition_ids, n,
                          (first, list(divisions), asc0, na_position == "last" if asc0
                           else na_position != "last"), name="sort-shuffle")
    return map_partitions(_sort_part, shuffled, by, ascending, na_position, meta=frame._meta)


def _take_column(part: pd.DataFrame, col: Any, name: Any) -> pd.Series:
    return part[col].rename(name)
