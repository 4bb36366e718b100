"""CSV input and output: ``read_csv`` splits files into byte blocks on line boundaries.

Each block task opens its file, seeks to its start, skips to the first line that begins
inside the block, and reads to the end of the last line that begins inside it; blocks
after the first of a file reuse the file's header line. (As in Dask, a quoted field
containing a newline can be split wrongly: use ``blocksize=None`` for such files.)

    >>> import os, tempfile, pandas as pd, graphengine.dataframe as gd
    >>> d = tempfile.mkdtemp()
    >>> pd.DataFrame({"a": range(5)}).to_csv(os.path.join(d, "x.csv"), index=False)
    >>> gd.read_csv(os.path.join(d, "*.csv"), blocksize=8).a.sum().compute()
    np.int64(10)
"""
from __future__ import annotations

import glob
import io
import os
import re
from typing import Any

import pandas as pd

from graphengine.collections.dataframe.core import _Frame, _tokenize, new_collection
from graphengine.collections.dataframe.meta import UNKNOWN_CATEGORIES, make_meta
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["read_csv", "to_csv", "expand_paths", "parse_bytes"]


def parse_bytes(size: Any) -> int:
    """``"64MB"`` / ``"1 GiB"`` / ``1000`` to a number of bytes."""
    if isinstance(size, (int, float)):
        return int(size)
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)\s*", str(size).lower())
    if not m:
        raise ValueError(f"cannot parse size {size!r} (examples: 64MB, '1 GiB', 1000)")
    num, unit = float(m.group(1)), m.group(2).rstrip("b")
    base = 1024 if unit.endswith("i") else 1000
    power = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit.rstrip("i")]
    return int(num * base ** power)


