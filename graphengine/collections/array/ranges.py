"""Ranges: ``arange`` and ``linspace``, block by block but value for value as NumPy.

Each block computes its values from their global indices with NumPy's own formula, so the
result never depends on the chunking:

* ``np.arange`` stores ``start`` and ``start + step`` in the target dtype (the dtype's
  ``setitem``: truncation for integers, rounding for floats, NumPy's errors for values
  out of range) and fills element ``i >= 2`` with ``first + i * (second - first)``
  computed in the dtype's arithmetic (float32 for float16; cumulative additions for
  object), NumPy's ``<TYPE>_fill``.
* ``np.linspace`` multiplies ``arange(num)`` by ``step`` in the inexact dtype, adds
  ``start``, stores ``stop`` last and floors for an integer dtype.

    >>> import graphengine.array as ga
    >>> ga.arange(0, 5, 1.5, dtype=int, chunks=1).compute(scheduler="sync").tolist()
    [0, 1, 2, 3]
    >>> ga.linspace(-5, 0, 4, dtype=int, chunks=1).compute(scheduler="sync").tolist()
    [-5, -4, -2, 0]
"""
from __future__ import annotations

import math
import operator
from functools import reduce
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import chunk_offsets, normalize_chunks
from graphengine.collections.array.core import Array
from graphengine.collections.array.elementwise import new_name

__all__ = ["arange", "linspace"]


class _RangeBlock:
    """Per-block: ``(first_index, stop_index)`` along a 1-d array."""

    __slots__ = ("offsets",)

    def __init__(self, chunks: tuple):
        self.offsets = chunk_offsets(chunks[0])

    def __call__(self, coords: tuple) -> tuple:
        return self.offsets[coords[0]], self.offsets[coords[0] + 1]


def _range_array(func: Any, chunks: tuple, dtype: np.dtype, name: str, extra: tuple
                 ) -> Array:
    # Imported here: creation re-exports this module, so a module-level import of
    # creation would be circular when ranges is imported first.
    from graphengine.collections.array.creation import from_block_function
    return from_block_function(func, [_RangeBlock(chunks)], chunks, dtype, name, extra=extra)


# --- arange -------------------------------------------------------------------------------

def _fill(first: np.ndarray, i0: int, i1: int) -> np.ndarray:
    """Elements ``i0:i1`` of NumPy's ``fill`` from ``first`` (the stored values 0 and 1)."""
    dtype = first.dtype
    idx = np.arange(i0, i1)
    kind = dtype.kind
    if kind in "iumM":
        # C integer arithmetic wraps: ``start + i * delta`` modulo 2**64, then truncated
        # to the dtype, is the same modulo 2**bits as NumPy's (delta wraps in the dtype).
        ints = first.view(f"i{dtype.itemsize}") if kind in "mM" else first
        delta = ints[1:2] - ints[:1]
        wide = ints[:1].astype(np.uint64) + idx.astype(np.uint64) * delta.astype(np.uint64)
        out = wide.astype(ints.dtype)
        return out.view(dtype) if kind in "mM" else out
    if kind == "f":
        calc = np.dtype(np.float32) if dtype.itemsize == 2 else dtype  # HALF_fill: float32
        s, d = first.astype(calc)
        d = d - s
        return (s + idx.astype(calc) * d).astype(dtype)
    if kind == "c":
        real = first.real.dtype
        s, d = first
        out = np.empty(len(idx), dtype)
        # Component by component, as NumPy's C<TYPE>_fill (no complex multiplication).
        out.real = s.real + idx.astype(real) * (d.real - s.real)
        out.imag = s.imag + idx.astype(real) * (d.imag - s.imag)
        return out
    # object: OBJECT_fill adds ``delta`` cumulatively from ``start + delta``.
    start, second = first
    delta = second - start
    out = np.empty(len(idx), dtype=object)
    value = start + delta
    for i in range(2, i1):
        value = value + delta
        if i >= i0:
            out[i - i0] = value
    return out


def _arange_block(bounds: tuple, first: np.ndarray, dtype: np.dtype) -> np.ndarray:
    i0, i1 = bounds
    if len(first) < 2 or i1 <= 2:
        return first[i0:i1].copy()
    out = _fill(first, max(i0, 2), i1)
    head = first[i0:2]  # the two stored values, used as they are (as NumPy does)
    return np.concatenate([head, out]) if len(head) else out


def _ceil_to_intp(value: float) -> int:
    if math.isnan(value):
        raise ValueError("arange: cannot compute length")
    n = math.ceil(value)  # OverflowError for infinities
    if not -2 ** 63 <= n < 2 ** 63:
        raise OverflowError("arange: overflow while computing length")
    return n


