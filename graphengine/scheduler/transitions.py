"""The task state machine of the scheduler: which moves are allowed and what each does.

:class:`TransitionEngine` owns the task, worker and client records and moves tasks
between states (``released → waiting → queued/processing → memory → released →
forgotten``, plus ``no-worker`` and ``erred``). It has no sockets, clock or randomness:
each move returns *recommendations* (further moves) and writes messages into an
:class:`~.model.Outbox`. :class:`~.state.SchedulerState` adds the events (a worker
joined, a task finished…) on top.

The allowed moves are all in :data:`ALLOWED`; anything else raises
:class:`InvalidTransition` with the key's story (its recent moves and their causes).
"""
from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from typing import Any, Hashable

from graphengine.errors import LostDataError
from graphengine.scheduler.model import (EMPTY, ClientState, Outbox, TaskState, WorkerState,
                                         with_item)
from graphengine.scheduler.placement import decide_worker, holders, valid_workers
from graphengine.scheduler.progress import PrefixProgress

__all__ = ["TransitionEngine", "InvalidTransition", "ALLOWED"]

logger = logging.getLogger(__name__)

#: Every move a task may make. ``processing`` is asked for as one target and resolves to
#: ``queued`` (a root task and no thread free) or ``no-worker`` (nobody may run it).
ALLOWED = frozenset({
    ("released", "waiting"), ("released", "forgotten"), ("released", "erred"),
    ("released", "memory"),  # data placed on a worker directly (scatter)
    ("waiting", "processing"), ("waiting", "queued"), ("waiting", "no-worker"),
    ("waiting", "released"), ("waiting", "erred"),
    ("queued", "processing"), ("queued", "released"), ("queued", "erred"),
    ("no-worker", "processing"), ("no-worker", "released"), ("no-worker", "erred"),
    ("processing", "memory"), ("processing", "released"), ("processing", "erred"),
    ("memory", "released"),
    ("erred", "released"), ("erred", "forgotten"),
})

#: States in which a task still needs its dependencies' results.
_NEEDS_INPUTS = frozenset({"waiting", "queued", "no-worker", "processing"})


class InvalidTransition(RuntimeError):
    """A move not in :data:`ALLOWED`; carries the key's story for debugging."""

    def __init__(self, key: Hashable, start: str, finish: str, story: list):
        self.key, self.start, self.finish, self.story = key, start, finish, story
        lines = "\n".join(f"  {entry}" for entry in story[-10:])
        super().__init__(f"task {key!r} cannot move from {start!r} to {finish!r}; "
                         f"its last moves:\n{lines}")


