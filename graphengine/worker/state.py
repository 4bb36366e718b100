"""The worker's pure task state machine: events in, instructions out.

The worker server turns scheduler messages and finished work into events; this class
decides what to run, what to fetch from which peer and what to tell the scheduler, as
instructions the server carries out. It holds no data (only keys and sizes), no sockets,
threads or clock, so it is tested by feeding it events.

    >>> ws = WorkerState(nthreads=1, address="tcp://127.0.0.1:1")
    >>> ws.handle(event_from_message({"op": "compute-task", "key": "x", "run_spec": 1,
    ...                               "priority": (0,), "who_has": {}, "nbytes": {}}))
    [Execute(key='x', run_spec=1)]
    >>> ws.handle(ExecuteSuccess(key="x", nbytes=8, duration=0.1))[0].msg["op"]
    'task-finished'

Task states here: ``waiting`` (inputs missing), ``ready`` (queued by priority),
``executing``, ``memory``, ``error``; inputs to fetch are ``fetch`` (queued), ``flight``
(being fetched) or ``missing`` (no peer had them). A key freed while executing or in
flight is ``cancelled``: its result is dropped when it arrives.
"""
from __future__ import annotations

import heapq
import itertools
from collections import defaultdict, deque
from typing import Any, Hashable

from graphengine import config
from graphengine.worker.events import (AddData, CancelCompute, ComputeTask, Execute,
                                       ExecuteFailure, ExecuteSuccess, FreeKeys, GatherDep,
                                       GatherDepMissing, GatherDepNetworkFailure,
                                       GatherDepSuccess, Pause, Rejoin, Rejoined, ReleaseData,
                                       Secede, SendToScheduler, StealRequest, Unpause,
                                       event_from_message)

__all__ = [
    "WorkerState", "TaskInfo", "event_from_message",
    "ComputeTask", "FreeKeys", "CancelCompute", "StealRequest", "ExecuteSuccess", "ExecuteFailure",
    "GatherDepSuccess", "GatherDepMissing", "GatherDepNetworkFailure", "AddData",
    "Pause", "Unpause", "Secede", "Rejoin",
    "Execute", "GatherDep", "SendToScheduler", "ReleaseData", "Rejoined",
]


# --- the state machine ---------------------------------------------------------------

class TaskInfo:
    """One key on this worker: a task to compute here, an input to fetch, or both."""

    __slots__ = ("key", "state", "run_spec", "priority", "resources", "dependencies",
                 "dependents", "waiting_for", "who_has", "nbytes", "compute", "compute_event")

    def __init__(self, key: Hashable):
        self.key = key
        self.state = "released"
        self.run_spec: Any = None
        self.priority: tuple = (0,)
        self.resources: dict | None = None
        self.dependencies: set[TaskInfo] = set()
        self.dependents: set[TaskInfo] = set()
        self.waiting_for: set[TaskInfo] = set()
        self.who_has: set[str] = set()
        self.nbytes = 0
        #: the scheduler asked this worker to compute (or report) this key
        self.compute = False
        #: that request, kept while the key is still being fetched: if the fetch fails,
        #: it is computed here instead (the scheduler asks only when no one holds it)
        self.compute_event: ComputeTask | None = None

    def __repr__(self) -> str:
        return f"<TaskInfo {self.key!r} {self.state}>"


