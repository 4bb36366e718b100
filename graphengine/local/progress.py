"""A text progress bar for local computations, drawn while the graph runs.

:class:`ProgressBar` is a :class:`~graphengine.local.callbacks.Callback`: a background
thread redraws ``[#####     ] | 50% Completed | 1.2s`` every ``dt`` seconds, and a final
line is drawn when the computation ends. Computations shorter than ``minimum`` seconds
draw nothing.

    >>> import graphengine
    >>> with ProgressBar():                                   # doctest: +SKIP
    ...     graphengine.delayed(sum)([1, 2]).compute()
    [########################################] | 100% Completed | 0.1s
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from graphengine.local.callbacks import Callback

__all__ = ["ProgressBar", "format_time"]


def format_time(seconds: float) -> str:
    """Elapsed time for humans: ``"1.2s"``, ``"2min 3.0s"``, ``"1hr 2min"``.

    Examples
    --------
    >>> format_time(1.23), format_time(123.4), format_time(3720)
    ('1.2s', '2min 3.4s', '1hr 2min')
    """
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}hr {minutes}min"
    if minutes:
        return f"{minutes}min {secs:.1f}s"
    return f"{secs:.1f}s"


class ProgressBar(Callback):
    """Show the progress of every local computation run while it is active.

    Parameters
    ----------
    minimum : float
        Seconds a computation must last before anything is drawn.
    width : int
        Characters inside the brackets.
    dt : float
        Seconds between redraws.
    out : file-like, optional
        Where to write; ``None`` means ``sys.stdout`` as it is when drawing (so output
        redirection set up after construction is honoured).

    Examples
    --------
    >>> import io
    >>> from graphengine.graph.spec import Task
    >>> from graphengine.local.get import get
    >>> buf = io.StringIO()
    >>> with ProgressBar(out=buf):
    ...     get({"x": Task("x", sum, [1, 2])}, "x", scheduler="sync")
    3
    >>> "100% Completed" in buf.getvalue()
    True

    ``ProgressBar().register()`` shows every later computation until ``unregister()``.
    """

    def __init__(self, minimum: float = 0, width: int = 40, dt: float = 0.1,
                 out: TextIO | None = None):
        if width < 1:
            raise ValueError(f"width must be a positive number of characters, got {width!r}")
        if dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
        super().__init__()
        self.minimum = minimum
        self.width = width
        self.dt = dt
        self._out = out
        self.last_duration = 0.0
        self._graph: Any = None
        self._state: Any = None
        self._start_time = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._timer: threading.Thread | None = None

    @property
    def out(self) -> TextIO:
        return sys.stdout if self._out is None else self._out

    def _start(self, graph: Any) -> None:
        # Only the outermost computation is shown: a compute nested inside a task (or a
        # concurrent one in another thread) would otherwise fight over the same line.
        with self._lock:
            if self._graph is not None:
                return
            self._graph = graph
        self._state = None
        self._start_time = time.perf_counter()
        self._stop.clear()
        self._timer = threading.Thread(target=self._timer_loop, name="graphengine-progress",
                                       daemon=True)
        self._timer.start()

    def _start_state(self, graph: Any, state: Any) -> None:
        if graph is self._graph:
            self._state = state

    def _finish(self, graph: Any, state: Any, errored: bool) -> None:
        if graph is not self._graph:
            return
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        elapsed = time.perf_counter() - self._start_time
        self.last_duration = elapsed
        if elapsed >= self.minimum:
            # A failed run keeps the fraction it reached; a finished one shows 100%.
            self._draw(1.0 if not errored else self._fraction(state), elapsed)
            self.out.write("\n")
            self.out.flush()
        self._timer = None
        self._graph = None  # last: the next computation may take over the line

    def _timer_loop(self) -> None:
        while not self._stop.wait(self.dt):
            elapsed = time.perf_counter() - self._start_time
            if elapsed > self.minimum:
                self._draw(self._fraction(self._state), elapsed)

    @staticmethod
    def _fraction(state: Any) -> float:
        if not state or not state.get("total"):
            return 0.0
        return min(1.0, state["finished"] / state["total"])

    def _draw(self, fraction: float, elapsed: float) -> None:
        bar = "#" * int(self.width * fraction)
        percent = int(100 * fraction)
        self.out.write(f"\r[{bar:<{self.width}}] | {percent:3d}% Completed | "
                       f"{format_time(elapsed)}")
        self.out.flush()
