"""The chunked ``Array`` collection: a NumPy-like array as a grid of NumPy blocks.

An :class:`Array` is a name, a graph whose keys ``(name, i, j, ...)`` produce the blocks, a
chunking (block lengths per axis) and a dtype. Operations build new graphs lazily;
``.compute()`` runs them and joins the blocks into one ``numpy.ndarray``.

    >>> import graphengine.array as ga
    >>> x = ga.ones((4, 6), chunks=(2, 3))
    >>> int((x + 1).sum().compute(scheduler="sync"))
    48
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.collections.base import Collection
from graphengine.graph.layers import HighLevelGraph, MaterializedLayer
from graphengine.collections.array.chunks import is_unknown, normalize_chunks
from graphengine.collections.array.dispatch import (HANDLED_FUNCTIONS, call_implementation,
                                                    implements)
from graphengine.collections.array.layer import Blockwise

__all__ = ["Array", "finalize", "handle_out", "HANDLED_FUNCTIONS", "implements"]



def handle_out(name: str, out: Any, result: "Array") -> "Array":
    """NumPy's ``out=`` for a lazy result: ``out``, a graphengine Array of the result's
    shape, becomes the result (cast to ``out``'s dtype, as NumPy writes into it) and is
    returned. Without ``out`` the result is returned as it is.

    Raises
    ------
    TypeError
        If ``out`` is not a graphengine Array (a NumPy array cannot hold a lazy result).
    ValueError
        If ``out``'s shape differs from the result's, naming both.
    """
    if out is None:
        return result
    if isinstance(out, tuple) and len(out) == 1:  # the ufunc spelling, out=(x,)
        out = out[0]
    if not isinstance(out, Array):
        raise TypeError(f"{name}(out=...) takes a graphengine Array to rebind to the "
                        f"result, not {type(out).__name__}; assign the result instead")
    if out.shape != result.shape:
        raise ValueError(f"{name}(out=...): out has shape {out.shape} but the result has "
                         f"shape {result.shape}")
    if out.dtype != result.dtype:
        result = result.astype(out.dtype)
    out._become(result)
    return out


def finalize(results: Any, ndim: int) -> np.ndarray:
    """Join computed blocks (nested lists ``ndim`` deep) into one NumPy array."""
    if ndim == 0:
        while isinstance(results, list):
            results = results[0]
        return results
    if _count(results, ndim) == 1:
        while isinstance(results, list):
            results = results[0]
        return np.asarray(results)
    return np.block(results) if _all_same_ndim(results, ndim) else _concat(results, 0, ndim)


def _count(nested: Any, depth: int) -> int:
    for _ in range(depth):
        if len(nested) != 1:
            return 2
        nested = nested[0]
    return 1


def _all_same_ndim(nested: Any, ndim: int) -> bool:
    first = nested
    for _ in range(ndim):
        first = first[0]
    return isinstance(first, np.ndarray) and first.ndim == ndim and first.dtype != object


def _concat(nested: Any, axis: int, ndim: int) -> np.ndarray:
    if axis == ndim - 1:
        return np.concatenate([np.asarray(b) for b in nested], axis=axis)
    return np.concatenate([_concat(n, axis + 1, ndim) for n in nested], axis=axis)


def layer_graph(name: str, layer: Any, dependencies: Any = ()) -> HighLevelGraph:
    """``HighLevelGraph.from_layer`` over the *unfused* graphs of array dependencies.

    Building always works on the plain layered graphs; blockwise fusion happens only in
    :meth:`Array.__graphengine_graph__`, when the consumers of every layer are known.
    """
    return HighLevelGraph.from_layer(
        name, layer, [d._graph if isinstance(d, Array) else d for d in dependencies])


def _rebuild(data: Mapping, name: str, chunks: tuple, dtype: np.dtype) -> "Array":
    graph = HighLevelGraph.from_layer(name, MaterializedLayer(dict(data)))
    return Array(graph, name, chunks, dtype)


class Array(Collection):
    """A lazy N-dimensional array split into a grid of NumPy blocks.

    Build one with :func:`graphengine.array.from_array`, ``zeros``, ``random.random``...,
    not with this constructor.

    Parameters
    ----------
    graph : HighLevelGraph
        Produces the keys ``(name, *block_index)``.
    name : str
        The output layer's name.
    chunks : tuple of tuples
        Block lengths per axis.
    dtype : numpy dtype
    """

    __slots__ = ("_graph", "name", "_chunks", "_dtype", "_fused", "_shape", "__weakref__")
    __array_priority__ = 11

    def __init__(self, graph: Any, name: str, chunks: Any, dtype: Any, shape: Any = None):
        if not isinstance(graph, HighLevelGraph):
            graph = HighLevelGraph.from_layer(name, graph)
        self._graph = graph
        self.name = name
        self._fused = None
        self._shape: tuple | None = None  # (chunks it was summed from, shape)
        if type(chunks) is tuple and all(type(c) is tuple for c in chunks):
            self._chunks = chunks  # already normalised by the operation that built it
        else:
            self._chunks = normalize_chunks(chunks, shape, dtype=dtype)
        self._dtype = np.dtype(dtype)

    # --- collection protocol -------------------------------------------------------------
    def __graphengine_graph__(self) -> HighLevelGraph:
        """The graph to run: blockwise layers folded into their only consumer."""
        if self._fused is None:
            from graphengine.collections.array.layer import fuse_graph
            self._fused = fuse_graph(self._graph, self.name)
        return self._fused

    def __graphengine_keys__(self) -> Any:
        name = self.name
        numblocks = self.numblocks
        if not numblocks:
            return [(name,)]

        def keys(prefix: tuple, axis: int) -> list:
            if axis == len(numblocks) - 1:
                return [(name, *prefix, i) for i in range(numblocks[axis])]
            return [keys(prefix + (i,), axis + 1) for i in range(numblocks[axis])]

        return keys((), 0)

    def __graphengine_postcompute__(self) -> tuple:
        return finalize, (self.ndim,)

    def __graphengine_postpersist__(self) -> tuple:
        return _rebuild, (self.name, self._chunks, self._dtype)

    def __graphengine_tokenize__(self) -> Any:
        return ("graphengine.Array", self.name)

    # --- metadata ------------------------------------------------------------------------
    @property
    def chunks(self) -> tuple:
        """Block lengths along each axis (``nan`` where unknown)."""
        return self._chunks

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple:
        # Summed once per chunking: building an expression over a 1,000 x 1,000-block
        # array reads shapes a dozen times, and each sum walks every block length.
        chunks = self._chunks
        cached = self._shape
        if cached is None or cached[0] is not chunks:
            sums = (sum(c) for c in chunks)
            cached = self._shape = (chunks, tuple(math.nan if n != n else n for n in sums))
        return cached[1]

    @property
    def ndim(self) -> int:
        return len(self._chunks)

    @property
    def size(self) -> int | float:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int | float:
        return self.size * self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def numblocks(self) -> tuple:
        return tuple(len(c) for c in self._chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def chunksize(self) -> tuple:
        """The largest block length along each axis."""
        return tuple(max(c) if c else 0 for c in self._chunks)

    @property
    def blocks(self) -> "BlockView":
        """Index the grid of blocks: ``x.blocks[0, -1]`` is the last block of the first row."""
        return BlockView(self)

    @property
    def T(self) -> "Array":
        return self.transpose()

    @property
    def mT(self) -> "Array":
        return self.swapaxes(-1, -2)

    @property
    def real(self) -> "Array":
        return elementwise().elemwise(np.real, self)

    @property
    def imag(self) -> "Array":
        return elementwise().elemwise(np.imag, self)

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of unsized object")
        n = self.shape[0]
        if is_unknown(n):
            raise ValueError("len() of an array whose first axis length is unknown; call "
                             "compute_chunk_sizes() first")
        return int(n)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return (f"graphengine.array<{self.name}, shape={self.shape}, dtype={self.dtype}, "
                f"chunksize={self.chunksize}, chunktype=numpy.ndarray>")

    def _repr_html_(self) -> str:
        from graphengine.collections.array.display import array_html
        return array_html(self)

    def __graphengine_layer__(self) -> Any:
        return self._graph.layers[self.name]

    # --- conversion ----------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        x = np.asarray(self.compute())
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        return x

    def _scalar(self, kind: type) -> Any:
        if self.size != 1:
            raise TypeError(f"only arrays of size 1 can be converted to Python scalars; this "
                            f"one has shape {self.shape}")
        return kind(np.asarray(self.compute()).reshape(()))

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return self._scalar(bool)

    def __int__(self) -> int:
        return self._scalar(int)

    def __float__(self) -> float:
        return self._scalar(float)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer arrays can be used as an index, not {self.dtype}")
        return self._scalar(int)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            return NotImplemented
        kwargs.pop("out", None)
        if not all(is_operand(x) for x in inputs):
            return NotImplemented
        ew = elementwise()
        if ufunc is np.matmul and method == "__call__":
            from graphengine.collections.array.products import matmul
            return matmul(*inputs, **kwargs)
        if ufunc.signature is not None:
            return NotImplemented  # other generalized ufuncs (vecdot...) are not blockwise
        if method == "__call__" and kwargs.get("where", True) is not True:
            # NumPy leaves the unselected outputs uninitialised unless out= is given.
            raise NotImplementedError(f"np.{ufunc.__name__}(..., where=) needs out=, which "
                                      "graphengine arrays do not take; use ga.where instead")
        if kwargs.get("where", None) is True:
            kwargs.pop("where")
        if method == "__call__" and kwargs.get("dtype") is not None:
            # The ufunc's dtype= must reach NumPy (elemwise keeps dtype= for the metadata).
            import functools
            nout = ufunc.nout
            ufunc = functools.partial(ufunc, dtype=kwargs.pop("dtype"))
            if nout == 1:
                return ew.elemwise(ufunc, *inputs, **kwargs)
            # Every output in dtype= (np.modf) or NumPy's own error (np.frexp has no
            # float32-only loop), raised now: elemwise infers each output's dtype.
            return ew.multi_output(ufunc, *inputs, nout=nout, **kwargs)
        if method == "__call__":
            if ufunc.nout > 1:
                return ew.multi_output(ufunc, *inputs, **kwargs)
            return ew.elemwise(ufunc, *inputs, **kwargs)
        if method == "reduce":
            from graphengine.collections.array import reductions
            return reductions.ufunc_reduce(ufunc, *inputs, **kwargs)
        if method == "outer" and len(inputs) == 2:
            from graphengine.collections.array import products as linalg
            return linalg.ufunc_outer(ufunc, *inputs, **kwargs)
        return NotImplemented

    def __array_function__(self, func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
        impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            import graphengine.array  # noqa: F401 - registers the implementations
            impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            return NotImplemented
        return call_implementation(func, impl, args, kwargs)  # in NumPy's parameter order

    # --- methods (implemented in their concept modules) ------------------------------------
    def astype(self, dtype: Any, casting: str = "unsafe", copy: bool = True) -> "Array":
        """Cast every block to ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"Cannot cast array data from {self.dtype!r} to {dtype!r} "
                            f"according to the rule {casting!r}")
        return elementwise().elemwise(_astype, self, dtype=dtype, extra=(dtype,))

    def copy(self) -> "Array":
        """A new Array object over the same (immutable) blocks; ``x[...] = v`` on the copy
        leaves the original unchanged."""
        return Array(self._graph, self.name, self._chunks, self._dtype)

    def map_blocks(self, func: Any, *args: Any, **kwargs: Any) -> "Array":
        return elementwise().map_blocks(func, self, *args, **kwargs)

    def rechunk(self, chunks: Any = "auto", **kwargs: Any) -> "Array":
        from graphengine.collections.array.rechunk import rechunk
        return rechunk(self, chunks, **kwargs)

    def __getitem__(self, index: Any) -> "Array":
        from graphengine.collections.array.slicing import getitem
        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        from graphengine.collections.array.setitem import setitem
        self._become(setitem(self, index, value))

    def _become(self, other: "Array") -> None:
        """Take ``other``'s graph, name, chunks and dtype: ``x[i] = v`` and ``out=x``
        rebind the Array they are given, as NumPy's would change it in place."""
        self._graph, self.name, self._chunks, self._dtype = (
            other._graph, other.name, other._chunks, other._dtype)
        self._fused = None

    @property
    def vindex(self) -> Any:
        from graphengine.collections.array.slicing import VIndex
        return VIndex(self)

    def compute_chunk_sizes(self) -> "Array":
        """Compute unknown block lengths (after boolean indexing) and store them in place."""
        from graphengine.collections.array.slicing import compute_chunk_sizes
        self._chunks = compute_chunk_sizes(self)
        return self

    def transpose(self, *axes: Any) -> "Array":
        from graphengine.collections.array.shape import transpose
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> "Array":
        from graphengine.collections.array.shape import swapaxes
        return swapaxes(self, a, b)

    def reshape(self, *shape: Any, **kwargs: Any) -> "Array":
        from graphengine.collections.array.shape import reshape
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return reshape(self, shape, **kwargs)

    def ravel(self, order: str = "C") -> "Array":
        from graphengine.collections.array.shape import ravel
        return ravel(self, order)

    flatten = ravel

    def squeeze(self, axis: Any = None) -> "Array":
        from graphengine.collections.array.shape import squeeze
        return squeeze(self, axis)

    def round(self, decimals: int = 0) -> "Array":
        return elementwise().elemwise(np.round, self, extra=(decimals,))

    def clip(self, min: Any = None, max: Any = None) -> "Array":
        return elementwise().clip(self, min, max)

    def conj(self) -> "Array":
        return elementwise().elemwise(np.conj, self)

    def dot(self, other: Any) -> "Array":
        from graphengine.collections.array.products import dot
        return dot(self, other)

    def to_delayed(self) -> np.ndarray:
        """A NumPy object array (the block grid's shape) of Delayed blocks."""
        from graphengine.collections.delayed import Delayed
        graph = self.__graphengine_graph__()
        out = np.empty(self.numblocks, dtype=object)
        for index in np.ndindex(*self.numblocks):
            out[index] = Delayed((self.name, *index), graph)
        return out

    def store(self, target: Any, **kwargs: Any) -> Any:
        from graphengine.collections.array.creation import store
        return store(self, target, **kwargs)

    def nonzero(self) -> tuple:
        from graphengine.collections.array.routines import nonzero
        return nonzero(self)

    def argtopk(self, k: int, axis: int = -1, split_every: Any = None) -> "Array":
        from graphengine.collections.array.reductions import argtopk
        return argtopk(self, k, axis=axis, split_every=split_every)

    def topk(self, k: int, axis: int = -1, split_every: Any = None) -> "Array":
        from graphengine.collections.array.reductions import topk
        return topk(self, k, axis=axis, split_every=split_every)


