"""Cumulative sums, products, maxima and minima across partitions.

Partition ``i`` is scanned on its own, then shifted by the *carry*: the combined total
of all earlier partitions. Carries are a chain of tiny tasks (one scalar per column per
partition), so the scans themselves all run in parallel.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series([1, 2, 3, 4]), npartitions=2)
    >>> s.cumsum().compute().tolist()
    [1, 3, 6, 10]
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, new_collection
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["cumulative"]

_TOTAL = {"cumsum": "sum", "cumprod": "prod", "cummax": "max", "cummin": "min"}


def _total(part: Any, op: str, skipna: bool) -> Any:
    if len(part) == 0:
        return None
    how = _TOTAL[op]
    if isinstance(part, pd.DataFrame):
        return [getattr(part.iloc[:, j], how)(skipna=skipna) for j in range(part.shape[1])]
    return getattr(part, how)(skipna=skipna)


def _merge2(a: Any, b: Any, op: str) -> Any:
    if pd.isna(a):
        return a if op in ("cumsum", "cumprod") else b
    if pd.isna(b):
        return b if op in ("cumsum", "cumprod") else a
    if op == "cumsum":
        return a + b
    if op == "cumprod":
        return a * b
    if op == "cummax":
        return max(a, b)
    return min(a, b)


def _carry(prev: Any, total: Any, op: str) -> Any:
    if total is None:
        return prev
    if prev is None:
        return total
    if isinstance(prev, list):
        return [_merge2(a, b, op) for a, b in zip(prev, total)]
    return _merge2(prev, total, op)


def _shift(cum: pd.Series, carry: Any, op: str) -> pd.Series:
    if op == "cumsum":
        return cum + carry
    if op == "cumprod":
        return cum * carry
    if pd.isna(carry):
        return cum
    if op == "cummax":
        return cum.mask(cum < carry, carry)
    return cum.mask(cum > carry, carry)


def _apply_carry(part: Any, carry: Any, op: str, skipna: bool) -> Any:
    cum = getattr(part, op)(skipna=skipna)
    if carry is None or len(part) == 0:
        return cum
    if isinstance(cum, pd.DataFrame):
        cum = cum.copy(deep=False)
        for j in range(cum.shape[1]):
            cum.isetitem(j, _shift(cum.iloc[:, j], carry[j], op))
        return cum
    return _shift(cum, carry, op)


def cumulative(frame: _Frame, op: str, skipna: bool = True) -> _Frame:
    """``frame.<op>()`` for op in cumsum, cumprod, cummax, cummin."""
    from graphengine.collections.dataframe.meta import make_meta, meta_nonempty

    meta = make_meta(getattr(meta_nonempty(frame._meta), op)(skipna=skipna))
    name = f"{op}-{_tokenize(frame, op, skipna)}"
    layer: dict = {}
    prev = None
    for i in range(frame.npartitions):
        src = Ref((frame._name, i))
        if i > 0:
            tk = (f"{name}-total", i - 1)
            layer[tk] = Task(tk, _total, Ref((frame._name, i - 1)), op, skipna)
            ck = (f"{name}-carry", i)
            layer[ck] = Task(ck, _carry, Ref(prev) if prev else None, Ref(tk), op)
            prev = ck
        layer[(name, i)] = Task((name, i), _apply_carry, src, Ref(prev) if prev else None,
                                op, skipna)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, meta, frame.divisions)
