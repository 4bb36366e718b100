"""Chunked N-dimensional arrays: NumPy code on a grid of NumPy blocks, run lazily.

The public face is :mod:`graphengine.array` (``import graphengine.array as ga``); this
package holds the implementation, one concept per module: ``chunks`` (normalising
``chunks=``), ``layer`` (the lazy blockwise graph layer and its fusion), ``core`` (the
``Array`` type), ``elementwise``, ``creation``, ``random``, ``reductions``, ``scans``,
``slicing``, ``setitem``, ``shape``, ``joining``, ``rechunk``, ``linalg``, ``routines``, ``display``.

    >>> from graphengine.collections.array import ones
    >>> float(ones((10, 10), chunks=5).sum().compute(scheduler="sync"))
    100.0
"""
from __future__ import annotations

import numpy as np

from graphengine.collections.array.chunks import normalize_chunks
from graphengine.collections.array.core import Array
from graphengine.collections.array.creation import (arange, array, asanyarray, asarray, empty,
                                                    empty_like, eye, from_array, from_delayed,
                                                    from_npy_stack, fromfunction, full,
                                                    full_like, linspace, ones, ones_like,
                                                    store, to_npy_stack, zeros, zeros_like)
from graphengine.collections.array.elementwise import (allclose, astype, blockwise, clip,
                                                       elemwise, isclose, map_blocks, where)
from graphengine.collections.array.layer import Blockwise
from graphengine.collections.array.products import (dot, einsum, matmul, outer, tensordot,
                                                  vdot)
from graphengine.collections.array.overlap import map_overlap
from graphengine.collections.array.rechunk import rechunk
from graphengine.collections.array.reductions import (all, any, argmax, argmin, average,
                                                      count_nonzero, cumprod, cumsum, max,
                                                      mean, median, min, nanargmax,
                                                      nanargmin, nancumprod, nancumsum,
                                                      nanmax, nanmean, nanmedian, nanmin,
                                                      nanpercentile, nanprod, nanstd,
                                                      nansum, nanvar, percentile, prod, ptp,
                                                      quantile, reduction, std, sum, topk,
                                                      argtopk, var)
from graphengine.collections.array.routines import (argwhere, bincount, corrcoef, cov, diag,
                                                    diagonal, diff, digitize, ediff1d,
                                                    flatnonzero, histogram, isin, nonzero,
                                                    searchsorted, sort, tril, triu, unique)
from graphengine.collections.array.joining import (atleast_1d, atleast_2d, atleast_3d, block,
                                                   concatenate, dstack, hstack, pad, repeat,
                                                   stack, tile, vstack)
from graphengine.collections.array.shape import (broadcast_arrays, broadcast_to, expand_dims,
                                                 flip, fliplr, flipud, moveaxis, ravel,
                                                 reshape, roll, rollaxis, squeeze, swapaxes,
                                                 transpose)
from graphengine.collections.array import random  # noqa: F401
from graphengine.collections.array import linalg  # noqa: F401

import types as _types

# Public names: functions and classes, plus the random and linalg namespaces (the
# implementation submodules are not part of the API).
__all__ = [name for name, value in list(globals().items())
           if not name.startswith("_") and name not in ("np", "annotations")
           and (not isinstance(value, _types.ModuleType) or name in ("random", "linalg"))]


def _ufunc(uf: np.ufunc):
    # NumPy ufuncs dispatch to Array.__array_ufunc__, so the wrapper only gives the
    # ufunc a place in this namespace (ga.sin(x) is lazy for Arrays, eager for NumPy).
    def apply(*args, **kwargs):
        return uf(*args, **kwargs)
    apply.__name__ = uf.__name__
    apply.__doc__ = f"``np.{uf.__name__}`` elementwise (lazy on graphengine arrays)."
    return apply


# Every NumPy ufunc, by name (np.sin on an Array already dispatches via __array_ufunc__).
for _name in dir(np):
    _obj = getattr(np, _name)
    if isinstance(_obj, np.ufunc) and _name not in globals():
        globals()[_name] = _ufunc(_obj)
        __all__.append(_name)


def round(a, decimals: int = 0):
    """Round to ``decimals`` (``np.round``)."""
    return asarray(a).round(decimals)


around = round
__all__ += ["round", "around"]


def _register_simple() -> None:
    """NumPy functions that only read metadata or map to a method."""
    from graphengine.collections.array.core import implements

    implements(np.round, np.around)(round)
    implements(np.shape)(lambda a: asarray(a).shape)
    implements(np.ndim)(lambda a: asarray(a).ndim)
    implements(np.size)(lambda a, axis=None: asarray(a).size if axis is None
                        else asarray(a).shape[axis])
    implements(np.iscomplexobj)(lambda x: np.issubdtype(asarray(x).dtype, np.complexfloating))
    implements(np.real)(lambda val: asarray(val).real)
    implements(np.imag)(lambda val: asarray(val).imag)
    implements(np.result_type)(lambda *args: np.result_type(
        *[a.dtype if isinstance(a, Array) else a for a in args]))
    implements(np.atleast_1d)(atleast_1d)
    implements(np.atleast_2d)(atleast_2d)
    implements(np.atleast_3d)(atleast_3d)
    implements(np.ravel)(ravel)
    implements(np.nan_to_num)(lambda x, copy=True, nan=0.0, posinf=None, neginf=None:
                              elemwise(np.nan_to_num, x, nan=nan, posinf=posinf,
                                       neginf=neginf))


_register_simple()
