"""Creating arrays: from NumPy and array-like stores, constants, ranges, and ``store``.

Every constructor builds one lazy blockwise layer; a block is made only when a task for
it runs, from its position (offsets and shape), so creating a huge array is instant.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(10), chunks=4)
    >>> x.chunks, ga.zeros((3, 3), chunks=2).numblocks
    (((4, 4, 2),), (2, 2))
"""
from __future__ import annotations

import operator
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, normalize_chunks
from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.collections.array.layer import Blockwise, PerBlock
from graphengine.collections.array.sliced_sources import register_block_subset
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["from_array", "asarray", "asanyarray", "array", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace", "eye",
           "fromfunction", "from_delayed", "store", "to_npy_stack", "from_npy_stack",
           "BlockSlices", "BlockShape", "from_block_function"]


class BlockSlices:
    """Per-block: the tuple of slices that block covers in the whole array."""

    __slots__ = ("offsets",)

    def __init__(self, chunks: tuple):
        self.offsets = [chunk_offsets(c) for c in chunks]

    def __call__(self, coords: tuple) -> tuple:
        return tuple(slice(o[i], o[i + 1]) for o, i in zip(self.offsets, coords))


class BlockShape:
    """Per-block: the block's shape."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: tuple):
        self.chunks = chunks

    def __call__(self, coords: tuple) -> tuple:
        return tuple(c[i] for c, i in zip(self.chunks, coords))


def from_block_function(func: Callable, per_block: Sequence[Callable], chunks: tuple,
                        dtype: Any, name: str, extra: tuple = (), kwargs: dict | None = None
                        ) -> Array:
    """An array whose block at ``coords`` is ``func(*[p(coords) for p in per_block], *extra)``."""
    ndim = len(chunks)
    ind = tuple(range(ndim))
    args = [(PerBlock(p), ind) for p in per_block] + [(e, None) for e in extra]
    layer = Blockwise(name, ind, func, args, {}, new_axes={i: len(c) for i, c in enumerate(chunks)},
                      kwargs=kwargs)
    return Array(layer_graph(name, layer), name, chunks, dtype)


# --- from_array -----------------------------------------------------------------------------

def _read(source: Any, index: tuple, lock: Any) -> Any:
    if lock is not None:
        with lock:
            return source[index]
    return source[index]


def _finish_read(source: Any, block: Any, asarray: bool) -> Any:
    if asarray:
        block = np.asarray(block)
        if type(source) is np.memmap or isinstance(source, np.memmap):
            block = np.array(block)  # a memmap slice would keep the file open in results
    return block


def _getter(source: Any, index: tuple, lock: Any = None, asarray: bool = True) -> Any:
    return _finish_read(source, _read(source, index, lock), asarray)


def _getter_part(source: Any, index: tuple, lock: Any, asarray: bool, local: tuple) -> Any:
    """``_getter(source, index, ...)[local]``, reading only the box of ``index`` that
    ``local`` keeps. The source still sees only a tuple of step-1 slices, as for a whole
    block; steps, ints and new axes apply to what was read."""
    box, post = [], []
    axes = iter(index)
    for loc in local:
        if loc is None:
            post.append(None)
            continue
        s = next(axes)
        lo, hi = s.start or 0, s.stop
        if isinstance(loc, slice):
            rows = range(*loc.indices(hi - lo))
            if len(rows) == 0:
                box.append(slice(lo, lo))
                post.append(slice(None))
                continue
            first, last = min(rows[0], rows[-1]), max(rows[0], rows[-1])
            box.append(slice(lo + first, lo + last + 1))
            post.append(slice(None, None, rows.step))  # from the far end when negative
        else:
            box.append(slice(lo + loc, lo + loc + 1))
            post.append(0)
    return _finish_read(source, _read(source, tuple(box), lock)[tuple(post)], asarray)


register_block_subset(_getter, _getter_part)


def from_array(x: Any, chunks: Any = "auto", name: str | None = None, lock: Any = False,
               asarray: bool | None = None, inline_array: bool = False) -> Array:
    """A chunked array reading its blocks from ``x`` by slicing.

    Parameters
    ----------
    x : array-like
        A NumPy array, memmap, or any object with ``shape``, ``dtype`` and
        ``__getitem__`` taking a tuple of slices (h5py datasets, zarr arrays).
    chunks : int, tuple, dict or "auto"
        See :func:`normalize_chunks`; ``"auto"`` aligns with ``x.chunks`` when present.
    lock : bool or lock, optional
        Serialize reads with this lock (``True``: a new ``threading.Lock``).
    asarray : bool, optional
        Convert each block with ``np.asarray`` (default True).

    Examples
    --------
    >>> import numpy as np
    >>> from_array(np.ones((4, 4)), chunks=2).numblocks
    (2, 2)
    """
    if isinstance(x, Array):
        return x.rechunk(chunks) if chunks != "auto" else x
    if not hasattr(x, "shape") or not hasattr(x, "dtype") or not hasattr(x, "__getitem__"):
        x = np.asarray(x)
    shape = tuple(int(n) for n in x.shape)
    dtype = np.dtype(x.dtype)
    previous = getattr(x, "chunks", None)
    if previous is not None and not (isinstance(previous, tuple) and len(previous) == len(shape)):
        previous = None
    if previous is not None and all(isinstance(c, int) for c in previous):
        from graphengine.collections.array.chunks import blockdims_from_blockshape
        previous = blockdims_from_blockshape(shape, previous)
    chunks = normalize_chunks(chunks, shape, dtype=dtype, previous_chunks=previous)
    if lock is True:
        lock = threading.Lock()
    lock = lock or None
    if name is None:
        name = "array-" + new_name("from-array", x, chunks).rsplit("-", 1)[1]
    original = f"array-original-{name.rsplit('-', 1)[-1]}"
    ndim = len(shape)
    if ndim == 0:
        layer = MaterializedLayer({(name,): Task((name,), _getter, Ref((original,)), (), lock,
                                                  asarray is not False)})
    else:
        ind = tuple(range(ndim))
        layer = Blockwise(name, ind, _getter,
                          [(original, ()), (PerBlock(BlockSlices(chunks)), ind), (lock, None),
                           (asarray is not False, None)], {original: ()},
                          new_axes={i: len(c) for i, c in enumerate(chunks)})
    graph = HighLevelGraph({original: MaterializedLayer({(original,): x}), name: layer},
                           {original: set(), name: {original}})
    return Array(graph, name, chunks, dtype)


def asarray(a: Any, dtype: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    """``a`` as a graphengine Array (an Array is returned as is)."""
    if isinstance(a, Array):
        return a.astype(dtype) if dtype is not None else a
    if hasattr(a, "to_graphengine_array"):
        return a.to_graphengine_array()
    if not (hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "__getitem__")):
        if isinstance(a, (list, tuple)) and any(isinstance(v, Array) for v in a):
            from graphengine.collections.array.joining import stack
            return stack([asarray(v) for v in a])
        a = np.asarray(a, dtype=dtype)
    elif dtype is not None and np.dtype(dtype) != a.dtype:
        a = np.asarray(a, dtype=dtype)
    return from_array(a, chunks=chunks, **kwargs)


asanyarray = asarray


def array(a: Any, dtype: Any = None, copy: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    """Like :func:`asarray` (blocks are immutable, so copying is never needed)."""
    return asarray(a, dtype=dtype, chunks=chunks, **kwargs)


# --- constants ----------------------------------------------------------------------------

def _full_block(shape: tuple, fill_value: Any, dtype: np.dtype) -> np.ndarray:
    return np.full(shape, fill_value, dtype=dtype)


def _empty_block(shape: tuple, dtype: np.dtype) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


def _part_shape(shape: tuple, local: tuple) -> tuple:
    """The shape of ``block[local]`` for a block of ``shape`` (nothing allocated)."""
    return np.broadcast_to(np.empty((), dtype=np.int8), shape)[local].shape


def _full_block_part(shape: tuple, fill_value: Any, dtype: np.dtype, local: tuple
                     ) -> np.ndarray:
    return np.full(_part_shape(shape, local), fill_value, dtype=dtype)


def _empty_block_part(shape: tuple, dtype: np.dtype, local: tuple) -> np.ndarray:
    return np.empty(_part_shape(shape, local), dtype=dtype)


register_block_subset(_full_block, _full_block_part)
register_block_subset(_empty_block, _empty_block_part)


def _shape_tuple(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(shape)
    for i, n in enumerate(shape):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"shape entry {n!r} on axis {i} is not an integer")
        if n < 0:
            raise ValueError(f"negative dimensions are not allowed: shape {shape}")
    return tuple(int(n) for n in shape)


def full(shape: Any, fill_value: Any, dtype: Any = None, chunks: Any = "auto",
         name: str | None = None) -> Array:
    """An array of ``shape`` filled with ``fill_value`` (``np.full``)."""
    shape = _shape_tuple(shape)
    if np.ndim(fill_value) != 0:
        raise ValueError(f"fill_value must be a scalar, not an array of shape "
                         f"{np.shape(fill_value)}")
    dtype = np.dtype(dtype) if dtype is not None else np.array(fill_value).dtype
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = name or new_name("full", shape, fill_value, dtype, chunks)
    return from_block_function(_full_block, [BlockShape(chunks)], chunks, dtype, name,
                               extra=(fill_value, dtype))


def zeros(shape: Any, dtype: Any = float, chunks: Any = "auto", **kwargs: Any) -> Array:
    """An array of zeros (``np.zeros``; ``dtype=None`` means float64, as in NumPy)."""
    # np.dtype(None) is float64: without it full() would take the fill value's int64.
    return full(shape, 0, dtype=np.dtype(dtype), chunks=chunks, **kwargs)


def ones(shape: Any, dtype: Any = float, chunks: Any = "auto", **kwargs: Any) -> Array:
    """An array of ones (``np.ones``; ``dtype=None`` means float64, as in NumPy)."""
    return full(shape, 1, dtype=np.dtype(dtype), chunks=chunks, **kwargs)


def empty(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None) -> Array:
    """An uninitialised array (``np.empty``)."""
    shape = _shape_tuple(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = name or new_name("empty", shape, dtype, chunks)
    return from_block_function(_empty_block, [BlockShape(chunks)], chunks, dtype, name,
                               extra=(dtype,))


def _like(a: Any, dtype: Any, order: Any, chunks: Any, shape: Any) -> tuple:
    if order is not None and (not isinstance(order, str) or order.upper() not in "CFAK"
                              or len(order) != 1):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    shape = tuple(np.shape(a)) if shape is None else shape
    dtype = dtype if dtype is not None else getattr(a, "dtype", np.asarray(a).dtype)
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and shape == a.shape else "auto"
    return shape, dtype, chunks


_LIKE_PARAMETERS = """
    Parameters
    ----------
    a : array_like
        Gives the shape, dtype and (for a graphengine Array of that shape) chunks.
    dtype, shape : optional
        Override ``a``'s, as in NumPy.
    order, subok :
        NumPy's positional parameters, accepted so calls written for NumPy work: blocks
        are always C-ordered NumPy arrays (as in Dask), and there are no subclasses.
        ``order`` is still checked as NumPy checks it.
    chunks : optional
        Keyword only (NumPy's third position is ``order``); default ``a``'s chunks when
        the shape is ``a``'s, else ``"auto"``.
"""


def zeros_like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
               shape: Any = None, *, chunks: Any = None) -> Array:
    shape, dtype, chunks = _like(a, dtype, order, chunks, shape)
    return zeros(shape, dtype=dtype, chunks=chunks)


def ones_like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
              shape: Any = None, *, chunks: Any = None) -> Array:
    shape, dtype, chunks = _like(a, dtype, order, chunks, shape)
    return ones(shape, dtype=dtype, chunks=chunks)


def empty_like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
               shape: Any = None, *, chunks: Any = None) -> Array:
    shape, dtype, chunks = _like(a, dtype, order, chunks, shape)
    return empty(shape, dtype=dtype, chunks=chunks)


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = "K",
              subok: bool = True, shape: Any = None, *, chunks: Any = None) -> Array:
    shape, dtype, chunks = _like(a, dtype, order, chunks, shape)
    return full(shape, fill_value, dtype=dtype, chunks=chunks)


zeros_like.__doc__ = "Zeros with the shape, dtype and chunks of ``a``.\n" + _LIKE_PARAMETERS
ones_like.__doc__ = "Ones with the shape, dtype and chunks of ``a``.\n" + _LIKE_PARAMETERS
empty_like.__doc__ = ("An uninitialised array with the shape, dtype and chunks of ``a``.\n"
                      + _LIKE_PARAMETERS)
full_like.__doc__ = ("``fill_value`` everywhere, with the shape, dtype and chunks of ``a``.\n"
                     + _LIKE_PARAMETERS.replace("    dtype, shape", "    fill_value : scalar\n"
                                                "        The value of every element.\n"
                                                "    dtype, shape"))


for _f, _np in ((zeros_like, np.zeros_like), (ones_like, np.ones_like),
                (empty_like, np.empty_like), (full_like, np.full_like)):
    implements(_np)(_f)


class _Offsets:
    """Per-block: the offset of the block's first element along each axis."""

    __slots__ = ("offsets",)

    def __init__(self, chunks: tuple):
        self.offsets = [chunk_offsets(c) for c in chunks]

    def __call__(self, coords: tuple) -> tuple:
        return tuple(o[i] for o, i in zip(self.offsets, coords))


def _eye_block(shape: tuple, offsets: tuple, k: int, dtype: np.dtype) -> np.ndarray:
    return np.eye(shape[0], shape[1], k=k + offsets[0] - offsets[1], dtype=dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, *,
        chunks: Any = "auto") -> Array:
    """Ones on the ``k``-th diagonal, zeros elsewhere (``np.eye``).

    Parameters
    ----------
    N, M : int
        Rows and columns (``M`` defaults to ``N``), positional as in NumPy.
    k : int
        The diagonal: 0 the main one, positive above it, negative below.
    dtype : dtype
        Of the result (float64 by default).
    chunks : int, tuple or "auto", keyword-only
        Block lengths. Keyword-only because NumPy's second positional argument is ``M``
        (``eye(3, 4)`` is 3 x 4).

    Returns
    -------
    Array
        Of shape ``(N, M)``.

    Raises
    ------
    TypeError
        If ``N``, ``M`` or ``k`` is not an integer.
    """
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    k = operator.index(k)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (N, M), dtype=dtype)
    name = new_name("eye", N, M, k, dtype, chunks)
    return from_block_function(_eye_block, [BlockShape(chunks), _Offsets(chunks)], chunks,
                               dtype, name, extra=(k, dtype))


