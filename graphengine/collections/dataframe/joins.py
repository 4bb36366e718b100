"""Joins and concatenation of partitioned frames.

``merge`` picks one of three plans, cheapest first:

1. *aligned*: both sides indexed (``left_index`` and ``right_index``) with known
   divisions: repartition to common divisions, merge partition by partition;
2. *broadcast*: one side has at most ``dataframe.broadcast-join-max-partitions``
   partitions and the join keeps all rows of the other side or is inner: that small side
   is concatenated and merged with every partition of the big side;
3. *hash*: both sides hash-shuffled on the keys into the same number of partitions.

Metadata is computed by merging small samples first, so a missing key column or keys of
incompatible dtypes raise pandas' error before anything is computed.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> a = gd.from_pandas(pd.DataFrame({"k": [1, 2, 3], "x": [1, 2, 3]}), npartitions=2)
    >>> b = gd.from_pandas(pd.DataFrame({"k": [2, 3, 4], "y": [5, 6, 7]}), npartitions=2)
    >>> sorted(a.merge(b, on="k").compute().k)
    [2, 3]
"""
from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from graphengine import config
from graphengine.collections.dataframe.core import (
    _Frame, _tokenize, align_partitions, map_partitions, new_collection,
)
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["merge", "concat"]

_HOWS = ("inner", "left", "right", "outer", "leftsemi")


def _as_frame(obj: Any) -> _Frame:
    if isinstance(obj, _Frame):
        return obj
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        from graphengine.collections.dataframe.io_pandas import from_pandas

        return from_pandas(obj, npartitions=1)
    raise TypeError(f"cannot merge with a {type(obj).__name__}")


def _merge_parts(left: pd.DataFrame, right: pd.DataFrame, kwargs: dict) -> pd.DataFrame:
    return pd.merge(left, right, **kwargs)


def _concat_all(parts: list) -> Any:
    from graphengine.collections.dataframe.core import concat_parts

    return concat_parts(parts)


def _one_partition(frame: _Frame) -> _Frame:
    if frame.npartitions == 1:
        return frame
    name = f"concat-all-{_tokenize(frame)}"
    layer = {(name, 0): Task((name, 0), _concat_all,
                             [Ref((frame._name, i)) for i in range(frame.npartitions)])}
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, frame._meta, (frame.divisions[0], frame.divisions[-1]))


def _broadcast(big: _Frame, small: _Frame, kwargs: dict, big_is_left: bool, meta: Any) -> _Frame:
    small = _one_partition(small)
    name = f"broadcast-merge-{_tokenize(big, small, kwargs, big_is_left)}"
    layer = {}
    for i in range(big.npartitions):
        pair = (Ref((big._name, i)), Ref((small._name, 0)))
        if not big_is_left:
            pair = pair[::-1]
        layer[(name, i)] = Task((name, i), _merge_parts, *pair, kwargs)
    graph = HighLevelGraph.from_layer(name, layer, [big, small])
    return new_collection(graph, name, meta, (None,) * (big.npartitions + 1))


def _hash_cast(lmeta: pd.DataFrame, rmeta: pd.DataFrame, lkeys: list, rkeys: list) -> tuple:
    """Dtypes to hash keys in, so equal values on both sides hash the same."""
    lcast, rcast = {}, {}
    for lk, rk in zip(lkeys, rkeys):
        ld = lmeta.index.dtype if lk == "__index__" else lmeta[lk].dtype
        rd = rmeta.index.dtype if rk == "__index__" else rmeta[rk].dtype
        if ld == rd:
            continue
        if pd.api.types.is_numeric_dtype(ld) and pd.api.types.is_numeric_dtype(rd):
            lcast[lk], rcast[rk] = "float64", "float64"
        elif isinstance(ld, pd.CategoricalDtype) or isinstance(rd, pd.CategoricalDtype) or \
                pd.api.types.is_string_dtype(ld) or pd.api.types.is_string_dtype(rd):
            lcast[lk], rcast[rk] = object, object
    return lcast or None, rcast or None


