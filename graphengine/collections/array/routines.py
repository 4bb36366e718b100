"""Routines: unique, bincount, histogram, digitize, argwhere/nonzero, diff, searchsorted,
sort, isin, diag, tril/triu (and cov, corrcoef, which live in :mod:`.moments`).

Results whose length depends on the data (``unique``, also of sub-arrays along an axis,
and ``argwhere``) have unknown chunk lengths (``nan``) until computed.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.array([3, 1, 3, 2]), chunks=2)
    >>> ga.unique(x).compute(scheduler="sync").tolist(), ga.bincount(x).compute(scheduler="sync").tolist()
    ([1, 2, 3], [0, 1, 1, 2])
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, is_unknown
from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.creation import asarray
from graphengine.collections.array.elementwise import (blockwise, elemwise, map_blocks,
                                                       new_name)
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["unique", "bincount", "histogram", "digitize", "argwhere", "nonzero",
           "flatnonzero", "diff", "ediff1d", "cov", "corrcoef", "searchsorted", "sort", "isin",
           "diag", "diagonal", "tril", "triu"]


def _all_blocks(name: str, x: Array) -> list:
    return [Ref((x.name, *c)) for c in itertools.product(*(range(n) for n in x.numblocks))]


def _single(x: Array, prefix: str, func: Any, *extra: Any, chunks: tuple, dtype: Any,
            token_args: tuple = ()) -> Array:
    """One task over all blocks of ``x`` (as a flat list)."""
    name = new_name(prefix, x.name, *token_args)
    key = (name,) + (0,) * len(chunks)
    layer = {key: Task(key, func, _all_blocks(name, x), *extra)}
    graph = layer_graph(name, MaterializedLayer(layer), dependencies=[x])
    return Array(graph, name, chunks, dtype)


_NAN_KINDS = "cfmM"  # dtypes whose NaNs (NaT) np.unique may merge (equal_nan)


def _unique_block(block: np.ndarray, index: bool, counts: bool, equal_nan: bool,
                  block_info: Any = None) -> dict:
    """The block's unique values, with each value's first flat index in the whole array
    (``index``) and its count in the block (``counts``)."""
    res = np.unique(block, return_index=index, return_counts=counts, equal_nan=equal_nan)
    res = res if isinstance(res, tuple) else (res,)
    out = {"values": res[0]}
    if index:
        # A block's C order agrees with the whole array's, so its first occurrence is
        # also its smallest global flat index.
        offsets = [lo for lo, _ in block_info[0]["array-location"]]
        coords = np.unravel_index(res[1], block.shape)
        out["index"] = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, offsets)),
                                            block_info[0]["shape"]).astype(np.intp)
    if counts:
        out["counts"] = res[-1]
    return out


def _unique_agg(parts: list, index: bool, counts: bool, equal_nan: bool,
                dtype: np.dtype, inverse: bool = False) -> dict:
    """The unique values of the per-block ``parts``, with each one's first index and
    total count; with ``inverse``, also ``map`` (the unique index of every part value,
    parts joined in order) and ``starts`` (where each part begins in that order)."""
    def joined(field: str, empty_dtype: Any) -> np.ndarray:
        return (np.concatenate([p[field] for p in parts]) if parts
                else np.empty(0, dtype=empty_dtype))

    values = joined("values", dtype)
    cnt = joined("counts", np.intp) if counts else None
    order = None
    if index:
        # In flat-index order, np.unique's stable sort picks NumPy's representative of
        # each value (the first in sort order, then in position: complex NaNs differ).
        first = joined("index", np.intp)
        order = np.argsort(first, kind="stable")
        values, first = values[order], first[order]
        cnt = cnt[order] if counts else None
    res = np.unique(values, return_index=index, return_inverse=True, equal_nan=equal_nan)
    out = {"values": res[0]}
    if index:
        out["index"] = first[res[1]]
    if counts:
        total = np.zeros(len(res[0]), dtype=np.intp)
        np.add.at(total, res[-1].reshape(-1), cnt)
        out["counts"] = total
    if inverse:  # each part value's unique index, back in the parts' order
        found = res[-1].reshape(-1)
        out["map"] = found if order is None else found[np.argsort(order)]
        out["starts"] = np.cumsum([0] + [len(p["values"]) for p in parts])
    return out


def _field(result: dict, key: str) -> Any:
    return result[key]


def _inverse_block(block: np.ndarray, u: np.ndarray) -> np.ndarray:
    inv = np.array(np.searchsorted(u, block), dtype=np.intp)
    if u.dtype.kind in _NAN_KINDS:
        # equal_nan: every NaN maps to the one NaN that np.unique keeps (the last value);
        # searchsorted alone would misplace complex NaNs.
        inv[np.isnan(block)] = len(u) - 1
    return inv


def _as_rows(block: np.ndarray, axis: int) -> np.ndarray:
    """The sub-arrays of ``block`` along ``axis`` as a 1-d structured array (one field
    per element, compared field by field) as ``np.unique(axis=...)`` consolidates them."""
    moved = np.moveaxis(block, axis, 0)
    n, m = moved.shape[0], math.prod(moved.shape[1:])
    rows = np.ascontiguousarray(moved.reshape(n, m))
    if m == 0:  # NumPy: a field-less dtype of itemsize 0, all rows equal
        return np.empty(n, dtype=[])
    return rows.view([(f"f{i}", rows.dtype) for i in range(m)]).reshape(n)


def _unique_rows_block(block: np.ndarray, axis: int, offset: int, index: bool,
                       inverse: bool, counts: bool) -> dict:
    """The block's unique sub-arrays along ``axis`` (consolidated, see :func:`_as_rows`),
    with each one's first position along the whole axis, the block's inverse and counts."""
    res = np.unique(_as_rows(block, axis), return_index=index, return_inverse=inverse,
                    return_counts=counts)
    fields = ["values"] + ["index"] * index + ["inverse"] * inverse + ["counts"] * counts
    out = dict(zip(fields, res if isinstance(res, tuple) else (res,)))
    if index:
        out["index"] = (out["index"] + offset).astype(np.intp)
    return out


def _unique_rows_values(result: dict, dtype: np.dtype, rest: tuple, axis: int) -> np.ndarray:
    uniq = result["values"]
    return np.moveaxis(uniq.view(dtype).reshape((len(uniq),) + rest), 0, axis)


def _unique_rows_inverse(result: dict, part: dict, i: int) -> np.ndarray:
    return result["map"][result["starts"][i] + part["inverse"].reshape(-1)]


def _unique_axis(x: Array, axis: Any, return_index: bool, return_inverse: bool,
                 return_counts: bool) -> Any:
    """``np.unique(x, axis=axis)`` for ``x.ndim > 1``: the other axes in one block, each
    block's unique sub-arrays, then one task joining them (see :func:`unique`)."""
    from numpy.lib.array_utils import normalize_axis_index
    axis = normalize_axis_index(axis, x.ndim)
    np.unique(np.zeros((1,) * x.ndim, x.dtype), axis=axis)  # NumPy's dtype errors (object)
    others = [a for a in range(x.ndim) if a != axis]
    if any(is_unknown(n) for c in x.chunks for n in c):
        raise ValueError(f"unique(axis={axis}) needs known chunk sizes, not {x.chunks}; "
                         "call x.compute_chunk_sizes() first")
    rows = x.rechunk({a: -1 for a in others}) if others else x
    rest = tuple(int(x.shape[a]) for a in others)
    name = new_name("unique-axis", rows.name, axis, return_index, return_inverse,
                    return_counts)
    per, agg, nb = name + "-rows", (name + "-agg",), rows.numblocks[axis]
    layer: dict = {}
    offsets = chunk_offsets(rows.chunks[axis])
    for i in range(nb):
        block = (rows.name, *(i if a == axis else 0 for a in range(x.ndim)))
        layer[(per, i)] = Task((per, i), _unique_rows_block, Ref(block), axis, offsets[i],
                               return_index, return_inverse, return_counts)
    layer[agg] = Task(agg, _unique_agg, [Ref((per, i)) for i in range(nb)], return_index,
                      return_counts, True, np.dtype([]), return_inverse)
    layer[(name,) + (0,) * x.ndim] = Task((name,) + (0,) * x.ndim, _unique_rows_values,
                                          Ref(agg), x.dtype, rest, axis)
    outs = [(name, tuple((math.nan,) if a == axis else (x.shape[a],) for a in range(x.ndim)),
             x.dtype)]
    for field in [f for f, on in (("index", return_index), ("inverse", return_inverse),
                                  ("counts", return_counts)) if on]:
        out_name = f"{name}-{field}"
        if field == "inverse":  # one block per block along the axis
            for i in range(nb):
                layer[(out_name, i)] = Task((out_name, i), _unique_rows_inverse, Ref(agg),
                                            Ref((per, i)), i)
        else:
            layer[(out_name, 0)] = Task((out_name, 0), _field, Ref(agg), field)
        outs.append((out_name, (rows.chunks[axis] if field == "inverse" else (math.nan,),),
                     np.intp))
    graph = layer_graph(name, MaterializedLayer(layer), dependencies=[rows])
    result = tuple(Array(graph, out_name, c, dtype) for out_name, c, dtype in outs)
    return result if len(result) > 1 else result[0]


