"""Partitioned pandas collections: the lazy ``DataFrame``, ``Series``, ``Index`` and ``Scalar``.

A frame is a graph whose keys ``(name, i)`` hold pandas partitions split along the index,
plus ``_meta`` (an empty pandas object with the right columns and dtypes) and
``divisions`` (the index boundaries of the partitions, or ``None`` when unknown).

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"a": range(6)}), npartitions=2)
    >>> int((ddf.a * 2).sum().compute()), ddf.divisions
    (30, (0, 3, 5))
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from graphengine.collections.base import Collection
from graphengine.collections.dataframe.meta import is_frame_like
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

__all__ = ["DataFrame", "Series", "Index", "Scalar", "new_collection", "map_partitions",
           "concat_parts"]


def _tokenize(*args: Any, **kwargs: Any) -> str:
    from graphengine.graph.tokenize import tokenize

    return tokenize(*args, **kwargs)


def _funcname(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name.strip("_") or "func"


def concat_parts(parts: list, meta: Any = None) -> Any:
    """Concatenate computed partitions in order (categoricals keep a union of categories)."""
    if not parts:
        return meta
    first = parts[0]
    if isinstance(first, pd.Index):
        return first.append(list(parts[1:])) if len(parts) > 1 else first
    if not is_frame_like(first):
        return parts
    nonempty = [p for p in parts if len(p)] or [first]
    if len(nonempty) == 1:
        return nonempty[0]
    nonempty = _unify_categoricals(nonempty)
    out = pd.concat(nonempty)
    if out.index.dtype != first.index.dtype and first.index.dtype == object:
        # pandas 3 infers "str" when concatenating object indexes; keep object.
        out.index = out.index.astype(object)
    return out


def _unify_categoricals(parts: list) -> list:
    first = parts[0]
    if isinstance(first, pd.Series):
        if isinstance(first.dtype, pd.CategoricalDtype):
            cats = _union_categories([p.dtype for p in parts])
            if cats is not None:
                return [p.cat.set_categories(cats) for p in parts]
        return parts
    cols = [c for c, d in first.dtypes.items() if isinstance(d, pd.CategoricalDtype)]
    if not cols:
        return parts
    out = [p.copy(deep=False) for p in parts]
    for c in cols:
        dtypes = [p[c].dtype for p in parts if c in p]
        cats = _union_categories(dtypes)
        if cats is None:
            continue
        for p in out:
            if c in p and isinstance(p[c].dtype, pd.CategoricalDtype):
                p[c] = p[c].cat.set_categories(cats)
    return out


def _union_categories(dtypes: list) -> pd.Index | None:
    if not all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        return None
    if all(d == dtypes[0] for d in dtypes):
        return None
    cats = dtypes[0].categories
    for d in dtypes[1:]:
        cats = cats.append(d.categories[~d.categories.isin(cats)])
    return cats


def _identity(result: Any) -> Any:
    return result


def _rebuild(data: dict, name: str, meta: Any, divisions: tuple) -> "_Frame":
    return new_collection(HighLevelGraph.from_layer(name, dict(data)), name, meta, divisions)


def _rebuild_scalar(data: dict, name: str, meta: Any) -> "Scalar":
    return Scalar(HighLevelGraph.from_layer(name, dict(data)), name, meta)


def _call_method(obj: Any, method: str, /, *args: Any, **kwargs: Any) -> Any:
    return getattr(obj, method)(*args, **kwargs)


def _getattr(obj: Any, attr: str) -> Any:
    return getattr(obj, attr)


def _apply(func: Callable, /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class Scalar(Collection):
    """A lazy single value, such as the result of ``Series.sum()``."""

    def __init__(self, graph: HighLevelGraph, name: str, meta: Any):
        self.graph = graph
        self._name = name
        self._meta = meta

    @property
    def key(self) -> tuple:
        return (self._name, 0)

    @property
    def dtype(self) -> Any:
        return getattr(self._meta, "dtype", type(self._meta))

    def __graphengine_graph__(self) -> HighLevelGraph:
        return self.graph

    def __graphengine_keys__(self) -> tuple:
        return self.key

    def __graphengine_postcompute__(self) -> tuple:
        return _identity, ()

    def __graphengine_postpersist__(self) -> tuple:
        return _rebuild_scalar, (self._name, self._meta)

    def __graphengine_tokenize__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"graphengine.Scalar<{self._name}, dtype={self.dtype}>"

    def __bool__(self) -> bool:
        raise TypeError(f"truth value of a lazy Scalar {self._name!r} is unknown; "
                        "call .compute() first")

    def _binop(self, op: Callable, other: Any, reflect: bool = False) -> Any:
        if isinstance(other, _Frame):
            return other._binop(op, self, reflect=not reflect)
        args = (other, self) if reflect else (self, other)
        return scalar_apply(op, *args)

    def _unop(self, op: Callable) -> "Scalar":
        return scalar_apply(op, self)


def scalar_apply(func: Callable, *args: Any, **kwargs: Any) -> Scalar:
    """A lazy ``func(*args)`` where Scalar arguments are replaced by their values."""
    deps = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Scalar)]
    meta = func(*[a._meta if isinstance(a, Scalar) else a for a in args],
                **{k: v._meta if isinstance(v, Scalar) else v for k, v in kwargs.items()})
    name = f"{_funcname(func)}-{_tokenize(func, args, kwargs)}"
    targs = [Ref(a.key) if isinstance(a, Scalar) else a for a in args]
    tkw = {k: Ref(v.key) if isinstance(v, Scalar) else v for k, v in kwargs.items()}
    layer = {(name, 0): Task((name, 0), func, *targs, **tkw)}
    return Scalar(HighLevelGraph.from_layer(name, layer, deps), name, meta)


class _Frame(Collection):
    """What DataFrame, Series and Index share: the graph, meta, divisions and protocol."""

    _kind = "Frame"

    def __init__(self, graph: HighLevelGraph, name: str, meta: Any, divisions: Iterable):
        self.graph = graph
        self._name = name
        self._meta = meta
        self.divisions = tuple(divisions)

    # --- the collection protocol ---------------------------------------------------------
    def __graphengine_graph__(self) -> HighLevelGraph:
        return self.graph

    def __graphengine_keys__(self) -> list:
        return [(self._name, i) for i in range(self.npartitions)]

    def __graphengine_postcompute__(self) -> tuple:
        return concat_parts, (self._meta,)

    def __graphengine_postpersist__(self) -> tuple:
        return _rebuild, (self._name, self._meta, self.divisions)

    def __graphengine_tokenize__(self) -> str:
        return self._name

    # --- structure ---------------------------------------------------------------------
    @property
    def npartitions(self) -> int:
        """Number of partitions."""
        return len(self.divisions) - 1

    @property
    def known_divisions(self) -> bool:
        """Whether the index boundaries of the partitions are known."""
        return len(self.divisions) > 0 and self.divisions[0] is not None

    def clear_divisions(self) -> "_Frame":
        """The same frame with unknown divisions."""
        return new_collection(self.graph, self._name, self._meta, (None,) * len(self.divisions))

    @property
    def dtype(self) -> Any:
        return self._meta.dtype

    @property
    def name(self) -> Any:
        return self._meta.name

    @property
    def index(self) -> "Index":
        """The index, as a lazy Index with the same partitions."""
        return self.map_partitions(_getattr, "index", meta=self._meta.index)

    @property
    def partitions(self) -> "_PartitionSelector":
        """``frame.partitions[i]`` / ``[i:j]`` / ``[[i, k]]``: a frame of those partitions."""
        return _PartitionSelector(self)

    def get_partition(self, n: int) -> "_Frame":
        """Partition ``n`` as a one-partition frame."""
        return self.partitions[n]

    def __len__(self) -> int:
        from graphengine.collections.dataframe.reductions import partition_lengths

        return int(sum(partition_lengths(self)))

    def __bool__(self) -> bool:
        raise ValueError(f"the truth value of a {type(self).__name__} is ambiguous")

    @property
    def size(self) -> Scalar:
        """Number of elements (rows x columns for a DataFrame), lazily."""
        from graphengine.collections.dataframe.reductions import sum_of_parts

        return sum_of_parts(self.map_partitions(_part_size, meta=pd.Series([], dtype="int64")))

    def head(self, n: int = 5, npartitions: int = 1, compute: bool = True) -> Any:
        """The first ``n`` rows, reading only the first ``npartitions`` partitions
        (``-1``: as many as needed)."""
        if npartitions == -1:
            npartitions = self.npartitions
        if npartitions > self.npartitions:
            raise ValueError(f"head: npartitions={npartitions} but the frame has only "
                             f"{self.npartitions} partitions")
        name = f"head-{_tokenize(self, n, npartitions)}"
        keys = [Ref((self._name, i)) for i in range(npartitions)]
        layer = {(name, 0): Task((name, 0), _head_of, keys, n, self._meta)}
        graph = HighLevelGraph.from_layer(name, layer, [self])
        div = (self.divisions[0], self.divisions[npartitions])
        out = new_collection(graph, name, self._meta, div)
        return out.compute() if compute else out

    def tail(self, n: int = 5, compute: bool = True) -> Any:
        """The last ``n`` rows, reading only the last partition."""
        out = self.partitions[self.npartitions - 1].map_partitions(
            _call_method, "tail", n, meta=self._meta)
        return out.compute() if compute else out

    def map_partitions(self, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Apply ``func(partition, *args, **kwargs)`` to every partition.

        See :func:`map_partitions`.
        """
        return map_partitions(func, self, *args, **kwargs)

    def _binop(self, op: Callable, other: Any, reflect: bool = False) -> "_Frame":
        args = (other, self) if reflect else (self, other)
        return map_partitions(op, *args)

    def _unop(self, op: Callable) -> "_Frame":
        return map_partitions(op, self)

    def _method(self, method: str, *args: Any, meta: Any = None, **kwargs: Any) -> Any:
        return map_partitions(_call_method, self, method, *args, meta=meta, **kwargs)

    # --- display -------------------------------------------------------------------------
    def _structure(self) -> pd.DataFrame:
        if isinstance(self._meta, pd.DataFrame):
            dtypes = {c: str(d) for c, d in self._meta.dtypes.items()}
        else:
            dtypes = {self._meta.name if self._meta.name is not None else "": str(self._meta.dtype)}
        divs = self.divisions if self.known_divisions else [""] * len(self.divisions)
        rows = [list(dtypes.values())] + [["..."] * len(dtypes)] * (len(divs) - 1)
        idx = pd.Index([str(d) for d in divs], name=f"npartitions={self.npartitions}")
        df = pd.DataFrame(rows, index=idx, columns=range(len(dtypes)))
        df.columns = list(dtypes)
        return df

    def __repr__(self) -> str:
        body = self._structure().to_string()
        nlayers = len(self.graph.layers)
        return (f"graphengine {self._kind} Structure:\n{body}\n"
                f"graphengine Name: {self._name}, {nlayers} graph layer"
                f"{'s' if nlayers != 1 else ''}")

    def _repr_html_(self) -> str:
        nlayers = len(self.graph.layers)
        return (f"<div><strong>graphengine {self._kind} Structure:</strong></div>"
                f"{self._structure().to_html()}"
                f"<div>graphengine Name: {self._name}, {nlayers} graph layers</div>")