def merge(left: Any, right: Any, how: str = "inner", on: Any = None, left_on: Any = None,
          right_on: Any = None, left_index: bool = False, right_index: bool = False,
          suffixes: tuple = ("_x", "_y"), indicator: bool = False,
          npartitions: int | None = None, broadcast: bool | None = None) -> _Frame:
    """Database-style join of two frames, with pandas' semantics for the rows and columns.

    Parameters
    ----------
    how : {"inner", "left", "right", "outer"}
    on, left_on, right_on, left_index, right_index, suffixes, indicator
        As in :func:`pandas.merge`.
    npartitions : int, optional
        Partitions of a hash join (default: the larger side's).
    broadcast : bool, optional
        Force (True) or forbid (False) the broadcast plan.

    Notes
    -----
    A join on columns gives each output partition its own 0-based index (pandas gives one
    RangeIndex); row order differs from pandas.
    """
    left, right = _as_frame(left), _as_frame(right)
    if how not in ("inner", "left", "right", "outer"):
        raise ValueError(f"merge: how={how!r} is not supported; use inner, left, right "
                         "or outer")
    kwargs = dict(how=how, on=on, left_on=left_on, right_on=right_on, left_index=left_index,
                  right_index=right_index, suffixes=suffixes, indicator=indicator)
    lm, rm = left._meta, right._meta
    if isinstance(lm, pd.Series):
        left, lm = left.to_frame(), lm.to_frame()
    if isinstance(rm, pd.Series):
        right, rm = right.to_frame(), rm.to_frame()
    for side, keys, m in (("left", on if on is not None else left_on, lm),
                          ("right", on if on is not None else right_on, rm)):
        ks = keys if isinstance(keys, list) else ([keys] if keys is not None else [])
        missing = [k for k in ks if k not in m.columns]
        if missing:
            raise KeyError(f"merge: {side} key(s) {missing} not found; {side} columns are "
                           f"{list(m.columns)}")
    # pandas validates keys and dtypes on the samples: errors surface here, not at compute.
    with warnings.catch_warnings():
        # Sample values are made up; their warnings (int vs float keys) mean nothing.
        warnings.simplefilter("ignore")
        meta = make_meta(pd.merge(meta_nonempty(lm), meta_nonempty(rm), **kwargs))

    if left_index and right_index and left.known_divisions and right.known_divisions:
        l2, r2 = align_partitions([left, right])
        out = map_partitions(_merge_parts, l2, r2, kwargs, meta=meta, align=False)
        return out

    limit = int(config.get("dataframe.broadcast-join-max-partitions"))
    can_right = how in ("inner", "left")
    can_left = how in ("inner", "right")
    if broadcast is not False:
        if can_right and (right.npartitions <= limit or broadcast) and \
                right.npartitions <= left.npartitions:
            return _broadcast(left, right, kwargs, True, meta)
        if can_left and (left.npartitions <= limit or broadcast):
            return _broadcast(right, left, kwargs, False, meta)
        if broadcast:
            raise ValueError(f"merge: a broadcast join cannot keep all rows of both sides "
                             f"(how={how!r})")

    if on is not None:
        lkeys = rkeys = on if isinstance(on, list) else [on]
    else:
        lkeys = ["__index__"] if left_index else (
            left_on if isinstance(left_on, list) else [left_on])
        rkeys = ["__index__"] if right_index else (
            right_on if isinstance(right_on, list) else [right_on])
    if len(lkeys) != len(rkeys):
        raise ValueError(f"merge: {len(lkeys)} left keys but {len(rkeys)} right keys")
    n = npartitions or max(left.npartitions, right.npartitions)
    lcast, rcast = _hash_cast(lm, rm, lkeys, rkeys)
    from graphengine.collections.dataframe.shuffle import hash_partition_ids, shuffle_by

    lon = "__index__" if lkeys == ["__index__"] else lkeys
    ron = "__index__" if rkeys == ["__index__"] else rkeys
    if "__index__" in lkeys and lkeys != ["__index__"] or "__index__" in rkeys and \
            rkeys != ["__index__"]:
        raise NotImplementedError("merge mixing index and columns as keys")
    lcast = lcast.get("__index__") if lon == "__index__" and lcast else lcast
    rcast = rcast.get("__index__") if ron == "__index__" and rcast else rcast
    # A (non-Multi) index is hashed as a Series, a list of columns as a DataFrame, which
    # hash differently: hash a single key column joined to an index as a Series too.
    if lon == "__index__" and ron != "__index__" and len(ron) == 1 and \
            not isinstance(lm.index, pd.MultiIndex):
        ron, rcast = ron[0], (rcast or {}).get(ron[0])
    if ron == "__index__" and lon != "__index__" and len(lon) == 1 and \
            not isinstance(rm.index, pd.MultiIndex):
        lon, lcast = lon[0], (lcast or {}).get(lon[0])
    ls = shuffle_by(left, hash_partition_ids, n, (lon, n, lcast), name="merge-shuffle-left")
    rs = shuffle_by(right, hash_partition_ids, n, (ron, n, rcast), name="merge-shuffle-right")
    return map_partitions(_merge_parts, ls, rs, kwargs, meta=meta, align=False)