def _calc_length(start: Any, stop: Any, step: Any, complex_dtype: bool) -> tuple[int, Any]:
    """NumPy's ``_calc_length``: ``ceil((stop - start) / step)`` in the inputs' own
    arithmetic (for complex results the smaller of the real and imaginary lengths), and
    ``start + step`` when the length is positive."""
    span = stop - start
    value = span / step
    if complex_dtype and isinstance(value, complex):
        n = min(_ceil_to_intp(value.real), _ceil_to_intp(value.imag))
    else:
        value = float(value)
        if value == 0 and span != 0:  # underflow or division by an infinite step
            n = 0 if math.copysign(1.0, value) < 0 else 1
        else:
            n = _ceil_to_intp(value)
    return (n, start + step) if n > 0 else (0, None)


def _setitem(buf: np.ndarray, i: int, value: Any) -> None:
    """``buf[i] = value`` as the dtype's own ``setitem`` (what np.arange uses): another
    type goes through a Python int (integer dtypes: truncated, NumPy's OverflowError when
    out of range) or a Python float (float dtypes; a complex value is a TypeError)."""
    dtype = buf.dtype
    if type(value) is not dtype.type:
        if dtype.kind in "iu":
            value = int(value)
        elif dtype.kind == "f" and dtype.itemsize <= 8:
            value = float(value)
    buf[i] = value


def _arange_dtype(values: tuple) -> np.dtype:
    """NumPy's default: the inputs' types promoted together with ``intp``."""
    kinds = [np.asarray(v).dtype for v in values]
    if any(k.kind in "mM" for k in kinds):
        raise NotImplementedError("arange with datetime64/timedelta64 start, stop or step "
                                  "is not supported")
    return reduce(np.promote_types, kinds, np.dtype(np.intp))


def arange(*args: Any, chunks: Any = "auto", dtype: Any = None, like: Any = None) -> Array:
    """Evenly spaced values in ``[start, stop)``, value for value as ``np.arange``.

    Parameters
    ----------
    *args : scalars
        ``stop``, ``start, stop`` or ``start, stop, step`` (a fourth positional argument
        is ``dtype``, as in NumPy).
    chunks : int, tuple or "auto"
        Block length(s) of the result; the values do not depend on them.
    dtype : dtype, optional
        The result's dtype; by default the inputs' types promoted with the default
        integer. As NumPy, ``start`` and ``start + step`` are stored in ``dtype`` first and
        the rest follow in ``dtype`` arithmetic (``arange(0, 5, 1.5, dtype=int)`` is
        ``[0, 1, 2, 3]``).
    like : ignored
        Accepted for NumPy compatibility.

    Returns
    -------
    Array
        One-dimensional, of length ``ceil((stop - start) / step)`` (at least 0).

    Raises
    ------
    ZeroDivisionError
        If ``step`` is zero.
    TypeError
        For a boolean result longer than 2, or a dtype NumPy's arange refuses.
    OverflowError
        If ``start`` or ``start + step`` does not fit ``dtype`` (NumPy's error).

    Examples
    --------
    >>> arange(5, chunks=2).compute(scheduler="sync").tolist()
    [0, 1, 2, 3, 4]
    """
    if len(args) == 4 and dtype is None:
        *args, dtype = args
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    elif len(args) == 2:
        (start, stop), step = args, 1
    elif len(args) == 3:
        start, stop, step = args
    else:
        raise TypeError(f"arange takes 1 to 3 positional arguments, got {len(args)}")
    if step is None:
        step = 1
    if step == 0:
        raise ZeroDivisionError("arange: step must not be zero")
    dtype = _arange_dtype((start, stop, step)) if dtype is None else np.dtype(dtype)
    if dtype.kind in "USVa":
        raise TypeError(f"arange() not supported for inputs with DType {type(dtype)}.")
    if dtype.kind in "mM" and not all(isinstance(v, (int, np.integer)) for v in
                                      (start, stop, step)):
        # NumPy's datetime_arange converts each input to the unit first; only integer
        # inputs (where that conversion is the identity) are supported here.
        raise NotImplementedError("arange with a datetime64/timedelta64 dtype supports "
                                  "integer start, stop and step only")
    if dtype.kind in "mM":
        # datetime_arange works on int64 values: no int8 wrap-around, exact ceil.
        start, stop, step = int(start), int(stop), int(step)
    try:
        n, second = _calc_length(start, stop, step, dtype.kind == "c")
    except OverflowError as e:  # as NumPy, which converts any overflow in this step
        raise ValueError("Maximum allowed size exceeded") from e
    if dtype == bool and n > 2:
        raise TypeError("arange() is only supported for booleans when the result has at "
                        "most length 2.")
    # The stored first two values, through the dtype's setitem as NumPy does (so its
    # truncation and its OverflowError happen here, when the graph is built).
    first = np.empty(min(n, 2), dtype=dtype)
    if n:
        _setitem(first, 0, start)
    if n > 1:
        _setitem(first, 1, second)
    chunks = normalize_chunks(chunks, (n,), dtype=dtype)
    name = new_name("arange", start, stop, step, dtype, chunks)
    return _range_array(_arange_block, chunks, dtype, name, extra=(first, dtype))


