"""``map_partitions`` and partition alignment: the engine of every row-wise operation.

Frames among the arguments are lined up partition by partition (repartitioned to common
divisions when those are known and differ), the output metadata is inferred on samples,
and one :class:`~graphengine.collections.dataframe.layers.PartitionwiseLayer` is added.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> a = gd.from_pandas(pd.Series(range(6)), npartitions=3)
    >>> b = gd.from_pandas(pd.Series(range(6)), npartitions=2)
    >>> map_partitions(pd.Series.add, a, b).compute().tolist()
    [0, 2, 4, 6, 8, 10]
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.dataframe.core import (
    Scalar, _Frame, _funcname, _tokenize, new_collection,
)
from graphengine.collections.dataframe.layers import PartitionwiseLayer, PartRef
from graphengine.collections.dataframe.meta import infer_meta, is_frame_like, make_meta
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref

__all__ = ["map_partitions", "align_partitions"]


def _collect(objs: Iterable, kind: type) -> list:
    found = []
    for o in objs:
        if isinstance(o, kind):
            found.append(o)
        elif type(o) in (list, tuple):
            found.extend(_collect(o, kind))
    return found


def align_partitions(frames: list) -> list:
    """The same frames, repartitioned (when needed) so partition ``i`` of each covers the
    same index range.

    Raises
    ------
    ValueError
        If the frames have different partitionings and unknown divisions.
    """
    if len(frames) < 2:
        return frames
    first = frames[0]
    if all(f.divisions == first.divisions for f in frames):
        return frames
    if all(f.known_divisions for f in frames):
        from graphengine.collections.dataframe.repartition import repartition_divisions

        divs = sorted(set().union(*[f.divisions for f in frames]))
        return [repartition_divisions(f, tuple(divs)) for f in frames]
    raise ValueError(
        "cannot align partitions of frames with unknown divisions and different partitionings "
        f"({', '.join(str(f.npartitions) for f in frames)} partitions); call "
        "set_index/repartition first, or compute divisions with known_divisions")


def map_partitions(func: Callable, *args: Any, meta: Any = None, name: str | None = None,
                   align: bool = True, divisions: Any = None, enforce_metadata: bool = False,
                   **kwargs: Any) -> Any:
    """Apply ``func`` to each partition of the frames among ``args``.

    Parameters
    ----------
    func : callable
        Called as ``func(*args, **kwargs)`` with frames replaced by their ``i``-th
        partition and Scalars by their value.
    *args, **kwargs
        Frames (aligned on their divisions when ``align``), Scalars, or plain values.
    meta : pandas object, dict, (name, dtype) or dtype, optional
        The output's metadata; inferred by running ``func`` on small samples if omitted.
    divisions : tuple, optional
        Output divisions; default: those of the first frame argument (the index is kept).
    enforce_metadata : bool
        Check at compute time that each partition's columns and dtypes match ``meta``.

    Returns
    -------
    DataFrame, Series or Index
        With the same number of partitions as the input frames.

    Examples
    --------
    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": [1, 2, 3]}), npartitions=2)
    >>> ddf.map_partitions(lambda df: df.a + 1).compute().tolist()
    [2, 3, 4]
    """
    frames = _collect(list(args) + list(kwargs.values()), _Frame)
    if not frames:
        raise TypeError("map_partitions needs at least one DataFrame/Series/Index argument")
    if align and len(frames) > 1:
        aligned = align_partitions(frames)
        if aligned is not frames:
            mapping = {id(a): b for a, b in zip(frames, aligned)}
            args = tuple(_swap(a, mapping) for a in args)
            kwargs = {k: _swap(v, mapping) for k, v in kwargs.items()}
            frames = aligned
    npart = frames[0].npartitions
    for f in frames[1:]:
        if f.npartitions != npart:
            raise ValueError(f"partitions do not line up: {npart} vs {f.npartitions}")
    scalars = _collect(list(args) + list(kwargs.values()), Scalar)
    user_meta = meta is not None
    if meta is None:
        meta = infer_meta(func, args, kwargs)
    else:
        sample_index = frames[0]._meta.index if hasattr(frames[0]._meta, "index") else None
        meta = make_meta(meta, index=sample_index)
    if not is_frame_like(meta):
        # A scalar per partition becomes a Series of one value per partition.
        meta = pd.Series([], dtype=np.asarray(meta).dtype if meta is not None else object)
        func = _to_series(func)
    token = _tokenize(func, args, kwargs, meta if user_meta else None)
    name = name or f"{_funcname(func)}-{token}"
    targs = tuple(_to_refs(a) for a in args)
    tkw = {k: _to_refs(v) for k, v in kwargs.items()}
    if user_meta and not enforce_metadata and is_frame_like(meta) and not isinstance(
            meta, pd.Index):
        # As in Dask: a user's meta names the output (a Series' name, a frame's columns).
        targs = (func,) + targs
        tkw = dict(tkw, _meta=meta)
        func = _rename_like
    if enforce_metadata:
        targs = (func,) + targs
        tkw = dict(tkw, _meta=meta)
        func = _enforce
    layer = PartitionwiseLayer(name, func, npart, targs, tkw)
    graph = HighLevelGraph.from_layer(name, layer, frames + scalars)
    if divisions is None:
        divisions = frames[0].divisions
    return new_collection(graph, name, meta, divisions)


class _to_series:
    """Wraps a per-partition function returning a scalar so the partition yields a Series."""

    def __init__(self, func: Callable):
        self.func = func
        self.__name__ = _funcname(func)

    def __call__(self, *args: Any, **kwargs: Any) -> pd.Series:
        return pd.Series([self.func(*args, **kwargs)])

    def __graphengine_tokenize__(self) -> tuple:
        return ("to_series", self.func)


def _rename_like(func: Callable, *args: Any, _meta: Any, **kwargs: Any) -> Any:
    out = func(*args, **kwargs)
    if isinstance(_meta, pd.Series) and isinstance(out, pd.Series) and out.name != _meta.name:
        out = out.rename(_meta.name)
    elif (isinstance(_meta, pd.DataFrame) and isinstance(out, pd.DataFrame)
          and len(out.columns) == len(_meta.columns)
          and not out.columns.equals(_meta.columns)):
        out = out.set_axis(_meta.columns, axis=1)
    return out


def _enforce(func: Callable, *args: Any, _meta: Any, **kwargs: Any) -> Any:
    out = func(*args, **kwargs)
    if isinstance(_meta, pd.DataFrame):
        if not isinstance(out, pd.DataFrame) or list(out.columns) != list(_meta.columns):
            got = list(out.columns) if isinstance(out, pd.DataFrame) else type(out).__name__
            raise ValueError(f"partition does not match meta: columns {got} != "
                             f"{list(_meta.columns)}")
        bad = [c for c in _meta.columns if out[c].dtype != _meta[c].dtype]
        if bad:
            raise ValueError("partition does not match meta: dtypes differ for columns "
                             + ", ".join(f"{c!r} ({out[c].dtype} != {_meta[c].dtype})"
                                         for c in bad))
    elif isinstance(_meta, pd.Series) and getattr(out, "dtype", None) != _meta.dtype:
        raise ValueError(f"partition does not match meta: dtype {getattr(out, 'dtype', None)} "
                         f"!= {_meta.dtype}")
    return out


def _swap(obj: Any, mapping: dict) -> Any:
    if id(obj) in mapping:
        return mapping[id(obj)]
    if type(obj) in (list, tuple):
        return type(obj)(_swap(o, mapping) for o in obj)
    return obj


def _to_refs(obj: Any) -> Any:
    if isinstance(obj, _Frame):
        return PartRef(obj._name)
    if isinstance(obj, Scalar):
        return Ref(obj.key)
    if type(obj) in (list, tuple):
        return type(obj)(_to_refs(o) for o in obj)
    return obj


