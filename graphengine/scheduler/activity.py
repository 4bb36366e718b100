"""What the workers did, as the scheduler hears it: the task stream, profiles, memory.

Three bounded logs fed by worker messages and read by the dashboard, performance reports
and ``Client.get_task_stream`` / ``Client.profile``. Each keeps a running count of what
was ever appended, so a reader that remembers the count it saw takes only what is new:
work proportional to what changed, not to everything that ever ran.

    >>> log = TaskStreamLog(maxlen=10)
    >>> log.append((1.0, 2.0, "compute", "inc-1", "inc", "tcp://a", 0, 8, None))
    >>> [r["key"] for r in log.since(0)], log.count
    (['inc-1'], 1)
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

__all__ = ["CountedLog", "TaskStreamLog", "ProfileLog", "MemoryHistory", "RECORD_FIELDS",
           "ACTIONS"]

#: The fields of a task-stream record, in the order of the tuples the log keeps.
RECORD_FIELDS = ("start", "stop", "action", "key", "prefix", "worker", "thread", "nbytes",
                 "source")
#: What a rectangle of the task stream can be.
ACTIONS = ("compute", "erred", "transfer", "disk-write", "disk-read")


class CountedLog:
    """A deque of the newest ``maxlen`` entries plus how many were ever appended."""

    def __init__(self, maxlen: int):
        self.entries: deque = deque(maxlen=maxlen)
        self.count = 0

    def append(self, entry: Any) -> None:
        self.entries.append(entry)
        self.count += 1

    def extend(self, entries: Iterable[Any]) -> None:
        for entry in entries:
            self.append(entry)

    def entries_since(self, count: int) -> list:
        """Entries appended after the reader had seen ``count`` of them."""
        new = min(self.count - count, len(self.entries))
        if new <= 0:
            return []
        entries = self.entries
        n = len(entries)
        return [entries[i] for i in range(n - new, n)]

    def __len__(self) -> int:
        return len(self.entries)


class TaskStreamLog(CountedLog):
    """Rectangles of the task stream: one per task run, transfer or spill.

    Entries are tuples in :data:`RECORD_FIELDS` order (cheap to keep); queries return
    dicts.
    """

    def since(self, count: int) -> list[dict]:
        """Records appended after the reader had seen ``count`` of them."""
        return [dict(zip(RECORD_FIELDS, r)) for r in self.entries_since(count)]

    def window(self, start: float | None = None, stop: float | None = None,
               count: int | None = None) -> list[dict]:
        """Records that ended after ``start`` and began before ``stop`` (wall-clock
        seconds), oldest first; only the last ``count`` when given."""
        rows = [r for r in self.entries
                if (start is None or r[1] >= start) and (stop is None or r[0] <= stop)]
        if count is not None:
            rows = rows[-count:] if count > 0 else []
        return [dict(zip(RECORD_FIELDS, r)) for r in rows]


class ProfileLog(CountedLog):
    """Call trees sampled on workers: entries ``(time, worker, prefix, tree)``, each
    covering ``bucket`` seconds from ``time``."""

    def __init__(self, maxlen: int, bucket: float = 1.0):
        super().__init__(maxlen)
        self.bucket = bucket

    def select(self, start: float | None = None, stop: float | None = None,
               prefix: str | None = None, workers: Iterable[str] | None = None
               ) -> list[dict]:
        """The trees of entries overlapping the window, of ``prefix``, from ``workers``."""
        wanted = None if workers is None else set(workers)
        if start is not None:
            start -= self.bucket
        return [tree for t, w, p, tree in self.entries
                if (start is None or t > start) and (stop is None or t <= stop)
                and (prefix is None or p == prefix) and (wanted is None or w in wanted)]

    def prefixes(self) -> list[str]:
        """Task prefixes with samples, sorted."""
        return sorted({p for _, _, p, _ in self.entries})


class MemoryHistory(CountedLog):
    """Worker memory over time: entries ``(time, worker, managed, spilled, unmanaged)``."""

    def window(self, start: float | None = None, stop: float | None = None) -> list[tuple]:
        return [e for e in self.entries
                if (start is None or e[0] >= start) and (stop is None or e[0] <= stop)]
