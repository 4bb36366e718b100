"""Keep BLAS and OpenMP pools from oversubscribing cores the threads scheduler already fills.

NumPy's BLAS (OpenBLAS, MKL) starts its own threads for every large product. When the
threads scheduler runs several such products at once, each asks for every core, and two
worker threads on two cores become four busy threads fighting over two: a block product
then runs ~15% slower than with one BLAS thread per worker thread. While a computation
has several tasks to run at once, this module caps those libraries at ``cores // busy
threads`` (at least 1); when only one task can run, such as the final product of two
blocks, the library gets its own setting (every core) back, and it keeps it after the
computation.

The loop asks for a new cap only at moments when none of its tasks is running, so no
BLAS call of the computation sees its thread count change under it. Overlapping
computations (from several user threads) share one cap: it is tightened by any of them,
loosened only when one runs alone, and the library's setting returns when the last one
ends. The cap goes through threadpoolctl, which lets one Python thread at a time own
OpenBLAS's process-wide setting: a computation started from another thread while that
one lives runs uncapped (slower, never wrong).

    >>> with BlasThreadCap(pool_threads=2) as cap:
    ...     cap.runnable(4)   # from here each BLAS call uses at most cores // 2 threads
    ...     cap.runnable(1)   # one task left: every core again
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from graphengine import config

__all__ = ["BlasThreadCap", "blas_limit_for", "blas_threads_setting"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_active = 0            # computations inside a BlasThreadCap right now
_limiter: Any = None   # threadpoolctl's record of the settings to restore
_current: int | None = None  # the cap in force (None: the libraries' own setting)
_controller: Any = None
_modules_seen = -1     # len(sys.modules) when _controller looked for libraries


def blas_limit_for(parallel: int, pool_threads: int, cores: int | None = None) -> int | None:
    """Threads each BLAS call may use, or None to leave the libraries alone.

    Parameters
    ----------
    parallel : int
        Tasks that can run now.
    pool_threads : int
        Threads of the pool running it.
    cores : int, optional
        Defaults to ``os.cpu_count()``.

    The ``blas-threads`` configuration value decides: ``"auto"`` gives ``cores`` divided
    by the threads that can be busy at once, an int is used as given, None never limits.
    """
    return _limit(blas_threads_setting(), min(parallel, pool_threads),
                  cores or os.cpu_count() or 1)


def _limit(setting: str | int | None, busy: int, cores: int) -> int | None:
    if setting is None or busy < 2:
        return None
    return max(1, cores // busy) if setting == "auto" else setting


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


def _apply(limit: int | None) -> None:
    """Put ``limit`` in force (None: the library's own setting). Holds ``_lock``."""
    global _limiter, _current
    if limit == _current:
        return
    try:
        if limit is None:
            _limiter.restore_original_limits()
            _limiter = None
        elif _limiter is None:
            _limiter = _threadpool_controller().limit(limits=limit)  # remembers the original
        else:
            _threadpool_controller().limit(limits=limit)
    except Exception:  # a library threadpoolctl cannot drive: run as it is
        logger.debug("could not set BLAS threads to %s", limit, exc_info=True)
        return
    _current = limit


class BlasThreadCap:
    """The BLAS cap of one computation on a pool of ``pool_threads`` threads.

    Use as a context manager around the computation and call :meth:`runnable` whenever
    none of its tasks is running, before handing out the next ones.
    """

    __slots__ = ("pool_threads", "setting", "_cores")

    def __init__(self, pool_threads: int):
        self.pool_threads = pool_threads
        self.setting = blas_threads_setting()
        self._cores = os.cpu_count() or 1

    def __enter__(self) -> "BlasThreadCap":
        global _active
        if self.setting is not None:
            with _lock:
                _active += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        if self.setting is not None:
            with _lock:
                _active -= 1
                if _active == 0:
                    _apply(None)

    def runnable(self, n: int) -> None:
        """``n`` tasks are about to start and none of this computation's is running."""
        if self.setting is None:
            return
        limit = _limit(self.setting, min(n, self.pool_threads), self._cores)
        if limit == _current:
            return
        with _lock:
            if limit is None and _active > 1:
                return  # another computation's tasks may be running with the cap
            _apply(limit)
