"""What a worker tells the scheduler about its own activity, beyond task results.

:class:`WorkerActivity` collects task-stream records of transfers and spills, numbers the
task threads (one row per thread on the dashboard's task stream) and runs the
statistical profiler over them. The worker's server sends what was collected every
``worker.activity-interval`` seconds, or at once when the scheduler asks (``flush``).
Compute records travel with each ``task-finished`` message instead, so a task's
rectangle is at the scheduler before its result is announced.
"""
from __future__ import annotations

import heapq
import threading
import time
from typing import Any, Hashable

from graphengine import config
from graphengine.graph.spec import key_prefix
from graphengine.worker import profile

__all__ = ["WorkerActivity"]


class WorkerActivity:
    """Thread numbering, transfer/spill records and the stack profiler of one worker.

    Parameters
    ----------
    address : str
        The worker's address (records name it).
    profile_interval : float or None
        Seconds between stack samples; ``None``: config ``worker.profile.interval``;
        ``0``: no profiling.
    """

    def __init__(self, address: str, profile_interval: float | None = None):
        self.address = address
        self._lock = threading.Lock()
        #: task-stream rows free for the next task (lowest first), and rows ever used
        self._free_rows: list[int] = []
        self._rows = 0
        self._records: list[tuple] = []
        if profile_interval is None:
            profile_interval = (config.get("worker.profile.interval")
                                if config.get("worker.profile.enabled") else 0)
        self.profiler: profile.StackSampler | None = None
        if profile_interval:
            self.profiler = profile.StackSampler(
                interval=profile_interval, bucket=config.get("worker.profile.cycle"),
                stop=profile.stop_at_function("_run_task"))

    def start(self) -> None:
        if self.profiler is not None:
            self.profiler.start()

    def stop(self) -> None:
        if self.profiler is not None:
            self.profiler.stop()

    def task_started(self, key: Hashable) -> tuple[int, float]:
        """Called in the task thread; ``(row, wall-clock start)``.

        The row is the lowest one no running task holds: the executor may cycle through
        many threads, but the task stream shows one row per task slot (``nthreads`` of
        them, more while tasks have seceded).
        """
        if self.profiler is not None:
            self.profiler.watch(threading.get_ident(), key_prefix(key))
        with self._lock:
            if self._free_rows:
                row = heapq.heappop(self._free_rows)
            else:
                row = self._rows
                self._rows += 1
        return row, time.time()

    def task_stopped(self, row: int) -> float:
        """Called in the task thread when the task of ``row`` ended; the wall clock."""
        stop = time.time()
        if self.profiler is not None:
            self.profiler.unwatch(threading.get_ident())
        with self._lock:
            heapq.heappush(self._free_rows, row)
        return stop

    def record(self, action: str, key: Hashable, nbytes: int, start: float, stop: float,
               source: str | None = None) -> None:
        """A transfer or spill rectangle (any thread)."""
        with self._lock:
            self._records.append((start, stop, action, key, key_prefix(key), self.address,
                                  -1, nbytes, source))

    def on_disk_io(self, action: str, key: Hashable, nbytes: int, start: float,
                   stop: float) -> None:
        """The spill store's hook."""
        self.record(action, key, nbytes, start, stop)

    def take(self) -> dict[str, Any] | None:
        """The message with everything collected since the last call, or None."""
        with self._lock:
            records, self._records = self._records, []
        buckets = self.profiler.take() if self.profiler is not None else []
        if not records and not buckets:
            return None
        return {"op": "worker-activity", "records": records,
                "profile": [(t, prefix, profile.flatten(tree)) for t, prefix, tree in buckets]}
