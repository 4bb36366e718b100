"""Window operations across partition boundaries: rolling, shift, diff, ffill/bfill.

Partition ``i`` is computed on itself plus an *overlap*: the rows of earlier partitions
its windows reach (the last ``window - 1`` rows, or the rows within a time offset of its
start), and for negative shifts the first rows of later ones. Overlaps are gathered by a
chain of small tasks, so a window longer than a whole partition still sees every row it
needs; the result is then cut back to the partition's own rows.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series([1.0, 2, 3, 4, 5]), npartitions=3)
    >>> s.rolling(2).sum().compute().tolist()
    [nan, 3.0, 5.0, 7.0, 9.0]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from graphengine.collections.dataframe.core import (
    _Frame, _tokenize, concat_parts, new_collection,
)
from graphengine.collections.dataframe.meta import make_meta, meta_nonempty
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["Rolling", "map_overlap", "shift", "diff", "fill_across"]


def _cat(parts: list) -> Any:
    parts = [p for p in parts if p is not None]
    return concat_parts(parts) if len(parts) > 1 else parts[0]


def _tail(prev_tail: Any, part: Any, before: Any) -> Any:
    """The rows at the end of (earlier rows + ``part``) that later windows can reach."""
    x = _cat([prev_tail, part])
    if isinstance(before, pd.Timedelta):
        if len(x) == 0:
            return x
        return x[x.index >= x.index[-1] - before]
    return x.iloc[max(len(x) - before, 0):] if before else x.iloc[:0]


def _head(part: Any, next_head: Any, after: int) -> Any:
    x = _cat([part, next_head])
    return x.iloc[:after]


def _last_valid(prev_tail: Any, part: Any, how: str) -> Any:
    x = _cat([prev_tail, part])
    filled = getattr(x, how)()
    return filled.iloc[-1:] if how == "ffill" else filled.iloc[:1]


def _apply_with_overlap(part: Any, before_rows: Any, after_rows: Any, func: Callable,
                        args: tuple, kwargs: dict) -> Any:
    pieces = [before_rows, part, after_rows]
    combined = _cat(pieces)
    out = func(combined, *args, **kwargs)
    start = len(before_rows) if before_rows is not None else 0
    return out.iloc[start:start + len(part)]


def map_overlap(frame: _Frame, func: Callable, before: Any, after: int, *args: Any,
                meta: Any = None, tail: Callable | None = None, **kwargs: Any) -> _Frame:
    """Apply ``func`` (length-preserving) to each partition extended by neighbour rows.

    Parameters
    ----------
    before : int or pandas.Timedelta
        Rows (or index distance) needed from earlier partitions.
    after : int
        Rows needed from later partitions.
    tail : callable, optional
        ``tail(prev_tail, part)`` choosing what to carry forward instead of ``before``.
    """
    if meta is None:
        meta = make_meta(func(meta_nonempty(frame._meta), *args, **kwargs))
    name = f"overlap-{getattr(func, '__name__', 'func')}-{_tokenize(frame, func, before, after, args, kwargs)}"
    layer: dict = {}
    n = frame.npartitions
    prev = None
    tails: list = [None] * n
    need_before = bool(before) or tail is not None
    for i in range(1, n):
        if not need_before:
            break
        k = (f"{name}-tail", i)
        if tail is not None:
            layer[k] = Task(k, tail, Ref(prev) if prev else None, Ref((frame._name, i - 1)))
        else:
            layer[k] = Task(k, _tail, Ref(prev) if prev else None, Ref((frame._name, i - 1)),
                            before)
        tails[i] = Ref(k)
        prev = k
    heads: list = [None] * n
    nxt = None
    for i in range(n - 2, -1, -1):
        if not after:
            break
        k = (f"{name}-head", i)
        layer[k] = Task(k, _head, Ref((frame._name, i + 1)), Ref(nxt) if nxt else None, after)
        heads[i] = Ref(k)
        nxt = k
    for i in range(n):
        layer[(name, i)] = Task((name, i), _apply_with_overlap, Ref((frame._name, i)),
                                tails[i], heads[i], func, args, kwargs)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, meta, frame.divisions)


def _shift(x: Any, periods: int) -> Any:
    return x.shift(periods)


def _diff(x: Any, periods: int) -> Any:
    return x.diff(periods)


def shift(frame: _Frame, periods: int = 1, freq: Any = None, **kwargs: Any) -> _Frame:
    """``shift(periods)`` with rows moving across partition boundaries; with ``freq`` the
    index moves instead (partition by partition)."""
    if freq is not None:
        out = frame._method("shift", periods, freq=freq, **kwargs)
        return out.clear_divisions()
    if kwargs:
        raise NotImplementedError(f"shift options {sorted(kwargs)}")
    return map_overlap(frame, _shift, max(periods, 0), max(-periods, 0), periods)


def diff(frame: _Frame, periods: int = 1) -> _Frame:
    return map_overlap(frame, _diff, max(periods, 0), max(-periods, 0), periods)


def _fill(x: Any, how: str) -> Any:
    return getattr(x, how)()


def fill_across(frame: _Frame, how: str, limit: Any = None, **kwargs: Any) -> _Frame:
    """``ffill``/``bfill`` carrying the last (first) valid values across partitions."""
    if limit is not None or kwargs:
        raise NotImplementedError(f"{how} with limit= or other options")
    if how == "ffill":
        return map_overlap(frame, _fill, 0, 0, how, tail=_LastValid("ffill"))
    # bfill: reverse the roles by carrying the first valid values backwards.
    name = f"bfill-{_tokenize(frame)}"
    layer: dict = {}
    n = frame.npartitions
    nxt = None
    heads: list = [None] * n
    for i in range(n - 2, -1, -1):
        k = (f"{name}-head", i)
        layer[k] = Task(k, _first_valid, Ref((frame._name, i + 1)), Ref(nxt) if nxt else None)
        heads[i] = Ref(k)
        nxt = k
    for i in range(n):
        layer[(name, i)] = Task((name, i), _apply_with_overlap, Ref((frame._name, i)), None,
                                heads[i], _fill, ("bfill",), {})
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, frame._meta, frame.divisions)


def _first_valid(part: Any, next_head: Any) -> Any:
    x = _cat([part, next_head])
    return x.bfill().iloc[:1]


class _LastValid:
    def __init__(self, how: str):
        self.how = how

    def __call__(self, prev_tail: Any, part: Any) -> Any:
        return _last_valid(prev_tail, part, self.how)

    def __graphengine_tokenize__(self) -> str:
        return f"last-valid-{self.how}"


def _rolling(x: Any, window: Any, rkw: dict, method: str, args: tuple, kwargs: dict) -> Any:
    return getattr(x.rolling(window, **rkw), method)(*args, **kwargs)


class Rolling:
    """``frame.rolling(window)``: integer or time-offset windows across partitions."""

    def __init__(self, frame: _Frame, window: Any, min_periods: int | None = None,
                 center: bool = False, win_type: Any = None, closed: Any = None):
        if win_type is not None:
            raise NotImplementedError("rolling(win_type=...)")
        self.frame = frame
        self.window = window
        self.rkw = {"min_periods": min_periods, "center": center, "closed": closed}
        if isinstance(window, (int,)) and not isinstance(window, bool):
            if window < 0:
                raise ValueError(f"window must be non-negative, got {window}")
            self.before = window // 2 if center else max(window - 1, 0)
            self.after = window // 2 if center else 0
        else:
            if center:
                raise NotImplementedError("center=True with a time-based window")
            if not isinstance(frame._meta.index, pd.DatetimeIndex):
                raise ValueError(f"window {window!r} needs a DatetimeIndex, the index is "
                                 f"{type(frame._meta.index).__name__}")
            self.before = pd.Timedelta(pd.tseries.frequencies.to_offset(window))
            self.after = 0
        # pandas validates the window and options; fail now, not at compute.
        meta_nonempty(frame._meta).rolling(window, **self.rkw)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> _Frame:
        meta = make_meta(_rolling(meta_nonempty(self.frame._meta), self.window, self.rkw,
                                  method, args, kwargs))
        return map_overlap(self.frame, _rolling, self.before, self.after, self.window,
                           self.rkw, method, args, kwargs, meta=meta)

    def sum(self) -> _Frame:
        return self._call("sum")

    def mean(self) -> _Frame:
        return self._call("mean")

    def min(self) -> _Frame:
        return self._call("min")

    def max(self) -> _Frame:
        return self._call("max")

    def count(self) -> _Frame:
        return self._call("count")

    def median(self) -> _Frame:
        return self._call("median")

    def std(self, ddof: int = 1) -> _Frame:
        return self._call("std", ddof=ddof)

    def var(self, ddof: int = 1) -> _Frame:
        return self._call("var", ddof=ddof)

    def apply(self, func: Callable, raw: bool = False, args: tuple = (),
              kwargs: dict | None = None) -> _Frame:
        return self._call("apply", func, raw=raw, args=args, kwargs=kwargs or {})
