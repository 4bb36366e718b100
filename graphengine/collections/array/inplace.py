"""In-place operators of :class:`~graphengine.collections.array.core.Array`: ``x += y`` ...
``x @= y``, with NumPy's rules.

NumPy writes an in-place result into the array, ``np.add(x, y, out=x,
casting="same_kind")``: the array's dtype and shape never change, and a result that cannot
be cast back (``i /= 2`` on integers) or that broadcasts to a larger shape is an error. A
graphengine Array's blocks are immutable, so the Array *object* is rebound to the new lazy
result instead (as ``x[i] = v`` does, with ``Array._become``): every name bound to it sees
the change, as with NumPy. NumPy's checks run while the graph is built, with NumPy's own
exception types, and before anything is rebound, so a failed operation changes nothing.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.arange(4, chunks=2)
    >>> y = x
    >>> x += 1
    >>> y.compute(scheduler="sync").tolist(), x.dtype
    ([1, 2, 3, 4], dtype('int64'))
    >>> try:
    ...     x /= 2
    ... except TypeError as exc:  # NumPy's own UFuncTypeError
    ...     print(exc)
    Cannot cast ufunc 'divide' output from dtype('float64') to dtype('int64') with casting ...
    >>> x.dtype
    dtype('int64')
"""
from __future__ import annotations

from collections.abc import Callable
from numbers import Number
from typing import Any

import numpy as np

from graphengine.collections.array.chunks import shape_text

__all__ = ["install_inplace_operators", "inplace_ufunc", "inplace_matmul"]

#: Python's in-place operator names and the ufunc NumPy's ndarray runs for each.
INPLACE_UFUNCS: dict[str, np.ufunc] = {  # (matmul is separate: it is no elementwise op)
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift,
}

_MATMUL_SIGNATURE = "(n?,k),(k,m?)->(n?,m?)"


def _same_shape(a: tuple, b: tuple) -> bool:
    # An unknown length (nan, after boolean indexing) cannot be shown to differ.
    return len(a) == len(b) and all(m == n or m != m or n != n for m, n in zip(a, b))


def _as_numpy_like(other: Any) -> Any:
    """Lists and tuples as the NumPy array the ufunc would make of them."""
    return np.asarray(other) if isinstance(other, (list, tuple)) else other


def _check_cast(ufunc: np.ufunc, x: Any, other: Any, shape: tuple) -> None:
    """Run ``ufunc`` on stand-ins of ``shape`` with ``out=`` of ``x``'s dtype and
    ``casting="same_kind"``: NumPy raises its own error (UFuncTypeError, OverflowError for
    an out-of-range Python int...) exactly when the real in-place operation would.

    Elementwise (``shape == ()``), scalars stay as they are, since NumPy's promotion
    depends on them (a Python float is weak: float32 ``+= 1.5`` stays float32 but int8
    ``+= 1.5`` fails); arrays are stood in for by ones of their dtype.
    """
    if not shape and isinstance(other, (Number, np.generic)):
        sample = other
    else:
        dtype = getattr(other, "dtype", None)  # never np.asarray a lazy Array
        sample = np.ones(shape, dtype=np.asarray(other).dtype if dtype is None else dtype)
    with np.errstate(all="ignore"):
        ufunc(np.ones(shape, x.dtype), sample, out=np.ones(shape, x.dtype),
              casting="same_kind")


def _rebind(x: Any, result: Any) -> Any:
    # The checks passed, so the cast back to x's dtype is a same_kind one, as NumPy's.
    if result.dtype != x.dtype:
        result = result.astype(x.dtype)
    x._become(result)
    return x


def inplace_ufunc(ufunc: np.ufunc, x: Any, other: Any) -> Any:
    """``x <op>= other``: rebind the Array ``x`` to ``ufunc(x, other)`` in ``x``'s dtype.

    Parameters
    ----------
    ufunc : numpy.ufunc
        A binary elementwise ufunc (``np.add`` for ``+=``...).
    x : Array
        The array to update; its dtype and shape are kept.
    other : Array, ndarray, list, tuple or scalar

    Returns
    -------
    Array
        ``x`` itself, now computing the result.

    Raises
    ------
    TypeError
        NumPy's UFuncTypeError, if the result's dtype cannot be cast to ``x``'s with
        ``casting="same_kind"``.
    ValueError
        If the operands do not broadcast, or broadcast to a shape other than ``x``'s
        (NumPy's "non-broadcastable output operand" message).
    """
    from graphengine.collections.array.elementwise import broadcast_shapes, elemwise
    other = _as_numpy_like(other)
    _check_cast(ufunc, x, other, ())  # NumPy resolves the loop before the shapes
    shape = broadcast_shapes(x.shape, getattr(other, "shape", ()), x.shape)
    if not _same_shape(shape, x.shape):
        raise ValueError(f"non-broadcastable output operand with shape "
                         f"{shape_text(x.shape)} doesn't match the broadcast shape "
                         f"{shape_text(shape)}")
    return _rebind(x, elemwise(ufunc, x, other))