# --- concat -----------------------------------------------------------------------------

def _conform(part: Any, meta: Any, join: str) -> Any:
    if isinstance(meta, pd.DataFrame):
        if list(part.columns) != list(meta.columns):
            part = part.reindex(columns=meta.columns)
        diff = {c: meta[c].dtype for c in meta.columns if part[c].dtype != meta[c].dtype}
        if diff:
            try:
                part = part.astype(diff)
            except (TypeError, ValueError):
                pass
    return part


def _concat_row_parts(*parts: Any) -> Any:
    return pd.concat(parts, axis=1)


def concat(dfs: list, axis: int = 0, join: str = "outer", ignore_index: bool = False,
           interleave_partitions: bool = False) -> _Frame:
    """Concatenate frames: ``axis=0`` stacks their partitions (divisions kept when the
    index ranges follow each other), ``axis=1`` aligns partitions and joins columns."""
    if not dfs:
        raise ValueError("concat needs at least one frame")
    frames = [_as_frame(d) for d in dfs]
    if join not in ("outer", "inner"):
        raise ValueError(f"join must be 'outer' or 'inner', got {join!r}")
    if axis in (1, "columns"):
        metas = [meta_nonempty(f._meta) for f in frames]
        meta = make_meta(pd.concat(metas, axis=1, join=join))
        aligned = align_partitions(frames)
        return map_partitions(_concat_row_parts, *aligned, meta=meta, align=False)
    if len(frames) == 1:
        return frames[0]
    metas = [meta_nonempty(f._meta) for f in frames]
    meta = make_meta(pd.concat(metas, join=join))
    name = f"concat-{_tokenize([f._name for f in frames], join, ignore_index)}"
    layer = {}
    k = 0
    for f in frames:
        for i in range(f.npartitions):
            layer[(name, k)] = Task((name, k), _conform, Ref((f._name, i)), meta, join)
            k += 1
    divisions: tuple = (None,) * (k + 1)
    if all(f.known_divisions for f in frames) and all(
            a.divisions[-1] < b.divisions[0] for a, b in zip(frames, frames[1:])):
        divs = []
        for f in frames:
            divs.extend(f.divisions[:-1])
        divisions = tuple(divs) + (frames[-1].divisions[-1],)
    graph = HighLevelGraph.from_layer(name, layer, frames)
    out = new_collection(graph, name, meta, divisions)
    if ignore_index:
        out = out.reset_index(drop=True)
    return out