@implements(np.unique)
def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *, equal_nan: bool = True,
           sorted: bool = True) -> Any:
    """Sorted unique values of the flattened array, or unique sub-arrays along ``axis``
    (``np.unique``).

    Parameters
    ----------
    ar : array_like
        Input array (flattened when ``axis`` is None).
    return_index, return_inverse, return_counts : bool
        Also return each value's first index (flat, or along ``axis``), the index into
        the unique values of every element (shaped like ``ar``; with ``axis`` 1-d along
        it, as NumPy 2.x), and each value's number of occurrences.
    axis : int, optional
        Unique sub-arrays ``ar[..., i, ...]`` along this axis, sorted lexicographically
        (elements in C order), as NumPy. The other axes are rechunked into one block;
        each block is reduced to its unique sub-arrays, then one task joins them.
    equal_nan : bool
        Treat all NaNs as one value (default, as NumPy). NumPy ignores it for ``axis``
        on n-d arrays: a sub-array holding a NaN equals no other.
    sorted : bool
        Accepted for NumPy compatibility; the result is always sorted.

    Returns
    -------
    Array or tuple of Array
        The unique values (length unknown until computed), then the requested extras in
        NumPy's order: index, inverse, counts.

    Raises
    ------
    numpy.exceptions.AxisError
        For an ``axis`` out of range (also on a 0-d array).
    TypeError, ValueError
        With ``axis``: object dtype (as NumPy), unknown chunk sizes.
    NotImplementedError
        For ``return_inverse`` with ``equal_nan=False`` on floating-point data and
        ``axis=None`` (NumPy's order of equal NaNs).
    """
    x = asarray(ar)
    if axis is not None:
        if x.ndim > 1:
            return _unique_axis(x, axis, return_index, return_inverse, return_counts)
        from numpy.lib.array_utils import normalize_axis_index
        normalize_axis_index(axis, x.ndim)  # a 1-d array: as axis=None, as NumPy
    if return_inverse and not equal_nan and x.dtype.kind in _NAN_KINDS:
        raise NotImplementedError("unique(return_inverse=True, equal_nan=False) is not "
                                  "supported for floating-point data")
    flat = x.reshape((1,)) if x.ndim == 0 else x
    per = map_blocks(_unique_block, flat, return_index, return_counts, equal_nan,
                     dtype=x.dtype, chunks=tuple((math.nan,) * n for n in flat.numblocks))
    name = new_name("unique", per.name, return_index, return_counts, equal_nan)
    agg = (name + "-agg",)
    layer = {agg: Task(agg, _unique_agg, _all_blocks(name, per), return_index,
                       return_counts, equal_nan, x.dtype)}
    fields = [("values", name, x.dtype)]
    if return_index:
        fields.append(("index", name + "-index", np.intp))
    if return_counts:
        fields.append(("counts", name + "-counts", np.intp))
    for field, out_name, _ in fields:
        layer[(out_name, 0)] = Task((out_name, 0), _field, Ref(agg), field)
    graph = layer_graph(name, MaterializedLayer(layer), dependencies=[per])
    outs = {field: Array(graph, out_name, ((math.nan,),), dtype)
            for field, out_name, dtype in fields}
    if not (return_index or return_inverse or return_counts):
        return outs["values"]
    result = [outs["values"]]
    if return_index:
        result.append(outs["index"])
    if return_inverse:
        ind = tuple(range(x.ndim))
        result.append(blockwise(_inverse_block, ind, x, ind, outs["values"], ("U",),
                                dtype=np.intp, concatenate=True))
    if return_counts:
        result.append(outs["counts"])
    return tuple(result)


