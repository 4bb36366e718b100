"""The one timing rule every benchmark here follows: best of N runs, each after a GC.

    >>> best_of(3, lambda: sum(range(1000))) >= 0
    True
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["best_of"]


def best_of(repeat: int, func: Callable[[], Any]) -> float:
    """Seconds of the fastest of ``repeat`` calls of ``func`` (a collection before each:
    garbage left by one run must not be paid for by the next)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)
