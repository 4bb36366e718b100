"""Counts of tasks per key prefix and state, kept as tasks move: the dashboard's progress bars.

The counts change in :meth:`TransitionEngine.transition` (one dict update per move), so a
page reads them in time proportional to the number of prefixes, never to the number of
tasks. A task that finished and was then released or forgotten counts as ``"done"``; a
prefix whose tasks are all done starts again from zero when new tasks of it arrive.

    >>> from graphengine.scheduler.model import TaskState
    >>> p = PrefixProgress()
    >>> ts = TaskState("inc-1", None, "inc")
    >>> p.added(ts); p.moved(ts, "waiting"); p.counts["inc"]["waiting"]
    1
"""
from __future__ import annotations

from typing import Any

__all__ = ["PrefixProgress", "BUCKETS", "LIVE_BUCKETS"]

#: What a task counts as: its scheduler state, or "done" once finished and let go.
BUCKETS = ("released", "waiting", "queued", "no-worker", "processing", "memory", "erred",
           "done")
#: Buckets of tasks that still have something ahead of them or are held.
LIVE_BUCKETS = BUCKETS[:-1]


def _empty() -> dict[str, int]:
    return dict.fromkeys(BUCKETS, 0)


class PrefixProgress:
    """``counts[prefix][bucket]`` for every prefix with tasks, plus recently finished ones.

    Parameters
    ----------
    keep_finished : int
        How many prefixes whose tasks are all done are remembered (oldest dropped first).
    """

    def __init__(self, keep_finished: int = 200):
        self.keep_finished = keep_finished
        #: prefix -> bucket -> number of tasks; insertion order = order of last change
        self.counts: dict[str, dict[str, int]] = {}
        #: bumped on every change, so a reader can skip an unchanged table
        self.version = 0

    def added(self, ts: Any) -> None:
        """A new task (state ``released``) of ``ts.prefix``."""
        counts = self.counts.get(ts.prefix)
        if counts is None:
            counts = self.counts[ts.prefix] = _empty()
        elif not any(counts[b] for b in LIVE_BUCKETS):
            counts["done"] = 0  # a new computation of a finished prefix
        counts["released"] += 1
        ts.progress_bucket = "released"
        self.version += 1

    def moved(self, ts: Any, finish: str) -> None:
        """``ts`` goes from its current bucket to the one for state ``finish``."""
        start = ts.progress_bucket
        counts = self.counts.get(ts.prefix)
        if counts is None or start is None:
            return  # not counted (created before this table existed)
        if finish == "forgotten":
            if start in ("done", "memory"):
                bucket = "done"
            else:
                counts[start] -= 1
                ts.progress_bucket = None
                self._touch(ts.prefix, counts)
                return
        elif finish == "released" and start in ("memory", "done"):
            bucket = "done"
        else:
            bucket = finish
        if bucket != start:
            counts[start] -= 1
            counts[bucket] += 1
            ts.progress_bucket = bucket
            self._touch(ts.prefix, counts)

    def _touch(self, prefix: str, counts: dict[str, int]) -> None:
        self.version += 1
        if not any(counts.values()):
            del self.counts[prefix]
            return
        # Most recently changed last: finished prefixes age out oldest first.
        del self.counts[prefix]
        self.counts[prefix] = counts
        if len(self.counts) > self.keep_finished:
            self._drop_old_finished()

    def _drop_old_finished(self) -> None:
        finished = [p for p, c in self.counts.items() if not any(c[b] for b in LIVE_BUCKETS)]
        for prefix in finished[:max(0, len(finished) - self.keep_finished)]:
            del self.counts[prefix]

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of the table, safe to send or keep."""
        return {p: dict(c) for p, c in self.counts.items()}