def _fromfunction_block(shape: tuple, offsets: tuple, func: Callable, dtype: np.dtype,
                        kwargs: dict) -> Any:
    grids = np.meshgrid(*[np.arange(o, o + n, dtype=dtype) for o, n in zip(offsets, shape)],
                        indexing="ij", sparse=False)
    return func(*grids, **kwargs)


def fromfunction(function: Callable, shape: Any, dtype: Any = float, chunks: Any = "auto",
                 **kwargs: Any) -> Array:
    """Evaluate ``function`` over coordinate grids (``np.fromfunction``)."""
    shape = _shape_tuple(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    sample = function(*[np.zeros((1,) * len(shape), dtype=dtype)] * len(shape), **kwargs)
    out_dtype = np.asarray(sample).dtype
    name = new_name("fromfunction", function, shape, dtype, chunks, kwargs)
    return from_block_function(_fromfunction_block, [BlockShape(chunks), _Offsets(chunks)],
                               chunks, out_dtype, name, extra=(function, dtype, kwargs))


# --- from_delayed / store / npy stacks ----------------------------------------------------

def _as_block(value: Any, shape: tuple, dtype: np.dtype) -> np.ndarray:
    out = np.asarray(value, dtype=dtype)
    if out.shape != shape:
        raise ValueError(f"from_delayed: the value has shape {out.shape}, expected {shape}")
    return out


def from_delayed(value: Any, shape: Any, dtype: Any = None, meta: Any = None,
                 name: str | None = None) -> Array:
    """A one-block array computed by the delayed ``value`` (shape and dtype must be given)."""
    shape = _shape_tuple(shape)
    dtype = np.dtype(dtype if dtype is not None else getattr(meta, "dtype", float))
    key = value.key
    name = name or new_name("from-value", key, shape, dtype)
    out_key = (name,) + (0,) * len(shape)
    layer = MaterializedLayer({out_key: Task(out_key, _as_block, Ref(key), shape, dtype)})
    graph = layer_graph(name, layer, dependencies=[value])
    return Array(graph, name, tuple((n,) for n in shape), dtype)


def _store_block(block: np.ndarray, target: Any, region: tuple, lock: Any) -> int:
    if lock is not None:
        with lock:
            target[region] = block
    else:
        target[region] = block
    return 0


def _done(results: Any, *_: Any) -> None:
    return None


class StoreResult:
    """The lazy result of ``store(..., compute=False)``: ``.compute()`` writes the blocks."""

    def __init__(self, graph: HighLevelGraph, keys: list):
        self._graph = graph
        self._keys = keys

    def __graphengine_graph__(self) -> HighLevelGraph:
        return self._graph

    def __graphengine_keys__(self) -> list:
        return self._keys

    def __graphengine_postcompute__(self) -> tuple:
        return _done, ()

    def __graphengine_postpersist__(self) -> tuple:
        return (lambda data: self), ()

    def compute(self, **kwargs: Any) -> None:
        from graphengine.collections.base import compute
        compute(self, **kwargs)


def store(sources: Any, targets: Any, lock: Any = True, regions: Any = None,
          compute: bool = True, **kwargs: Any) -> Any:
    """Write arrays block by block into ``targets`` (anything with ``__setitem__``).

    Parameters
    ----------
    sources : Array or list of Array
    targets : array-like or list of them
        Same shapes as ``sources`` (or as their ``regions``).
    lock : bool or lock
        Serialize writes (``True``: one new lock shared by all writes).
    regions : tuple of slices or list of them, optional
        Where in each target a source goes.
    compute : bool
        Write now (default) or return a lazy result with ``.compute()``.
    """
    single = isinstance(sources, Array)
    if single:
        sources, targets = [sources], [targets]
        regions = [regions] if regions is not None else None
    if len(sources) != len(targets):
        raise ValueError(f"store: {len(sources)} sources but {len(targets)} targets")
    if lock is True:
        lock = threading.Lock()
    lock = lock or None
    regions = regions or [None] * len(sources)
    graphs, keys = [], []
    for src, tgt, region in zip(sources, targets, regions):
        tshape = tuple(getattr(tgt, "shape", ()))
        if region is None and tshape and tshape != src.shape:
            raise ValueError(f"store: source shape {src.shape} does not match target shape "
                             f"{tshape}")
        base = [] if region is None else list(region if isinstance(region, tuple)
                                               else (region,))
        base += [slice(None)] * (src.ndim - len(base))
        starts = []
        for axis, s in enumerate(base):
            starts.append(0 if not isinstance(s, slice) or s.start is None else s.start)
        name = new_name("store", src.name, id(tgt))
        slices = BlockSlices(src.chunks)
        layer: dict = {}
        import itertools
        for coords in itertools.product(*(range(n) for n in src.numblocks)):
            sl = slices(coords)
            reg = tuple(slice(s.start + o, s.stop + o) for s, o in zip(sl, starts))
            key = (name, *coords)
            layer[key] = Task(key, _store_block, Ref((src.name, *coords)), tgt, reg, lock)
            keys.append(key)
        graphs.append(layer_graph(name, layer, dependencies=[src]))
    result = StoreResult(HighLevelGraph.merge(*graphs), keys)
    if compute:
        result.compute(**kwargs)
        return None
    return result


def to_npy_stack(dirname: str, x: Array, axis: int = 0) -> None:
    """Write ``x`` as one ``.npy`` file per block along ``axis`` plus an ``info`` file."""
    axis = axis % x.ndim
    chunks = tuple(c if i == axis else (x.shape[i],) for i, c in enumerate(x.chunks))
    x = x.rechunk(chunks)
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "info"), "wb") as f:
        pickle.dump({"chunks": chunks, "dtype": x.dtype, "axis": axis}, f)
    from graphengine.collections.array.elementwise import map_blocks
    out = map_blocks(_save_block, x, dtype=np.int64, dirname=dirname, axis=axis,
                     chunks=tuple((1,) * len(c) for c in x.chunks))
    out.compute()


