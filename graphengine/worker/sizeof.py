"""How many bytes a result holds, cheaply: what a worker counts as *managed* memory and
what the scheduler weighs when it moves data.

NumPy arrays count their buffer, pandas objects their ``memory_usage`` (object columns
measured deeply on a sample of values and extrapolated), builtins and containers
recursively from a sample of their items down to a fixed depth. A type can teach it its
size with :func:`register_sizeof` or by defining ``__sizeof__``.

    >>> import numpy as np
    >>> sizeof(np.zeros(1000))
    8000
    >>> class Blob:
    ...     def __init__(self, n): self.n = n
    >>> _ = register_sizeof(Blob)(lambda b: b.n)
    >>> sizeof([Blob(10), Blob(10)]) > 20
    True
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["sizeof", "register_sizeof"]

#: Containers and object columns are measured from at most this many items, then
#: extrapolated: sizing must cost microseconds even for a list of a million strings.
_SAMPLE = 16
#: Containers nested deeper than this count only their own header (cycles end here too).
_MAX_DEPTH = 4

_registry: dict[type, Callable[[Any], int]] = {}
# type -> sizer, filled on first use of each type (subclass lookups walk the registry).
_resolved: dict[type, Callable[[Any], int] | None] = {}


def register_sizeof(type_: type) -> Callable[[Callable[[Any], int]], Callable[[Any], int]]:
    """Register ``func(obj) -> bytes`` as the size of ``type_`` and its subclasses.

    Use as a decorator::

        @register_sizeof(MyBuffer)
        def _(buf):
            return buf.capacity
    """
    def decorator(func: Callable[[Any], int]) -> Callable[[Any], int]:
        _registry[type_] = func
        _resolved.clear()
        return func
    return decorator


def _sizer_for(cls: type) -> Callable[[Any], int] | None:
    try:
        return _resolved[cls]
    except KeyError:
        pass
    found = None
    for base in cls.__mro__:
        if base in _registry:
            found = _registry[base]
            break
    _resolved[cls] = found
    return found


def sizeof(obj: Any) -> int:
    """Approximate bytes held by ``obj`` (never raises; at least a small positive number)."""
    return _sizeof(obj, 0)


_SCALARS = frozenset({str, bytes, bytearray, int, float, bool, complex, type(None)})


def _sizeof(obj: Any, depth: int) -> int:
    cls = type(obj)
    if cls in _SCALARS:  # most task results: keep them to one lookup
        return sys.getsizeof(obj)
    sizer = _sizer_for(cls)
    if sizer is not None:
        try:
            return int(sizer(obj))
        except Exception:  # a faulty sizer must not fail the task that produced obj
            return _getsizeof(obj)
    module = cls.__module__
    if module.startswith("numpy"):
        nbytes = getattr(obj, "nbytes", None)
        if isinstance(nbytes, int):
            if getattr(obj, "dtype", None) is not None and obj.dtype.hasobject:
                return nbytes + _sample_items(obj.ravel(), obj.size, depth)
            return nbytes
    if module.startswith("pandas"):
        size = _pandas_sizeof(obj, depth)
        if size is not None:
            return size
    if isinstance(obj, (list, tuple, set, frozenset)):
        if depth >= _MAX_DEPTH or not obj:
            return _getsizeof(obj)
        return _getsizeof(obj) + _sample_items(obj, len(obj), depth)
    if isinstance(obj, dict):
        if depth >= _MAX_DEPTH or not obj:
            return _getsizeof(obj)
        n = len(obj)
        items = list(obj.items())[:_SAMPLE] if n > _SAMPLE else list(obj.items())
        sample = sum(_sizeof(k, depth + 1) + _sizeof(v, depth + 1) for k, v in items)
        return _getsizeof(obj) + sample * n // len(items)
    return _getsizeof(obj)


def _sample_items(items: Any, n: int, depth: int) -> int:
    """Bytes of ``n`` items estimated from the first :data:`_SAMPLE` of them."""
    if n <= _SAMPLE:
        sample = list(items)
    else:
        try:
            sample = items[:_SAMPLE]
        except TypeError:  # sets
            sample = []
            for x in items:
                sample.append(x)
                if len(sample) == _SAMPLE:
                    break
    if not len(sample):
        return 0
    total = sum(_sizeof(x, depth + 1) for x in sample)
    return total * n // len(sample)


def _pandas_sizeof(obj: Any, depth: int) -> int | None:
    """Shallow ``memory_usage`` plus a deep measure of object columns from a sample."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a core dependency
        return None
    if isinstance(obj, pd.DataFrame):
        total = _index_sizeof(obj.index, depth)
        for _, col in obj.items():
            total += _column_sizeof(col, depth)
        return total
    if isinstance(obj, pd.Series):
        return _index_sizeof(obj.index, depth) + _column_sizeof(obj, depth)
    if isinstance(obj, pd.Index):
        return _index_sizeof(obj, depth)
    return None


def _column_sizeof(series: Any, depth: int) -> int:
    shallow = int(series.memory_usage(index=False, deep=False))
    if series.dtype == object and len(series):
        # The shallow figure counts the pointers; the strings or objects they point to
        # are what fills memory.
        return shallow + _sample_items(series.array, len(series), depth)
    return shallow


def _index_sizeof(index: Any, depth: int) -> int:
    shallow = int(index.memory_usage(deep=False))
    if index.dtype == object and len(index):
        return shallow + _sample_items(index.array, len(index), depth)
    return shallow


def _getsizeof(obj: Any) -> int:
    try:
        return sys.getsizeof(obj)
    except TypeError:
        return 64
