"""The threads scheduler (the default): tasks run on a pool of threads in this process.

NumPy and pandas release the GIL in their heavy loops, so threads give real parallelism
for array and dataframe work without copying data between processes.

    >>> from graphengine.graph.spec import Task
    >>> get_threads({"x": Task("x", sum, [1, 2])}, "x")
    3
"""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Mapping
from typing import Any

from graphengine.graph.spec import Key
from graphengine.local.batch import run_batch
from graphengine.local.blas_threads import BlasThreadCap

__all__ = ["ThreadPool", "get_threads", "default_thread_pool", "in_pool_thread"]

_local = threading.local()


def in_pool_thread() -> bool:
    """True inside a task running on a graphengine thread pool."""
    return getattr(_local, "in_pool", False)


#: Seconds between checks for a pending Ctrl-C while waiting on results.
_INTERRUPT_POLL = 0.1


class ThreadPool:
    """A fixed set of daemon threads taking batches from one queue.

    The threads live as long as the pool (the default pool lives as long as the process),
    so a computation pays no thread start-up. Results go back on a queue that belongs to
    the computation, so concurrent computations can share one pool.
    """

    def __init__(self, nworkers: int | None = None):
        self.nworkers = nworkers or os.cpu_count() or 1
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = []
        self._closed = False
        self.abandoned = False
        for i in range(self.nworkers):
            t = threading.Thread(target=self._worker, name=f"graphengine-thread-{i}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _worker(self) -> None:
        _local.in_pool = True
        get = self._work.get
        while True:
            item = get()
            if item is None:
                return
            batch, data, computation = item
            results = computation.results
            outcome = run_batch(batch, data, computation)
            # An idle thread must not keep the last computation's results alive.
            del item, batch, data, computation
            results.put(outcome)
            del outcome, results

    def blas_cap(self) -> BlasThreadCap:
        """The BLAS thread cap of one computation on this pool (see
        :mod:`graphengine.local.blas_threads`)."""
        return BlasThreadCap(self.nworkers)

    def submit(self, batch: list, data: Mapping, computation: Any) -> None:
        if computation.results is None:
            computation.results = queue.SimpleQueue()
        self._work.put((batch, data, computation))

    def wait(self, computation: Any) -> list:
        results = computation.results
        # Wake up now and then: the kernel may deliver SIGINT to a pool thread, and
        # the main thread runs Python's handler only once it is back in bytecode; a
        # wait with no timeout would sit out the longest running task first.
        while True:
            try:
                out = [results.get(timeout=_INTERRUPT_POLL)]
                break
            except queue.Empty:
                continue
        # Take whatever else has finished too: one wake-up, many results.
        while not results.empty():
            out.append(results.get())
        return out

    def abandon(self) -> None:
        """Leave this pool to its running tasks: later computations get fresh threads
        instead of queueing behind them (these finish their task, then idle)."""
        self.abandoned = True

    def close(self) -> None:
        """Stop the threads once they finish their current batch."""
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._work.put(None)

    def __enter__(self) -> "ThreadPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default_pools: dict[int, ThreadPool] = {}
_default_lock = threading.Lock()


def default_thread_pool(nworkers: int | None = None) -> ThreadPool:
    """The process-wide pool with ``nworkers`` threads (created on first use)."""
    n = nworkers or os.cpu_count() or 1
    with _default_lock:
        pool = _default_pools.get(n)
        if pool is None or pool.abandoned:
            pool = _default_pools[n] = ThreadPool(n)
        return pool


def get_threads(graph: Mapping[Key, Any], keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` (a key, or nested lists of keys) of ``graph`` on the thread pool."""
    from graphengine.local.get import get
    return get(graph, keys, scheduler="threads", **kwargs)