def _bincount_block(block: np.ndarray, weights: Any, minlength: int) -> np.ndarray:
    return np.bincount(block, weights=weights, minlength=minlength)


def _sum_padded(parts: list, minlength: int) -> np.ndarray:
    n = max([len(p) for p in parts] + [minlength])
    out = np.zeros(n, dtype=np.result_type(*[p.dtype for p in parts]) if parts else np.intp)
    for p in parts:
        out[:len(p)] += p
    return out


@implements(np.bincount)
def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """Count occurrences of each non-negative int (``np.bincount``)."""
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError("object too deep for desired array")
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == bool):  # bools count as 0/1
        raise TypeError(f"Cannot cast array data from dtype('{x.dtype}') to dtype('int64') "
                        "according to the rule 'safe'")
    if weights is not None:
        w = asarray(weights).rechunk(x.chunks)
        # NumPy returns intp counts for an empty input even with weights.
        dtype = np.intp if x.shape[0] == 0 else np.float64
        per = blockwise(_bincount_block, "i", x, "i", w, "i", minlength, None,
                        dtype=dtype, adjust_chunks={"i": _nan})
    else:
        per = blockwise(_bincount_block, "i", x, "i", None, None, minlength, None,
                        dtype=np.intp, adjust_chunks={"i": _nan})
        dtype = np.intp
    return _single(per, "bincount", _sum_padded, minlength, chunks=((math.nan,),),
                   dtype=dtype, token_args=(minlength,))