class WorkerState:
    """Everything a worker decides, as a function of the events it was fed.

    Parameters
    ----------
    nthreads : int
        Tasks executing at once.
    address : str
        This worker's address (never fetch from ourselves).
    resources : dict, optional
        Abstract resources available to tasks (``{"GPU": 1}``).
    max_connections, max_bytes_in_flight, message_bytes_limit : int, optional
        Transfer limits (defaults from config ``worker.transfer.*``).
    validate : bool
        Check invariants after every event (tests).
    """

    def __init__(self, nthreads: int, address: str = "", resources: dict | None = None,
                 max_connections: int | None = None, max_bytes_in_flight: int | None = None,
                 message_bytes_limit: int | None = None, validate: bool = False,
                 log_length: int = 10_000):
        self.nthreads = nthreads
        self.address = address
        self.total_resources = dict(resources or {})
        self.available_resources = dict(resources or {})
        self.max_connections = max_connections or config.get("worker.transfer.max-connections")
        self.max_bytes_in_flight = (max_bytes_in_flight
                                    or config.get("worker.transfer.max-bytes-in-flight"))
        self.message_bytes_limit = (message_bytes_limit
                                    or config.get("worker.transfer.message-bytes-limit"))
        self.validate_each = validate
        self.tasks: dict[Hashable, TaskInfo] = {}
        self.ready: list[tuple[tuple, int, TaskInfo]] = []
        self.constrained: deque[TaskInfo] = deque()  # ready, waiting for resources
        self.executing: set[TaskInfo] = set()
        #: seceded tasks: still running, but their threads do not count
        self.long_running: set[TaskInfo] = set()
        #: seceded tasks asking for a slot back, in order of asking
        self.rejoining: deque[TaskInfo] = deque()
        #: peer -> inputs to fetch from it; an input is listed under each of its holders
        self.data_needed: defaultdict[str, set[TaskInfo]] = defaultdict(set)
        self.in_flight: dict[str, set[TaskInfo]] = {}
        #: size of each input in flight as counted when its fetch started
        self._flight_nbytes: dict[TaskInfo, int] = {}
        self.in_flight_bytes = 0
        self.paused = False
        self.log: deque[tuple] = deque(maxlen=log_length)
        self._seq = itertools.count()
        self._handlers = {
            ComputeTask: self._compute_task, FreeKeys: self._free_keys,
            CancelCompute: self._cancel_compute, ExecuteSuccess: self._execute_success,
            ExecuteFailure: self._execute_failure, GatherDepSuccess: self._gather_success,
            GatherDepMissing: self._gather_missing,
            GatherDepNetworkFailure: self._gather_network_failure, AddData: self._add_data,
            Pause: self._pause, Unpause: self._unpause,
            Secede: self._secede, Rejoin: self._rejoin, StealRequest: self._steal_request,
        }

    # --- driving ----------------------------------------------------------------------

    def handle(self, event: Any) -> list:
        """Apply one event; return the instructions for the server, in order."""
        out: list = []
        self._handlers[type(event)](event, out)
        self._start_fetches(out)
        self._start_tasks(out)
        if self.validate_each:
            self.validate()
        return out

    def _move(self, ts: TaskInfo, state: str, stimulus_id: str) -> None:
        self.log.append((ts.key, ts.state, state, stimulus_id))
        ts.state = state

    def story(self, *keys: Hashable) -> list[tuple]:
        """Recorded moves ``(key, start, finish, stimulus_id)`` of these keys."""
        wanted = set(keys)
        return [entry for entry in self.log if entry[0] in wanted]

    def _get(self, key: Hashable) -> TaskInfo:
        ts = self.tasks.get(key)
        if ts is None:
            ts = self.tasks[key] = TaskInfo(key)
        return ts

    # --- from the scheduler -----------------------------------------------------------

    def _compute_task(self, ev: ComputeTask, out: list) -> None:
        ts = self._get(ev.key)
        ts.compute = True
        ts.run_spec = ev.run_spec
        ts.priority = tuple(ev.priority)
        ts.resources = ev.resources or None
        if ts.state == "memory":
            self._report_finished(ts, 0.0, out, ev.stimulus_id)
            return
        if ts.state == "cancelled":  # freed while executing, now wanted again
            self._move(ts, "executing", ev.stimulus_id)
            return
        if ts.state in ("waiting", "ready", "executing"):
            return  # already on its way
        if ts.state == "flight":
            ts.compute_event = ev  # a fetch that lands is the result; one that fails is not
            return
        if ts.state == "fetch":
            # The scheduler asks us to compute a key only when nobody holds it: the queued
            # fetch would fail, so compute instead.
            self._unqueue_fetch(ts)
            self._move(ts, "released", ev.stimulus_id)
        for dep_key, holders in ev.who_has.items():
            dep = self._get(dep_key)
            ts.dependencies.add(dep)
            dep.dependents.add(ts)
            dep.nbytes = ev.nbytes.get(dep_key, dep.nbytes) or dep.nbytes
            dep.who_has.update(h for h in holders if h != self.address)
            if dep.state == "memory":
                continue
            ts.waiting_for.add(dep)
            if dep.state in ("released", "missing", "error"):
                # Listed as a holder of what we do not hold: tell the scheduler so.
                errant = self.address if self.address in holders else None
                self._queue_fetch(dep, out, ev.stimulus_id, errant)
        if ts.waiting_for:
            self._move(ts, "waiting", ev.stimulus_id)
        else:
            self._make_ready(ts, ev.stimulus_id)

    def _queue_fetch(self, dep: TaskInfo, out: list, stimulus_id: str,
                     errant: str | None = None) -> None:
        if errant is not None:
            out.append(SendToScheduler({"op": "missing-data", "key": dep.key,
                                        "errant_worker": errant, "stimulus_id": stimulus_id}))
        if not dep.who_has:
            self._move(dep, "missing", stimulus_id)
            if errant is None:
                out.append(SendToScheduler({"op": "missing-data", "key": dep.key,
                                            "errant_worker": None,
                                            "stimulus_id": stimulus_id}))
            return
        self._move(dep, "fetch", stimulus_id)
        for holder in dep.who_has:
            self.data_needed[holder].add(dep)

    def _free_keys(self, ev: FreeKeys, out: list) -> None:
        for key in ev.keys:
            self._release(key, out, ev.stimulus_id, drop_data=True)

    def _cancel_compute(self, ev: CancelCompute, out: list) -> None:
        self._release(ev.key, out, ev.stimulus_id, drop_data=False)

    def _steal_request(self, ev: StealRequest, out: list) -> None:
        """Give the task up if it has not started here; say where it was either way."""
        ts = self.tasks.get(ev.key)
        state = ts.state if ts is not None else "released"
        if ts is not None and ts.compute and state in ("waiting", "ready"):
            self._release(ev.key, out, ev.stimulus_id, drop_data=False)
        out.append(SendToScheduler({"op": "steal-response", "key": ev.key, "state": state,
                                    "stimulus_id": ev.stimulus_id}))

    def _release(self, key: Hashable, out: list, stimulus_id: str, drop_data: bool) -> None:
        ts = self.tasks.get(key)
        if ts is None:
            return
        ts.compute = False
        ts.run_spec = None
        ts.compute_event = None
        # Local tasks still waiting for this input: the scheduler is cancelling them (its
        # cancel-compute follows in the same batch); until then they keep waiting for it.
        needed = [d for d in ts.dependents if d.state in ("waiting", "ready")]
        if ts.state == "flight" and needed:
            return
        if ts.state in ("executing", "flight"):
            self._move(ts, "cancelled", stimulus_id)
            return
        if ts.state == "cancelled":
            return
        if ts.state == "memory":
            if needed and not drop_data:
                return  # a result that local tasks still read stays
            out.append(ReleaseData([key]))
        self._forget(ts, stimulus_id)  # kept, not held, while local tasks wait for it

    def _forget(self, ts: TaskInfo, stimulus_id: str) -> None:
        """Drop ``ts`` and, recursively, the inputs nothing here needs any more."""
        stack = [ts]
        while stack:
            t = stack.pop()
            if t.key not in self.tasks or t.state in ("executing", "flight", "cancelled"):
                continue
            if t.state == "fetch":
                self._unqueue_fetch(t)
            needed = [d for d in t.dependents if d.state in ("waiting", "ready")]
            if needed:
                # Local tasks still wait for it (the scheduler is cancelling them): keep
                # it, not held, so they wait rather than run without their input.
                self._move(t, "released", stimulus_id)
                for d in needed:
                    d.waiting_for.add(t)
                    if d.state == "ready":
                        self._move(d, "waiting", stimulus_id)
                continue
            for dependent in t.dependents:
                dependent.waiting_for.discard(t)
                dependent.dependencies.discard(t)
            self._move(t, "forgotten", stimulus_id)
            del self.tasks[t.key]
            for dep in t.dependencies:
                dep.dependents.discard(t)
                if not dep.dependents and not dep.compute and dep.state != "memory":
                    stack.append(dep)
            t.dependencies = set()
            t.dependents = set()
            t.waiting_for = set()

    # --- from the thread pool ---------------------------------------------------------

    def _execute_success(self, ev: ExecuteSuccess, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is None:
            # Forgotten while it ran: the task thread has stored the result already,
            # and nothing else would ever free it.
            out.append(ReleaseData([ev.key]))
            return
        if ts.state not in ("executing", "cancelled"):
            return
        self._finish_executing(ts)
        if ts.state == "cancelled":
            out.append(ReleaseData([ts.key]))
            self._move(ts, "released", ev.stimulus_id)
            self._forget(ts, ev.stimulus_id)
            return
        ts.nbytes = ev.nbytes
        self._move(ts, "memory", ev.stimulus_id)
        self._report_finished(ts, ev.duration, out, ev.stimulus_id, ev.startstop)
        self._release_inputs_of(ts, out, ev.stimulus_id)

    def _execute_failure(self, ev: ExecuteFailure, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is None or ts.state not in ("executing", "cancelled"):
            return
        self._finish_executing(ts)
        if ts.state == "cancelled":
            self._move(ts, "released", ev.stimulus_id)
            self._forget(ts, ev.stimulus_id)
            return
        self._move(ts, "error", ev.stimulus_id)
        msg = {"op": "task-erred", "key": ts.key, "exception": ev.exception,
               "traceback": ev.traceback, "stimulus_id": ev.stimulus_id}
        if ev.startstop is not None:
            msg["startstop"] = ev.startstop
        out.append(SendToScheduler(msg))
        # The scheduler keeps the error and never frees an erred key here: forget it now
        # (a retry arrives as a fresh compute-task).
        self._forget(ts, ev.stimulus_id)

    def _finish_executing(self, ts: TaskInfo) -> None:
        self.executing.discard(ts)
        self.long_running.discard(ts)
        for name, amount in (ts.resources or {}).items():
            self.available_resources[name] = self.available_resources.get(name, 0) + amount

    def _release_inputs_of(self, ts: TaskInfo, out: list, stimulus_id: str) -> None:
        """Inputs fetched only for ``ts`` are kept (the scheduler knows the copy and
        frees it); only the links go."""
        for dep in ts.dependencies:
            dep.dependents.discard(ts)
        ts.dependencies = set()

    def _report_finished(self, ts: TaskInfo, duration: float, out: list,
                         stimulus_id: str, startstop: list | None = None) -> None:
        msg = {"op": "task-finished", "key": ts.key, "nbytes": ts.nbytes,
               "duration": duration, "stimulus_id": stimulus_id}
        if startstop is not None:
            msg["startstop"] = startstop
        out.append(SendToScheduler(msg))
        for dependent in ts.dependents:
            if ts in dependent.waiting_for:
                dependent.waiting_for.discard(ts)
                if not dependent.waiting_for and dependent.state == "waiting":
                    self._make_ready(dependent, stimulus_id)

    # --- transfers --------------------------------------------------------------------

    def _gather_success(self, ev: GatherDepSuccess, out: list) -> None:
        keys = self._end_flight(ev.worker)
        arrived = []
        for ts in keys:
            if ts.key not in ev.data_nbytes:
                continue
            if ts.state == "cancelled":
                out.append(ReleaseData([ts.key]))
                self._move(ts, "released", ev.stimulus_id)
                self._forget(ts, ev.stimulus_id)
                continue
            ts.nbytes = ev.data_nbytes[ts.key]
            ts.compute_event = None
            self._move(ts, "memory", ev.stimulus_id)
            arrived.append(ts.key)
            if ts.compute:
                self._report_finished(ts, 0.0, out, ev.stimulus_id)
            else:
                for dependent in ts.dependents:
                    dependent.waiting_for.discard(ts)
                    if not dependent.waiting_for and dependent.state == "waiting":
                        self._make_ready(dependent, ev.stimulus_id)
        if arrived:
            out.append(SendToScheduler({"op": "add-keys", "keys": arrived,
                                        "stimulus_id": ev.stimulus_id}))
        absent = [ts.key for ts in keys if ts.key not in ev.data_nbytes]
        if absent:
            self._retry_elsewhere(ev.worker, absent, out, ev.stimulus_id)

    def _gather_missing(self, ev: GatherDepMissing, out: list) -> None:
        self._end_flight(ev.worker, only=ev.keys)
        self._retry_elsewhere(ev.worker, ev.keys, out, ev.stimulus_id)

    def _gather_network_failure(self, ev: GatherDepNetworkFailure, out: list) -> None:
        self._end_flight(ev.worker)
        # The peer is gone: it holds nothing we can use, for any key.
        queued = self.data_needed.pop(ev.worker, set())
        affected = {ts.key for ts in queued} | set(ev.keys)
        for ts in self.tasks.values():
            ts.who_has.discard(ev.worker)
        self._retry_elsewhere(ev.worker, list(affected), out, ev.stimulus_id)

    def _end_flight(self, worker: str, only: list | None = None) -> list[TaskInfo]:
        keys = self.in_flight.pop(worker, set())
        if only is not None:
            wanted = set(only)
            rest = {ts for ts in keys if ts.key not in wanted}
            if rest:
                self.in_flight[worker] = rest
            keys = keys - rest
        for ts in keys:
            self.in_flight_bytes -= self._flight_nbytes.pop(ts, 0)
        return list(keys)

    def _retry_elsewhere(self, worker: str, keys: list, out: list, stimulus_id: str) -> None:
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None:
                continue
            ts.who_has.discard(worker)
            self.data_needed[worker].discard(ts)
            if ts.state == "cancelled":
                self._move(ts, "released", stimulus_id)
                self._forget(ts, stimulus_id)
                continue
            if ts.state not in ("flight", "fetch"):
                continue
            if ts.compute_event is not None:
                # Asked to compute it meanwhile: do that rather than fetch elsewhere.
                ev, ts.compute_event = ts.compute_event, None
                self._move(ts, "released", stimulus_id)
                self._compute_task(ev, out)
            elif ts.who_has:
                self._move(ts, "fetch", stimulus_id)
                for holder in ts.who_has:
                    self.data_needed[holder].add(ts)
            else:
                self._move(ts, "missing", stimulus_id)
                out.append(SendToScheduler({"op": "missing-data", "key": ts.key,
                                            "errant_worker": worker,
                                            "stimulus_id": stimulus_id}))
        if not self.data_needed.get(worker):
            self.data_needed.pop(worker, None)

    def _start_fetches(self, out: list) -> None:
        if self.paused:
            return  # a worker out of memory takes in no more data (it resumes on Unpause)
        while len(self.in_flight) < self.max_connections:
            candidates = [(w, keys) for w, keys in self.data_needed.items()
                          if keys and w not in self.in_flight]
            if not candidates:
                return
            if self.in_flight_bytes >= self.max_bytes_in_flight and self.in_flight:
                return
            worker, keys = max(candidates,
                               key=lambda wk: (sum(t.nbytes for t in wk[1]), wk[0]))
            batch, total = [], 0
            for ts in sorted(keys, key=self._fetch_priority):
                # One fetch may always run, however large; beyond it the limits hold.
                if batch and total + ts.nbytes > self.message_bytes_limit:
                    break
                if (batch or self.in_flight) and \
                        self.in_flight_bytes + total + ts.nbytes > self.max_bytes_in_flight:
                    break
                batch.append(ts)
                total += ts.nbytes
            if not batch:
                return
            for ts in batch:
                self._unqueue_fetch(ts)
                self._move(ts, "flight", "gather-dep")
                self._flight_nbytes[ts] = ts.nbytes
            self.in_flight[worker] = set(batch)
            self.in_flight_bytes += total
            out.append(GatherDep(worker, [ts.key for ts in batch], total))

    def _unqueue_fetch(self, ts: TaskInfo) -> None:
        """Take ``ts`` off every peer's fetch queue (dropping queues left empty)."""
        for holder in ts.who_has:
            holder_keys = self.data_needed.get(holder)
            if holder_keys is not None:
                holder_keys.discard(ts)
                if not holder_keys:
                    del self.data_needed[holder]

    @staticmethod
    def _fetch_priority(ts: TaskInfo) -> tuple:
        return min((d.priority for d in ts.dependents), default=(0,))

    # --- running ----------------------------------------------------------------------

    def _make_ready(self, ts: TaskInfo, stimulus_id: str) -> None:
        self._move(ts, "ready", stimulus_id)
        heapq.heappush(self.ready, (ts.priority, next(self._seq), ts))

    def _fits(self, ts: TaskInfo) -> bool:
        return all(self.available_resources.get(n, 0) >= a
                   for n, a in (ts.resources or {}).items())

    def _start_tasks(self, out: list) -> None:
        # Seceded tasks coming back go before new work: they are already half done.
        while self.rejoining and len(self.executing) < self.nthreads:
            ts = self.rejoining.popleft()
            if ts in self.long_running:
                self.long_running.discard(ts)
                self.executing.add(ts)
            out.append(Rejoined(ts.key))
        if self.paused:
            return
        # Tasks held back for resources go first when they fit now.
        for _ in range(len(self.constrained)):
            if len(self.executing) >= self.nthreads:
                return
            ts = self.constrained.popleft()
            if ts.state != "ready":
                continue
            if self._fits(ts):
                self._start(ts, out)
            else:
                self.constrained.append(ts)
        while self.ready and len(self.executing) < self.nthreads:
            _, _, ts = heapq.heappop(self.ready)
            if ts.state != "ready" or ts in self.constrained:
                continue
            if not self._fits(ts):
                self.constrained.append(ts)
                continue
            self._start(ts, out)

    def _start(self, ts: TaskInfo, out: list) -> None:
        for name, amount in (ts.resources or {}).items():
            self.available_resources[name] -= amount
        self.executing.add(ts)
        self._move(ts, "executing", "start")
        out.append(Execute(ts.key, ts.run_spec))

    # --- data placed here, pausing ----------------------------------------------------

    def _add_data(self, ev: AddData, out: list) -> None:
        for key, nbytes in ev.nbytes.items():
            ts = self._get(key)
            if ts.state in ("fetch", "missing"):
                self._unqueue_fetch(ts)
            elif ts.state in ("executing", "flight", "cancelled"):
                continue  # the running work will land on the same key
            ts.nbytes = nbytes
            self._move(ts, "memory", ev.stimulus_id)
            for dependent in ts.dependents:
                dependent.waiting_for.discard(ts)
                if not dependent.waiting_for and dependent.state == "waiting":
                    self._make_ready(dependent, ev.stimulus_id)

    def _secede(self, ev: Secede, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is not None and ts in self.executing:
            self.executing.discard(ts)
            self.long_running.add(ts)

    def _rejoin(self, ev: Rejoin, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is None or ts not in self.long_running:
            out.append(Rejoined(ev.key))  # nothing to wait for
            return
        self.rejoining.append(ts)

    def _pause(self, ev: Pause, out: list) -> None:
        if not self.paused:
            self.paused = True
            out.append(SendToScheduler({"op": "worker-status", "status": "paused",
                                        "stimulus_id": ev.stimulus_id}))

    def _unpause(self, ev: Unpause, out: list) -> None:
        if self.paused:
            self.paused = False
            out.append(SendToScheduler({"op": "worker-status", "status": "running",
                                        "stimulus_id": ev.stimulus_id}))

    # --- checks -----------------------------------------------------------------------

    def validate(self) -> None:
        """Check every invariant; raise ``AssertionError`` naming the first broken one."""
        assert not self.executing & self.long_running, "a task both executing and seceded"
        for ts in self.executing | self.long_running:
            assert ts.state in ("executing", "cancelled") and self.tasks.get(ts.key) is ts, \
                f"{ts!r} counted as running"
        assert len([t for t in self.executing if t.state == "executing"]) <= self.nthreads \
            or self.paused, "more tasks executing than threads"
        in_flight = {ts for keys in self.in_flight.values() for ts in keys}
        for key, ts in self.tasks.items():
            where = f"task {key!r} ({ts.state})"
            if ts.state == "waiting":
                assert ts.waiting_for, f"{where} waits for nothing"
                assert all(d.state != "memory" for d in ts.waiting_for), where
            if ts.state == "flight":
                assert ts in in_flight, f"{where} is not in flight from any peer"
            if ts.state == "fetch":
                assert any(ts in self.data_needed.get(h, ()) for h in ts.who_has), \
                    f"{where} is queued for no peer"
            if ts.state == "ready":
                assert any(t is ts for _, _, t in self.ready) or ts in self.constrained, where
            for dep in ts.dependencies:
                assert ts in dep.dependents and dep.key in self.tasks, where
        assert set(self._flight_nbytes) == in_flight, "inputs in flight out of step"
        assert self.in_flight_bytes == sum(self._flight_nbytes.values()), "bytes in flight"
        for name, total in self.total_resources.items():
            used = sum((ts.resources or {}).get(name, 0) for ts in self.executing)
            assert abs(self.available_resources[name] - (total - used)) < 1e-9, name
