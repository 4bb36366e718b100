"""Parquet input and output with pyarrow: one partition per row group.

``read_parquet`` pushes ``filters`` down twice: hive partition directories and row groups
whose statistics cannot match are skipped without reading them, and surviving rows are
filtered by pyarrow. When the index column's row-group statistics are sorted and do not
overlap, they become the divisions.

    >>> import tempfile, pandas as pd, graphengine.dataframe as gd
    >>> d = tempfile.mkdtemp()
    >>> gd.from_pandas(pd.DataFrame({"a": range(6)}), npartitions=2).to_parquet(d)
    >>> gd.read_parquet(d).divisions
    (0, 3, 5)
"""
from __future__ import annotations

import os
import re
from typing import Any

import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, new_collection
from graphengine.collections.dataframe.meta import UNKNOWN_CATEGORIES, make_meta, meta_nonempty
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["read_parquet", "to_parquet"]


def _natural_key(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _filter_expression(filters: Any) -> Any:
    if filters is None:
        return None
    import pyarrow.parquet as pq

    return pq.filters_to_expression(filters)


def _index_columns(schema: Any) -> list:
    meta = schema.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


def _read_piece(fragment: Any, schema: Any, columns: list | None, filter_expr: Any,
                index_cols: list, index_names: list, categories: dict) -> pd.DataFrame:
    table = fragment.to_table(schema=schema, columns=columns, filter=filter_expr)
    df = table.to_pandas()
    if index_cols and list(df.index.names) != index_names:
        present = [c for c in index_cols if c in df.columns]
        if present:
            df = df.set_index(present)
    if index_names:
        df.index.names = index_names
    for col, cats in categories.items():
        if col in df.columns:
            df[col] = pd.Categorical(df[col].astype(object), categories=cats)
    return df


def read_parquet(path: Any, columns: Any = None, filters: Any = None, index: Any = None,
                 calculate_divisions: bool = True) -> _Frame:
    """Read a Parquet file, directory (hive-partitioned or not) or list of files.

    Parameters
    ----------
    columns : list of str, optional
        Columns to read (others are never read from disk).
    filters : list of tuples or list of lists, optional
        DNF filters such as ``[("x", ">", 3)]``; pushed down to partition directories and
        row groups, then applied to rows.
    index : str, list or False, optional
        Index column(s); default: the index the file was written with.
    calculate_divisions : bool
        Use the index column's row-group statistics as divisions when they are sorted.
    """
    import pyarrow.dataset as ds

    paths = path if isinstance(path, (list, tuple)) else os.fspath(path)
    partitioning = ds.HivePartitioning.discover(infer_dictionary=True)
    dataset = ds.dataset(paths, format="parquet", partitioning=partitioning)
    schema = dataset.schema
    filter_expr = _filter_expression(filters)
    stored_index = _index_columns(schema)
    if index is False:
        index_cols = []
    elif index is None:
        index_cols = stored_index
    else:
        index_cols = index if isinstance(index, list) else [index]
    names = [f.name for f in schema]
    if columns is not None:
        single = isinstance(columns, str)
        columns = [columns] if single else list(columns)
        missing = [c for c in columns if c not in names]
        if missing:
            raise KeyError(f"read_parquet: column(s) {missing} not found; columns are "
                           f"{[n for n in names if n not in stored_index]}")
        read_cols = columns + [c for c in index_cols if c not in columns]
    else:
        read_cols = [n for n in names if index is not False or n not in stored_index]
    index_names = [None if re.fullmatch(r"__index_level_\d+__", c) else c for c in index_cols]
    fragments = sorted(dataset.get_fragments(filter=filter_expr), key=lambda f: _natural_key(f.path))
    categories: dict = {}
    for frag in fragments:
        for k, v in ds.get_partition_keys(frag.partition_expression).items():
            categories.setdefault(k, set()).add(v)
    categories = {k: sorted(v) for k, v in categories.items() if k in read_cols}
    pieces = []
    stats = []
    for frag in fragments:
        for rg in frag.split_by_row_group(filter_expr, schema=schema):
            pieces.append(rg)
            if calculate_divisions and len(index_cols) == 1:
                st = rg.row_groups[0].statistics if rg.row_groups else None
                stats.append(st.get(index_cols[0]) if st else None)
    empty = schema.empty_table().select(read_cols).to_pandas()
    if index_cols:
        empty = empty.set_index(index_cols) if not set(index_cols) - set(empty.columns) \
            else empty
        empty.index.names = index_names
    for col in empty.columns:
        if isinstance(empty[col].dtype, pd.CategoricalDtype):
            # Dictionary columns: each row group has its own categories, except
            # partition columns, whose values the directory names tell.
            cats = categories.get(col, [UNKNOWN_CATEGORIES])
            empty[col] = pd.Categorical([], categories=cats)
    meta = make_meta(empty)
    name = f"read_parquet-{_tokenize(paths, [f.path for f in fragments], read_cols, filters, index_cols, [os.path.getmtime(f.path) for f in fragments])}"
    layer: dict = {}
    if not pieces:
        layer[(name, 0)] = meta
        return new_collection(HighLevelGraph.from_layer(name, layer), name, meta, (None, None))
    for i, rg in enumerate(pieces):
        layer[(name, i)] = Task((name, i), _read_piece, rg, schema, read_cols, filter_expr,
                                index_cols, index_names, categories)
    divisions: tuple = (None,) * (len(pieces) + 1)
    if stats and all(s is not None for s in stats):
        mins = [s["min"] for s in stats]
        maxs = [s["max"] for s in stats]
        if all(a < b for a, b in zip(maxs[:-1], mins[1:])) and all(
                a <= b for a, b in zip(mins, maxs)):
            divisions = tuple(mins) + (maxs[-1],)
            if isinstance(meta.index, pd.DatetimeIndex):
                divisions = tuple(pd.Timestamp(d, tz=meta.index.tz) for d in divisions)
    graph = HighLevelGraph.from_layer(name, layer)
    return new_collection(graph, name, meta, divisions)


def _write_piece(part: pd.DataFrame, path: str, i: int, schema: Any, write_index: bool,
                 partition_on: list | None, compression: str, row_group_size: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(part, schema=schema, preserve_index=write_index)
    if partition_on:
        pq.write_to_dataset(table, root_path=path, partition_cols=partition_on,
                            basename_template=f"part.{i}.{{i}}.parquet",
                            compression=compression)
    else:
        pq.write_table(table, os.path.join(path, f"part.{i}.parquet"), compression=compression,
                       row_group_size=row_group_size)
    return None


def _done(results: list) -> None:
    return None


def to_parquet(frame: _Frame, path: Any, partition_on: Any = None, write_index: bool = True,
               compression: str = "snappy", row_group_size: Any = None,
               compute: bool = True) -> Any:
    """Write one ``part.<i>.parquet`` file per partition into directory ``path`` (hive
    directories per value of ``partition_on`` columns). The index is stored as a column so
    that it and sorted divisions come back with :func:`read_parquet`."""
    import pyarrow as pa

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    if partition_on is not None:
        partition_on = partition_on if isinstance(partition_on, list) else [partition_on]
        frame._check_columns(partition_on)
    sample = meta_nonempty(frame._meta)
    schema = pa.Schema.from_pandas(sample, preserve_index=write_index)
    name = f"to_parquet-{_tokenize(frame, path, partition_on, write_index, compression)}"
    layer: dict = {}
    for i in range(frame.npartitions):
        layer[(name, i)] = Task((name, i), _write_piece, Ref((frame._name, i)), path, i, schema,
                                write_index, partition_on, compression, row_group_size)
    final = f"{name}-done"
    layer[(final, 0)] = Task((final, 0), _done, [Ref((name, i)) for i in range(frame.npartitions)])
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    from graphengine.collections.delayed import Delayed

    out = Delayed((final, 0), graph)
    return out.compute() if compute else out