# --- linspace -----------------------------------------------------------------------------

def _linspace_block(bounds: tuple, start: Any, stop: Any, factor: Any, divide: int | None,
                    num: int, endpoint: bool, dt: np.dtype, dtype: np.dtype,
                    integer: bool) -> np.ndarray:
    i0, i1 = bounds
    # NumPy's steps on arange(num, dtype=dt), restricted to indices i0:i1: they are all
    # elementwise, so each value is the one np.linspace computes.
    y = np.arange(i0, i1).astype(dt)
    if divide is not None:
        y /= divide  # step underflowed to 0 (denormals): divide first, then scale
        y *= factor
    else:
        y *= factor  # the step, or (no step: 0 or 1 values) the whole span
    y += start
    if endpoint and num > 1 and i1 == num and i1 > i0:
        y[-1, ...] = stop
    if integer:
        np.floor(y, out=y)
    return y.astype(dtype, copy=False)


def _linspace_operands(start: Any, stop: Any) -> tuple:
    """``start`` and ``stop`` as NumPy's ``_array_converter`` hands them to linspace:
    Python scalars become arrays only when both are Python scalars, otherwise they stay
    "weak" scalars (NEP 50) next to the NumPy value."""
    python = (int, float, complex)
    if type(start) in python and type(stop) in python:
        return np.asarray(start), np.asarray(stop)
    return tuple(v if type(v) in python else np.asarray(v) for v in (start, stop))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, *,
             chunks: Any = "auto") -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``np.linspace``.

    Parameters
    ----------
    start, stop : scalar
        The end points (array end points are not supported).
    num : int
        Number of values (any integer type; a float is a TypeError, as in NumPy).
    endpoint : bool
        Whether ``stop`` is the last value.
    retstep : bool
        Also return the spacing (a NumPy scalar of the computation dtype, or ``nan``
        when it is undefined, exactly as NumPy returns it).
    dtype : dtype, optional
        The result's dtype; an integer dtype floors the values (NumPy 2).
    axis : int
        0 or -1: the result of scalar end points has one axis.
    chunks : int, tuple or "auto", keyword-only
        Block length(s); the values do not depend on them.

    Returns
    -------
    Array, or (Array, step) with ``retstep``

    Raises
    ------
    TypeError
        If ``num`` is not an integer.
    ValueError
        If ``num`` is negative.
    numpy.exceptions.AxisError
        If ``axis`` is not 0 or -1.
    NotImplementedError
        For array ``start`` or ``stop``.
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if isinstance(start, Array) or isinstance(stop, Array) or np.ndim(start) or np.ndim(stop):
        raise NotImplementedError("linspace supports scalar start and stop only")
    # NumPy itself, with no samples: its dtype rules and its errors (dtype, axis, a
    # floor of complex values), at no cost.
    dt = np.linspace(start, stop, 0).dtype
    out_dtype = np.linspace(start, stop, 0, endpoint=endpoint, dtype=dtype, axis=axis).dtype
    integer = dtype is not None and np.issubdtype(dtype, np.integer)
    start_v, stop_v = _linspace_operands(start, stop)
    div = (num - 1) if endpoint else num
    delta = np.subtract(stop_v, start_v, dtype=type(dt))
    divide = None
    if div > 0:
        step = delta / div
        if step == 0:
            factor, divide = delta, div
        else:
            factor = step
    else:
        step = math.nan  # undefined, as NumPy's (a Python float)
        factor = delta
    chunks = normalize_chunks(chunks, (num,), dtype=out_dtype)
    name = new_name("linspace", start, stop, num, endpoint, out_dtype, chunks)
    out = _range_array(_linspace_block, chunks, out_dtype, name,
                       extra=(start_v, stop_v, factor, divide, num, endpoint, dt, out_dtype,
                              integer))
    return (out, step) if retstep else out
