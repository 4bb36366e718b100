"""Arg reductions: ``argmin``, ``argmax`` and their ``nan*`` forms, as tree reductions.

Each block's partial holds its best value and that value's position inside the block,
with the block's length along the axis; joining partials turns positions into positions
in the whole array from the lengths of the blocks before them, so the result is right
also when block lengths are known only at compute (after a boolean mask).

    >>> import numpy as np, graphengine.array as ga
    >>> ga.from_array(np.array([3, 9, 1, 9]), chunks=2).argmax().compute(scheduler="sync")
    np.int64(1)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, handle_out, implements
from graphengine.collections.array.reductions import (_as_array, _reduction_doc,
                                                      normalize_axes, reduction)

__all__ = ["argmin", "argmax", "nanargmin", "nanargmax"]


# Partials hold the best value ("val"), its position relative to the start of the blocks
# they cover ("idx") and those blocks' lengths ("len"), so the combine derives each block's
# offset from the lengths of the blocks before it: no offsets are needed when the graph is
# built, and arrays of unknown chunk sizes (after boolean indexing) reduce correctly.
# Reducing all axes, "idx" and "len" carry one entry per axis in a trailing dimension.

def _isnan(v: np.ndarray) -> np.ndarray:
    return np.isnan(v) if v.dtype.kind in "fcmM" else np.zeros(v.shape, bool)


def _first_best(val: np.ndarray, ok: np.ndarray, axis: int, kind: str) -> np.ndarray:
    """Positions along ``axis`` (kept, length one) of the first best value among the
    candidates ``ok``; a NaN is best, as in NumPy's argmin/argmax."""
    pick = np.argmin if kind == "min" else np.argmax
    # Non-candidates take the value of the slice's first candidate: never strictly best.
    filler = np.take_along_axis(val, np.argmax(ok, axis=axis, keepdims=True), axis)
    work = np.where(ok, val, filler)
    pos = pick(work, axis=axis, keepdims=True)
    best = np.take_along_axis(work, pos, axis)
    same = ok & ((work == best) | (_isnan(work) & _isnan(best)))
    # The first candidate with the best value (a non-candidate before it may share it).
    return np.where(same.any(axis=axis, keepdims=True),
                    np.argmax(same, axis=axis, keepdims=True), pos)


def _arg_chunk(x: np.ndarray, axis: tuple, keepdims: bool, kind: str, nan: bool) -> dict:
    missing = None
    if nan and x.dtype.kind in "fc":  # NumPy's nanarg*: NaN as +-inf (ties: first wins)
        missing = np.isnan(x)
        x = np.where(missing, np.inf if kind == "min" else -np.inf, x)
    pick = np.argmin if kind == "min" else np.argmax
    full = len(axis) != 1
    a = 0 if full else axis[0]
    block = x.reshape(-1) if full else x  # all axes: positions in the flattened block
    shape = (1,) * x.ndim if full else tuple(1 if i == a else s for i, s in enumerate(x.shape))
    if block.shape[a] == 0:  # an empty block (unknown chunk sizes): no candidate
        local = np.zeros((1,) if full else shape, np.intp)
        val = np.zeros(shape, x.dtype)
    else:
        local = pick(block, axis=a, keepdims=True)
        val = np.take_along_axis(block, local, a).reshape(shape)
    if full:
        j = int(local[0])
        coords = np.unravel_index(j, x.shape) if block.size else (0,) * x.ndim
        out = {"idx": np.array(coords, np.int64).reshape(shape + (x.ndim,)),
               "len": np.array(x.shape, np.int64).reshape(shape + (x.ndim,))}
    else:
        out = {"idx": local.astype(np.int64), "len": np.full(shape, x.shape[a], np.int64)}
    out["val"] = val
    if missing is not None:  # nanarg*: NumPy raises for an all-NaN slice
        out["allnan"] = np.all(missing, axis=axis, keepdims=True)
    return out