def _save_block(block: np.ndarray, dirname: str, axis: int, block_id: tuple) -> np.ndarray:
    np.save(os.path.join(dirname, f"{block_id[axis]}.npy"), block)
    return np.zeros((1,) * block.ndim, dtype=np.int64)


def _load_block(path: str, mmap_mode: Any) -> np.ndarray:
    return np.load(path, mmap_mode=mmap_mode)


def from_npy_stack(dirname: str, mmap_mode: Any = "r") -> Array:
    """Read an array written by :func:`to_npy_stack`."""
    with open(os.path.join(dirname, "info"), "rb") as f:
        info = pickle.load(f)
    chunks, dtype, axis = info["chunks"], info["dtype"], info["axis"]
    name = new_name("from-npy-stack", os.path.abspath(dirname), chunks)
    layer = {}
    for i in range(len(chunks[axis])):
        key = (name,) + tuple(i if a == axis else 0 for a in range(len(chunks)))
        layer[key] = Task(key, _load_block, os.path.join(dirname, f"{i}.npy"), mmap_mode)
    return Array(layer_graph(name, layer), name, chunks, dtype)


# The range functions live in ranges.py; imported last, since ranges builds its arrays
# with from_block_function above.
from graphengine.collections.array.ranges import arange, linspace  # noqa: E402
