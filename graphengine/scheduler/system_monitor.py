"""The scheduler process watching itself: CPU, memory, event-loop latency, messages/s.

:class:`SystemMonitor` is plain state (``sample`` takes the measurements as arguments);
the scheduler's server calls :meth:`SystemMonitor.run` as a task on its loop, which
measures how late each wake-up comes, an honest figure for how long the loop was busy.

    >>> m = SystemMonitor(maxlen=4)
    >>> _ = m.sample(now=10.0, cpu=5.0, memory=100, latency=0.001)
    >>> m.messages += 30
    >>> m.sample(now=10.5, cpu=6.0, memory=120, latency=0.002)["messages_per_s"]
    60.0
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import psutil

from graphengine.scheduler.activity import CountedLog

__all__ = ["SystemMonitor", "SYSTEM_FIELDS"]

#: The columns of a sample.
SYSTEM_FIELDS = ("time", "cpu", "memory", "latency", "messages_per_s")


class SystemMonitor:
    """The newest ``maxlen`` samples of the process, every ``interval`` seconds.

    ``messages`` is a counter the server increments per message it handles; each sample
    turns its growth into a rate.
    """

    def __init__(self, interval: float = 0.5, maxlen: int = 1200):
        self.interval = interval
        self._log = CountedLog(maxlen)
        #: the newest samples, oldest first
        self.samples: deque[dict[str, float]] = self._log.entries
        self.messages = 0
        self._last: tuple[float, int] | None = None
        self._process = psutil.Process()

    def sample(self, *, now: float, cpu: float, memory: int, latency: float
               ) -> dict[str, float]:
        """Record one measurement; returns it."""
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (self.messages - self._last[1]) / (now - self._last[0])
        self._last = (now, self.messages)
        entry = {"time": now, "cpu": cpu, "memory": memory, "latency": latency,
                 "messages_per_s": rate}
        self._log.append(entry)
        return entry

    @property
    def count(self) -> int:
        """Samples ever taken, for readers that take only new ones."""
        return self._log.count

    def since(self, count: int) -> list[dict[str, float]]:
        """Samples taken after the reader had seen ``count`` of them."""
        return self._log.entries_since(count)

    def measure(self, latency: float) -> dict[str, float]:
        """Sample this process now."""
        try:
            cpu = self._process.cpu_percent()
            memory = self._process.memory_info().rss
        except psutil.Error:
            cpu, memory = 0.0, 0
        return self.sample(now=time.time(), cpu=cpu, memory=memory, latency=latency)

    async def run(self) -> None:
        """Sample forever on the running loop (cancel the task to stop)."""
        loop = asyncio.get_running_loop()
        self._process.cpu_percent()  # the first call only starts the CPU clock
        while True:
            expected = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.measure(max(loop.time() - expected, 0.0))

    def latest(self) -> dict[str, Any]:
        return dict(self.samples[-1]) if self.samples else {}