def _arg_combine(p: dict, axis: tuple, keepdims: bool, kind: str, **kw: Any) -> dict:
    val, idx, lens = p["val"], p["idx"], p["len"]
    ndim = val.ndim
    if ndim == 0:  # a 0-d array is one block
        return p
    if len(axis) == 1:
        a = axis[0]
        gidx = idx + (np.cumsum(lens, axis=a) - lens)  # plus the preceding blocks' lengths
        pos = _first_best(val, lens > 0, a, kind)  # empty blocks hold no candidate
        out = {"val": np.take_along_axis(val, pos, a), "idx": np.take_along_axis(gidx, pos, a),
               "len": np.sum(lens, axis=a, keepdims=True)}
    else:
        # Global coordinates: add the lengths of the preceding blocks along every axis.
        gidx = (idx + np.stack([np.cumsum(lens[..., d], axis=d) - lens[..., d]
                                for d in range(ndim)], axis=-1)).reshape(-1, ndim)
        ok = np.all(lens > 0, axis=-1).reshape(-1)
        v = val.reshape(-1)
        best = int(_first_best(v, ok, 0, kind)[0])
        cand = np.flatnonzero(ok & ((v == v[best]) | (_isnan(v) & _isnan(v[best:best + 1]))))
        if cand.size > 1:  # ties: NumPy's first in C order has the smallest coordinates
            best = int(cand[np.lexsort(gidx[cand].T[::-1])[0]])
        ones = (1,) * ndim
        total = [np.sum(lens[..., d], axis=d).reshape(-1)[0] for d in range(ndim)]
        out = {"val": v[best:best + 1].reshape(ones),
               "idx": gidx[best].reshape(ones + (ndim,)),
               "len": np.array(total, np.int64).reshape(ones + (ndim,))}
    if "allnan" in p:
        out["allnan"] = np.all(p["allnan"], axis=axis, keepdims=True)
    return out


def _arg_agg(p: dict, axis: tuple, keepdims: bool, kind: str, **kw: Any) -> np.ndarray:
    combined = _arg_combine(p, axis, True, kind)
    if "allnan" in combined and combined["allnan"].any():
        raise ValueError("All-NaN slice encountered")
    if np.any(combined["len"] == 0):  # only reachable with unknown chunk sizes
        raise ValueError(f"attempt to get arg{kind} of an empty sequence")
    idx = combined["idx"]
    if len(axis) != 1:  # the flat index into the whole array
        shape = tuple(int(n) for n in combined["len"].reshape(-1))
        flat = np.ravel_multi_index(tuple(int(i) for i in idx.reshape(-1)), shape)
        idx = np.full((1,) * len(shape), flat, np.intp)
    if not keepdims:
        idx = idx.reshape(tuple(s for i, s in enumerate(idx.shape) if i not in axis))
    return idx.astype(np.intp, copy=False)


def _make_arg(kind: str, nan: bool):
    name = ("nanarg" if nan else "arg") + kind

    def arg(a: Any, axis: int | None = None, keepdims: bool = False,
            split_every: Any = None, out: Any = None) -> Array:
        a = _as_array(a)
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{name}: axis must be an int or None, not {axis!r}")
        axes = normalize_axes(axis, a.ndim)
        if any(a.shape[i] == 0 for i in axes):
            raise ValueError(f"attempt to get {name} of an empty sequence")
        if a.ndim == 0:
            axes = ()
        kw = {"kind": kind, "nan": nan}
        return handle_out(name, out, reduction(
            a, _arg_chunk, _arg_agg, axis=axes, keepdims=keepdims, dtype=np.intp,
            split_every=split_every, combine=_arg_combine, chunk_kwargs=kw,
            combine_kwargs={"kind": kind}, aggregate_kwargs={"kind": kind}))
    arg.__name__ = arg.__qualname__ = name
    arg.__doc__ = _reduction_doc(
        f"Index of the {kind}imum{' ignoring NaNs' if nan else ''} along ``axis`` (an int "
        f"or None: then the flat index),\n    as ``np.{name}``; also for unknown chunk "
        "sizes.", "", "ValueError\n        For an empty reduction"
        f"{', or an all-NaN slice (when computed)' if nan else ''}.", axis="None or int")
    return arg


argmin = implements(np.argmin)(_make_arg("min", False))
argmax = implements(np.argmax)(_make_arg("max", False))
nanargmin = implements(np.nanargmin)(_make_arg("min", True))
nanargmax = implements(np.nanargmax)(_make_arg("max", True))
