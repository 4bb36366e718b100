"""Adaptive scaling: grow a cluster while the scheduler has a backlog, shrink it when idle.

The decision is a pure class (:class:`AdaptiveCore`: numbers in, a target and a list of
workers to retire out); :class:`Adaptive` is the thin periodic shell that reads the
scheduler, asks the core, and tells the cluster. :class:`AdaptiveMixin` gives a cluster
``adapt()``.

    >>> core = AdaptiveCore(minimum=0, maximum=4, target_duration=1.0)
    >>> core.recommend(backlog=3.0, threads_per_worker=1, current=1, idle=[]).target
    3
    >>> [core.recommend(0.0, 1, current=2, idle=["tcp://b:1"]).retire for _ in range(3)]
    [[], [], ['tcp://b:1']]
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AdaptiveCore", "Decision", "Adaptive", "AdaptiveMixin", "backlog_seconds"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What :meth:`AdaptiveCore.recommend` wants: ``target`` workers; when shrinking,
    ``retire`` lists idle workers (addresses) that may go to get there."""

    target: int
    retire: list[str] = field(default_factory=list)


class AdaptiveCore:
    """Pure scaling policy: no clock, no I/O.

    Parameters
    ----------
    minimum, maximum : int
        Bounds on the number of workers.
    target_duration : float
        Seconds the current backlog should take: the policy asks for enough workers that
        ``backlog / (workers * threads_per_worker) <= target_duration``.
    wait_count : int
        Consecutive calls that must recommend shrinking before workers are retired, so a
        short lull between two computations does not give nodes back.
    """

    def __init__(self, minimum: int = 0, maximum: float = math.inf,
                 target_duration: float = 5.0, wait_count: int = 3):
        if minimum < 0:
            raise ValueError(f"adapt: minimum must be >= 0, got {minimum!r}")
        if maximum < minimum:
            raise ValueError(f"adapt: maximum {maximum!r} is below minimum {minimum!r}")
        if not target_duration > 0:
            raise ValueError(f"adapt: target_duration must be > 0 s, got {target_duration!r}")
        if wait_count < 1:
            raise ValueError(f"adapt: wait_count must be >= 1, got {wait_count!r}")
        self.minimum = minimum
        self.maximum = maximum
        self.target_duration = target_duration
        self.wait_count = wait_count
        self._down_votes = 0

    def recommend(self, backlog: float, threads_per_worker: int, current: int,
                  idle: Sequence[str], keep: int = 0) -> Decision:
        """The target for a backlog of ``backlog`` thread-seconds with ``current``
        workers, of which ``idle`` (addresses, least valuable first) hold no work.

        Growing happens at once; shrinking only after ``wait_count`` consecutive calls
        agree, and only by retiring idle workers (a busy one is never picked). ``keep``
        workers always stay (e.g. 1 while results are still wanted: a retiring worker
        hands its results to the others, so the last one must not go).
        """
        wanted = math.ceil(backlog / (self.target_duration * max(threads_per_worker, 1)))
        if backlog > 0:
            wanted = max(wanted, 1)  # work waiting with no worker would never finish
        wanted = max(wanted, keep)
        wanted = int(min(max(wanted, self.minimum), self.maximum))
        if wanted >= current:
            self._down_votes = 0
            return Decision(wanted)
        self._down_votes += 1
        if self._down_votes < self.wait_count:
            return Decision(current)
        self._down_votes = 0
        return Decision(wanted, list(idle[:current - wanted]))


def backlog_seconds(state: Any) -> float:
    """Thread-seconds of work the scheduler knows of: the estimated occupancy of every
    worker (measured durations per task prefix) plus the tasks waiting in the queue or
    for a worker at all, each at its prefix's estimate."""
    total = sum(ws.occupancy for ws in state.workers.values())
    waiting = [ts for _, _, ts in state.queue if ts.state == "queued"]
    waiting += list(state.unrunnable)
    return total + sum(state.duration_estimate(ts) for ts in waiting)


def idle_workers(state: Any) -> list[str]:
    """Running workers processing nothing, holding the fewest bytes first (cheapest to
    retire: the least data has to move)."""
    idle = [ws for ws in state.workers.values()
            if ws.status == "running" and not ws.processing]
    return [ws.address for ws in sorted(idle, key=lambda ws: (ws.nbytes, ws.address))]


