"""The scheduler's pure state machine: events in, messages out.

The server shell decodes a message, calls one event method here and sends what the
returned :class:`~.model.Outbox` holds. Nothing here touches a socket, reads a clock or
draws a random number: time arrives as ``now=``, so tests and the simulator drive the
real logic directly, thousands of events per second.

    >>> from graphengine.scheduler.state import SchedulerState
    >>> s = SchedulerState()
    >>> _ = s.add_worker("tcp://127.0.0.1:4001", nthreads=1)
    >>> _ = s.add_client("client-1")
    >>> out = s.update_graph("client-1", tasks={"x": "spec-x", "y": "spec-y"},
    ...                      dependencies={"y": ["x"]}, keys=["y"])
    >>> [m["key"] for m in out.workers["tcp://127.0.0.1:4001"]]
    ['x']
    >>> out = s.task_finished("x", "tcp://127.0.0.1:4001", nbytes=8, duration=0.1)
    >>> [m["key"] for m in out.workers["tcp://127.0.0.1:4001"]]
    ['y']
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Hashable

from graphengine.errors import KilledWorker, MissingDependencyError
from graphengine.graph.spec import key_prefix
from graphengine.scheduler.model import (ClientState, Outbox, TaskState, WorkerState,
                                         with_item)
from graphengine.scheduler.placement import satisfies, valid_workers
from graphengine.scheduler.stealing import plan_steals
from graphengine.scheduler.transitions import (_NEEDS_INPUTS, InvalidTransition,
                                                TransitionEngine)

__all__ = ["SchedulerState", "InvalidTransition"]


def _needed_by(keys: list, tasks: Mapping, dependencies: Mapping) -> list:
    """Keys of ``tasks`` that ``keys`` need (the graph culled to what is wanted)."""
    seen: set = set()
    stack = [k for k in keys if k in tasks]
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        stack.extend(d for d in dependencies.get(key, ()) if d in tasks and d not in seen)
    return [k for k in tasks if k in seen]


class SchedulerState(TransitionEngine):
    """Tasks, workers and clients of one scheduler, and the events that change them.

    Every event method takes a ``stimulus_id`` (what caused it, for :meth:`story`) and
    returns an :class:`~.model.Outbox`. Parameters are those of
    :class:`~.transitions.TransitionEngine`.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: submission counter: earlier graphs run first at equal user priority
        self.generation = 0


    # --- workers ----------------------------------------------------------------------

    def add_worker(self, address: str, nthreads: int, memory_limit: int = 0,
                   resources: Mapping[str, float] | None = None, name: Any = None,
                   now: float = 0.0, stimulus_id: str = "add-worker") -> Outbox:
        """A worker joined: give it queued work and whatever only it may run."""
        if address in self.workers:
            raise ValueError(f"worker {address!r} is already registered")
        if nthreads < 1:
            raise ValueError(f"worker {address!r} must have at least one thread, "
                             f"got nthreads={nthreads!r}")
        if name is not None and any(ws.name == name for ws in self.workers.values()):
            raise ValueError(f"a worker named {name!r} is already registered")
        ws = WorkerState(address, nthreads, memory_limit, dict(resources or {}), name, now)
        self.workers[address] = ws
        self.update_idle(ws)
        out = Outbox()
        self.transitions(self._runnable_again(), stimulus_id, out)
        self.fill_idle_workers(stimulus_id, out)
        return out

    def remove_worker(self, address: str, safe: bool = False,
                      stimulus_id: str = "remove-worker") -> Outbox:
        """A worker left or died: reschedule its tasks and recompute results only it held.

        ``safe=True`` (a graceful retirement) does not count against the tasks it was
        running; otherwise each such task becomes more suspicious and, once it has been
        running on ``allowed_failures`` workers that died, errs with ``KilledWorker``.
        """
        ws = self.workers.pop(address, None)
        out = Outbox()
        if ws is None:
            return out
        self.idle.pop(address, None)
        self.memory_full.discard(ws)
        ws.status = "closed"
        for ts, (victim, thief) in list(self.stealing.items()):
            if ws is victim or ws is thief:
                del self.stealing[ts]
        recs: dict[TaskState, str] = {}
        lost = []
        for ts in ws.has_what:
            if ts.who_has:
                ts.who_has.discard(ws)
            if not ts.who_has:
                lost.append(ts)
        ws.has_what.clear()
        ws.nbytes = 0
        # Lost results leave "memory" at once, before anything else moves: a task placed
        # in the meantime must not count on an input that lives nowhere.
        for ts in lost:
            recs.update(self.transition(ts, "released", stimulus_id, out))
        for ts in list(ws.processing):
            if not safe:
                ts.suspicious += 1
            if ts.suspicious >= self.allowed_failures:
                ts.exception = KilledWorker(ts.key, address, self.allowed_failures)
                ts.exception_blame = ts
                recs[ts] = "erred"
            else:
                recs[ts] = "released"
        self.transitions(recs, stimulus_id, out)
        return out

    def heartbeat(self, address: str, now: float, metrics: Mapping[str, Any] | None = None
                  ) -> None:
        """Record that ``address`` is alive (and its latest metrics)."""
        ws = self._worker(address)
        ws.last_seen = now
        if metrics:
            ws.metrics.update(metrics)
            if metrics.get("memory_full"):
                self.memory_full.add(ws)
            else:
                self.memory_full.discard(ws)

    def stale_workers(self, now: float, timeout: float) -> list[str]:
        """Addresses not heard from for more than ``timeout`` seconds (the shell removes
        them with :meth:`remove_worker`)."""
        return [a for a, ws in self.workers.items() if now - ws.last_seen > timeout]

    def set_worker_status(self, address: str, status: str,
                          stimulus_id: str = "worker-status") -> Outbox:
        """``"paused"`` stops sending the worker new tasks; ``"running"`` resumes."""
        if status not in ("running", "paused"):
            raise ValueError(f"worker status must be 'running' or 'paused', got {status!r}")
        ws = self._worker(address)
        ws.status = status
        self.update_idle(ws)
        out = Outbox()
        if status == "running":
            self.transitions(self._runnable_again(), stimulus_id, out)
            self.fill_idle_workers(stimulus_id, out)
        return out

    def _runnable_again(self) -> dict[TaskState, str]:
        return {ts: "processing" for ts in self.unrunnable
                if valid_workers(ts, self.workers.values())}

    def _worker(self, address: str) -> WorkerState:
        try:
            return self.workers[address]
        except KeyError:
            raise KeyError(f"no worker {address!r} is registered") from None

    # --- clients and graphs -----------------------------------------------------------

    def add_client(self, client_id: str, now: float = 0.0) -> Outbox:
        if client_id in self.clients:
            raise ValueError(f"client {client_id!r} is already registered")
        self.clients[client_id] = ClientState(client_id, now)
        return Outbox()

    def remove_client(self, client_id: str, stimulus_id: str = "remove-client") -> Outbox:
        """A client left: release everything it wanted (shared keys stay for others)."""
        cs = self.clients.get(client_id)
        if cs is None:
            return Outbox()
        out = self.release_keys(client_id, [ts.key for ts in cs.wants_what], stimulus_id)
        del self.clients[client_id]
        return out

    def update_graph(self, client_id: str, tasks: Mapping[Hashable, Any],
                     dependencies: Mapping[Hashable, Iterable[Hashable]], keys: Iterable[Hashable],
                     order: Mapping[Hashable, int] | None = None, user_priority: int = 0,
                     restrictions: Mapping[Hashable, Iterable[str]] | None = None,
                     resources: Mapping[Hashable, Mapping[str, float]] | None = None,
                     loose_restrictions: Iterable[Hashable] = (),
                     retries: Mapping[Hashable, int] | int = 0,
                     stimulus_id: str = "update-graph") -> Outbox:
        """A client submitted a graph and wants ``keys``.

        Parameters
        ----------
        tasks : mapping
            ``key -> run_spec`` (opaque here: it is forwarded to the worker).
        dependencies : mapping
            ``key -> keys it needs``; each needed key must be in ``tasks`` or already
            known to the scheduler.
        keys : iterable
            The keys the client holds futures for.
        order : mapping, optional
            Static priorities (:func:`graphengine.graph.order.order`); lower runs first.
        user_priority : int
            Higher runs earlier, before submission order.
        restrictions, resources, loose_restrictions, retries
            Per-key worker names/addresses, abstract resources (``{"GPU": 1}``), keys that
            may run elsewhere when no allowed worker exists, and retry counts.

        Raises
        ------
        KeyError
            If the client is unknown, or a wanted key or a dependency is neither in
            ``tasks`` nor known (nothing is changed then).
        """
        cs = self.clients.get(client_id)
        if cs is None:
            raise KeyError(f"client {client_id!r} is not registered")
        keys = list(keys)
        for key, deps in dependencies.items():
            for dep in deps:
                if dep not in tasks and dep not in self.tasks:
                    raise MissingDependencyError(dep, key)
        for key in keys:
            if key not in tasks and key not in self.tasks:
                raise KeyError(f"wanted key {key!r} is neither in the graph nor known")
        self.generation += 1
        order = order or {}
        new: list[TaskState] = []
        for key in _needed_by(keys, tasks, dependencies):
            spec = tasks[key]
            ts = self.tasks.get(key)
            if ts is None:
                ts = TaskState(key, spec, key_prefix(key),
                               (-user_priority, self.generation, order.get(key, 0)))
                self.tasks[key] = ts
                self.progress.added(ts)
                new.append(ts)
            elif ts.run_spec is None and ts.state in ("released", "erred"):
                ts.run_spec = spec  # a lost scattered key may now be recomputed
        for ts in new:
            deps = dependencies.get(ts.key, ())
            for dep_key in deps:
                dep = self.tasks[dep_key]
                ts.dependencies.add(dep)
                dep.dependents.add(ts)
            ts.is_root = not ts.dependencies
        self._apply_restrictions(new, restrictions, resources, loose_restrictions, retries)
        out = Outbox()
        recs: dict[TaskState, str] = {}
        for key in keys:
            ts = self.tasks[key]
            ts.who_wants = with_item(ts.who_wants, cs)
            cs.wants_what.add(ts)
            if ts.state == "memory":
                out.to_clients({cs}, {"op": "key-in-memory", "key": key, "nbytes": ts.nbytes})
            elif ts.state == "erred":
                blame = ts.exception_blame or ts
                out.to_clients({cs}, {"op": "task-erred", "key": key, "blamed_key": blame.key,
                                      "exception": blame.exception,
                                      "traceback": blame.traceback})
            elif ts.state == "released":
                recs[ts] = "waiting"
        self.transitions(recs, stimulus_id, out)
        return out

    def _apply_restrictions(self, new: list[TaskState], restrictions: Any, resources: Any,
                            loose: Iterable[Hashable], retries: Any) -> None:
        fresh = {ts.key: ts for ts in new}
        for key, names in (restrictions or {}).items():
            if key in fresh:
                fresh[key].worker_restrictions = frozenset(names)
        for key, need in (resources or {}).items():
            if key in fresh:
                fresh[key].resource_restrictions = dict(need)
        for key in loose:
            if key in fresh:
                fresh[key].loose_restrictions = True
        if isinstance(retries, int):
            for ts in new:
                ts.retries = retries
        else:
            for key, n in retries.items():
                if key in fresh:
                    fresh[key].retries = n

    def release_keys(self, client_id: str, keys: Iterable[Hashable],
                     stimulus_id: str = "client-releases-keys") -> Outbox:
        """The client dropped its futures for ``keys``."""
        cs = self.clients.get(client_id)
        out = Outbox()
        if cs is None:
            return out
        recs: dict[TaskState, str] = {}
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None or ts not in cs.wants_what:
                continue
            cs.wants_what.discard(ts)
            if ts.who_wants:
                ts.who_wants.discard(cs)
            if not ts.who_wants and not ts.waiters:
                recs[ts] = "forgotten" if ts.state in ("released", "erred") else "released"
        self.transitions(recs, stimulus_id, out)
        return out

    def retry(self, client_id: str, keys: Iterable[Hashable],
              stimulus_id: str = "client-retry") -> Outbox:
        """Run erred ``keys`` (and the erred tasks they were blamed on) again."""
        recs: dict[TaskState, str] = {}
        stack = [self.tasks[k] for k in keys if k in self.tasks]
        while stack:
            ts = stack.pop()
            if ts.state != "erred" or ts in recs:
                continue
            recs[ts] = "released"
            stack.extend(ts.dependencies)
        out = Outbox()
        # Release every erred task first, then wait: a dependent must not see an erred input.
        for ts in recs:
            self.transition(ts, "released", stimulus_id, out)
        self.transitions({ts: "waiting" for ts in recs
                          if ts.state == "released" and (ts.who_wants or ts.waiters)},
                         stimulus_id, out)
        return out

    def update_data(self, client_id: str, who_has: Mapping[Hashable, Iterable[str]],
                    nbytes: Mapping[Hashable, int],
                    stimulus_id: str = "update-data") -> Outbox:
        """Data placed on workers directly (``scatter``): known, in memory, wanted."""
        cs = self.clients.get(client_id)
        if cs is None:
            raise KeyError(f"client {client_id!r} is not registered")
        out = Outbox()
        for key, addresses in who_has.items():
            holders = [self._worker(a) for a in addresses]
            ts = self.tasks.get(key)
            if ts is None:
                ts = self.tasks[key] = TaskState(key, None, key_prefix(key), (0, 0, 0))
                self.progress.added(ts)
            ts.who_wants = with_item(ts.who_wants, cs)
            cs.wants_what.add(ts)
            if ts.state != "memory":
                first, *holders = holders
                recs = {}
                if ts.state != "released":
                    recs = self.transition(ts, "released", stimulus_id, out)
                    recs.pop(ts, None)  # it arrives instead of being recomputed
                recs.update(self.transition(ts, "memory", stimulus_id, out, worker=first,
                                            nbytes=nbytes.get(key, -1)))
                self.transitions(recs, stimulus_id, out)
            for ws in holders:
                self._add_replica(ts, ws, nbytes.get(key, ts.nbytes))
        return out

    # --- task results -----------------------------------------------------------------

    def task_finished(self, key: Hashable, worker: str, nbytes: int, duration: float,
                      stimulus_id: str = "task-finished") -> Outbox:
        """``worker`` computed ``key`` (taking ``duration`` s; the result is ``nbytes``)."""
        out = Outbox()
        ts = self.tasks.get(key)
        ws = self.workers.get(worker)
        if ws is None:
            return out  # a worker we already removed; its data is gone with it
        if ts is None or ts.state not in ("processing", "memory") or (
                ts.state == "processing" and ts.processing_on is not ws):
            if ts is None or ts.state != "memory":
                out.to_worker(worker, {"op": "free-keys", "keys": [key],
                                       "stimulus_id": stimulus_id})
            else:
                self._add_replica(ts, ws, nbytes)
            return out
        if ts.state == "memory":
            self._add_replica(ts, ws, nbytes)
            return out
        self.record_duration(ts.prefix, duration)
        self.transitions(self.transition(ts, "memory", stimulus_id, out, worker=ws,
                                         nbytes=nbytes),
                         stimulus_id, out)
        return out

    def task_erred(self, key: Hashable, worker: str, exception: Any, traceback: Any = None,
                   stimulus_id: str = "task-erred") -> Outbox:
        """The task raised on ``worker``: retry it if it has retries left, else err it and
        every task that depends on it."""
        out = Outbox()
        ts = self.tasks.get(key)
        if ts is None or ts.state != "processing" or ts.processing_on is None \
                or ts.processing_on.address != worker:
            return out  # stale: the task was moved or released since
        if ts.retries > 0:
            ts.retries -= 1
            self.transitions({ts: "released"}, stimulus_id, out)
            return out
        self.transitions(self.transition(ts, "erred", stimulus_id, out,
                                         exception=exception, traceback=traceback),
                         stimulus_id, out)
        return out

    def missing_data(self, key: Hashable, errant_worker: str,
                     stimulus_id: str = "missing-data") -> Outbox:
        """A worker could not fetch ``key`` from ``errant_worker``: forget that replica,
        and recompute the result if it was the last one."""
        out = Outbox()
        ts = self.tasks.get(key)
        ws = self.workers.get(errant_worker)
        if ts is None or ws is None or ws not in ts.who_has:
            return out
        if ts.who_has:
            ts.who_has.discard(ws)
        ws.has_what.discard(ts)
        ws.nbytes -= max(ts.nbytes, 0)
        if not ts.who_has:
            self.transitions({ts: "released"}, stimulus_id, out)
        return out

    # --- work stealing ----------------------------------------------------------------

    def balance(self, stimulus_id: str = "balance") -> Outbox:
        """Ask saturated workers to give queued tasks up to idle ones (see
        :mod:`~graphengine.scheduler.stealing`); the answers come as :meth:`steal_response`."""
        out = Outbox()
        for ts, victim, thief in plan_steals(self.workers.values(), self.bandwidth,
                                             self.stealing):
            self.stealing[ts] = (victim, thief)
            out.to_worker(victim.address, {"op": "steal-request", "key": ts.key,
                                           "stimulus_id": stimulus_id})
        return out

    def steal_response(self, key: Hashable, worker: str, state: str,
                       stimulus_id: str = "steal-response") -> Outbox:
        """The victim answered: ``state`` is where the task was there. If it had not
        started (it has let it go), the task moves to the thief."""
        out = Outbox()
        ts = self.tasks.get(key)
        move = self.stealing.pop(ts, None) if ts is not None else None
        if move is None:
            return out
        victim, thief = move
        if (victim.address != worker or ts.state != "processing"
                or ts.processing_on is not victim
                or state not in ("waiting", "ready", "released", "fetch", "flight")):
            return out  # it ran or finished meanwhile: nothing to move
        target = thief if (thief.address in self.workers and thief.status == "running"
                           and satisfies(ts, thief)) else self.decide_worker(ts)
        if target is None:  # nowhere to go now: the usual way round
            self.transitions({ts: "released"}, stimulus_id, out)
            return out
        self._leave_processing(ts, out, stimulus_id)
        self.log.append((ts.key, "processing", "processing", stimulus_id))
        self._enter_processing(ts, out, stimulus_id, worker=target)
        self.fill_idle_workers(stimulus_id, out)
        return out

    def add_keys(self, worker: str, keys: Iterable[Hashable],
                 stimulus_id: str = "add-keys") -> Outbox:
        """``worker`` holds copies of ``keys`` (it fetched them as inputs): record the
        replicas, and tell it to drop copies of keys that are no longer in memory."""
        out = Outbox()
        ws = self.workers.get(worker)
        if ws is None:
            return out
        stale = []
        for key in keys:
            ts = self.tasks.get(key)
            if ts is not None and ts.state == "memory":
                self._add_replica(ts, ws, ts.nbytes)
            else:
                stale.append(key)
        if stale:
            out.to_worker(worker, {"op": "free-keys", "keys": stale, "stimulus_id": stimulus_id})
        return out

    def _add_replica(self, ts: TaskState, ws: WorkerState, nbytes: int) -> None:
        if ws not in ts.who_has:
            ts.who_has = with_item(ts.who_has, ws)
            ws.has_what.add(ts)
            ws.nbytes += max(nbytes, 0)

    # --- introspection ----------------------------------------------------------------

    def validate(self) -> None:
        """Check every cross-reference; raise ``AssertionError`` naming the first broken one."""
        for key, ts in self.tasks.items():
            where = f"task {key!r} ({ts.state})"
            assert ts.state != "forgotten", where
            assert (ts.state == "processing") == (ts.processing_on is not None), where
            if ts.processing_on is not None:
                assert ts in ts.processing_on.processing, where
                assert ts.processing_on.address in self.workers, where
            assert (ts.state == "memory") == bool(ts.who_has), where
            for ws in ts.who_has:
                assert ts in ws.has_what and ws.address in self.workers, where
            if ts.state == "waiting":
                assert ts.waiting_on, f"{where} waits on nothing"
                assert ts.waiting_on == {d for d in ts.dependencies if d.state != "memory"}, where
            if ts.state in _NEEDS_INPUTS:
                for dep in ts.dependencies:
                    assert ts in dep.waiters, f"{where} is not among {dep.key!r}'s waiters"
                    assert dep.state != "erred", where
            if ts.state == "memory" and not ts.who_wants:
                assert ts.waiters, f"{where} is held though nothing needs it"
            assert (ts.state == "no-worker") == (ts in self.unrunnable), where
            for dep in ts.dependencies:
                assert ts in dep.dependents and dep.key in self.tasks, where
            for cs in ts.who_wants:
                assert ts in cs.wants_what, where
        live: dict[tuple[str, str], int] = {}
        for ts in self.tasks.values():
            bucket = ts.progress_bucket
            assert bucket == ts.state or (bucket == "done" and ts.state == "released"), \
                f"task {ts.key!r} ({ts.state}) counted as {bucket!r}"
            live[ts.prefix, bucket] = live.get((ts.prefix, bucket), 0) + 1
        for prefix, counts in self.progress.counts.items():
            for bucket, n in counts.items():
                if bucket != "done":
                    assert n == live.get((prefix, bucket), 0), (prefix, bucket, n)
        queued = {ts for _, _, ts in self.queue if ts.state == "queued"}
        assert queued == {ts for ts in self.tasks.values() if ts.state == "queued"}
        for address, ws in self.workers.items():
            assert abs(ws.occupancy - sum(ws.processing.values())) < 1e-6, address
            assert ws.nbytes == sum(max(ts.nbytes, 0) for ts in ws.has_what), address
            slots = ws.free_slots(self.saturation, self.lookahead)
            should_idle = ws.status == "running" and slots > 0
            assert (address in self.idle) == should_idle, address
        if self.queue and any(ts.state == "queued" for _, _, ts in self.queue):
            assert not self.idle, "tasks are queued while a worker has a free slot"
