"""Keep BLAS and OpenMP pools from oversubscribing cores the threads scheduler already fills.

NumPy's BLAS (OpenBLAS, MKL) starts its own threads for every large product. When the
threads scheduler runs several such products at once, each asks for every core, and two
worker threads on two cores become four busy threads fighting over two: a block product
then runs ~15% slower than with one BLAS thread per worker thread. While a computation
that starts with several runnable tasks is running, this module caps those libraries at
``cores // threads in use`` (at least 1) and puts their own setting back afterwards.
A computation with a single runnable task leaves them alone, so one big product still
gets every core.

The cap is set through threadpoolctl, once per burst of overlapping computations (the
first to start sets it, the last to finish restores it), never while a task runs, so no
BLAS call sees its thread count change under it. threadpoolctl lets one Python thread at
a time own OpenBLAS's process-wide setting: a computation started from another thread
while that one lives runs uncapped (slower, never wrong).

    >>> with blas_thread_limit(parallel=4, pool_threads=2):
    ...     pass   # here, each BLAS call uses at most cores // 2 threads
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from graphengine import config

__all__ = ["blas_thread_limit", "blas_limit_for", "blas_threads_setting"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_active = 0            # computations inside blas_thread_limit right now
_limiter: Any = None   # threadpoolctl's record of the settings to restore
_controller: Any = None
_modules_seen = -1     # len(sys.modules) when _controller looked for libraries


def blas_limit_for(parallel: int, pool_threads: int, cores: int | None = None) -> int | None:
    """Threads each BLAS call may use, or None to leave the libraries alone.

    Parameters
    ----------
    parallel : int
        Tasks runnable at the start of the computation.
    pool_threads : int
        Threads of the pool running it.
    cores : int, optional
        Defaults to ``os.cpu_count()``.

    The ``blas-threads`` configuration value decides: ``"auto"`` gives ``cores`` divided
    by the threads that can be busy at once, an int is used as given, None never limits.
    """
    setting = blas_threads_setting()
    busy = min(parallel, pool_threads)
    if setting is None or busy < 2:
        return None
    if setting == "auto":
        return max(1, (cores or os.cpu_count() or 1) // busy)
    return setting


def blas_threads_setting() -> str | int | None:
    """The ``blas-threads`` configuration value: ``"auto"``, a positive int or None.

    Raises
    ------
    ValueError
        Naming the setting, for any other value.
    """
    setting = config.get("blas-threads")
    if setting is None or setting == "auto":
        return setting
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"blas-threads must be 'auto', None or a positive int, "
                         f"not {setting!r}")
    return setting


def _threadpool_controller() -> Any:
    """threadpoolctl's view of the loaded libraries, looked up again after new imports
    (an import can load another BLAS: SciPy's, MKL with PyTorch)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        from threadpoolctl import ThreadpoolController
        _modules_seen = len(sys.modules)
        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def blas_thread_limit(parallel: int, pool_threads: int) -> Iterator[None]:
    """Cap BLAS/OpenMP threads (see :func:`blas_limit_for`) for the duration of the block."""
    global _active, _limiter
    limit = blas_limit_for(parallel, pool_threads)
    if limit is None:
        yield
        return
    with _lock:
        if _active == 0:
            try:
                _limiter = _threadpool_controller().limit(limits=limit)
            except Exception:  # a library threadpoolctl cannot drive: run unlimited
                logger.debug("could not limit BLAS threads", exc_info=True)
                _limiter = None
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _limiter is not None:
                limiter, _limiter = _limiter, None
                limiter.restore_original_limits()
