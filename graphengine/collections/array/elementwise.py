"""Elementwise and blockwise operations: broadcasting, dtype promotion, ``map_blocks``.

Every operation here builds one :class:`~graphengine.collections.array.layer.Blockwise`
layer (folding in the blockwise layers it reads from), so its cost at build time does not
grow with the number of blocks.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(6).reshape(2, 3), chunks=(1, 3))
    >>> (x * 2 + np.array([1, 0, 1])).compute(scheduler="sync").tolist()
    [[1, 2, 5], [7, 8, 11]]
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import common_chunks, is_unknown
from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.layer import Blockwise, PerBlock

__all__ = ["elemwise", "blockwise", "map_blocks", "where", "clip", "isclose", "allclose",
           "astype",
           "broadcast_shapes", "unify_chunks", "asanyarray_operand", "new_name",
           "multi_output", "array_from_layer", "object_comparison",
           "object_operand"]


def new_name(prefix: str, *args: Any, **kwargs: Any) -> str:
    """A deterministic name ``prefix-<token of the inputs>``."""
    from graphengine.graph.tokenize import tokenize
    return f"{prefix}-{tokenize(prefix, *args, **kwargs)}"


def _func_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return name.strip("_").replace("_", "-") or "func"


def asanyarray_operand(x: Any) -> Any:
    """An operand as an Array (array-likes with dimensions) or a scalar (kept as is)."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (Number, np.generic)) or x is None:
        return x
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x
    if isinstance(x, (np.ndarray, list, tuple)) or hasattr(x, "__array__"):
        from graphengine.collections.array.creation import from_array
        arr = np.asarray(x)
        if arr.ndim == 0:
            return arr
        return from_array(arr, chunks=-1)
    return x


def broadcast_shapes(*shapes: tuple) -> tuple:
    """The broadcast shape of ``shapes``, as NumPy computes it (unknown lengths allowed).

    Raises
    ------
    ValueError
        Naming the shapes, as NumPy's message does, when they cannot be broadcast.
    """
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        sizes = {s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0}
        known = {n for n in sizes if not is_unknown(n) and n != 1}
        if len(known) > 1:
            text = " ".join(str(tuple(s)) for s in shapes)
            raise ValueError(f"operands could not be broadcast together with shapes {text}")
        if known:
            out.append(known.pop())
        elif any(is_unknown(n) for n in sizes):
            out.append(math.nan)
        else:
            out.append(1 if sizes else 1)
    return tuple(out)


def unify_chunks(arrays: Sequence[Array], inds: Sequence[tuple]) -> tuple[list, dict]:
    """Rechunk ``arrays`` so that blocks line up along shared index symbols.

    An axis of length 1 in a single block broadcasts and is left alone. Returns the
    (possibly rechunked) arrays and the chunks of every symbol.
    """
    by_symbol: dict = {}
    for a, ind in zip(arrays, inds):
        for s, c in zip(ind, a.chunks):
            if c == (1,):
                by_symbol.setdefault(s, [])
                continue
            by_symbol.setdefault(s, []).append(c)
    symbol_chunks = {}
    for s, cs in by_symbol.items():
        symbol_chunks[s] = common_chunks(*cs) if cs else (1,)
    out = []
    for a, ind in zip(arrays, inds):
        want = tuple(c if c == (1,) else symbol_chunks[s] for s, c in zip(ind, a.chunks))
        if want != a.chunks:
            a = a.rechunk(want)
        out.append(a)
    return out, symbol_chunks


def _sample(x: Any, kind: int) -> Any:
    if isinstance(x, Array):
        maker = (np.ones, np.zeros, np.empty)[kind]
        return maker((1,), dtype=x.dtype)
    return x


