"""Moving rows between partitions: the tasks-based hash shuffle and range partitioning.

Every input partition is split once into ``npartitions`` pieces (one sort by target
partition, then slices); output partition ``j`` concatenates piece ``j`` of every input.
That is ``n_in`` split tasks and ``n_out`` concat tasks, with no per-piece tasks.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"k": [1, 2, 1, 2, 3]}), npartitions=2)
    >>> out = ddf.shuffle("k", npartitions=3)
    >>> parts = [set(out.partitions[i].compute().k) for i in range(3)]
    >>> all(len(a & b) == 0 for a in parts for b in parts if a is not b)
    True
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, concat_parts, new_collection
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["shuffle", "shuffle_by", "hash_partition_ids", "range_partition_ids"]


def _key_values(part: Any, on: Any) -> Any:
    if on is None:
        return part
    if isinstance(on, list):
        return part[on]
    if isinstance(on, pd.Index) or callable(on):
        return on
    return part[on]


def _normalize_for_hash(keys: Any, cast: Any) -> Any:
    """Give equal values equal hashes on both sides of a join (int 1 and float 1.0)."""
    if cast is None:
        return keys
    if isinstance(keys, pd.DataFrame):
        return keys.astype({c: d for c, d in cast.items() if c in keys.columns})
    return keys.astype(cast)


def hash_partition_ids(part: Any, on: Any, npartitions: int, cast: Any = None) -> np.ndarray:
    """Target partition of every row: a hash of the ``on`` values modulo ``npartitions``."""
    if on == "__index__":
        keys = part.index.to_frame(index=False) if isinstance(part.index, pd.MultiIndex) \
            else pd.Series(part.index)
    else:
        keys = _key_values(part, on)
    keys = _normalize_for_hash(keys, cast)
    h = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return (h % np.uint64(npartitions)).astype(np.int64)


def range_partition_ids(part: Any, on: Any, divisions: list, ascending: bool = True,
                        na_last: bool = True) -> np.ndarray:
    """Target partition of every row: which interval of ``divisions`` its value falls in
    (the last interval is closed; missing values go to the last, or first, partition)."""
    values = part.index if on == "__index__" else _key_values(part, on)
    arr = np.asarray(values)
    n = len(divisions) - 1
    isna = pd.isna(values)
    isna = np.asarray(isna)
    ids = np.empty(len(arr), dtype=np.int64)
    if (~isna).any():
        ids[~isna] = np.searchsorted(np.asarray(divisions[1:-1], dtype=arr.dtype)
                                     if arr.dtype != object else np.asarray(divisions[1:-1]),
                                     arr[~isna], side="right")
    ids[isna] = n - 1 if na_last else 0
    if not ascending:
        ids = n - 1 - ids
    return ids


def _split(part: Any, partitioner: Callable, npartitions: int, args: tuple) -> list:
    if len(part) == 0:
        return [part] * npartitions
    ids = partitioner(part, *args)
    # Small unsigned ids make numpy's stable argsort a radix sort: O(n), not O(n log n).
    small = np.uint8 if npartitions <= 256 else (np.uint16 if npartitions <= 65536 else None)
    order = np.argsort(ids.astype(small) if small else ids, kind="stable")
    counts = np.bincount(ids, minlength=npartitions)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    ordered = part.iloc[order]
    return [ordered.iloc[bounds[j]:bounds[j + 1]] for j in range(npartitions)]


def _collect(splits: list, j: int, meta: Any) -> Any:
    pieces = [s[j] for s in splits]
    out = concat_parts(pieces, meta)
    return out if out is not None else meta


def shuffle_by(frame: _Frame, partitioner: Callable, npartitions: int, args: tuple = (),
               name: str = "shuffle") -> _Frame:
    """Redistribute rows: ``partitioner(part, *args)`` gives each row's target partition."""
    token = _tokenize(frame, partitioner, npartitions, args)
    name = f"{name}-{token}"
    layer: dict = {}
    split_keys = []
    for i in range(frame.npartitions):
        k = (f"{name}-split", i)
        layer[k] = Task(k, _split, Ref((frame._name, i)), partitioner, npartitions, args)
        split_keys.append(Ref(k))
    for j in range(npartitions):
        layer[(name, j)] = Task((name, j), _collect, split_keys, j, frame._meta)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return new_collection(graph, name, frame._meta, (None,) * (npartitions + 1))


def shuffle(frame: _Frame, on: Any = None, npartitions: int | None = None,
            cast: Any = None, **kwargs: Any) -> _Frame:
    """Hash-partition rows by the values of ``on`` so equal keys share a partition.

    Parameters
    ----------
    on : label or list of labels, optional
        Key columns; ``None`` uses all columns (or a Series' values).
    npartitions : int, optional
        Output partitions (default: as many as the input).

    Returns
    -------
    A frame with unknown divisions; rows keep their index.
    """
    if kwargs:
        unknown = ", ".join(sorted(kwargs))
        raise TypeError(f"shuffle got unexpected keyword argument(s): {unknown}")
    if on is not None and isinstance(frame._meta, pd.DataFrame):
        if isinstance(on, _Frame):
            raise NotImplementedError("shuffle on a lazy Series; assign it as a column first")
        frame._check_columns(on if isinstance(on, list) else [on])
    npartitions = npartitions or frame.npartitions
    return shuffle_by(frame, hash_partition_ids, npartitions, (on, npartitions, cast))
