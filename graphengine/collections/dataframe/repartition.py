"""Changing how a frame is split: ``repartition(npartitions= | divisions= | partition_size=)``.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": range(10)}), npartitions=5)
    >>> ddf.repartition(divisions=[0, 5, 9]).divisions
    (0, 5, 9)
"""
from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, concat_parts, new_collection
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["repartition", "repartition_divisions", "repartition_npartitions"]


def _cut(part: Any, lo: Any, hi: Any, right_closed: bool) -> Any:
    idx = part.index
    mask = idx >= lo
    mask &= (idx <= hi) if right_closed else (idx < hi)
    return part[mask] if not mask.all() else part


def _concat_list(parts: list) -> Any:
    return concat_parts(parts)


def repartition_divisions(frame: _Frame, divisions: tuple) -> _Frame:
    """``frame`` re-split at the index values ``divisions`` (known divisions only)."""
    if not frame.known_divisions:
        raise ValueError("repartition(divisions=) needs known divisions; call set_index "
                         "or clear the divisions and use npartitions=")
    divisions = tuple(divisions)
    if len(divisions) < 2 or any(a >= b for a, b in zip(divisions, divisions[1:])):
        if not (len(divisions) == 2 and divisions[0] == divisions[1]):
            raise ValueError(f"divisions must be strictly increasing, got {divisions}")
    old = frame.divisions
    if divisions == old:
        return frame
    if divisions[0] > old[0] or divisions[-1] < old[-1]:
        raise ValueError(f"new divisions {divisions[0]!r}..{divisions[-1]!r} do not cover the "
                         f"frame's index range {old[0]!r}..{old[-1]!r}")
    name = f"repartition-{_tokenize(frame, divisions)}"
    layer: dict = {}
    n_old = frame.npartitions
    n_new = len(divisions) - 1
    for j in range(n_new):
        lo, hi = divisions[j], divisions[j + 1]
        last = j == n_new - 1
        first_i = max(bisect.bisect_left(old, lo) - 1, 0)
        last_i = min(bisect.bisect_right(old, hi), n_old - 1)
        pieces = []
        for i in range(first_i, last_i + 1):
            # Old partition i holds o_lo <= v < o_hi (v <= o_hi for the last one); new
            # partition j takes lo <= v < hi (v <= hi for the last one).
            o_lo, o_hi, o_last = old[i], old[i + 1], i == n_old - 1
            if o_hi < lo or (o_hi == lo and not o_last):
                continue
            if o_lo > hi or (o_lo == hi and not last):
                continue
            inside = lo <= o_lo and (o_hi < hi or (o_hi == hi and (not o_last or last)))
            if inside:
                pieces.append(Ref((frame._name, i)))
            else:
                ck = (f"{name}-cut", j, i)
                layer[ck] = Task(ck, _cut, Ref((frame._name, i)), lo, hi, last)
                pieces.append(Ref(ck))
        if not pieces:
            ck = (f"{name}-cut", j, 0)
            layer[ck] = Task(ck, _cut, Ref((frame._name, 0)), lo, lo, False)
            pieces.append(Ref(ck))
        layer[(name, j)] = Task((name, j), _concat_list, pieces)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, frame._meta, divisions)


def _split_rows(part: Any, k: int, j: int) -> Any:
    n = len(part)
    bounds = [round(n * t / k) for t in range(k + 1)]
    return part.iloc[bounds[j]:bounds[j + 1]]


def repartition_npartitions(frame: _Frame, npartitions: int) -> _Frame:
    """Merge neighbouring partitions (fewer) or split partitions by rows (more)."""
    if npartitions < 1:
        raise ValueError(f"npartitions must be >= 1, got {npartitions}")
    n = frame.npartitions
    if npartitions == n:
        return frame
    name = f"repartition-{_tokenize(frame, npartitions)}"
    layer: dict = {}
    if npartitions < n:
        cuts = [int(x) for x in np.linspace(0, n, npartitions + 1).round()]
        cuts = sorted(set(cuts))
        for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
            layer[(name, j)] = Task((name, j), _concat_list,
                                    [Ref((frame._name, i)) for i in range(a, b)])
        divs = tuple(frame.divisions[c] for c in cuts)
    else:
        per = [npartitions // n + (1 if i < npartitions % n else 0) for i in range(n)]
        j = 0
        for i, k in enumerate(per):
            for piece in range(k):
                layer[(name, j)] = Task((name, j), _split_rows, Ref((frame._name, i)), k, piece)
                j += 1
        divs = (None,) * (npartitions + 1)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, frame._meta, divs)


def _parse_size(size: Any) -> int:
    if isinstance(size, (int, np.integer)):
        return int(size)
    units = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20,
             "gib": 2**30}
    s = str(size).strip().lower().replace(" ", "")
    for u in sorted(units, key=len, reverse=True):
        if s.endswith(u):
            return int(float(s[:-len(u)]) * units[u])
    raise ValueError(f"cannot parse partition_size {size!r} (examples: 100MB, '64MiB')")


def repartition(frame: _Frame, npartitions: int | None = None, divisions: Any = None,
                partition_size: Any = None) -> _Frame:
    """Re-split ``frame`` by exactly one of ``npartitions``, ``divisions`` or
    ``partition_size`` (bytes or a string like ``"100MB"``; computes memory usage)."""
    given = [x is not None for x in (npartitions, divisions, partition_size)]
    if sum(given) != 1:
        raise ValueError("give exactly one of npartitions=, divisions=, partition_size=")
    if divisions is not None:
        return repartition_divisions(frame, tuple(divisions))
    if npartitions is not None:
        return repartition_npartitions(frame, int(npartitions))
    size = _parse_size(partition_size)
    total = int(frame.memory_usage(deep=True).sum().compute()) if isinstance(
        frame._meta, pd.DataFrame) else int(frame.memory_usage(deep=True).compute())
    return repartition_npartitions(frame, max(1, math.ceil(total / size)))
