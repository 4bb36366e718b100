"""Creating partitioned frames from in-memory data: pandas objects, dicts and delayed values.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": range(10)}), npartitions=3)
    >>> ddf.npartitions, ddf.divisions
    (3, (0, 4, 8, 9))
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import _tokenize, new_collection
from graphengine.collections.dataframe.meta import make_meta
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["from_pandas", "from_dict", "from_delayed", "sorted_division_locations"]


def sorted_division_locations(index: pd.Index, npartitions: int) -> list[int]:
    """Row positions splitting a sorted ``index`` into about ``npartitions`` pieces, never
    splitting a run of equal index values (so divisions stay strictly increasing)."""
    n = len(index)
    step = math.ceil(n / npartitions)
    locs = [0]
    values = index
    for j in range(1, npartitions):
        loc = j * step
        if loc <= locs[-1]:
            continue
        # Move the cut forward past a run of duplicates.
        if 0 < loc < n and values[loc] == values[loc - 1]:
            loc = int(values.searchsorted(values[loc], side="right"))
        if loc >= n:
            break
        if loc > locs[-1]:
            locs.append(loc)
    locs.append(n)
    return locs


def from_pandas(data: pd.DataFrame | pd.Series, npartitions: int | None = None,
                chunksize: int | None = None, sort: bool = True) -> Any:
    """Split a pandas DataFrame or Series into a lazy one of ``npartitions`` partitions.

    Parameters
    ----------
    data : pandas.DataFrame or pandas.Series
    npartitions : int, optional
        Number of partitions (give this or ``chunksize``).
    chunksize : int, optional
        Rows per partition.
    sort : bool
        Sort by the index first so that divisions are known; with ``False`` the row
        order is kept and divisions are unknown (unless the index is already sorted).

    Examples
    --------
    >>> import pandas as pd
    >>> from_pandas(pd.Series([3, 1, 2]), chunksize=2).npartitions
    2
    """
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas expects a pandas DataFrame or Series, got "
                        f"{type(data).__name__}")
    if (npartitions is None) == (chunksize is None):
        raise ValueError("give exactly one of npartitions= and chunksize=")
    n = len(data)
    if chunksize is not None:
        if chunksize <= 0:
            raise ValueError(f"chunksize must be positive, got {chunksize}")
        npartitions = max(1, math.ceil(n / chunksize))
    if npartitions <= 0:
        raise ValueError(f"npartitions must be positive, got {npartitions}")
    name = f"from_pandas-{_tokenize(data, npartitions, sort)}"
    meta = make_meta(data)
    if n == 0:
        return new_collection(HighLevelGraph.from_layer(name, {(name, 0): data}), name, meta,
                              (None, None))
    index = data.index
    if sort and not index.is_monotonic_increasing:
        try:
            data = data.sort_index(kind="stable")
            index = data.index
        except TypeError:
            sort = False
    known = index.is_monotonic_increasing and not index.hasnans and not isinstance(
        index, pd.MultiIndex)
    if known:
        locs = sorted_division_locations(index, npartitions)
        divisions = tuple(index[i] for i in locs[:-1]) + (index[-1],)
        divisions = tuple(d.item() if isinstance(d, np.generic) else d for d in divisions)
    else:
        locs = [int(round(j * n / npartitions)) for j in range(npartitions + 1)]
        divisions = (None,) * (len(locs))
    layer = {(name, i): data.iloc[a:b] for i, (a, b) in enumerate(zip(locs[:-1], locs[1:]))}
    return new_collection(HighLevelGraph.from_layer(name, layer), name, meta, divisions)


def from_dict(data: dict, npartitions: int, orient: str = "columns", dtype: Any = None,
              columns: Any = None) -> Any:
    """A lazy DataFrame from a dict, as ``pandas.DataFrame.from_dict`` builds it."""
    return from_pandas(pd.DataFrame.from_dict(data, orient=orient, dtype=dtype,
                                              columns=columns), npartitions=npartitions)


def _same_dtype(a: Any, b: Any) -> bool:
    # categoricals may carry different (per-partition or unknown) categories
    cat = pd.CategoricalDtype
    return a == b or (isinstance(a, cat) and isinstance(b, cat))


def _check_meta(part: Any, meta: Any, i: int) -> Any:
    if isinstance(meta, pd.DataFrame):
        if not isinstance(part, pd.DataFrame):
            raise TypeError(f"from_delayed: partition {i} is a {type(part).__name__}, "
                            "meta is a DataFrame")
        if list(part.columns) != list(meta.columns):
            raise ValueError(f"from_delayed: partition {i} has columns {list(part.columns)}, "
                             f"meta has {list(meta.columns)}")
        bad = [c for c in meta.columns if not _same_dtype(part[c].dtype, meta[c].dtype)]
        if bad:
            raise ValueError(f"from_delayed: partition {i} dtypes differ from meta for "
                             + ", ".join(f"{c!r} ({part[c].dtype} != {meta[c].dtype})"
                                         for c in bad))
    elif isinstance(meta, pd.Series) and isinstance(part, pd.Series) and not _same_dtype(
            part.dtype, meta.dtype):
        raise ValueError(f"from_delayed: partition {i} has dtype {part.dtype}, meta has "
                         f"{meta.dtype}")
    return part


def from_delayed(dfs: list, meta: Any = None, divisions: Any = None,
                 verify_meta: bool = True) -> Any:
    """A lazy frame whose partitions are the results of Delayed objects.

    ``meta`` is computed from the first partition if not given (that computes it).
    """
    from graphengine.collections.delayed import Delayed

    dfs = list(dfs)
    if not dfs:
        raise ValueError("from_delayed needs at least one Delayed object")
    for d in dfs:
        if not isinstance(d, Delayed):
            raise TypeError(f"from_delayed expects Delayed objects, got {type(d).__name__}")
    if meta is None:
        meta = make_meta(dfs[0].compute())
    else:
        meta = make_meta(meta)
    name = f"from_delayed-{_tokenize([d.key for d in dfs], meta)}"
    layer = {}
    for i, d in enumerate(dfs):
        if verify_meta:
            layer[(name, i)] = Task((name, i), _check_meta, Ref(d.key), meta, i)
        else:
            layer[(name, i)] = Task((name, i), _identity, Ref(d.key))
    graph = HighLevelGraph.from_layer(name, layer, dfs)
    if divisions is None:
        divisions = (None,) * (len(dfs) + 1)
    elif len(divisions) != len(dfs) + 1:
        raise ValueError(f"divisions has {len(divisions)} entries for {len(dfs)} partitions; "
                         f"expected {len(dfs) + 1}")
    return new_collection(graph, name, meta, tuple(divisions))


def _identity(x: Any) -> Any:
    return x
