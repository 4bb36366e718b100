"""Python's operators on :class:`~graphengine.collections.array.core.Array`: ``x + y``,
``x == None``, ``-x``, ``divmod(x, y)``, ``x @ y`` and (through :mod:`.inplace`) ``x += y``.

Each builds the lazy elementwise (or matmul) graph with NumPy's broadcasting and dtype
rules. An operand that is neither an array, a number nor a sequence gives
``NotImplemented``, so Python tries the other operand's method, except for ``==`` and
``!=``, which NumPy evaluates elementwise for any object.
"""
from __future__ import annotations

import operator
from numbers import Number
from typing import Any

import numpy as np

__all__ = ["install_operators", "is_operand"]


def _elementwise():
    from graphengine.collections.array import elementwise
    return elementwise


#: The Array class, set by :func:`install_operators` (core.py imports this module).
_ARRAY: type = type(None)


def _binary(op: Any, reflected: bool = False):
    def method(self, other):
        if not is_operand(other):
            return NotImplemented
        if reflected:
            return _elementwise().elemwise(op, other, self)
        return _elementwise().elemwise(op, self, other)
    return method


def is_operand(other: Any) -> bool:
    """Whether an operator or ufunc handles ``other`` (else ``NotImplemented``)."""
    return isinstance(other, (_ARRAY, np.ndarray, Number, np.generic, list, tuple))


def _compare(op: Any):
    def method(self, other):
        if is_operand(other):
            return _elementwise().elemwise(op, self, other)
        # NumPy compares with None, a str or any object elementwise; NotImplemented for
        # all of them would make Python fall back to identity (plain False / True).
        return _elementwise().object_comparison(op, self, other)
    return method


def _unary(op: Any):
    def method(self):
        return _elementwise().elemwise(op, self)
    return method


def _divmod(self, other):
    return np.divmod(self, other)


def _rdivmod(self, other):
    return np.divmod(other, self)


def _matmul(self, other):
    from graphengine.collections.array.products import matmul
    if not is_operand(other):
        return NotImplemented
    return matmul(self, other)


def _rmatmul(self, other):
    from graphengine.collections.array.products import matmul
    if not is_operand(other):
        return NotImplemented
    return matmul(other, self)


_BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "truediv": operator.truediv, "floordiv": operator.floordiv, "mod": operator.mod,
    "pow": operator.pow, "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "lshift": operator.lshift, "rshift": operator.rshift,
}
_ORDER = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs,
          "invert": operator.invert}


def install_operators(cls: type) -> None:
    """Give ``cls`` (the Array class) its arithmetic, comparison, unary, ``divmod``,
    matmul and in-place operators."""
    from graphengine.collections.array.inplace import install_inplace_operators
    global _ARRAY
    _ARRAY = cls
    for name, op in _BINARY.items():
        setattr(cls, f"__{name}__", _binary(op))
        setattr(cls, f"__r{name}__", _binary(op, reflected=True))
    for name, op in _ORDER.items():
        setattr(cls, f"__{name}__", _binary(op))
    cls.__eq__ = _compare(operator.eq)
    cls.__ne__ = _compare(operator.ne)
    cls.__hash__ = object.__hash__  # defining __eq__ must not make arrays unhashable
    for name, op in _UNARY.items():
        setattr(cls, f"__{name}__", _unary(op))
    cls.__divmod__ = _divmod
    cls.__rdivmod__ = _rdivmod
    cls.__matmul__ = _matmul
    cls.__rmatmul__ = _rmatmul
    # NumPy's same_kind casting and fixed shape for x += y and the others.
    install_inplace_operators(cls, is_operand)
