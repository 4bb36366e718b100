"""Group-by on partitioned frames: tree-reduced aggregations, shuffle-based apply/transform.

An aggregation is split into *items* (one output column each: input column + function).
Every item knows three steps: ``chunk`` (per partition, on a pandas groupby, giving one or
more intermediate Series indexed by the group keys), ``combine`` (on the concatenation
of intermediates, grouping again by the keys) and ``finalize``. ``split_out=k`` hashes the
intermediates by group key into ``k`` pieces, so high-cardinality results are spread over
``k`` output partitions.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> pdf = pd.DataFrame({"k": [1, 2, 1, 2], "v": [1.0, 2.0, 3.0, 4.0]})
    >>> gd.from_pandas(pdf, npartitions=2).groupby("k").v.mean().compute().tolist()
    [2.0, 3.0]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from graphengine import config
from graphengine.collections.dataframe.core import (
    _Frame, _tokenize, align_partitions, map_partitions, new_collection,
)
from graphengine.collections.dataframe.groupby_agg import (
    _KNOWN, Aggregation, _gb_aggregate, _gb_chunk, _pick, _wrap_combine,
)
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["GroupBy", "SeriesGroupBy", "Aggregation"]


_NO_NAME = object()
_SERIES_COL = "__series__"

class GroupBy:
    """``frame.groupby(by)``: lazy grouped operations.

    Parameters
    ----------
    frame : DataFrame or Series
    by : column label, list of labels, or a lazy Series aligned with ``frame``
    level : int or name, optional
        Group by index level(s) instead.
    sort, dropna, observed : bool
        As in pandas.
    """

    def __init__(self, frame: _Frame, by: Any = None, level: Any = None, sort: bool = True,
                 dropna: bool = True, observed: bool = True, group_keys: bool = True,
                 _selection: Any = None):
        self._series_name = _NO_NAME
        if isinstance(frame._meta, pd.Series):
            # A grouped Series is handled as a one-column frame; the name comes back at
            # the end.
            self._series_name = frame._meta.name
            frame = frame.to_frame(name=_SERIES_COL)
            _selection = _SERIES_COL
        self.frame = frame
        self.level = level
        self.sort = sort
        self.dropna = dropna
        self.observed = observed
        self.group_keys = group_keys
        self._selection = _selection
        self.by_frames: list = []
        self.by: list = []
        if level is None and by is None:
            raise TypeError("groupby needs by= or level=")
        if level is None:
            items = by if isinstance(by, list) else [by]
            for b in items:
                if isinstance(b, _Frame):
                    self.by_frames.append(b)
                elif self._series_name is _NO_NAME:
                    if b not in frame._meta.columns:
                        raise KeyError(f"groupby key {b!r} is not a column; columns are "
                                       f"{list(frame._meta.columns)}")
                    self.by.append(b)
                else:
                    raise TypeError("a Series can only be grouped by a lazy Series or level=")
            if self.by and self.by_frames:
                raise NotImplementedError("mixing column names and Series in by=")

    # --- selection -------------------------------------------------------------------
    def __getitem__(self, key: Any) -> "GroupBy":
        cols = key if isinstance(key, list) else [key]
        missing = [c for c in cols if c not in self.frame._meta.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; columns are "
                           f"{list(self.frame._meta.columns)}")
        cls = GroupBy if isinstance(key, list) else SeriesGroupBy
        if self._series_name is not _NO_NAME:
            raise KeyError(f"cannot select column {key!r} from a grouped Series")
        return cls(self.frame, self.by_frames or self.by or None, level=self.level,
                   sort=self.sort, dropna=self.dropna, observed=self.observed,
                   group_keys=self.group_keys, _selection=key)

    def __getattr__(self, key: str) -> "GroupBy":
        if not key.startswith("_") and isinstance(self.frame._meta, pd.DataFrame) and \
                key in self.frame._meta.columns:
            return self[key]
        raise AttributeError(f"'GroupBy' object has no attribute {key!r}")

    # --- meta ------------------------------------------------------------------------
    def _pandas_groupby(self, df: Any, by_samples: list) -> Any:
        kw = dict(sort=self.sort, dropna=self.dropna, observed=self.observed)
        if self.level is not None:
            g = df.groupby(level=self.level, **kw)
        elif by_samples:
            g = df.groupby(by_samples if len(by_samples) > 1 else by_samples[0], **kw)
        else:
            g = df.groupby(self.by if len(self.by) > 1 else self.by[0], **kw)
        return g[self._selection] if self._selection is not None else g

    def _meta_of(self, call: Callable) -> Any:
        df = meta_nonempty(self.frame._meta)
        by_samples = [meta_nonempty(b._meta) for b in self.by_frames]
        for b in by_samples:
            b.index = df.index
        meta = make_meta(call(self._pandas_groupby(df, by_samples)))
        if self._series_name is not _NO_NAME and isinstance(meta, pd.Series) and \
                meta.name == _SERIES_COL:
            meta = meta.rename(self._series_name)
        return meta

    def _value_columns(self) -> list:
        if self._selection is not None:
            return self._selection if isinstance(self._selection, list) else [self._selection]
        if isinstance(self.frame._meta, pd.Series):
            return [self.frame._meta.name]
        return [c for c in self.frame._meta.columns if c not in self.by]

    # --- the tree ----------------------------------------------------------------------
    def _aggregate(self, items: list, meta: Any, series_out: bool, split_every: Any,
                   split_out: int, ddof: int = 1) -> _Frame:
        frames = align_partitions([self.frame] + self.by_frames)
        frame, by_frames = frames[0], frames[1:]
        opts = {"dropna": self.dropna, "observed": self.observed, "sort": self.sort,
                "ddof": ddof}
        se = int(split_every or config.get("dataframe.split-every"))
        if se < 2:
            raise ValueError(f"split_every must be >= 2, got {split_every}")
        token = _tokenize(frame, [b._name for b in by_frames], self.by, self.level, items,
                          opts, se, split_out, meta)
        name = f"groupby-agg-{token}"
        layer: dict = {}
        chunk_keys = []
        for i in range(frame.npartitions):
            k = (f"{name}-chunk", i)
            layer[k] = Task(k, _gb_chunk, Ref((frame._name, i)),
                            *[Ref((b._name, i)) for b in by_frames], by=self.by,
                            level=self.level, items=items, opts=opts, split_out=split_out)
            chunk_keys.append(k)
        for j in range(split_out):
            if split_out > 1:
                level_keys = []
                for i, ck in enumerate(chunk_keys):
                    pk = (f"{name}-piece", i, j)
                    layer[pk] = Task(pk, _pick, Ref(ck), j)
                    level_keys.append(pk)
            else:
                level_keys = chunk_keys
            depth = 0
            while len(level_keys) > se:
                nxt = []
                for g in range(0, len(level_keys), se):
                    k = (f"{name}-combine{depth}", j, g // se)
                    layer[k] = Task(k, _wrap_combine,
                                    [Ref(x) for x in level_keys[g:g + se]], items, opts)
                    nxt.append(k)
                level_keys = nxt
                depth += 1
            layer[(name, j)] = Task((name, j), _gb_aggregate, [Ref(x) for x in level_keys],
                                    items, opts, meta, series_out)
        graph = HighLevelGraph.from_layer(name, layer, [frame] + by_frames)
        return new_collection(graph, name, meta, (None,) * (split_out + 1))

    def _simple(self, func: str, split_every: Any = None, split_out: int = 1,
                ddof: int = 1, **kwargs: Any) -> _Frame:
        if func == "size":
            meta = self._meta_of(lambda g: g.size())
            col = self._value_columns()[0] if self._value_columns() else None
            return self._aggregate([(None, col, "size")], meta, True, split_every, split_out)
        if func in ("var", "std"):
            meta = self._meta_of(lambda g: getattr(g, func)(ddof=ddof))
        else:
            meta = self._meta_of(lambda g: getattr(g, func)())
        series_out = isinstance(meta, pd.Series)
        cols = [meta.name] if series_out else list(meta.columns)
        if series_out and self._selection is not None and not isinstance(self._selection, list):
            cols = [self._selection]
        elif series_out:
            cols = self._value_columns()
        items = [(c, c, func) for c in cols]
        return self._aggregate(items, meta, series_out, split_every, split_out, ddof=ddof)

    def sum(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("sum", split_every, split_out)

    def prod(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("prod", split_every, split_out)

    def mean(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("mean", split_every, split_out)

    def count(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("count", split_every, split_out)

    def min(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("min", split_every, split_out)

    def max(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("max", split_every, split_out)

    def first(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("first", split_every, split_out)

    def last(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("last", split_every, split_out)

    def var(self, ddof: int = 1, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("var", split_every, split_out, ddof=ddof)

    def std(self, ddof: int = 1, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("std", split_every, split_out, ddof=ddof)

    def nunique(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("nunique", split_every, split_out)

    def size(self, split_every: Any = None, split_out: int = 1) -> _Frame:
        return self._simple("size", split_every, split_out)

    def agg(self, arg: Any = None, split_every: Any = None, split_out: int = 1,
            **named: Any) -> _Frame:
        """Aggregate with a function name, a list, a dict ``{column: func(s)}``, named
        aggregations ``out=(column, func)``, or :class:`Aggregation` objects."""
        items = self._normalize_spec(arg, named)
        pandas_arg = _pandas_spec(arg)
        pandas_named = {k: (c, _pandas_func(f)) for k, (c, f) in named.items()}
        meta = self._meta_of(lambda g: g.agg(pandas_arg, **pandas_named)
                             if pandas_arg is not None else g.agg(**pandas_named))
        series_out = isinstance(meta, pd.Series)
        return self._aggregate(items, meta, series_out, split_every, split_out)

    aggregate = agg

    def _normalize_spec(self, arg: Any, named: dict) -> list:
        items = []
        values = self._value_columns()
        if named:
            for out, (col, f) in named.items():
                items.append((out, col, _check_func(f)))
            return items
        series = self._selection is not None and not isinstance(self._selection, list) or \
            isinstance(self.frame._meta, pd.Series)
        if isinstance(arg, dict):
            for col, fs in arg.items():
                if col not in self.frame._meta.columns:
                    raise KeyError(f"column {col!r} not found; columns are "
                                   f"{list(self.frame._meta.columns)}")
                for f in (fs if isinstance(fs, list) else [fs]):
                    items.append(((col, f), col, _check_func(f)))
            return items
        funcs = arg if isinstance(arg, list) else [arg]
        if series:
            return [(f, values[0], _check_func(f)) for f in funcs]
        for col in values:
            for f in funcs:
                items.append(((col, f), col, _check_func(f)))
        return items

    # --- shuffle-based ---------------------------------------------------------------
    def _shuffled(self) -> _Frame:
        from graphengine.collections.dataframe.shuffle import shuffle

        if self.by_frames or self.level is not None:
            raise NotImplementedError("apply/transform need column names in by=")
        return shuffle(self.frame, self.by)

    def apply(self, func: Callable, *args: Any, meta: Any = None, **kwargs: Any) -> _Frame:
        """``func`` on each group's pandas frame; rows are shuffled so each group lives in
        one partition. The result's row order may differ from pandas (index is kept)."""
        shuffled = self._shuffled()
        gb_kw = dict(by=self.by, sort=self.sort, dropna=self.dropna, observed=self.observed,
                     group_keys=self.group_keys, selection=self._selection)
        if meta is None:
            meta = self._meta_of(lambda g: g.apply(func, *args, **kwargs))
        return map_partitions(_apply_groups, shuffled, func, args, kwargs, gb_kw, meta=meta,
                              divisions=(None,) * (shuffled.npartitions + 1))

    def transform(self, func: Any, *args: Any, meta: Any = None, **kwargs: Any) -> _Frame:
        """Like pandas ``transform``; computed after a shuffle, so rows come back grouped
        (index kept: sort by index for pandas' order)."""
        shuffled = self._shuffled()
        gb_kw = dict(by=self.by, sort=self.sort, dropna=self.dropna, observed=self.observed,
                     group_keys=self.group_keys, selection=self._selection)
        if meta is None:
            meta = self._meta_of(lambda g: g.transform(func, *args, **kwargs))
        return map_partitions(_transform_groups, shuffled, func, args, kwargs, gb_kw,
                              meta=meta, divisions=(None,) * (shuffled.npartitions + 1))


