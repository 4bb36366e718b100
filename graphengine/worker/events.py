"""What the worker's state machine reads and writes: events in, instructions out.

Events come from the scheduler (one class per wire op, see :func:`event_from_message`),
from the thread pool and from transfers; instructions go to the worker server, which
carries them out. All are slotted dataclasses; events carry a ``stimulus_id``.

    >>> event_from_message({"op": "free-keys", "keys": ["x"], "stimulus_id": "s1"})
    FreeKeys(keys=['x'], stimulus_id='s1')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

__all__ = [
    "event_from_message",
    "ComputeTask", "FreeKeys", "CancelCompute", "StealRequest", "ExecuteSuccess",
    "ExecuteFailure", "GatherDepSuccess", "GatherDepMissing", "GatherDepNetworkFailure",
    "AddData", "Pause", "Unpause", "Secede", "Rejoin",
    "Execute", "GatherDep", "SendToScheduler", "ReleaseData", "Rejoined",
]


# --- events ----------------------------------------------------------------------------

@dataclass(slots=True)
class ComputeTask:
    key: Hashable
    run_spec: Any
    priority: tuple = (0,)
    who_has: dict = field(default_factory=dict)
    nbytes: dict = field(default_factory=dict)
    resources: dict | None = None
    stimulus_id: str = "compute-task"


@dataclass(slots=True)
class FreeKeys:
    keys: list
    stimulus_id: str = "free-keys"


@dataclass(slots=True)
class CancelCompute:
    key: Hashable
    stimulus_id: str = "cancel-compute"


@dataclass(slots=True)
class StealRequest:
    key: Hashable
    stimulus_id: str = "steal-request"


@dataclass(slots=True)
class ExecuteSuccess:
    key: Hashable
    nbytes: int
    duration: float
    stimulus_id: str = "execute-success"
    #: ``(thread index, wall-clock start, stop)`` for the task stream, passed along
    startstop: tuple | None = None


@dataclass(slots=True)
class ExecuteFailure:
    key: Hashable
    exception: Any
    traceback: Any = None
    stimulus_id: str = "execute-failure"
    startstop: tuple | None = None


@dataclass(slots=True)
class GatherDepSuccess:
    worker: str
    data_nbytes: dict
    stimulus_id: str = "gather-dep-success"


@dataclass(slots=True)
class GatherDepMissing:
    worker: str
    keys: list
    stimulus_id: str = "gather-dep-missing"


@dataclass(slots=True)
class GatherDepNetworkFailure:
    worker: str
    keys: list
    stimulus_id: str = "gather-dep-network-failure"


@dataclass(slots=True)
class AddData:
    """Data placed here directly (scatter, or copied from a retiring worker)."""
    nbytes: dict
    stimulus_id: str = "add-data"


@dataclass(slots=True)
class Secede:
    """The task's thread waits on other work (``secede()``): it no longer holds a slot."""
    key: Hashable
    stimulus_id: str = "secede"


@dataclass(slots=True)
class Rejoin:
    """The seceded task wants a slot back (``rejoin()``); it waits for ``Rejoined``."""
    key: Hashable
    stimulus_id: str = "rejoin"


@dataclass(slots=True)
class Pause:
    stimulus_id: str = "pause"


@dataclass(slots=True)
class Unpause:
    stimulus_id: str = "unpause"


#: Scheduler message ops -> event classes.
_MESSAGE_EVENTS = {"compute-task": ComputeTask, "free-keys": FreeKeys,
                   "cancel-compute": CancelCompute, "steal-request": StealRequest}


def event_from_message(msg: dict) -> Any:
    """The event for a scheduler message (``{"op": ..., **fields}``).

    Raises
    ------
    KeyError
        For an unknown op; ``TypeError`` for missing or unexpected fields.
    """
    fields = dict(msg)
    op = fields.pop("op")
    try:
        cls = _MESSAGE_EVENTS[op]
    except KeyError:
        raise KeyError(f"a worker does not handle {op!r} messages") from None
    return cls(**fields)


# --- instructions ----------------------------------------------------------------------

@dataclass(slots=True)
class Execute:
    key: Hashable
    run_spec: Any


@dataclass(slots=True)
class GatherDep:
    worker: str
    keys: list
    total_nbytes: int


@dataclass(slots=True)
class SendToScheduler:
    msg: dict


@dataclass(slots=True)
class ReleaseData:
    keys: list


@dataclass(slots=True)
class Rejoined:
    """A seceded task may continue: it holds a slot again."""
    key: Hashable
