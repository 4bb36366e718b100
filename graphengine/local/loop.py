"""The one execution loop behind every local scheduler.

:func:`execute` walks a graph in priority order (from :func:`graphengine.graph.order`),
hands ready tasks in batches to a *pool*, takes results back, releases every result as
soon as nothing else needs it, and stops at the first error. The sync, threads and
processes schedulers differ only in their pool: how a batch of tasks is run.

    >>> from graphengine.graph.spec import Task, Ref
    >>> from graphengine.local.sync import SyncPool
    >>> execute({"a": 1, "b": Task("b", abs, Ref("a"))}, ["b"], SyncPool())
    {'b': 1}
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from graphengine.errors import MissingDependencyError
from graphengine.graph.order import order as static_order
from graphengine.graph.spec import Key, Task
from graphengine.graph.toposort import dependencies_map
from graphengine.local.callbacks import Callback, active_callbacks

__all__ = ["execute", "Pool", "Batch", "Outcome"]

#: A batch of work: ``[(key, task_or_value), ...]`` plus the inputs it reads.
Batch = list
#: What a pool returns for a batch: ``(done, error)`` — ``done`` is ``[(key, value)]`` for
#: the tasks that finished, ``error`` is ``None`` or ``(key, exception)``.
Outcome = tuple


class Pool(Protocol):
    """How a local scheduler runs tasks. See :mod:`graphengine.local.sync` for the simplest."""

    #: How many batches may run at once.
    nworkers: int

    def submit(self, batch: Batch, data: Mapping[Key, Any], computation: "Computation") -> None:
        """Start running ``batch``; the inputs are in ``data``."""

    def wait(self, computation: "Computation") -> list[Outcome]:
        """Block until at least one submitted batch is finished; return the outcomes."""


class Computation:
    """Per-run state a pool needs: a cancel flag its workers check between tasks."""

    __slots__ = ("cancelled", "results")

    def __init__(self) -> None:
        self.cancelled = False
        self.results: Any = None  # a pool may keep its per-run result queue here


def execute(graph: Mapping[Key, Any], keys: Iterable[Key], pool: Pool, *,
            callbacks: Sequence[Callback] = (), max_batch: int = 64,
            priorities: Mapping[Key, int] | None = None) -> dict[Key, Any]:
    """Run the tasks that ``keys`` need and return ``{key: result}`` for ``keys``.

    ``graph`` must already be culled to what ``keys`` need (see
    :func:`graphengine.collections.base.optimize`). A task's exception propagates with its
    type and traceback; no further task is started after it.

    Raises
    ------
    MissingDependencyError
        If a task depends on a key that is not in ``graph``.
    """
    keys = list(dict.fromkeys(keys))
    for k in keys:
        if k not in graph:
            raise MissingDependencyError(k)
    callbacks = list(callbacks) + [c for c in active_callbacks() if c not in callbacks]
    deps = dependencies_map(graph)
    if priorities is None:
        priorities = static_order(graph, deps, outputs=keys)  # raises CycleError

    outputs = set(keys)
    waiting: dict[Key, int] = {}      # key -> number of unfinished dependencies
    users: dict[Key, int] = {}        # key -> dependents not yet finished (for release)
    dependents: dict[Key, list] = {}
    data: dict[Key, Any] = {}
    ready: list[tuple[int, Key]] = []
    for key, d in deps.items():
        for dep in d:
            if dep not in graph:
                raise MissingDependencyError(dep, key)
            try:
                dependents[dep].append(key)
            except KeyError:
                dependents[dep] = [key]
        if d:
            waiting[key] = len(d)
        else:
            value = graph[key]
            if type(value) is Task:
                ready.append((priorities[key], key))
            else:
                data[key] = value  # plain data: available at once
    for key in list(data):
        for dep in dependents.get(key, ()):
            n = waiting[dep] - 1
            if n:
                waiting[dep] = n
            else:
                del waiting[dep]
                ready.append((priorities[dep], dep))
    for key, ds in dependents.items():
        users[key] = len(ds)
    heapq.heapify(ready)

    for cb in callbacks:
        cb._start(graph)
    state = {"ready": ready, "waiting": waiting, "finished": len(data),
             "total": len(graph)} if callbacks else None
    for cb in callbacks:
        cb._start_state(graph, state)

    computation = Computation()
    nworkers = max(1, pool.nworkers)
    in_flight = 0
    total_tasks = len(graph) - len(data)
    finished = 0
    heappop = heapq.heappop
    try:
        while finished < total_tasks:
            # Fill the pool: a batch per idle worker, sized so that every worker gets a
            # share of what is ready (small batches keep priorities meaningful).
            while ready and in_flight < nworkers:
                size = len(ready) // (nworkers - in_flight)
                size = 1 if size < 1 else (max_batch if size > max_batch else size)
                batch = []
                for _ in range(size):
                    _, key = heappop(ready)
                    batch.append((key, graph[key]))
                    if callbacks:
                        for cb in callbacks:
                            cb._pretask(key, graph, state)
                pool.submit(batch, data, computation)
                in_flight += 1
            if in_flight == 0:
                # Nothing running and nothing ready: the graph cannot finish.
                stuck = sorted(waiting, key=repr)[:5]
                raise RuntimeError(f"local scheduler stalled with tasks waiting: {stuck}")
            for done, error in pool.wait(computation):
                in_flight -= 1
                for key, value in done:
                    data[key] = value
                    finished += 1
                    for dep in dependents.get(key, ()):
                        n = waiting[dep] - 1
                        if n:
                            waiting[dep] = n
                        else:
                            del waiting[dep]
                            heapq.heappush(ready, (priorities[dep], dep))
                    # Release inputs nothing else needs any more.
                    task = graph[key]
                    if type(task) is Task:
                        for d in task.dependencies:
                            n = users[d] - 1
                            users[d] = n
                            if n == 0 and d not in outputs:
                                del data[d]
                    if callbacks:
                        if state is not None:
                            state["finished"] += 1
                        for cb in callbacks:
                            cb._posttask(key, value, graph, state)
                if error is not None:
                    raise error[1]
    except BaseException:
        computation.cancelled = True  # workers skip what is still queued
        for cb in callbacks:
            cb._finish(graph, state, True)
        raise
    for cb in callbacks:
        cb._finish(graph, state, False)
    return {k: data[k] for k in keys}