def _part_size(part: Any) -> pd.Series:
    return pd.Series([part.size], dtype="int64")


def _head_of(parts: list, n: int, meta: Any) -> Any:
    got = []
    need = n
    for p in parts:
        if need <= 0:
            break
        h = p.head(need)
        got.append(h)
        need -= len(h)
    return concat_parts(got, meta)


def _select(part: Any) -> Any:
    return part


class _PartitionSelector:
    def __init__(self, frame: _Frame):
        self.frame = frame

    def __getitem__(self, item: Any) -> _Frame:
        f = self.frame
        idx = list(range(f.npartitions))
        if isinstance(item, (int, np.integer)):
            if not -len(idx) <= item < len(idx):
                raise IndexError(f"partition {item} out of range for {len(idx)} partitions")
            chosen = [idx[item]]
        elif isinstance(item, slice):
            chosen = idx[item]
        else:
            chosen = [idx[i] for i in item]
        name = f"partitions-{_tokenize(f, chosen)}"
        layer = {(name, j): Task((name, j), _select, Ref((f._name, i)))
                 for j, i in enumerate(chosen)}
        graph = HighLevelGraph.from_layer(name, layer, [f])
        contiguous = all(b == a + 1 for a, b in zip(chosen, chosen[1:]))
        if f.known_divisions and chosen and contiguous:
            divs = f.divisions[chosen[0]:chosen[-1] + 1] + (f.divisions[chosen[-1] + 1],)
        else:
            divs = (None,) * (len(chosen) + 1)
        return new_collection(graph, name, f._meta, divs)


