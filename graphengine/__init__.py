"""graphengine: parallel and distributed computing with lazy task graphs.

    >>> import graphengine
    >>> from graphengine import delayed
    >>> graphengine.compute(delayed(sum)([1, 2, 3]))
    (6,)
"""
from __future__ import annotations

from graphengine import config
from graphengine.collections.base import compute, persist, visualize
from graphengine.collections.delayed import Delayed, delayed
from graphengine.errors import CycleError, MissingDependencyError

__version__ = "0.1.0"

__all__ = [
    "config", "CycleError", "MissingDependencyError", "__version__",
    "delayed", "Delayed", "compute", "persist", "visualize",
]