def inplace_matmul(x: Any, other: Any) -> Any:
    """``x @= other``: rebind the Array ``x`` to ``x @ other`` in ``x``'s dtype and shape.

    Parameters
    ----------
    x : Array
        At least 1-d; its dtype and shape are kept.
    other : Array, ndarray, list or tuple
        At least 2-d, with as many columns as ``x`` has (a square matrix for 2-d ``x``).

    Returns
    -------
    Array
        ``x`` itself, now computing the product.

    Raises
    ------
    TypeError
        NumPy's UFuncTypeError, if the product's dtype cannot be cast to ``x``'s with
        ``casting="same_kind"``.
    ValueError
        For too few dimensions, mismatched core dimensions or a product of another shape
        than ``x``'s, with NumPy's messages.
    """
    from graphengine.collections.array.products import matmul
    other = _as_numpy_like(other)
    _check_cast(np.matmul, x, other, (1, 1))  # NumPy checks the cast first
    if x.ndim == 0:
        raise ValueError(f"matmul: Input operand 0 does not have enough dimensions (has 0, "
                         f"gufunc core with signature {_MATMUL_SIGNATURE} requires 1)")
    other_ndim = getattr(other, "ndim", 0)  # a Python scalar has none
    if other_ndim == 0:
        raise ValueError(f"matmul: Input operand 1 does not have enough dimensions (has 0, "
                         f"gufunc core with signature {_MATMUL_SIGNATURE} requires 1)")
    if other_ndim < 2:
        raise ValueError("inplace matrix multiplication requires the first operand to have "
                         "at least one and the second at least two dimensions.")
    result = matmul(x, other)
    if not _same_shape(result.shape, x.shape):
        if not _same_shape(result.shape[-1:], x.shape[-1:]):
            raise ValueError(f"matmul: Output operand 0 has a mismatch in its core dimension "
                             f"{min(x.ndim, 2) - 1}, with gufunc signature "
                             f"{_MATMUL_SIGNATURE} (size {x.shape[-1]} is different from "
                             f"{result.shape[-1]})")
        raise ValueError(f"non-broadcastable output operand with shape "
                         f"{shape_text(x.shape)} doesn't match the broadcast shape "
                         f"{shape_text(result.shape)}")
    return _rebind(x, result)


def _method(name: str, ufunc: np.ufunc | None, operand_ok: Callable[[Any], bool]):
    def method(self, other):
        if not operand_ok(other):
            # None, a str...: NumPy's checks on them (``x += None`` on floats is a
            # UFuncTypeError). A Delayed, a DataFrame... get NotImplemented, so Python
            # falls back to ``x = x <op> other`` and their reflected operator.
            from graphengine.collections.array.elementwise import object_operand
            other = object_operand(other)
            if other is NotImplemented:
                return NotImplemented
        if ufunc is None:
            return inplace_matmul(self, other)
        return inplace_ufunc(ufunc, self, other)
    method.__name__ = f"__i{name}__"
    method.__doc__ = (f"In-place ``{name}`` (NumPy's ``out=x, casting='same_kind'``): "
                      f"``x`` is rebound to the result; see :mod:`{__name__}`.")
    return method


def install_inplace_operators(cls: type, operand_ok: Callable[[Any], bool]) -> None:
    """Attach ``__iadd__`` ... ``__irshift__`` and ``__imatmul__`` to ``cls`` (the Array
    class; passed in because this module is imported while ``core`` is being loaded)."""
    for name, ufunc in INPLACE_UFUNCS.items():
        setattr(cls, f"__i{name}__", _method(name, ufunc, operand_ok))
    setattr(cls, "__imatmul__", _method("matmul", None, operand_ok))