class Adaptive:
    """Every ``interval`` seconds, scale ``cluster`` to what :class:`AdaptiveCore` says.

    The cluster provides ``scheduler`` (in-process), ``threads_per_worker``,
    ``_adaptive_current()`` (workers running or on their way), ``_adaptive_scale_up(n)``
    and ``_adaptive_scale_down(n, idle_addresses)``, all on the cluster's event loop.
    """

    def __init__(self, cluster: Any, core: AdaptiveCore, interval: float = 1.0):
        self.cluster = cluster
        self.core = core
        self.interval = interval
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start the periodic callback (call on the cluster's loop)."""
        self._task = asyncio.ensure_future(self._loop())

    def stop(self) -> None:
        """Stop checking (call on the cluster's loop); workers stay as they are."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("adaptive scaling step failed; trying again")
            await asyncio.sleep(self.interval)  # a period, not a wait for a condition

    async def step(self) -> Decision:
        """One decision, acted upon."""
        state = self.cluster.scheduler.state
        current = self.cluster._adaptive_current()
        holding = any(ts.who_wants or ts.waiters for ws in state.workers.values()
                      for ts in ws.has_what)
        decision = self.core.recommend(backlog_seconds(state),
                                       self.cluster.threads_per_worker, current,
                                       idle_workers(state), keep=1 if holding else 0)
        if decision.target < current:
            logger.info("adaptive: scaling down from %d to %d workers", current,
                        decision.target)
            await self.cluster._adaptive_scale_down(decision.target, decision.retire)
        elif decision.target > current:
            logger.info("adaptive: scaling up from %d to %d workers", current, decision.target)
            await self.cluster._adaptive_scale_up(decision.target)
        return decision


class AdaptiveMixin:
    """``adapt()`` for a cluster that runs a LoopRunner (``_runner``) or is asynchronous."""

    _adaptive: Adaptive | None = None

    def adapt(self, minimum: int = 0, maximum: float = math.inf,
              target_duration: float = 5.0, wait_count: int = 3,
              interval: float = 1.0) -> Adaptive:
        """Scale between ``minimum`` and ``maximum`` workers on the scheduler's backlog.

        Parameters
        ----------
        minimum, maximum : int
            Bounds on the number of workers.
        target_duration : float
            Seconds the backlog (estimated from measured task durations) should take
            on the cluster; more backlog asks for more workers.
        wait_count : int
            Consecutive checks that must agree before idle workers are retired
            (gracefully: their results move to other workers first).
        interval : float
            Seconds between checks.

        Returns
        -------
        Adaptive
            The running controller; ``cluster.adapt()`` again replaces it and
            ``cluster.scale(n)`` stops it.

        Examples
        --------
        >>> cluster.adapt(minimum=0, maximum=10, target_duration=2)  # doctest: +SKIP
        """
        core = AdaptiveCore(minimum, maximum, target_duration, wait_count)
        self._stop_adaptive()
        self._adaptive = Adaptive(self, core, interval)
        if getattr(self, "asynchronous", False):
            self._adaptive.start()
        else:
            self._runner.call_soon(self._adaptive.start)
        return self._adaptive

    def _stop_adaptive(self) -> None:
        adaptive, self._adaptive = self._adaptive, None
        if adaptive is None:
            return
        if getattr(self, "asynchronous", False) or self._runner is None:
            adaptive.stop()
        else:
            self._runner.call_soon(adaptive.stop)

    # Defaults for LocalCluster-shaped clusters (workers keyed by name in ``workers``).

    def _adaptive_current(self) -> int:
        return len(self.workers)

    async def _adaptive_scale_up(self, n: int) -> None:
        self.n_workers = n
        await self._scale(n)

    async def _adaptive_scale_down(self, n: int, addresses: list[str]) -> None:
        names = {ws.address: ws.name for ws in self.scheduler.state.workers.values()}
        for address in addresses:
            name = names.get(address)
            if name in self.workers:
                await self._stop_worker(name)
        self.n_workers = len(self.workers)
