"""A worker's memory in action: the figures it reports, keeping values, spilling, and
the monitor that pauses, resumes and spills by process memory.

Mixed into :class:`~graphengine.worker.server.Worker`, which owns the attributes used
here (``data`` — a :class:`~graphengine.worker.store.SpillStore` once started —,
``memory`` thresholds, ``state``, the spill executor). The decisions themselves are the
pure :func:`~graphengine.worker.memory.memory_action`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from graphengine.worker import state as ws_state
from graphengine.worker.memory import memory_action, process_rss, release_free_memory
from graphengine.worker.store import SpillStore

__all__ = ["WorkerMemory"]

logger = logging.getLogger(__name__)


class WorkerMemory:
    """Memory accounting and spilling for a Worker (see the module docstring)."""

    data: Any
    memory: Any
    state: Any
    loop: Any

    def memory_metrics(self) -> dict[str, int]:
        """Bytes now: ``memory`` (process RSS), ``managed`` (results in memory),
        ``spilled`` (results on disk, at their in-memory size), ``unmanaged`` (RSS minus
        managed: interpreter, libraries, task temporaries, freed-but-kept memory)."""
        rss = process_rss()
        data = self.data
        managed = data.fast_nbytes if isinstance(data, SpillStore) else 0
        spilled = data.slow_nbytes if isinstance(data, SpillStore) else 0
        return {"memory": rss, "managed": managed, "spilled": spilled,
                "unmanaged": max(rss - managed, 0), "memory_limit": self.memory_limit,
                "memory_full": self._memory_full_at(rss)}


    def _store(self, values: dict) -> dict:
        """Keep values that arrived from elsewhere (peers, clients); their sizes. They
        come at network speed, so spilling catches up in the spill thread."""
        store = self.data
        for k, v in values.items():
            store[k] = v
        nbytes = {k: store.nbytes(k) for k in values}
        self._maybe_evict()
        return nbytes

    def _memory_full_at(self, rss: int) -> bool:
        spill_at = self.memory.bytes("spill")
        return spill_at is not None and rss > spill_at

    def _maybe_evict(self) -> None:
        """Spill down to the target in the spill thread if memory holds more."""
        data = self.data
        if (not self._evicting and data.target is not None
                and data.fast_nbytes > data.target and not data.spill_failing):
            self._evicting = True
            self._spawn(self._evict())

    async def _evict(self) -> None:
        try:
            await self.loop.run_in_executor(self._spill_executor, self.data.evict)
        finally:
            self._evicting = False

    async def _monitor_memory(self, interval: float) -> None:
        """Measure the process every ``interval`` s: pause, unpause, spill (see
        :func:`~graphengine.worker.memory.memory_action`)."""
        while self._status == "running":
            await asyncio.sleep(interval)
            if self._status != "running" or self.state is None:
                return
            data = self.data
            rss = process_rss()
            if self._memory_full_at(rss) != self._memory_full:
                self._send_heartbeat()  # the scheduler places work by it: tell it now
            action = memory_action(self.memory, rss, data.fast_nbytes, self.state.paused)
            if action.pause:
                logger.warning("worker %s paused: process memory %d bytes is over %.0f%% "
                               "of its %d-byte limit", self.address, rss,
                               100 * self.memory.pause, self.memory_limit)
                self.handle_event(ws_state.Pause(stimulus_id=f"pause-{time.time()}"))
            elif action.unpause:
                logger.info("worker %s resumes: process memory %d bytes", self.address, rss)
                self.handle_event(ws_state.Unpause(stimulus_id=f"unpause-{time.time()}"))
            if action.spill_to is not None and not self._evicting:
                self._evicting = True
                try:
                    await self.loop.run_in_executor(self._spill_executor,
                                                    self._spill_process_to, action.spill_to)
                finally:
                    self._evicting = False
            else:
                self._maybe_evict()

    def _spill_process_to(self, rss_target: int) -> None:
        """Spill oldest results until the process is at most ``rss_target`` bytes (in
        the spill thread)."""
        data = self.data
        while True:
            if data.spill_one() is None:
                break
            if process_rss() <= rss_target:
                self._unmanaged_warned = False
                return
        rss = process_rss()
        if rss > rss_target and release_free_memory():
            rss = process_rss()
        if rss > rss_target and not self._unmanaged_warned and not data.spill_failing:
            self._unmanaged_warned = True
            logger.warning("worker %s: process memory %d bytes stays over %d with every "
                           "result spilled: %d bytes are unmanaged (task temporaries, "
                           "libraries, memory not returned to the system)", self.address,
                           rss, rss_target, max(rss - data.fast_nbytes, 0))
