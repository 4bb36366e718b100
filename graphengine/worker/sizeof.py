"""How many bytes a result holds, cheaply: what the scheduler weighs when it moves data.

    >>> import numpy as np
    >>> sizeof(np.zeros(1000))
    8000
"""
from __future__ import annotations

import sys
from typing import Any

__all__ = ["sizeof"]

#: Containers are measured from at most this many items, then extrapolated.
_SAMPLE = 16


def sizeof(obj: Any) -> int:
    """Approximate bytes of ``obj``: buffers for NumPy and pandas, sampled containers,
    ``sys.getsizeof`` otherwise."""
    nbytes = getattr(obj, "nbytes", None)
    if isinstance(nbytes, int) and type(obj).__module__.startswith("numpy"):
        return nbytes
    module = type(obj).__module__
    if module.startswith("pandas"):
        try:
            usage = obj.memory_usage(deep=False, index=True)
            return int(usage.sum()) if hasattr(usage, "sum") else int(usage)
        except (AttributeError, TypeError):
            pass
    if isinstance(obj, (list, tuple, set, frozenset)):
        n = len(obj)
        if n == 0:
            return sys.getsizeof(obj)
        items = obj if n <= _SAMPLE else list(obj)[:_SAMPLE]
        sample = sum(sizeof(x) for x in items)
        return sys.getsizeof(obj) + sample * n // min(n, _SAMPLE)
    if isinstance(obj, dict):
        n = len(obj)
        if n == 0:
            return sys.getsizeof(obj)
        items = list(obj.items())[:_SAMPLE]
        sample = sum(sizeof(k) + sizeof(v) for k, v in items)
        return sys.getsizeof(obj) + sample * n // len(items)
    try:
        return sys.getsizeof(obj)
    except TypeError:
        return 64
