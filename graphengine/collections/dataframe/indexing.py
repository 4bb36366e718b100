"""Label and position indexing on partitioned frames: ``loc``, ``iloc`` and ``reset_index``.

With known divisions, ``loc`` touches only the partitions whose index range can hold the
labels; with unknown divisions it filters every partition.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": range(10)}), npartitions=5)
    >>> sub = ddf.loc[3:5]
    >>> sub.npartitions, sub.a.compute().tolist()
    (2, [3, 4, 5])
"""
from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import (
    _Frame, _tokenize, map_partitions, new_collection,
)
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["LocIndexer", "ILocIndexer", "reset_index"]


class LocIndexer:
    """``frame.loc[rows]`` / ``frame.loc[rows, columns]`` by index labels."""

    def __init__(self, frame: _Frame):
        self.frame = frame

    def __getitem__(self, key: Any) -> _Frame:
        f = self.frame
        cols = slice(None)
        if isinstance(key, tuple) and isinstance(f._meta, pd.DataFrame):
            key, cols = key
            wanted = [cols] if not isinstance(cols, (list, slice)) else cols
            if isinstance(wanted, list):
                f._check_columns(wanted)
        if isinstance(key, _Frame):
            return map_partitions(_loc, f, key, cols)
        if isinstance(key, slice):
            if key.step is not None:
                raise NotImplementedError("loc with a step")
            return self._slice(key.start, key.stop, cols)
        if isinstance(key, (list, np.ndarray, pd.Index)):
            return map_partitions(_loc, f, _PresentLabels(list(key)), cols)
        # A single label: a one-row frame (like pandas .loc[[label]]).
        part = self._partition_of(key)
        if part is None:
            return map_partitions(_loc, f, _PresentLabels([key]), cols)
        sub = f.partitions[part]
        return map_partitions(_loc, sub, _PresentLabels([key]), cols)

    def _coerce(self, label: Any) -> Any:
        idx = self.frame._meta.index
        if label is not None and isinstance(idx, pd.DatetimeIndex) and isinstance(label, str):
            return pd.Timestamp(label, tz=idx.tz)
        return label

    def _partition_of(self, label: Any) -> int | None:
        label = self._coerce(label)
        f = self.frame
        if not f.known_divisions:
            return None
        divs = f.divisions
        if label < divs[0] or label > divs[-1]:
            raise KeyError(label)
        return min(bisect.bisect_right(divs, label) - 1, f.npartitions - 1)

    def _slice(self, start: Any, stop: Any, cols: Any) -> _Frame:
        start, stop = self._coerce(start), self._coerce(stop)
        f = self.frame
        if not f.known_divisions:
            return map_partitions(_loc, f, slice(start, stop), cols)
        divs = f.divisions
        lo = 0 if start is None else max(bisect.bisect_right(divs, start) - 1, 0)
        hi = f.npartitions - 1 if stop is None else min(
            bisect.bisect_left(divs, stop), f.npartitions - 1)
        if stop is not None and hi > 0 and divs[hi] > stop:
            hi -= 1
        hi = max(hi, lo)
        sub = f.partitions[lo:hi + 1]
        out = map_partitions(_loc, sub, slice(start, stop), cols)
        new_divs = list(sub.divisions)
        if start is not None and start > new_divs[0]:
            new_divs[0] = start
        if stop is not None and stop < new_divs[-1]:
            new_divs[-1] = stop
        return new_collection(out.graph, out._name, out._meta, tuple(new_divs))


class _PresentLabels:
    """The labels of a list that are present in a partition (``loc[list]`` per partition)."""

    def __init__(self, labels: list):
        self.labels = labels

    def __graphengine_tokenize__(self) -> Any:
        return ("present-labels", self.labels)


def _loc(part: Any, rows: Any, cols: Any = slice(None)) -> Any:
    if isinstance(rows, _PresentLabels):
        rows = part.index.isin(rows.labels)
    return part.loc[rows] if isinstance(part, pd.Series) else part.loc[rows, cols]


class ILocIndexer:
    """``frame.iloc[:, columns]``: column positions only (row positions need lengths)."""

    def __init__(self, frame: _Frame):
        self.frame = frame

    def __getitem__(self, key: Any) -> _Frame:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise NotImplementedError("iloc supports only [:, column positions]; use "
                                      "partitions[...] or loc for rows")
        cols = self.frame._meta.columns[key[1]]
        return self.frame[list(cols) if isinstance(cols, pd.Index) else cols]


def reset_index(frame: _Frame, drop: bool = False) -> _Frame:
    """Reset to the global positional index ``0..n-1``; partition lengths are computed by
    a small task the resets depend on."""
    from graphengine.collections.dataframe.meta import make_meta, meta_nonempty

    meta = make_meta(meta_nonempty(frame._meta).reset_index(drop=drop))
    lens = frame.map_partitions(len, meta=np.int64(0))
    name = f"reset_index-{_tokenize(frame, drop)}"
    lk = (f"{name}-lengths", 0)
    layer: dict = {lk: Task(lk, list, [Ref((lens._name, i)) for i in range(frame.npartitions)])}
    for i in range(frame.npartitions):
        layer[(name, i)] = Task((name, i), _reset_part, Ref((frame._name, i)), Ref(lk), i, drop)
    graph = HighLevelGraph.from_layer(name, layer, [frame, lens])
    return new_collection(graph, name, meta, (None,) * (frame.npartitions + 1))


def _reset_part(part: Any, lengths: list, i: int, drop: bool) -> Any:
    start = int(sum(int(x.iloc[0]) for x in lengths[:i]))
    out = part.reset_index(drop=drop)
    out.index = pd.RangeIndex(start, start + len(part))
    return out