def infer_dtype(func: Callable, args: Sequence[Any], kwargs: dict) -> np.dtype:
    """The dtype ``func`` gives on arrays of the arguments' dtypes (NumPy's promotion).

    Runs ``func`` on one-element arrays; NumPy's own errors for unsupported dtype
    combinations propagate, so they surface when the operation is built, as in NumPy.
    """
    error: BaseException | None = None
    for kind in range(3):
        try:
            with np.errstate(all="ignore"):
                out = func(*[_sample(a, kind) for a in args], **kwargs)
            if isinstance(out, tuple):
                out = out[0]
            return np.asarray(out).dtype
        except (ZeroDivisionError, OverflowError) as exc:
            error = exc
        except (TypeError, ValueError) as exc:
            if kind == 0:
                error = exc
            if isinstance(exc, TypeError):
                raise
    assert error is not None
    raise error


def array_from_layer(layer: Blockwise, arrays: Sequence[Array], chunks: tuple,
                     dtype: Any) -> Array:
    """Wrap a blockwise layer as an Array (fusion happens when the graph is run)."""
    graph = layer_graph(layer.name, layer, dependencies=list(arrays))
    return Array(graph, layer.name, chunks, dtype)


def elemwise(op: Callable, *args: Any, dtype: Any = None, extra: tuple = (),
             name: str | None = None, **kwargs: Any) -> Array:
    """Apply ``op`` elementwise with NumPy broadcasting; ``extra`` are trailing literals.

    Raises
    ------
    ValueError
        If the operands' shapes cannot be broadcast together.
    """
    operands = [asanyarray_operand(a) for a in args]
    arrays = [a for a in operands if isinstance(a, Array)]
    shape = broadcast_shapes(*[a.shape for a in arrays])
    ndim = len(shape)
    if dtype is None:
        dtype = infer_dtype(op, operands + list(extra), kwargs)
    inds = [tuple(range(ndim - a.ndim, ndim)) for a in arrays]
    arrays, symbol_chunks = unify_chunks(arrays, inds)
    chunks = tuple(symbol_chunks.get(i, (1,)) for i in range(ndim))
    if any(c == (1,) and shape[i] != 1 for i, c in enumerate(chunks)):
        chunks = tuple(c if c != (1,) or shape[i] == 1 else (shape[i],)
                       for i, c in enumerate(chunks))
    it = iter(arrays)
    layer_args = []
    for a in operands:
        if isinstance(a, Array):
            a = next(it)
            layer_args.append((a.name, tuple(range(ndim - a.ndim, ndim))))
        else:
            layer_args.append((a, None))
    layer_args += [(e, None) for e in extra]
    if name is None:
        name = new_name(_func_name(op), op, *[a if not isinstance(a, Array) else a.name
                                              for a in operands], extra, kwargs)
    layer = Blockwise(name, tuple(range(ndim)), op, layer_args,
                      {a.name: a.numblocks for a in arrays}, kwargs=kwargs)
    return array_from_layer(layer, arrays, chunks, dtype)


class _Pick:
    """``func(*args)[index]``: one output of a multi-output ufunc."""

    __slots__ = ("func", "index")

    def __init__(self, func: Callable, index: int):
        self.func = func
        self.index = index

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)[self.index]

    def __reduce__(self):
        return (_Pick, (self.func, self.index))

    @property
    def __name__(self) -> str:
        return f"{getattr(self.func, '__name__', 'func')}-{self.index}"


def multi_output(ufunc: Callable, *args: Any, nout: int | None = None,
                 **kwargs: Any) -> tuple:
    """A tuple of arrays, one per output of ``ufunc`` (``divmod``, ``modf``, ``frexp``).

    ``ufunc`` may wrap a ufunc (``functools.partial(np.modf, dtype=...)``, which has no
    ``nout``: pass ``nout``). ``**kwargs`` go to :func:`elemwise`, so to every call.
    """
    if nout is None:
        nout = ufunc.nout
    return tuple(elemwise(_Pick(ufunc, i), *args, **kwargs) for i in range(nout))


