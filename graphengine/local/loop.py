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

import contextlib
import heapq
import time
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
    #: Optional. True: the loop calls each task itself, in this thread, in priority order,
    #: and never calls ``submit``/``wait`` (the sync scheduler).
    inline: bool

    def submit(self, batch: Batch, data: Mapping[Key, Any], computation: "Computation") -> None:
        """Start running ``batch``; the inputs are in ``data``."""

    def wait(self, computation: "Computation") -> list[Outcome]:
        """Block until at least one submitted batch is finished; return the outcomes."""

    def abandon(self) -> None:
        """Optional. Ctrl-C stopped a computation: running tasks cannot be stopped,
        so later computations must not queue behind them."""


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
        dense = True
    else:
        dense = False
    prio, key_of = _ranks(graph, priorities, dense)

    outputs = set(keys)
    waiting: dict[Key, int] = {}      # key -> number of unfinished dependencies
    users: dict[Key, int] = {}        # key -> dependents not yet finished (for release)
    # key -> its one dependent, or a list of them. Most keys have a single dependent
    # (chains, trees), and not allocating a list each spares the garbage collector
    # ~one tracked object per task.
    dependents: dict[Key, Any] = {}
    data: dict[Key, Any] = {}
    ready: list[int] = []             # heap of priorities (ranks), not of tuples
    for key, d in deps.items():
        if d:
            for dep in d:
                if dep not in graph:
                    raise MissingDependencyError(dep, key)
                users[dep] = users.get(dep, 0) + 1
                have = dependents.get(dep)
                if have is None:
                    dependents[dep] = key
                elif type(have) is list:
                    have.append(key)
                else:
                    dependents[dep] = [have, key]
            waiting[key] = len(d)
        elif type(graph[key]) is Task:
            ready.append(prio[key])
        else:
            data[key] = graph[key]  # plain data: available at once
    for key in list(data):
        for dep in _as_list(dependents.get(key)):
            n = waiting[dep] - 1
            if n:
                waiting[dep] = n
            else:
                del waiting[dep]
                ready.append(prio[dep])
    heapq.heapify(ready)

    for cb in callbacks:
        cb._start(graph)
    state = {"ready": ready, "waiting": waiting, "finished": len(data),
             "total": len(graph)} if callbacks else None
    for cb in callbacks:
        cb._start_state(graph, state)

    computation = Computation()
    total_tasks = len(graph) - len(data)
    finished = 0
    heappop = heapq.heappop
    heappush = heapq.heappush
    get_dependents = dependents.get

    def complete(key: Key, value: Any) -> None:
        """Store a result, make ready what waited for it, release inputs now unused."""
        data[key] = value
        users_of_key = get_dependents(key)
        if users_of_key is not None:
            if type(users_of_key) is not list:
                users_of_key = (users_of_key,)
            for dep in users_of_key:
                n = waiting[dep] - 1
                if n:
                    waiting[dep] = n
                else:
                    del waiting[dep]
                    heappush(ready, prio[dep])
        for d in deps[key]:
            n = users[d] - 1
            users[d] = n
            if n == 0 and d not in outputs:
                del data[d]
        if callbacks:
            state["finished"] += 1
            for cb in callbacks:
                cb._posttask(key, value, graph, state)

    try:
        if getattr(pool, "inline", False):
            # The loop runs each task itself, one at a time: the strict priority order
            # that bounds memory, no batch to build, and the task's own traceback.
            while ready:
                key = key_of[heappop(ready)]
                task = graph[key]  # only tasks are ever ready, plain data is stored
                if callbacks:
                    for cb in callbacks:
                        cb._pretask(key, graph, state)
                complete(key, task(data))
                finished += 1
        else:
            finished = _drive_pool(pool, graph, data, ready, key_of, complete, computation,
                                   callbacks, state, max_batch, total_tasks)
        if finished < total_tasks:
            # Nothing running and nothing ready: the graph cannot finish.
            stuck = sorted(waiting, key=repr)[:5]
            raise RuntimeError(f"local scheduler stalled with tasks waiting: {stuck}")
    except BaseException as exc:
        computation.cancelled = True  # workers skip what is still queued
        if isinstance(exc, KeyboardInterrupt) and hasattr(pool, "abandon"):
            # Here, not in ``wait``: the interrupt may land anywhere in this loop, e.g.
            # while it submits a batch.
            pool.abandon()
        for cb in callbacks:
            cb._finish(graph, state, True)
        raise
    for cb in callbacks:
        cb._finish(graph, state, False)
    return {k: data[k] for k in keys}


