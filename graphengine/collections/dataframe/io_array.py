"""Conversions between lazy frames and graphengine arrays (``from_array`` / ``to_array``).

    >>> import numpy as np, graphengine.array as ga, graphengine.dataframe as gd
    >>> x = ga.from_array(np.arange(12.0).reshape(6, 2), chunks=(3, 2))
    >>> ddf = gd.from_array(x, columns=["a", "b"])
    >>> ddf.divisions, ddf.a.sum().compute()
    ((0, 3, 5), np.float64(30.0))
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, new_collection
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["from_array", "to_array", "to_records"]


def _block_to_frame(block: np.ndarray, start: int, columns: Any, name: Any) -> Any:
    index = pd.RangeIndex(start, start + len(block))
    if block.ndim == 1:
        return pd.Series(block, index=index, name=name)
    return pd.DataFrame(block, index=index, columns=columns)


def from_array(x: Any, columns: Any = None) -> _Frame:
    """A lazy DataFrame (2-D input) or Series (1-D) with one partition per row-block of a
    graphengine array (or a NumPy array, split like ``from_pandas``).

    Parameters
    ----------
    columns : list or str, optional
        Column names (2-D), or the Series name (1-D); default ``0..n-1`` / ``None``.
    """
    from graphengine.collections.array.core import Array

    if isinstance(x, np.ndarray):
        from graphengine.collections.dataframe.io_pandas import from_pandas

        pdf = pd.DataFrame(x, columns=columns) if x.ndim == 2 else pd.Series(x, name=columns)
        return from_pandas(pdf, npartitions=max(1, len(x) // 1_000_000))
    if not isinstance(x, Array):
        raise TypeError(f"from_array expects a graphengine or NumPy array, got "
                        f"{type(x).__name__}")
    if x.ndim not in (1, 2):
        raise ValueError(f"from_array needs a 1-D or 2-D array, got {x.ndim} dimensions")
    if x.ndim == 2 and len(x.chunks[1]) > 1:
        x = x.rechunk((x.chunks[0], (x.shape[1],)))
    rows = x.chunks[0]
    if any(np.isnan(r) for r in rows):
        raise ValueError("from_array needs known chunk sizes; call compute_chunk_sizes()")
    if x.ndim == 2:
        ncols = x.shape[1]
        columns = list(range(ncols)) if columns is None else list(columns)
        if len(columns) != ncols:
            raise ValueError(f"{len(columns)} column names for {ncols} columns")
        meta = pd.DataFrame(np.empty((0, ncols), dtype=x.dtype), columns=columns)
    else:
        meta = pd.Series(np.empty(0, dtype=x.dtype), name=columns)
    name = f"from_array-{_tokenize(x.name, columns)}"
    layer = {}
    start = 0
    starts = []
    for i, n in enumerate(rows):
        key = (x.name, i, 0) if x.ndim == 2 else (x.name, i)
        layer[(name, i)] = Task((name, i), _block_to_frame, Ref(key), start, columns, columns)
        starts.append(start)
        start += int(n)
    graph = HighLevelGraph.from_layer(name, layer, [x])
    if all(n > 0 for n in rows):
        divisions = tuple(starts) + (start - 1,)
    else:
        divisions = (None,) * (len(rows) + 1)
    return new_collection(graph, name, meta, divisions)


def _to_numpy(part: Any, dtype: Any) -> np.ndarray:
    return part.to_numpy(dtype=dtype)


def to_array(frame: _Frame, lengths: bool = True) -> Any:
    """The values as a graphengine Array, one row-block per partition.

    ``lengths=True`` computes the partition lengths so the chunks are known.
    """
    from graphengine.collections.array.core import Array
    from graphengine.collections.dataframe.reductions import partition_lengths

    meta = frame._meta
    if isinstance(meta, pd.DataFrame):
        dtype = np.result_type(*[np.dtype(d) if isinstance(d, np.dtype) else np.dtype(object)
                                 for d in meta.dtypes]) if len(meta.columns) else np.float64
    else:
        dtype = meta.dtype if isinstance(meta.dtype, np.dtype) else np.dtype(object)
    rows = tuple(partition_lengths(frame)) if lengths else (np.nan,) * frame.npartitions
    name = f"to_array-{_tokenize(frame, dtype)}"
    layer = {}
    for i in range(frame.npartitions):
        key = (name, i, 0) if isinstance(meta, pd.DataFrame) else (name, i)
        layer[key] = Task(key, _to_numpy, Ref((frame._name, i)), dtype)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    chunks = (rows, (len(meta.columns),)) if isinstance(meta, pd.DataFrame) else (rows,)
    return Array(graph, name, chunks, dtype)


def _to_records(part: Any, index: bool) -> np.ndarray:
    return part.to_records(index=index)


def to_records(frame: _Frame, index: bool = True, lengths: bool = True) -> Any:
    """The rows as a 1-D graphengine Array of NumPy records, one block per partition."""
    from graphengine.collections.array.core import Array
    from graphengine.collections.dataframe.meta import meta_nonempty
    from graphengine.collections.dataframe.reductions import partition_lengths

    dtype = meta_nonempty(frame._meta).to_records(index=index).dtype
    rows = tuple(partition_lengths(frame)) if lengths else (np.nan,) * frame.npartitions
    name = f"to_records-{_tokenize(frame, index)}"
    layer = {(name, i): Task((name, i), _to_records, Ref((frame._name, i)), index)
             for i in range(frame.npartitions)}
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    return Array(graph, name, (rows,), dtype)