def _defers(other: Any) -> bool:
    """Whether a comparison leaves ``other`` to its own operators, as NumPy's
    ``binop_should_defer``: ``__array_ufunc__ = None`` or one of its own (it handles
    arrays itself), a higher legacy ``__array_priority__``; and other graphengine
    collections (DataFrame, Series, Delayed), which build their own lazy result."""
    from graphengine.collections.base import is_collection
    if is_collection(other) or hasattr(type(other), "__array_ufunc__"):
        return True
    return getattr(other, "__array_priority__", -math.inf) > Array.__array_priority__


def object_operand(other: Any) -> Any:
    """``other``, not an array or number (None, a str, any object), as a ufunc operand the
    way NumPy sees it; NotImplemented when ``other`` takes over (see ``_defers``).

    A sequence NumPy converts (``range``) becomes an array, compared elementwise; anything
    0-d is kept as is, so ``block == other`` on every block is NumPy's own result.
    """
    if _defers(other):
        return NotImplemented
    try:
        arr = np.asarray(other)
    except Exception:  # noqa: BLE001 - NumPy's per-block operation decides instead
        return other
    return arr if arr.ndim else other


def object_comparison(op: Callable, x: Array, other: Any) -> Any:
    """``op(x, other)`` (``operator.eq``/``ne``) for ``other`` not an array or number: a
    lazy bool Array of NumPy's elementwise (object) comparison, or NotImplemented."""
    other = object_operand(other)
    if other is NotImplemented:
        return NotImplemented
    return elemwise(op, x, other)


