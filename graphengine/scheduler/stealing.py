"""Work stealing: move queued tasks from saturated workers to idle ones when it pays.

A task placed for data locality can wait behind others on a busy worker while another
worker idles. :func:`plan_steals` picks such tasks: the thief must be allowed to run the
task and fetching its inputs must cost less than the compute it takes off the victim's
queue. Stealing is a request: the victim gives the task up only if it has not started it
(see ``SchedulerState.balance`` and ``steal_response``).

    >>> from graphengine.scheduler.model import TaskState, WorkerState
    >>> busy, idle = WorkerState("tcp://a:1", 1), WorkerState("tcp://b:1", 1)
    >>> tasks = [TaskState(f"t{i}", None, "t", (0, 0, i)) for i in range(3)]
    >>> for ts in tasks:
    ...     busy.processing[ts] = 1.0
    >>> [(ts.key, v.address, t.address) for ts, v, t in plan_steals([busy, idle], 1e8, {})]
    [('t2', 'tcp://a:1', 'tcp://b:1')]
"""
from __future__ import annotations

from collections.abc import Iterable

from graphengine.scheduler.model import TaskState, WorkerState
from graphengine.scheduler.placement import satisfies

__all__ = ["plan_steals"]

#: Steal only when the compute taken off the victim is this many times the transfer time.
_WORTH = 2.0


def plan_steals(workers: Iterable[WorkerState], bandwidth: float,
                in_flight: dict) -> list[tuple[TaskState, WorkerState, WorkerState]]:
    """``(task, victim, thief)`` moves that would put idle threads to work.

    A worker is a victim when it has more tasks than threads (the excess waits in its
    queue); a thief when it has fewer. The victim's latest tasks by priority go first
    (they would start last there). At most one task per idle thread is planned per call;
    tasks already being stolen (``in_flight``) are skipped.
    """
    running = [ws for ws in workers if ws.status == "running"]
    thieves = [ws for ws in running if len(ws.processing) < ws.nthreads]
    victims = [ws for ws in running if len(ws.processing) > ws.nthreads]
    if not thieves or not victims:
        return []
    plan = []
    taken: set[TaskState] = set()
    free = {ws: ws.nthreads - len(ws.processing) for ws in thieves}
    for victim in sorted(victims, key=lambda w: -(len(w.processing) - w.nthreads)):
        excess = len(victim.processing) - victim.nthreads
        # The worker runs its queue best-priority first: the worst ones wait longest.
        queued = sorted(victim.processing, key=lambda t: t.priority, reverse=True)[:excess]
        for ts in queued:
            if ts in in_flight or ts in taken:
                continue
            compute = victim.processing[ts]
            best = None
            for thief in thieves:
                if free[thief] <= 0 or not satisfies(ts, thief):
                    continue
                missing = sum(max(d.nbytes, 0) for d in ts.dependencies
                              if thief not in d.who_has)
                transfer = missing / bandwidth
                if compute < _WORTH * transfer:
                    continue
                if best is None or transfer < best[0]:
                    best = (transfer, thief)
            if best is None:
                continue
            thief = best[1]
            free[thief] -= 1
            taken.add(ts)
            plan.append((ts, victim, thief))
            if not any(n > 0 for n in free.values()):
                return plan
    return plan