def _astype(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return block.astype(dtype, copy=False)


def elementwise():
    from graphengine.collections.array import elementwise as mod
    return mod


def _reduction_method(name: str):
    def method(self, *args, **kwargs):
        from graphengine.collections.array import reductions
        return getattr(reductions, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"Lazy ``{name}`` of the array; see :func:`graphengine.array.{name}`."
    return method


for _name in ("sum", "prod", "mean", "std", "var", "min", "max", "argmin", "argmax", "any",
              "all", "cumsum", "cumprod", "nansum", "nanmean"):
    setattr(Array, _name, _reduction_method(_name))


# Python's operators (+, ==, @, +=, ...) follow NumPy's rules; see operators.py.
from graphengine.collections.array.operators import install_operators, is_operand  # noqa: E402
install_operators(Array)


class BlockView:
    """``x.blocks[i, j]``: an array made of the selected blocks of ``x``."""

    __slots__ = ("array",)

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, index: Any) -> Array:
        from graphengine.collections.array.slicing import blocks_getitem
        return blocks_getitem(self.array, index)

    @property
    def shape(self) -> tuple:
        return self.array.numblocks

    @property
    def size(self) -> int:
        return self.array.npartitions

    def ravel(self) -> list:
        import itertools
        return [self[idx] for idx in itertools.product(*(range(n) for n in self.shape))]


def is_blockwise_array(x: Any) -> bool:
    return isinstance(x, Array) and type(x._graph.layers.get(x.name)) is Blockwise
