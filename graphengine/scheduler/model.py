"""What the scheduler knows: slotted records for tasks, workers and clients, and the outbox.

These are plain data; every change to them goes through :class:`~.state.SchedulerState`,
which keeps the cross-references (``who_has`` / ``has_what``, ``waiting_on`` / ``waiters``)
consistent and checks them in ``validate()``.

    >>> ws = WorkerState("tcp://127.0.0.1:4000", nthreads=2)
    >>> ws.free_slots(saturation=1.0)
    2
"""
from __future__ import annotations

import math
import sys
from collections import defaultdict
from typing import Any, Hashable

__all__ = ["TaskState", "WorkerState", "ClientState", "Outbox", "TASK_STATES", "EMPTY",
           "with_item"]

#: The shared empty set of TaskState fields that are usually empty (never mutated).
EMPTY: frozenset = frozenset()


def with_item(items: set | frozenset, item: object) -> set:
    """``items`` plus ``item``, as a real set (a new one if ``items`` is :data:`EMPTY`):
    ``ts.who_has = with_item(ts.who_has, ws)``."""
    if items is EMPTY:
        return {item}
    items.add(item)  # type: ignore[union-attr]
    return items  # type: ignore[return-value]

#: Every state a task can be in on the scheduler.
TASK_STATES = ("released", "waiting", "queued", "no-worker", "processing", "memory",
               "erred", "forgotten")


class TaskState:
    """One key of the graph as the scheduler sees it.

    ``priority`` is a tuple (lower runs first): ``(-user_priority, generation, order)``.
    ``waiting_on`` holds the dependencies not yet in memory; ``waiters`` the dependents
    that still need this result. A result is released once it has no waiters and no
    client wants it.
    """

    __slots__ = (
        "key", "prefix", "run_spec", "priority", "state", "dependencies", "dependents",
        "waiting_on", "waiters", "who_wants", "who_has", "processing_on", "nbytes",
        "exception", "traceback", "exception_blame", "suspicious", "retries",
        "worker_restrictions", "resource_restrictions", "loose_restrictions",
        "is_root", "progress_bucket", "__weakref__",
    )

    def __init__(self, key: Hashable, run_spec: Any, prefix: str, priority: tuple = (0,)):
        self.key = key
        self.prefix = prefix
        self.run_spec = run_spec
        self.priority = priority
        self.state = "released"
        self.dependencies: set[TaskState] = set()
        self.dependents: set[TaskState] = set()
        # Usually empty: they share one immutable empty set until something is added (a
        # million tasks then carry 4 fewer objects each, and checks stay in cache).
        self.waiting_on: set[TaskState] | frozenset = EMPTY
        self.waiters: set[TaskState] | frozenset = EMPTY
        self.who_wants: set[ClientState] | frozenset = EMPTY
        self.who_has: set[WorkerState] | frozenset = EMPTY
        self.processing_on: WorkerState | None = None
        self.nbytes = -1
        self.exception: Any = None
        self.traceback: Any = None
        self.exception_blame: TaskState | None = None
        self.suspicious = 0
        self.retries = 0
        self.worker_restrictions: frozenset[str] | None = None
        self.resource_restrictions: dict[str, float] | None = None
        self.loose_restrictions = False
        self.is_root = False
        #: what the progress table counts it as (see scheduler/progress.py)
        self.progress_bucket: str | None = None

    def __repr__(self) -> str:
        return f"<TaskState {self.key!r} {self.state}>"

    def __lt__(self, other: TaskState) -> bool:  # heap ties: never compare keys of mixed types
        return self.priority < other.priority


class WorkerState:
    """A worker: its capacity, what it is running and what it holds."""

    __slots__ = (
        "address", "name", "nthreads", "memory_limit", "resources", "processing",
        "has_what", "nbytes", "occupancy", "status", "last_seen", "metrics",
    )

    def __init__(self, address: str, nthreads: int, memory_limit: int = 0,
                 resources: dict[str, float] | None = None, name: Any = None,
                 now: float = 0.0):
        self.address = address
        self.name = address if name is None else name
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.resources = dict(resources or {})
        #: task -> its estimated duration when it was assigned (so it can be undone exactly)
        self.processing: dict[TaskState, float] = {}
        self.has_what: set[TaskState] = set()
        self.nbytes = 0
        #: estimated seconds of work assigned and not finished
        self.occupancy = 0.0
        self.status = "running"  # "running" | "paused" | "closing"
        self.last_seen = now
        self.metrics: dict[str, Any] = {}

    def free_slots(self, saturation: float, lookahead: int = 0) -> int:
        """Root tasks this worker may still receive: ``ceil(nthreads * saturation) +
        lookahead`` minus what it is processing (at least one slot per worker so nothing
        starves)."""
        if math.isinf(saturation):
            return sys.maxsize  # queuing is off: never short of slots
        limit = max(1, math.ceil(self.nthreads * saturation)) + lookahead
        return limit - len(self.processing)

    def __repr__(self) -> str:
        return (f"<WorkerState {self.address!r} {self.status} threads={self.nthreads} "
                f"processing={len(self.processing)} memory={len(self.has_what)}>")


class ClientState:
    """A client and the keys it holds futures for."""

    __slots__ = ("client_id", "wants_what", "last_seen")

    def __init__(self, client_id: str, now: float = 0.0):
        self.client_id = client_id
        self.wants_what: set[TaskState] = set()
        self.last_seen = now

    def __repr__(self) -> str:
        return f"<ClientState {self.client_id!r} wants={len(self.wants_what)}>"


class Outbox:
    """Messages an event produced, by recipient; the server shell sends them.

    ``workers[address]`` and ``clients[client_id]`` are lists of message dicts, each with
    an ``"op"``; they are plain data ready for the wire.
    """

    __slots__ = ("workers", "clients")

    def __init__(self) -> None:
        self.workers: defaultdict[str, list[dict]] = defaultdict(list)
        self.clients: defaultdict[str, list[dict]] = defaultdict(list)

    def to_worker(self, address: str, msg: dict) -> None:
        self.workers[address].append(msg)

    def to_clients(self, clients: set[ClientState], msg: dict) -> None:
        for cs in clients:
            self.clients[cs.client_id].append(msg)

    def extend(self, other: Outbox) -> None:
        for address, msgs in other.workers.items():
            self.workers[address].extend(msgs)
        for client, msgs in other.clients.items():
            self.clients[client].extend(msgs)

    def __bool__(self) -> bool:
        return bool(self.workers) or bool(self.clients)

    def __repr__(self) -> str:
        return f"<Outbox workers={dict(self.workers)} clients={dict(self.clients)}>"