class SeriesGroupBy(GroupBy):
    """A grouped single column: aggregations return Series."""

    def value_counts(self, **kwargs: Any) -> _Frame:
        meta = self._meta_of(lambda g: g.value_counts(**kwargs))
        shuffled = self._shuffled()
        gb_kw = dict(by=self.by, sort=self.sort, dropna=self.dropna, observed=self.observed,
                     group_keys=self.group_keys, selection=self._selection)
        return map_partitions(_call_groups, shuffled, "value_counts", kwargs, gb_kw,
                              meta=meta, divisions=(None,) * (shuffled.npartitions + 1))


def _group(df: pd.DataFrame, gb_kw: dict) -> Any:
    by = gb_kw["by"]
    g = df.groupby(by if len(by) > 1 else by[0], sort=gb_kw["sort"], dropna=gb_kw["dropna"],
                   observed=gb_kw["observed"], group_keys=gb_kw["group_keys"])
    sel = gb_kw["selection"]
    return g[sel] if sel is not None else g


def _apply_groups(df: pd.DataFrame, func: Callable, args: tuple, kwargs: dict,
                  gb_kw: dict) -> Any:
    return _group(df, gb_kw).apply(func, *args, **kwargs)


def _transform_groups(df: pd.DataFrame, func: Any, args: tuple, kwargs: dict,
                      gb_kw: dict) -> Any:
    return _group(df, gb_kw).transform(func, *args, **kwargs)