def _natural_key(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def expand_paths(urlpath: Any) -> list[str]:
    """Files named by a path, a glob pattern, or a list of them, in natural order."""
    items = urlpath if isinstance(urlpath, (list, tuple)) else [urlpath]
    out: list[str] = []
    for p in items:
        p = os.fspath(p)
        if any(ch in p for ch in "*?["):
            found = sorted(glob.glob(p), key=_natural_key)
            if not found:
                raise FileNotFoundError(f"no files match {p!r}")
            out.extend(found)
        else:
            if not os.path.exists(p):
                raise FileNotFoundError(f"file {p!r} does not exist")
            out.append(p)
    return out


def _first_line(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.readline()


def _read_bytes(path: str, start: int, end: int) -> bytes:
    """The lines that begin in ``[start, end)``, read with one ``read`` (no copies)."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            skipped = f.readline()  # ends the line that began before this block
            pos = start - 1 + len(skipped)
        else:
            pos = 0
        if pos >= end:
            return b""
        f.seek(end - 1)
        stop = end - 1 + len(f.readline())  # the end of the line running over `end`
        f.seek(pos)
        return f.read(stop - pos)


_HEADER_KWARGS = ("sep", "delimiter", "quotechar", "escapechar", "encoding",
                  "skipinitialspace", "doublequote", "quoting", "lineterminator", "engine")


def _column_names(header: bytes, kwargs: dict) -> list:
    kw = {k: v for k, v in kwargs.items() if k in _HEADER_KWARGS}
    return list(pd.read_csv(io.BytesIO(header), nrows=0, **kw).columns)


def _conform(df: pd.DataFrame, meta: pd.DataFrame, where: str) -> pd.DataFrame:
    for c in meta.columns:
        want, got = meta[c].dtype, df[c].dtype
        if want == got:
            continue
        if isinstance(want, pd.CategoricalDtype):
            if not isinstance(got, pd.CategoricalDtype):
                df[c] = df[c].astype("category")
            continue
        safe = (want == object or pd.api.types.is_string_dtype(want)
                or (pd.api.types.is_float_dtype(want) and pd.api.types.is_numeric_dtype(got))
                or (len(df[c]) == df[c].isna().sum() and want.kind not in "iub"))
        if not safe:
            raise ValueError(
                f"read_csv: column {c!r} is {want} in the sample but {got} in {where}; "
                f"pass dtype={{{c!r}: {str(got)!r}}} (or a wider type) to read_csv")
        df[c] = df[c].astype(want)
    return df


def _read_block(path: str, start: int, end: int | None, first: bool, header: bytes,
                kwargs: dict, meta: pd.DataFrame, path_col: Any, paths: list) -> pd.DataFrame:
    if end is None:
        with open(path, "rb") as f:
            data = f.read()
    else:
        data = _read_bytes(path, start, end)
        if not first and header:
            # Later blocks have no header line: name the columns instead of prepending
            # the header (which would copy the whole block).
            kwargs = dict(kwargs, header=None, names=_column_names(header, kwargs))
    if not data or data.isspace():
        out = meta.copy()
    else:
        out = pd.read_csv(io.BytesIO(data), **kwargs)
        if path_col is not None:
            out[path_col] = pd.Categorical([path] * len(out), categories=paths)
        out = _conform(out, meta, f"{path} at byte {start}")
    return out


def read_csv(urlpath: Any, blocksize: Any = "64MB", include_path_column: bool | str = False,
             sample: int = 256_000, **kwargs: Any) -> _Frame:
    """Read CSV files into a lazy DataFrame, one partition per byte block.

    Parameters
    ----------
    urlpath : str, path, or list of them
        Files; glob patterns (``data/*.csv``) are expanded.
    blocksize : int, str or None
        Bytes per partition (``"64MB"``); ``None``: one partition per file.
    include_path_column : bool or str
        Add a categorical column (named ``"path"`` or the given name) with each row's file.
    sample : int
        Bytes of the first file read now to learn column names and dtypes.
    **kwargs
        Passed to :func:`pandas.read_csv` (``usecols``, ``dtype``, ``parse_dates``, ...).

    Raises
    ------
    FileNotFoundError
        Naming the path or pattern that matched nothing.
    """
    for bad in ("nrows", "skipfooter", "iterator", "chunksize"):
        if bad in kwargs:
            raise ValueError(f"read_csv does not support {bad}= (use head() instead of nrows)")
    paths = expand_paths(urlpath)
    if kwargs.get("index_col") not in (None, False):
        raise ValueError("read_csv: index_col is not supported; use set_index afterwards")
    header_row = kwargs.get("header", "infer")
    has_header = header_row not in (None,) and "names" not in kwargs or header_row == 0
    if kwargs.get("skiprows") and blocksize is not None:
        blocksize = None  # skipped rows only exist at the top of a file
    with open(paths[0], "rb") as f:
        head = f.read(sample)
    if len(head) == sample:
        head = head[:head.rfind(b"\n") + 1] or head
    meta = make_meta(pd.read_csv(io.BytesIO(head), **kwargs))
    path_col = None
    if include_path_column:
        path_col = "path" if include_path_column is True else include_path_column
        meta[path_col] = pd.Categorical([], categories=paths)
    cat_cols = [c for c, d in meta.dtypes.items()
                if isinstance(d, pd.CategoricalDtype) and c != path_col]
    for c in cat_cols:
        meta[c] = pd.Series(pd.Categorical([], categories=[UNKNOWN_CATEGORIES]))
    name = f"read_csv-{_tokenize(paths, [os.path.getmtime(p) for p in paths], blocksize, kwargs, include_path_column)}"
    layer: dict = {}
    i = 0
    size = parse_bytes(blocksize) if blocksize is not None else None
    for p in paths:
        header = _first_line(p) if has_header else b""
        if size is None:
            blocks = [(0, None)]
        else:
            total = os.path.getsize(p)
            blocks = [(s, min(s + size, total)) for s in range(0, max(total, 1), size)]
        for j, (start, end) in enumerate(blocks):
            layer[(name, i)] = Task((name, i), _read_block, p, start, end, j == 0, header,
                                    kwargs, meta, path_col, paths)
            i += 1
    graph = HighLevelGraph.from_layer(name, layer)
    return new_collection(graph, name, meta, (None,) * (i + 1))


# --- writing -----------------------------------------------------------------------------

def _write_part(part: pd.DataFrame, path: str, kwargs: dict) -> str:
    part.to_csv(path, **kwargs)
    return path


def _append_part(part: pd.DataFrame, previous: Any, path: str, first: bool,
                 kwargs: dict) -> str:
    kw = dict(kwargs)
    if not first:
        kw["header"] = False
    part.to_csv(path, mode="w" if first else "a", **kw)
    return path


def to_csv(frame: _Frame, filename: Any, single_file: bool = False,
           name_function: Any = None, compute: bool = True, **kwargs: Any) -> Any:
    """Write one CSV file per partition (``*`` in ``filename`` is replaced by the partition
    number, or ``name_function(i)``), or, with ``single_file=True``, one file written
    partition after partition.

    Returns
    -------
    list of str
        The files written (with ``compute=False``: a list of Delayed producing them).
    """
    from graphengine.collections.delayed import Delayed

    filename = os.fspath(filename)
    name = f"to_csv-{_tokenize(frame, filename, single_file, kwargs)}"
    layer: dict = {}
    keys = []
    if single_file:
        prev = None
        for i in range(frame.npartitions):
            k = (name, i)
            layer[k] = Task(k, _append_part, Ref((frame._name, i)), Ref(prev) if prev else None,
                            filename, i == 0, kwargs)
            prev = k
        keys = [prev]
    else:
        if "*" not in filename:
            os.makedirs(filename, exist_ok=True)
            filename = os.path.join(filename, "*.part")
        else:
            parent = os.path.dirname(filename)
            if parent:
                os.makedirs(parent, exist_ok=True)
        for i in range(frame.npartitions):
            label = name_function(i) if name_function else str(i)
            k = (name, i)
            layer[k] = Task(k, _write_part, Ref((frame._name, i)),
                            filename.replace("*", label), kwargs)
            keys.append(k)
    graph = HighLevelGraph.from_layer(name, layer, [frame])
    values = [Delayed(k, graph) for k in keys]
    if not compute:
        return values
    from graphengine.collections.base import compute as compute_all

    return list(compute_all(*values))