@implements(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (``np.where``)."""
    if x is None and y is None:
        from graphengine.collections.array.routines import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return elemwise(np.where, condition, x, y)


@implements(np.clip)
def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Array:
    """Limit values to ``[a_min, a_max]`` (``np.clip``)."""
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    return elemwise(_clip, a, a_min, a_max)


def _clip(a: Any, lo: Any, hi: Any) -> Any:
    return np.clip(a, lo, hi)


@implements(np.isclose)
def isclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Array:
    """Elementwise closeness (``np.isclose``)."""
    return elemwise(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


@implements(np.allclose)
def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> Array:
    """Whether all elements are close: a lazy 0-d boolean array (``np.allclose``)."""
    return isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).all()


@implements(np.astype)
def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Array:
    """Cast every block to ``dtype``: the array-API function ``np.astype``.

    Parameters
    ----------
    x : Array, ndarray or NumPy scalar
        The array to cast (NumPy inputs become a lazy one-block array).
    dtype : dtype_like
        The dtype to cast to; any cast is allowed (``casting="unsafe"``, as NumPy).
    copy : bool, default True
        With False, ``x`` itself is returned when it already has ``dtype``; with True a
        new Array object is returned, so ``y[...] = v`` on it leaves ``x`` unchanged.
    device : None or "cpu"
        Accepted for the array API; graphengine arrays live on the CPU.

    Returns
    -------
    Array
        Of the same shape and chunks as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array (as NumPy, lists are refused rather than converted).
    ValueError
        If ``device`` is not None or ``"cpu"``.
    """
    from graphengine.collections.array.creation import asarray
    if not isinstance(x, (Array, np.ndarray, np.generic)):
        raise TypeError(f"Input should be a graphengine or NumPy array or scalar. It is a "
                        f"{type(x)} instead.")
    if device is not None and device != "cpu":  # NumPy's own check and message
        raise ValueError(f'Device not understood. Only "cpu" is allowed, but received: '
                         f'{device}')
    x = asarray(x)
    # Array.astype returns x itself for a same-dtype cast; copy=True promises a distinct
    # object, since __setitem__ rebinds the Array it is called on.
    if copy and np.dtype(dtype) == x.dtype:
        return x.copy()
    return x.astype(dtype, copy=copy)


# --- blockwise / map_blocks --------------------------------------------------------------

def blockwise(func: Callable, out_ind: Any, *args: Any, name: str | None = None,
              token: str | None = None, dtype: Any = None, adjust_chunks: dict | None = None,
              new_axes: dict | None = None, align_arrays: bool = True,
              concatenate: bool | None = None, meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` to blocks named by index notation, like ``einsum``.

    Parameters
    ----------
    func : callable
    out_ind : str or tuple
        Index symbols of the output, e.g. ``"ij"``.
    *args : pairs ``array, ind``
        Each input and its index symbols (``None`` for a literal argument).
    dtype : dtype
        The output dtype (inferred from ``meta`` or the first array when omitted).
    adjust_chunks : dict, optional
        Per output symbol: a callable applied to each block length, or the new lengths.
    new_axes : dict, optional
        Per new output symbol: its length (an int) or its chunks (a tuple).
    concatenate : bool, optional
        Pass blocks along contracted symbols joined into one array.
    **kwargs
        Passed to every call of ``func``.

    Examples
    --------
    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.ones((4, 4), chunks=2)
    >>> blockwise(np.add, "ij", x, "ij", x.T, "ij", dtype=float).sum().compute(scheduler="sync")
    np.float64(32.0)
    """
    if len(args) % 2:
        raise ValueError("blockwise arguments come in pairs: array, index")
    out_ind = tuple(out_ind)
    pairs = [(asanyarray_operand(args[i]) if args[i + 1] is not None else args[i],
              tuple(args[i + 1]) if args[i + 1] is not None else None)
             for i in range(0, len(args), 2)]
    arr_pairs = [(a, ind) for a, ind in pairs if ind is not None and isinstance(a, Array)]
    for a, ind in arr_pairs:
        if len(ind) != a.ndim:
            raise ValueError(f"blockwise: index {''.join(map(str, ind))!r} has {len(ind)} "
                             f"symbols but the array {a.name!r} has {a.ndim} dimensions")
    if align_arrays:
        unified, symbol_chunks = unify_chunks([a for a, _ in arr_pairs],
                                              [ind for _, ind in arr_pairs])
    else:
        unified = [a for a, _ in arr_pairs]
        symbol_chunks = {}
        for a, ind in arr_pairs:
            for s, c in zip(ind, a.chunks):
                symbol_chunks.setdefault(s, c)
    new_axes = dict(new_axes or {})
    nb_new = {}
    for s, v in new_axes.items():
        symbol_chunks[s] = (v,) if isinstance(v, int) else tuple(v)
        nb_new[s] = len(symbol_chunks[s])
    missing = [s for s in out_ind if s not in symbol_chunks]
    if missing:
        raise ValueError(f"blockwise: output index {missing} appears in no input; give it "
                         "in new_axes")
    chunks = []
    for s in out_ind:
        c = symbol_chunks[s]
        if adjust_chunks and s in adjust_chunks:
            adj = adjust_chunks[s]
            if callable(adj):
                c = tuple(adj(n) for n in c)
            elif isinstance(adj, int):
                c = (adj,) * len(c)
            else:
                c = tuple(adj)
                if len(c) != len(symbol_chunks[s]):
                    raise ValueError(f"adjust_chunks for {s!r} gives {len(c)} blocks but the "
                                     f"axis has {len(symbol_chunks[s])}")
        chunks.append(c)
    if dtype is None:
        dtype = getattr(meta, "dtype", None) or (arr_pairs[0][0].dtype if arr_pairs else float)
    it = iter(unified)
    layer_args = []
    for a, ind in pairs:
        if ind is not None and isinstance(a, Array):
            a = next(it)
            layer_args.append((a.name, ind))
        else:
            layer_args.append((a, None))
    if name is None:
        name = new_name(token or _func_name(func), func, out_ind,
                        [(a.name if isinstance(a, Array) else a, ind) for a, ind in pairs],
                        kwargs, new_axes, adjust_chunks and sorted(adjust_chunks, key=str))
    layer = Blockwise(name, out_ind, func, layer_args, {a.name: a.numblocks for a in unified},
                      new_axes=nb_new, concatenate=bool(concatenate), kwargs=kwargs)
    return array_from_layer(layer, unified, tuple(chunks), dtype)


def _takes(func: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class _BlockInfo:
    """Per-block ``block_info`` dict for :func:`map_blocks` (built when tasks are made)."""

    __slots__ = ("shapes", "chunks", "out_chunks", "dtype", "arg_syms")

    def __init__(self, shapes, chunks, out_chunks, dtype, arg_syms):
        self.shapes, self.chunks, self.out_chunks = shapes, chunks, out_chunks
        self.dtype, self.arg_syms = dtype, arg_syms

    def __call__(self, coords: tuple) -> dict:
        info = {}
        for i, (shape, chunks, syms) in enumerate(zip(self.shapes, self.chunks, self.arg_syms)):
            # A dropped axis (no output position, sym None) reaches every call whole, its
            # blocks joined: describe it as one chunk spanning the axis, as Dask does,
            # rather than reading a location from an unrelated output axis.
            chunks = tuple((n,) if s is None else c for c, s, n in zip(chunks, syms, shape))
            # Single-block axes broadcast (or are dropped): always block 0 along them.
            loc = tuple(0 if len(c) == 1 else min(coords[s], len(c) - 1)
                        for c, s in zip(chunks, syms))
            info[i] = {"shape": shape, "num-chunks": tuple(len(c) for c in chunks),
                       "chunk-location": loc,
                       "array-location": [(sum(c[:j]), sum(c[:j + 1]))
                                          for c, j in zip(chunks, loc)]}
        info[None] = {"shape": tuple(sum(c) for c in self.out_chunks),
                      "num-chunks": tuple(len(c) for c in self.out_chunks),
                      "chunk-location": coords,
                      "chunk-shape": tuple(c[j] for c, j in zip(self.out_chunks, coords)),
                      "array-location": [(sum(c[:j]), sum(c[:j + 1]))
                                         for c, j in zip(self.out_chunks, coords)],
                      "dtype": self.dtype}
        return info


class _WithBlockKw:
    """Call ``func`` passing a per-block keyword (``block_id`` / ``block_info``) last."""

    __slots__ = ("func", "names", "kwargs")

    def __init__(self, func: Callable, names: tuple, kwargs: dict):
        self.func, self.names, self.kwargs = func, names, kwargs

    def __call__(self, *args: Any) -> Any:
        n = len(self.names)
        extra = dict(zip(self.names, args[len(args) - n:]))
        return self.func(*args[:len(args) - n], **extra, **self.kwargs)

    def __reduce__(self):
        return (_WithBlockKw, (self.func, self.names, self.kwargs))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "func")


def _identity_coords(coords: tuple) -> tuple:
    return coords


def map_blocks(func: Callable, *args: Any, name: str | None = None, token: str | None = None,
               dtype: Any = None, chunks: Any = None, drop_axis: Any = (),
               new_axis: Any = None, meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` to every block of the array arguments (broadcast like NumPy).

    ``func`` may take ``block_id=`` (the block's grid position) and ``block_info=`` (dict
    of input/output shapes, locations and ``chunk-shape``). ``drop_axis`` removes axes
    (their blocks are joined first); ``new_axis`` inserts axes; ``chunks=`` gives the
    output block lengths when they change.

    Examples
    --------
    >>> import graphengine.array as ga
    >>> ga.arange(6, chunks=3).map_blocks(lambda b: b * 10).compute(scheduler="sync").tolist()
    [0, 10, 20, 30, 40, 50]
    """
    # As in Dask, only graphengine Arrays are mapped block by block; anything else
    # (NumPy arrays included) is passed whole to every call.
    operands = list(args)
    arrays = [a for a in operands if isinstance(a, Array)]
    if not arrays:
        raise TypeError("map_blocks needs at least one graphengine Array argument")
    ndim = max(a.ndim for a in arrays)
    if isinstance(drop_axis, int):
        drop_axis = (drop_axis,)
    drop_axis = tuple(d % ndim for d in drop_axis) if ndim else ()
    if isinstance(new_axis, int):
        new_axis = (new_axis,)
    new_axis = tuple(new_axis or ())
    in_ind = tuple(range(ndim))
    out_ind = [s for s in in_ind if s not in drop_axis]
    out_ndim = len(out_ind) + len(new_axis)
    new_axis = tuple(n % out_ndim for n in new_axis)
    new_syms = {}
    for pos in sorted(new_axis):
        sym = f"new{pos}"
        out_ind.insert(pos, sym)
        new_syms[sym] = pos
    inds = [tuple(range(ndim - a.ndim, ndim)) for a in arrays]
    arrays, symbol_chunks = unify_chunks(arrays, inds)
    out_chunks = []
    for s in out_ind:
        out_chunks.append((1,) if s in new_syms else symbol_chunks.get(s, (1,)))
    if chunks is not None:
        if isinstance(chunks, tuple) and chunks and all(isinstance(c, tuple) for c in chunks):
            out_chunks = list(chunks)
        else:
            chunks = (chunks,) if isinstance(chunks, int) else tuple(chunks)
            if len(chunks) != len(out_ind):
                raise ValueError(f"map_blocks: chunks={chunks!r} has {len(chunks)} entries "
                                 f"but the output has {len(out_ind)} dimensions")
            # An int that equals the blocks' size on that axis keeps the input chunks
            # (a shorter last block included); any other int is every block's length.
            out_chunks = [oc if isinstance(c, int) and oc and max(oc) == c else
                          (c,) * len(oc) if isinstance(c, int) else tuple(c)
                          for c, oc in zip(chunks, out_chunks)]
    out_chunks = tuple(tuple(c) for c in out_chunks)
    block_kw = tuple(k for k in ("block_id", "block_info") if _takes(func, k))
    if dtype is None:
        dtype = getattr(meta, "dtype", None)
    if dtype is None:
        if block_kw:
            dtype = arrays[0].dtype
        else:
            try:
                dtype = infer_dtype(func, operands, kwargs)
            except Exception:  # noqa: BLE001 - a function that fails on tiny samples
                dtype = arrays[0].dtype
    it = iter(arrays)
    layer_args = []
    for a in operands:
        if isinstance(a, Array):
            a = next(it)
            layer_args.append((a.name, tuple(range(ndim - a.ndim, ndim))))
        else:
            layer_args.append((a, None))
    call = func
    layer_kwargs = kwargs
    if block_kw:
        out_t = tuple(out_ind)
        for k in block_kw:
            if k == "block_id":
                layer_args.append((PerBlock(_identity_coords), out_t))
            else:
                pos = {s: i for i, s in enumerate(out_t)}
                info = _BlockInfo([a.shape for a in arrays], [a.chunks for a in arrays],
                                  out_chunks, np.dtype(dtype),
                                  [tuple(pos.get(s) for s in range(ndim - a.ndim, ndim))
                                   for a in arrays])
                layer_args.append((PerBlock(info), out_t))
        call = _WithBlockKw(func, block_kw, kwargs)
        layer_kwargs = {}
    if name is None:
        name = new_name(token or _func_name(func), func,
                        [a.name if isinstance(a, Array) else a for a in operands], kwargs,
                        out_chunks, drop_axis, new_axis)
    nb_new = {s: len(out_chunks[out_ind.index(s)]) for s in new_syms}
    layer = Blockwise(name, tuple(out_ind), call, layer_args,
                      {a.name: a.numblocks for a in arrays}, new_axes=nb_new,
                      concatenate=True, kwargs=layer_kwargs)
    return array_from_layer(layer, arrays, out_chunks, dtype)