def _nan(n: Any) -> float:
    return math.nan


@implements(np.digitize)
def digitize(x: Any, bins: Any, right: bool = False) -> Array:
    """Index of the bin of each value (``np.digitize``); ``bins`` is a NumPy array."""
    bins = np.asarray(bins)
    return elemwise(np.digitize, x, extra=(bins, right), dtype=np.intp)


def _argwhere_block(block: np.ndarray, block_info: Any = None) -> np.ndarray:
    offsets = [lo for lo, _ in block_info[0]["array-location"]] if block_info else 0
    return np.argwhere(block) + np.asarray(offsets, dtype=np.intp)


def _lexsorted(parts: list) -> np.ndarray:
    if not parts:
        return np.empty((0, 0), dtype=np.intp)
    out = np.concatenate(parts, axis=0)
    if out.shape[0] and out.shape[1] > 1:
        order = np.lexsort(out.T[::-1])
        out = out[order]
    return out


@implements(np.argwhere)
def argwhere(a: Any) -> Array:
    """Indices of non-zero elements, one row each, in C order; row count unknown."""
    a = asarray(a)
    if a.ndim == 0:  # NumPy: shape (0, 0) or (1, 0)
        return argwhere(a.reshape((1,)))[:, :0]
    ndim = a.ndim
    nb = a.numblocks

    def per_block(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        idx = _argwhere_block(block, block_info)
        return idx.reshape((idx.shape[0],) + (1,) * (ndim - 2) + (ndim,)) if ndim > 1 else idx

    if ndim == 1:
        per = map_blocks(_argwhere_1d, a, dtype=np.intp,
                         chunks=((math.nan,) * nb[0],), name=new_name("argwhere-b", a.name))
        parts_src = per
    else:
        flat = a.rechunk({i: -1 for i in range(1, ndim)})
        per = map_blocks(_argwhere_rows, flat, dtype=np.intp,
                         chunks=((math.nan,) * flat.numblocks[0],) + ((ndim,),),
                         drop_axis=tuple(range(1, ndim)), new_axis=1,
                         name=new_name("argwhere-r", a.name))
        parts_src = per
    return _single(parts_src, "argwhere", _concat_rows, ndim,
                   chunks=((math.nan,), (ndim,)), dtype=np.intp)


def _argwhere_1d(block: np.ndarray, block_info: Any = None) -> np.ndarray:
    return np.flatnonzero(block) + block_info[0]["array-location"][0][0]


def _argwhere_rows(block: np.ndarray, block_info: Any = None) -> np.ndarray:
    out = np.argwhere(block)
    out[:, 0] += block_info[0]["array-location"][0][0]
    return out


def _concat_rows(parts: list, ndim: int) -> np.ndarray:
    parts = [p.reshape(-1, ndim) if p.ndim == 1 else p for p in parts]
    return np.concatenate(parts, axis=0) if parts else np.empty((0, ndim), np.intp)


@implements(np.nonzero)
def nonzero(a: Any) -> tuple:
    """Indices of the non-zero elements, one array per axis.

    Raises
    ------
    ValueError
        For a 0-d array, as NumPy.
    """
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "np.atleast_1d(scalar).nonzero() instead.")
    idx = argwhere(a)
    return tuple(idx[:, i] for i in range(idx.shape[1]))