class TransitionEngine:
    """Task, worker and client records plus the transitions between task states.

    Parameters
    ----------
    allowed_failures : int
        A task that was processing on this many workers that died errs with
        :class:`~graphengine.errors.KilledWorker` instead of being retried again.
    saturation : float
        Root tasks (no dependencies) go to a worker only while it processes fewer than
        ``ceil(nthreads * saturation) + lookahead``; the rest wait in the queue. ``inf``
        disables queuing.
    lookahead : int
        Root tasks a worker holds beyond its share of threads, so that the next one is
        already there while the scheduler hears of a finished one and answers.
    bandwidth : float
        Bytes per second assumed between workers, to weigh moving data against waiting.
    unknown_duration : float
        Seconds assumed for a task whose prefix has never run.
    log_length : int
        How many moves the transition log (``story``) keeps.
    """

    def __init__(self, *, allowed_failures: int = 3, saturation: float = 1.1,
                 lookahead: int = 0, bandwidth: float = 100e6, unknown_duration: float = 0.5,
                 log_length: int = 100_000):
        if allowed_failures < 1:
            raise ValueError(f"allowed_failures must be >= 1, got {allowed_failures!r}")
        if isinstance(saturation, bool) or not isinstance(saturation, (int, float)):
            raise TypeError(f"saturation must be a number (inf disables queuing), got "
                            f"{saturation!r}")
        if not saturation > 0:
            raise ValueError(f"saturation must be > 0 (inf disables queuing), got {saturation!r}")
        if isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 0:
            raise ValueError(f"lookahead must be an int >= 0, got {lookahead!r}")
        self.allowed_failures = allowed_failures
        self.saturation = saturation
        self.lookahead = lookahead
        self.bandwidth = bandwidth
        self.unknown_duration = unknown_duration
        self.tasks: dict[Hashable, TaskState] = {}
        self.workers: dict[str, WorkerState] = {}
        self.clients: dict[str, ClientState] = {}
        #: running workers with a free root-task slot
        self.idle: dict[str, WorkerState] = {}
        #: workers that reported their process past its spill threshold: tasks that may
        #: run elsewhere go elsewhere (placement keeps them only when all are full)
        self.memory_full: set[WorkerState] = set()
        #: heap of (priority, seq, task) for queued root tasks; stale entries are skipped
        self.queue: list[tuple[tuple, int, TaskState]] = []
        self.unrunnable: set[TaskState] = set()
        #: task prefix -> average measured duration in seconds
        self.durations: dict[str, float] = {}
        self.log: deque[tuple[Hashable, str, str, str]] = deque(maxlen=log_length)
        #: steals asked for and not answered yet: task -> (victim, thief)
        self.stealing: dict[TaskState, tuple[WorkerState, WorkerState]] = {}
        #: tasks per prefix and state, for progress bars
        self.progress = PrefixProgress()
        self._seq = itertools.count()
        self._leave = {
            "released": _nothing, "waiting": _nothing, "queued": _nothing,
            "no-worker": self._leave_no_worker, "processing": self._leave_processing,
            "memory": self._leave_memory, "erred": self._leave_erred,
        }
        self._enter = {
            "waiting": self._enter_waiting, "processing": self._enter_processing,
            "queued": self._enter_queued, "no-worker": self._enter_no_worker,
            "memory": self._enter_memory, "released": self._enter_released,
            "erred": self._enter_erred, "forgotten": self._enter_forgotten,
        }

    # --- driving moves ----------------------------------------------------------------

    def transitions(self, recommendations: dict[TaskState, str], stimulus_id: str,
                    out: Outbox) -> None:
        """Apply ``recommendations`` and every move they lead to, until none is left."""
        recs = recommendations
        while recs:
            ts, finish = recs.popitem()
            recs.update(self.transition(ts, finish, stimulus_id, out))
        # Whatever moved may have freed a slot: hand out queued root tasks.
        self.fill_idle_workers(stimulus_id, out)

    def transition(self, ts: TaskState, finish: str, stimulus_id: str, out: Outbox,
                   **kwargs: Any) -> dict[TaskState, str]:
        """One move of one task; returns the moves it recommends next."""
        start = ts.state
        if start == finish or start == "forgotten":
            return {}
        ws = None
        if finish == "processing":
            ws, finish = self._placement(ts)
            if start == finish:
                return {}
        if (start, finish) not in ALLOWED:
            raise InvalidTransition(ts.key, start, finish, self.story(ts.key))
        if start == "memory" and finish == "released" and ts.who_has and (
                ts.waiters or ts.who_wants):
            return {}  # a stale "no longer needed": something asked for it since
        if start == "processing" and finish == "released" \
                and ts.processing_on.address in self.workers:
            out.to_worker(ts.processing_on.address, {"op": "cancel-compute", "key": ts.key,
                                                     "stimulus_id": stimulus_id})
        self._leave[start](ts, out, stimulus_id)
        self.log.append((ts.key, start, finish, stimulus_id))
        self.progress.moved(ts, finish)
        if ws is not None:
            kwargs["worker"] = ws
        return self._enter[finish](ts, out, stimulus_id, **kwargs)

    def story(self, *keys: Hashable) -> list[tuple[Hashable, str, str, str]]:
        """Recorded moves ``(key, start, finish, stimulus_id)`` of these keys, oldest first."""
        wanted = set(keys)
        return [entry for entry in self.log if entry[0] in wanted]

    # --- placement --------------------------------------------------------------------

    def _placement(self, ts: TaskState) -> tuple[WorkerState | None, str]:
        if self._queueable(ts):
            # Root tasks always pass through the queue, which hands them out in
            # priority order as slots free up (fill_idle_workers).
            if ts.state != "queued":
                return None, "queued"
            ws = self._idle_worker()
            return (ws, "processing") if ws is not None else (None, "queued")
        ws = self.decide_worker(ts)
        return (ws, "processing") if ws is not None else (None, "no-worker")

    def decide_worker(self, ts: TaskState) -> WorkerState | None:
        """Where ``ts`` should run now: a holder of its inputs if one can take it and
        has memory headroom, else the best valid worker (see :mod:`.placement`)."""
        candidates = holders(ts)
        if not candidates or (self.memory_full
                              and all(ws in self.memory_full for ws in candidates)):
            # Following the inputs onto full workers only adds to their memory: any
            # worker with headroom is worth the transfer.
            candidates = valid_workers(ts, self.workers.values())
        return decide_worker(ts, candidates, self.bandwidth, self.memory_full)

    def _queueable(self, ts: TaskState) -> bool:
        return (ts.is_root and self.saturation != float("inf")
                and ts.worker_restrictions is None and not ts.resource_restrictions)

    def _idle_worker(self) -> WorkerState | None:
        """A worker with a free slot, round-robin: O(1) however many workers there are,
        and successive root tasks spread over the idle workers instead of piling up."""
        if not self.idle:
            return None
        address, ws = next(iter(self.idle.items()))
        del self.idle[address]
        self.idle[address] = ws  # to the back of the line
        return ws

    def update_idle(self, ws: WorkerState) -> None:
        """Keep :attr:`idle` exact for ``ws`` after its processing set or status changed."""
        if ws.status == "running" and ws.free_slots(self.saturation, self.lookahead) > 0 \
                and ws.address in self.workers:
            self.idle[ws.address] = ws
        else:
            self.idle.pop(ws.address, None)

    def fill_idle_workers(self, stimulus_id: str, out: Outbox) -> None:
        """Hand queued root tasks to workers with free slots, best priority first."""
        while self.queue and self.idle:
            _, _, ts = self.queue[0]
            if ts.state != "queued":
                heapq.heappop(self.queue)
                continue
            recs = self.transition(ts, "processing", stimulus_id, out)
            if ts.state == "queued":  # no slot after all
                break
            heapq.heappop(self.queue)
            while recs:  # entering processing recommends nothing today; stay general
                other, finish = recs.popitem()
                recs.update(self.transition(other, finish, stimulus_id, out))

    def duration_estimate(self, ts: TaskState) -> float:
        return self.durations.get(ts.prefix, self.unknown_duration)

    def record_duration(self, prefix: str, seconds: float) -> None:
        old = self.durations.get(prefix)
        self.durations[prefix] = seconds if old is None else 0.5 * old + 0.5 * seconds

    # --- leaving a state --------------------------------------------------------------

    def _leave_no_worker(self, ts: TaskState, out: Outbox, stimulus_id: str) -> None:
        self.unrunnable.discard(ts)

    def _leave_processing(self, ts: TaskState, out: Outbox, stimulus_id: str) -> None:
        ws = ts.processing_on
        assert ws is not None
        ws.occupancy -= ws.processing.pop(ts)
        if not ws.processing:
            ws.occupancy = 0.0  # no drift from float sums
        ts.processing_on = None
        self.update_idle(ws)

    def _leave_memory(self, ts: TaskState, out: Outbox, stimulus_id: str) -> None:
        for ws in ts.who_has:
            ws.has_what.discard(ts)
            ws.nbytes -= max(ts.nbytes, 0)
            out.to_worker(ws.address, {"op": "free-keys", "keys": [ts.key],
                                       "stimulus_id": stimulus_id})
        ts.who_has = EMPTY

    def _leave_erred(self, ts: TaskState, out: Outbox, stimulus_id: str) -> None:
        ts.exception = ts.traceback = ts.exception_blame = None

    # --- entering a state -------------------------------------------------------------

    def _enter_waiting(self, ts: TaskState, out: Outbox, stimulus_id: str) -> dict:
        recs: dict[TaskState, str] = {}
        ts.state = "waiting"
        if ts.run_spec is None:
            # Data that was scattered or whose task is unknown here cannot be recomputed.
            ts.exception, ts.exception_blame = LostDataError(ts.key), ts
            return {ts: "erred"}
        for dep in ts.dependencies:
            if dep.state == "erred":
                ts.exception_blame = dep.exception_blame or dep
                return {ts: "erred"}
        for dep in ts.dependencies:
            dep.waiters = with_item(dep.waiters, ts)
            if dep.state != "memory":
                ts.waiting_on = with_item(ts.waiting_on, dep)
                if dep.state == "released":
                    recs[dep] = "waiting"
        if not ts.waiting_on:
            recs[ts] = "processing"
        return recs

    def _enter_processing(self, ts: TaskState, out: Outbox, stimulus_id: str,
                          worker: WorkerState) -> dict:
        ts.state = "processing"
        ts.waiting_on = EMPTY
        ts.processing_on = worker
        estimate = self.duration_estimate(ts)
        worker.processing[ts] = estimate
        worker.occupancy += estimate
        self.update_idle(worker)
        out.to_worker(worker.address, {
            "op": "compute-task",
            "key": ts.key,
            "run_spec": ts.run_spec,
            "priority": ts.priority,
            "who_has": {dep.key: [w.address for w in dep.who_has] for dep in ts.dependencies},
            "nbytes": {dep.key: dep.nbytes for dep in ts.dependencies},
            # A loosely restricted task placed on a worker without the resources must
            # not wait there for resources that will never come.
            "resources": ts.resource_restrictions if _has_resources(worker, ts) else None,
            "stimulus_id": stimulus_id,
        })
        return {}

    def _enter_queued(self, ts: TaskState, out: Outbox, stimulus_id: str) -> dict:
        ts.state = "queued"
        ts.waiting_on = EMPTY
        heapq.heappush(self.queue, (ts.priority, next(self._seq), ts))
        return {}

    def _enter_no_worker(self, ts: TaskState, out: Outbox, stimulus_id: str) -> dict:
        ts.state = "no-worker"
        ts.waiting_on = EMPTY
        self.unrunnable.add(ts)
        return {}

    def _enter_memory(self, ts: TaskState, out: Outbox, stimulus_id: str,
                      worker: WorkerState, nbytes: int) -> dict:
        recs: dict[TaskState, str] = {}
        ts.state = "memory"
        ts.nbytes = nbytes
        ts.suspicious = 0
        ts.who_has = with_item(ts.who_has, worker)
        worker.has_what.add(ts)
        worker.nbytes += max(nbytes, 0)
        for dts in ts.dependents:
            if ts in dts.waiting_on:
                if dts.waiting_on:
                    dts.waiting_on.discard(ts)
                if not dts.waiting_on and dts.state == "waiting":
                    recs[dts] = "processing"
        self._stop_waiting_on_inputs(ts, recs)
        if ts.who_wants:
            out.to_clients(ts.who_wants, {"op": "key-in-memory", "key": ts.key,
                                          "nbytes": nbytes})
        elif not ts.waiters:
            recs[ts] = "released"
        return recs

    def _enter_released(self, ts: TaskState, out: Outbox, stimulus_id: str) -> dict:
        recs: dict[TaskState, str] = {}
        if ts.who_wants:
            # A wanted key is released only when its data or its worker was lost: its
            # futures are pending again until the recomputation lands.
            out.to_clients(ts.who_wants, {"op": "lost-data", "key": ts.key})
        ts.state = "released"
        ts.waiting_on = EMPTY
        for dts in ts.dependents:
            if dts.state == "waiting":
                dts.waiting_on = with_item(dts.waiting_on, ts)
            elif dts.state in ("processing", "queued", "no-worker"):
                recs[dts] = "released"  # its input is gone: wait for it again
        if ts.who_wants or ts.waiters:
            recs[ts] = "waiting"  # keeps its inputs: it is about to need them again
        else:
            self._stop_waiting_on_inputs(ts, recs)
            if not ts.dependents:
                recs[ts] = "forgotten"
        return recs

    def _enter_erred(self, ts: TaskState, out: Outbox, stimulus_id: str,
                     exception: Any = None, traceback: Any = None) -> dict:
        recs: dict[TaskState, str] = {}
        ts.state = "erred"
        ts.waiting_on = EMPTY
        if ts.exception_blame is None:
            ts.exception_blame = ts
            ts.exception, ts.traceback = exception, traceback
        blame = ts.exception_blame
        for dts in ts.dependents:
            if dts.state not in ("memory", "erred", "forgotten"):
                dts.exception_blame = blame
                recs[dts] = "erred"
        self._stop_waiting_on_inputs(ts, recs)
        if ts.who_wants:
            out.to_clients(ts.who_wants, {"op": "task-erred", "key": ts.key,
                                          "blamed_key": blame.key,
                                          "exception": blame.exception,
                                          "traceback": blame.traceback})
        return recs

    def _enter_forgotten(self, ts: TaskState, out: Outbox, stimulus_id: str) -> dict:
        recs: dict[TaskState, str] = {}
        ts.state = "forgotten"
        del self.tasks[ts.key]
        self.stealing.pop(ts, None)
        for dep in ts.dependencies:
            dep.dependents.discard(ts)
            if dep.waiters:
                dep.waiters.discard(ts)
            if not dep.dependents and not dep.who_wants:
                recs[dep] = "forgotten" if dep.state in ("released", "erred") else "released"
        ts.dependencies = set()
        ts.run_spec = None
        return recs

    def _stop_waiting_on_inputs(self, ts: TaskState, recs: dict) -> None:
        """``ts`` no longer needs its inputs: release those nobody else needs, freeing
        their data or cancelling their computation."""
        for dep in ts.dependencies:
            if dep.waiters:
                dep.waiters.discard(ts)
            if not dep.waiters and not dep.who_wants and (
                    dep.state == "memory" or dep.state in _NEEDS_INPUTS):
                recs.setdefault(dep, "released")


def _has_resources(ws: WorkerState, ts: TaskState) -> bool:
    return all(ws.resources.get(name, 0) >= amount
               for name, amount in (ts.resource_restrictions or {}).items())


def _nothing(ts: TaskState, out: Outbox, stimulus_id: str) -> None:
    return None

