"""A worker's memory policy: the limit, its thresholds, and what to do at a measurement.

Pure: :func:`memory_action` maps one measurement (process RSS, managed bytes, paused or
not) to the action the worker's memory monitor carries out, so the policy is tested
without a process that fills up. The thresholds are fractions of ``memory_limit``:

``target`` (0.6)
    managed bytes in memory above this are spilled, least recently used first;
``spill`` (0.7)
    when the whole *process* passes this (unmanaged memory counts), spill until it is
    back under ``target``;
``pause`` (0.8)
    stop starting tasks (keep serving peers and spilling) until back under it;
``terminate`` (0.95)
    the nanny restarts the worker process.

Each is set in config (``worker.memory.target`` …) or per worker, and ``False`` turns
one off.

    >>> t = MemoryThresholds(limit=1000)
    >>> memory_action(t, rss=850, managed=500, paused=False)
    MemoryAction(pause=True, unpause=False, spill_to=600)
    >>> memory_action(t, rss=300, managed=100, paused=True)
    MemoryAction(pause=False, unpause=True, spill_to=None)
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import psutil

from graphengine import config

__all__ = ["MemoryThresholds", "MemoryAction", "memory_action", "parse_memory_limit",
           "system_memory", "process_rss", "release_free_memory", "PeakRSS"]


def system_memory() -> int:
    """Bytes this process may use: physical memory, or a smaller cgroup limit."""
    total = psutil.virtual_memory().total
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def parse_memory_limit(limit: Any, nworkers: int = 1) -> int:
    """Bytes from ``memory_limit``: an int, a string like ``"4GiB"``, ``"auto"`` (system
    memory divided among ``nworkers``), a fraction of system memory (a float <= 1), or
    ``0``/``None`` for no limit (returned as 0).

    Raises
    ------
    ValueError
        If ``limit`` is none of these; the message names it.
    """
    if limit is None or limit is False or limit == 0:
        return 0
    if isinstance(limit, str):
        text = limit.strip()
        if text.lower() == "auto":
            return system_memory() // max(1, nworkers)
        from graphengine.cli_options import parse_bytes

        try:
            return parse_bytes(text)
        except ValueError as e:
            raise ValueError(f"memory_limit={limit!r}: {e}") from None
    if isinstance(limit, float) and 0 < limit <= 1:
        return int(system_memory() * limit)
    if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0:
        return int(limit)
    raise ValueError(f"memory_limit={limit!r}: expected bytes (int or '4GiB'), 'auto', "
                     "a fraction of system memory, or 0/None for no limit")


def _fraction(name: str, value: Any) -> float | None:
    if value is None:
        value = config.get(f"worker.memory.{name}")
    if value is False:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"memory {name} fraction must be a number in (0, 1] or False, "
                         f"got {value!r}") from None
    if not 0 < f <= 1:
        raise ValueError(f"memory {name} fraction must be in (0, 1] or False, got {value!r}")
    return f


@dataclass(frozen=True)
class MemoryThresholds:
    """A memory limit in bytes (0: none) and its fractions (None: that one is off).

    Fractions left as ``None`` in the constructor come from config; pass ``False`` to
    turn one off.
    """

    limit: int = 0
    target: Any = None
    spill: Any = None
    pause: Any = None
    terminate: Any = None

    def __post_init__(self) -> None:
        for name in ("target", "spill", "pause", "terminate"):
            object.__setattr__(self, name, _fraction(name, getattr(self, name)))

    def bytes(self, name: str) -> int | None:
        """The threshold ``name`` in bytes, or None when it or the limit is off."""
        fraction = getattr(self, name)
        if not self.limit or fraction is None:
            return None
        return int(self.limit * fraction)

    def as_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "target": self.target, "spill": self.spill,
                "pause": self.pause, "terminate": self.terminate}


class MemoryAction(NamedTuple):
    """What the monitor does now: pause, unpause, and/or spill until the process is
    at most ``spill_to`` bytes (None: no spilling for the process size)."""

    pause: bool
    unpause: bool
    spill_to: int | None


def memory_action(t: MemoryThresholds, rss: int, managed: int, paused: bool) -> MemoryAction:
    """The monitor's decision for one measurement of process ``rss`` and ``managed``
    bytes in memory (see the module docstring)."""
    pause_at = t.bytes("pause")
    spill_at = t.bytes("spill")
    spill_to = None
    if spill_at is not None and rss > spill_at and managed > 0:
        target = t.bytes("target")
        spill_to = target if target is not None else spill_at
    pause = unpause = False
    if pause_at is not None and rss > pause_at:
        pause = not paused
    elif paused:
        unpause = True
    return MemoryAction(pause, unpause, spill_to)


def process_rss(pid: int | None = None) -> int:
    """Resident bytes of process ``pid`` (this one by default)."""
    return psutil.Process(pid or os.getpid()).memory_info().rss


def release_free_memory() -> bool:
    """Ask glibc to hand freed heap memory back to the system (``malloc_trim``); False
    where there is no glibc."""
    global _libc
    if _libc is None:
        try:
            import ctypes
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    _libc.malloc_trim(0)
    return True


_libc: Any = None


class PeakRSS:
    """The largest RSS seen of each of ``pids``, sampled every ``interval`` s in a
    thread while the context is open (for tests and benchmarks: ``.peak[pid]``)."""

    def __init__(self, pids: Any, interval: float = 0.005):
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = {p.pid: 0 for p in self.procs}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="graphengine-peak-rss")

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in self.procs:
                try:
                    self.peak[p.pid] = max(self.peak[p.pid], p.memory_info().rss)
                except psutil.Error:  # it exited: keep what was seen
                    pass
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