#: Work per batch handed to a pool, in seconds (see _drive_pool).
_BATCH_SECONDS = 0.002


def _drive_pool(pool: Pool, graph: Mapping[Key, Any], data: dict, ready: list, key_of: list,
                complete: Any, computation: Computation, callbacks: list, state: Any,
                max_batch: int, total_tasks: int) -> int:
    """Hand ready tasks to ``pool`` in batches until all ran; return how many did."""
    make_cap = getattr(pool, "blas_cap", None)
    with make_cap() if make_cap is not None else contextlib.nullcontext() as blas:
        return _drive_pool_capped(pool, graph, data, ready, key_of, complete, computation,
                                  callbacks, state, max_batch, total_tasks, blas)


def _drive_pool_capped(pool: Pool, graph: Mapping[Key, Any], data: dict, ready: list,
                       key_of: list, complete: Any, computation: Computation,
                       callbacks: list, state: Any, max_batch: int, total_tasks: int,
                       blas: Any) -> int:
    nworkers = max(1, pool.nworkers)
    in_flight = 0
    finished = 0
    heappop = heapq.heappop
    submit = pool.submit
    started = time.perf_counter()
    while finished < total_tasks:
        # Fill the pool: a batch per idle worker, sized so that every worker gets a
        # share of what is ready (small batches keep priorities meaningful), and capped
        # at about _BATCH_SECONDS of work: tiny tasks share a hand-off, long ones go one
        # at a time, so many ready roots (e.g. array blocks) are not all started before
        # the tasks that consume and release them. Until a task has finished its cost is
        # unknown, so each idle worker gets one.
        if blas is not None and in_flight == 0:
            # Nothing of ours runs: the moment to size BLAS for what starts now.
            blas.runnable(len(ready))
        while ready and in_flight < nworkers:
            size = len(ready) // (nworkers - in_flight)
            if finished:
                per_task = (time.perf_counter() - started) * nworkers / finished
                cap = int(_BATCH_SECONDS / per_task) if per_task > 0 else max_batch
            else:
                cap = 1
            size = 1 if size < 1 or cap < 1 else min(size, cap, max_batch)
            batch = []
            for _ in range(size):
                key = key_of[heappop(ready)]
                batch.append((key, graph[key]))
                if callbacks:
                    for cb in callbacks:
                        cb._pretask(key, graph, state)
            submit(batch, data, computation)
            in_flight += 1
        if in_flight == 0:
            break  # stalled: the caller names what is stuck
        for done, error in pool.wait(computation):
            in_flight -= 1
            for key, value in done:
                complete(key, value)
                finished += 1
            if error is not None:
                raise error[1]
    return finished


def _as_list(dependents: Any) -> Any:
    """The dependents entry of a key as a sequence (it is one key, a list, or None)."""
    if dependents is None:
        return ()
    return dependents if type(dependents) is list else (dependents,)


def _ranks(graph: Mapping[Key, Any], priorities: Mapping[Key, int], dense: bool
           ) -> tuple[Mapping[Key, int], list]:
    """``(rank of each key, key of each rank)``: unique ints ``0..n-1`` in priority order.

    The ready heap then holds plain ints, which compare and allocate faster than
    ``(priority, key)`` tuples. :func:`~graphengine.graph.order.order` already returns
    such ranks (``dense``); other priorities are ranked, ties kept in graph order.
    """
    if dense:
        key_of: list = [None] * len(priorities)
        for key, p in priorities.items():
            key_of[p] = key
        return priorities, key_of
    try:
        key_of = sorted(graph, key=priorities.__getitem__)
    except KeyError as exc:
        raise KeyError(f"priorities have no entry for key {exc.args[0]!r}") from None
    return {k: i for i, k in enumerate(key_of)}, key_of
