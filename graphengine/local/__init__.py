"""Local schedulers: run a task graph in this process (sync, threads) or in worker processes.

    >>> from graphengine.graph.spec import Task
    >>> from graphengine.local import get
    >>> get({"x": Task("x", sum, [1, 2])}, "x", scheduler="sync")
    3
"""
from __future__ import annotations

from graphengine.local.callbacks import Callback
from graphengine.local.get import get
from graphengine.local.progress import ProgressBar

__all__ = ["get", "Callback", "ProgressBar"]