@implements(np.flatnonzero)
def flatnonzero(a: Any) -> Array:
    return argwhere(asarray(a).reshape(-1))[:, 0]


@implements(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Array:
    """n-th discrete difference along ``axis`` (``np.diff``)."""
    from graphengine.collections.array.joining import concatenate
    from graphengine.collections.array.shape import broadcast_to
    a = asarray(a)
    if n == 0:  # NumPy returns the input as it is (any shape; prepend/append ignored)
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    from numpy.lib.array_utils import normalize_axis_index
    axis = normalize_axis_index(axis, a.ndim)
    for extra, first in ((prepend, True), (append, False)):
        if extra is not None:
            e = asarray(extra)
            if e.ndim == 0:
                shape = list(a.shape)
                shape[axis] = 1
                e = broadcast_to(e, tuple(shape))
            a = concatenate([e, a] if first else [a, e], axis=axis)
    for _ in range(n):
        hi = [slice(None)] * a.ndim
        lo = [slice(None)] * a.ndim
        hi[axis] = slice(1, None)
        lo[axis] = slice(None, -1)
        # NumPy: booleans differ by not_equal (bool subtraction is an error)
        a = a[tuple(hi)] != a[tuple(lo)] if a.dtype == bool else a[tuple(hi)] - a[tuple(lo)]
    return a


@implements(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Array:
    from graphengine.collections.array.joining import concatenate
    # to_begin / to_end are placed around the differences (they are not differenced).
    d = diff(asarray(ary).reshape(-1))
    parts = [asarray(e).reshape(-1).astype(d.dtype) if e is not None else None
             for e in (to_begin, d, to_end)]
    parts = [p for p in parts if p is not None]
    return concatenate(parts) if len(parts) > 1 else d


def _searchsorted_block(a_block: np.ndarray, v: np.ndarray, side: str) -> np.ndarray:
    return np.searchsorted(a_block, v, side=side)[..., None]


@implements(np.searchsorted)
def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """Insertion points of ``v`` in the sorted 1-d ``a``: the sum over ``a``'s blocks of
    the points within each block (exact because ``a`` is sorted)."""
    if sorter is not None:
        raise NotImplementedError("searchsorted(sorter=...) is not supported")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    a = asarray(a)
    if a.ndim != 1:
        raise ValueError("a must be 1-d")
    v = asarray(v)
    v_ind = tuple(f"v{i}" for i in range(v.ndim))
    partial = blockwise(_searchsorted_block, v_ind + ("A",), a, ("A",), v, v_ind, side, None,
                        dtype=np.intp, adjust_chunks={"A": 1})
    return partial.sum(axis=-1, dtype=np.intp)


@implements(np.sort)
def sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
         stable: bool | None = None) -> Array:
    """Sort along ``axis``, which must be held in one block (``np.sort``).

    Parameters
    ----------
    a : array_like
    axis : int or None
        The axis to sort; None sorts the flattened array.
    kind, order, stable
        Passed to ``np.sort`` for every block: the algorithm, the field names to
        compare a structured array by, and whether equal elements keep their order.

    Raises
    ------
    ValueError
        If ``axis`` is split into several blocks (rechunk it with ``{axis: -1}`` first),
        or for NumPy's own errors (an unknown field in ``order``, ``kind`` together with
        ``stable``), which are raised when the graph is built.
    """
    a = asarray(a)
    if axis is None:
        a = a.reshape(-1)
        axis = 0
    from numpy.lib.array_utils import normalize_axis_index
    axis = normalize_axis_index(axis, a.ndim)
    # NumPy's checks of kind/order/stable, on an empty array of the same dtype.
    np.sort(np.empty((0,) * a.ndim, dtype=a.dtype), axis=axis, kind=kind, order=order,
            stable=stable)
    if len(a.chunks[axis]) != 1:
        raise ValueError(f"sort needs axis {axis} in a single block, but it has "
                         f"{len(a.chunks[axis])} blocks {a.chunks[axis]}; call "
                         f"x.rechunk({{{axis}: -1}}) first")
    return map_blocks(np.sort, a, axis=axis, kind=kind, order=order, stable=stable,
                      dtype=a.dtype)


def _isin_block(block: np.ndarray, tests: np.ndarray, assume_unique: bool, invert: bool,
                kind: str | None) -> np.ndarray:
    return np.isin(block, tests, assume_unique=assume_unique, invert=invert, kind=kind)


@implements(np.isin)
def isin(element: Any, test_elements: Any, assume_unique: bool = False,
         invert: bool = False, *, kind: str | None = None) -> Array:
    """Whether each element is in ``test_elements`` (a NumPy or graphengine array).

    ``assume_unique``, ``invert`` and ``kind`` (``None``, ``"sort"`` or ``"table"``) are
    passed to ``np.isin`` for every block.
    """
    x = asarray(element)
    tests = asarray(test_elements).reshape(-1)
    # NumPy's checks of ``kind`` (its name; "table" needs integers), before any compute.
    np.isin(np.empty(0, x.dtype), np.empty(0, tests.dtype), kind=kind)
    ind = tuple(range(x.ndim))
    return blockwise(_isin_block, ind, x, ind, tests, ("T",), assume_unique, None, invert,
                     None, kind, None, dtype=bool, concatenate=True)


def _diag_block(v: np.ndarray, k: int) -> np.ndarray:
    return np.diag(v, k)


def _zeros_block(shape: tuple, dtype: np.dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


@implements(np.diag)
def diag(v: Any, k: int = 0) -> Array:
    """Extract a diagonal (2-d input) or build a diagonal matrix (1-d input)."""
    from graphengine.collections.array.joining import pad
    v = asarray(v)
    if v.ndim == 1:
        name = new_name("diag", v.name)
        tasks = {}
        nb = v.numblocks[0]
        for i, j in itertools.product(range(nb), range(nb)):
            key = (name, i, j)
            if i == j:
                tasks[key] = Task(key, _diag_block, Ref((v.name, i)), 0)
            else:
                tasks[key] = Task(key, _zeros_block, (v.chunks[0][i], v.chunks[0][j]), v.dtype)
        graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[v])
        out = Array(graph, name, (v.chunks[0], v.chunks[0]), v.dtype)
        if k > 0:
            out = pad(out, ((0, k), (k, 0)))
        elif k < 0:
            out = pad(out, ((-k, 0), (0, -k)))
        return out
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError("Input must be 1- or 2-d.")


@implements(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    a = asarray(a)
    if (axis1, axis2) != (0, 1) or a.ndim != 2:
        raise NotImplementedError("diagonal supports 2-d arrays with axis1=0, axis2=1")
    n, m = a.shape
    rows = np.arange(max(0, -offset), min(n, m - offset)) if min(n, m - offset) > max(0, -offset) \
        else np.arange(0)
    return a.vindex[rows, rows + offset]


def _tri_block(block: np.ndarray, k: int, lower: bool, block_info: Any = None) -> np.ndarray:
    (r0, _), (c0, _) = block_info[0]["array-location"][-2:]
    rows = np.arange(r0, r0 + block.shape[-2])[:, None]
    cols = np.arange(c0, c0 + block.shape[-1])[None, :]
    keep = (cols - rows <= k) if lower else (cols - rows >= k)
    return np.where(keep, block, np.zeros(1, dtype=block.dtype))


@implements(np.tril)
def tril(m: Any, k: int = 0) -> Array:
    m = asarray(m)
    return map_blocks(_tri_block, m, k=k, lower=True, dtype=m.dtype)


@implements(np.triu)
def triu(m: Any, k: int = 0) -> Array:
    m = asarray(m)
    return map_blocks(_tri_block, m, k=k, lower=False, dtype=m.dtype)


def _matrix_rank_r(r: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.matrix_rank(r))


# histogram lives in its own module, cov and corrcoef (second moments) in moments;
# re-exported here.
from graphengine.collections.array.histograms import histogram  # noqa: E402
from graphengine.collections.array.moments import corrcoef, cov  # noqa: E402