def _call_groups(df: pd.DataFrame, method: str, kwargs: dict, gb_kw: dict) -> Any:
    return getattr(_group(df, gb_kw), method)(**kwargs)


def _check_func(f: Any) -> Any:
    if isinstance(f, Aggregation):
        return f
    if callable(f) and getattr(f, "__name__", None) in _KNOWN:
        return f.__name__
    if f not in _KNOWN:
        raise ValueError(f"unsupported groupby aggregation {f!r}; use one of "
                         f"{sorted(_KNOWN)} or an Aggregation")
    return f


def _pandas_func(f: Any) -> Any:
    if isinstance(f, Aggregation):
        return _fake_agg(f)
    return f


def _fake_agg(f: Aggregation) -> Callable:
    # Only used to learn the output layout from pandas: any float per group will do.
    def agg(s: pd.Series) -> float:
        return 0.0
    agg.__name__ = f.__name__
    return agg


def _pandas_spec(arg: Any) -> Any:
    if arg is None:
        return None
    if isinstance(arg, dict):
        return {k: ([_pandas_func(x) for x in v] if isinstance(v, list) else _pandas_func(v))
                for k, v in arg.items()}
    if isinstance(arg, list):
        return [_pandas_func(x) for x in arg]
    return _pandas_func(arg)
