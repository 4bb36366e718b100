"""Where a ready task runs: restrictions first, then data locality, then occupancy.

Pure functions over :class:`~.model.WorkerState` records; no state of their own.

    >>> from graphengine.scheduler.model import TaskState, WorkerState
    >>> a, b = WorkerState("tcp://a:1", 1), WorkerState("tcp://b:1", 1)
    >>> dep, ts = TaskState("x", None, "x"), TaskState("y", None, "y")
    >>> dep.nbytes, dep.who_has = 10**8, {a}
    >>> ts.dependencies = {dep}
    >>> decide_worker(ts, holders(ts) or [a, b], bandwidth=10**8).address
    'tcp://a:1'
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from graphengine.scheduler.model import TaskState, WorkerState

__all__ = ["satisfies", "valid_workers", "holders", "decide_worker", "start_time_estimate"]


def satisfies(ts: TaskState, ws: WorkerState) -> bool:
    """True if ``ws`` meets the task's worker and resource restrictions."""
    if ts.worker_restrictions is not None and not (
            ws.address in ts.worker_restrictions or ws.name in ts.worker_restrictions):
        return False
    if ts.resource_restrictions:
        for resource, amount in ts.resource_restrictions.items():
            if ws.resources.get(resource, 0) < amount:
                return False
    return True


def valid_workers(ts: TaskState, workers: Iterable[WorkerState]) -> list[WorkerState]:
    """Running workers the task may run on; with loose restrictions, any running worker
    when none satisfies them."""
    running = [ws for ws in workers if ws.status == "running"]
    if ts.worker_restrictions is None and not ts.resource_restrictions:
        return running
    ok = [ws for ws in running if satisfies(ts, ws)]
    if not ok and ts.loose_restrictions:
        return running
    return ok


def start_time_estimate(ts: TaskState, ws: WorkerState, bandwidth: float) -> float:
    """Seconds until ``ts`` could start on ``ws``: its queue per thread plus the time to
    fetch the inputs it does not hold."""
    missing = sum(max(dep.nbytes, 0) for dep in ts.dependencies if ws not in dep.who_has)
    return ws.occupancy / ws.nthreads + missing / bandwidth


def holders(ts: TaskState) -> list[WorkerState]:
    """Running workers that hold some input of ``ts`` and meet its restrictions: where
    the task should run if any can take it."""
    found = {ws for dep in ts.dependencies for ws in dep.who_has}
    return [ws for ws in found if ws.status == "running" and satisfies(ts, ws)]


def decide_worker(ts: TaskState, candidates: Sequence[WorkerState],
                  bandwidth: float, memory_full: Collection[WorkerState] = ()
                  ) -> WorkerState | None:
    """The worker among ``candidates`` (already valid for ``ts``) that can start it first.

    Callers pass :func:`holders` first, so a task follows its large inputs, and fall back
    to every valid worker only when no holder can take it. Workers in ``memory_full``
    (spilling because their process is near its limit) are passed over while another
    candidate has headroom. Ties go to the worker with fewer tasks processing, then to
    the address (deterministic).
    """
    if not candidates:
        return None
    if memory_full and len(candidates) > 1:
        candidates = [ws for ws in candidates if ws not in memory_full] or candidates
    if len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=lambda ws: (start_time_estimate(ts, ws, bandwidth),
                                           len(ws.processing), ws.address))