def new_collection(graph: HighLevelGraph, name: str, meta: Any, divisions: Iterable) -> Any:
    """The collection type matching ``meta``: DataFrame, Series, Index or Scalar."""
    if isinstance(meta, pd.DataFrame):
        from graphengine.collections.dataframe.frame import DataFrame
        return DataFrame(graph, name, meta, divisions)
    if isinstance(meta, pd.Series):
        from graphengine.collections.dataframe.frame import Series
        return Series(graph, name, meta, divisions)
    if isinstance(meta, pd.Index):
        from graphengine.collections.dataframe.frame import Index
        return Index(graph, name, meta, divisions)
    return Scalar(graph, name, meta)


_BINOPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "truediv": operator.truediv, "floordiv": operator.floordiv, "mod": operator.mod,
    "pow": operator.pow, "and": operator.and_, "or": operator.or_, "xor": operator.xor,
}
_CMPOPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
           "gt": operator.gt, "ge": operator.ge}
_UNOPS = {"neg": operator.neg, "pos": operator.pos, "invert": operator.invert, "abs": abs}


def _install_operators(cls: type) -> None:
    def make(op: Callable, reflect: bool) -> Callable:
        def method(self: Any, other: Any) -> Any:
            return self._binop(op, other, reflect=reflect)
        return method

    for name, op in _BINOPS.items():
        setattr(cls, f"__{name}__", make(op, False))
        setattr(cls, f"__r{name}__", make(op, True))
    for name, op in _CMPOPS.items():
        setattr(cls, f"__{name}__", make(op, False))
    for name, op in _UNOPS.items():
        setattr(cls, f"__{name}__", (lambda o: lambda self: self._unop(o))(op))
    cls.__hash__ = object.__hash__


_install_operators(_Frame)
_install_operators(Scalar)


# Re-exported here: most modules reach map_partitions through core. Imported last because
# partitionwise needs the classes above.
from graphengine.collections.dataframe.partitionwise import (  # noqa: E402,F401
    align_partitions, map_partitions,
)
