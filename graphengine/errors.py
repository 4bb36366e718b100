"""Every public exception of graphengine, in one place.

Exceptions keep their fields in ``args`` so that they pickle across processes and the wire.

    >>> from graphengine.errors import CycleError
    >>> CycleError(["a", "b", "a"]).cycle
    ['a', 'b', 'a']
"""
from __future__ import annotations

from typing import Any, Hashable, Sequence

__all__ = [
    "GraphError",
    "CycleError",
    "MissingDependencyError",
    "InvalidKeyError",
    "TaskSerializationError",
    "RemoteTraceback",
    "CommClosedError",
    "ProtocolError",
    "AuthenticationError",
    "KilledWorker",
    "LostDataError",
]


class GraphError(ValueError):
    """A task graph is malformed."""


class CycleError(GraphError):
    """The graph has a cycle; ``cycle`` lists its keys, first key repeated at the end."""

    def __init__(self, cycle: Sequence[Hashable]):
        super().__init__(list(cycle))

    @property
    def cycle(self) -> list[Hashable]:
        return self.args[0]

    def __str__(self) -> str:
        return "cycle in task graph: " + " -> ".join(repr(k) for k in self.cycle)


class MissingDependencyError(GraphError, KeyError):
    """A task depends on a key that is neither in the graph nor given as data."""

    def __init__(self, key: Hashable, dependent: Hashable | None = None):
        super().__init__(key, dependent)

    @property
    def key(self) -> Hashable:
        return self.args[0]

    @property
    def dependent(self) -> Hashable | None:
        return self.args[1]

    def __str__(self) -> str:
        if self.dependent is None:
            return f"key {self.key!r} is not in the graph"
        return f"task {self.dependent!r} depends on missing key {self.key!r}"


class InvalidKeyError(TypeError):
    """A key is not a ``str`` or a tuple ``(name, i, j, ...)`` of a name and ints."""


class TaskSerializationError(TypeError):
    """A task could not be serialized (pickled) to run in another process."""

    def __init__(self, key: Hashable, reason: str):
        super().__init__(key, reason)

    def __str__(self) -> str:
        return f"could not serialize task {self.args[0]!r}: {self.args[1]}"


class RemoteTraceback(Exception):
    """Carries the traceback text of an exception raised in another process.

    Attached as ``__cause__`` of the re-raised exception, so Python prints it first.
    """

    def __init__(self, tb: str):
        super().__init__(tb)

    def __str__(self) -> str:
        return "\n\nRemote traceback:\n" + self.args[0]


class CommClosedError(IOError):
    """A connection was closed, by the peer or because it sent something invalid."""


class ProtocolError(CommClosedError):
    """A peer broke the wire protocol (bad frame, bad header, incompatible version)."""


class AuthenticationError(CommClosedError):
    """A peer failed the authentication handshake."""


class KilledWorker(Exception):
    """A task was running on too many workers that died; it is not retried again."""

    def __init__(self, key: Hashable, last_worker: Any = None, allowed_failures: int = 3):
        super().__init__(key, last_worker, allowed_failures)

    def __str__(self) -> str:
        key, worker, n = self.args
        return (f"task {key!r} was running on {n} workers that died "
                f"(the last one was {worker!r}); it may be what kills them")


class LostDataError(Exception):
    """A result was lost (its worker died) and there is no task to recompute it from,
    e.g. data that a client scattered."""

    def __init__(self, key: Hashable):
        super().__init__(key)

    def __str__(self) -> str:
        return (f"the data of {self.args[0]!r} was lost with its worker and cannot be "
                "recomputed (it was not produced by a task)")
