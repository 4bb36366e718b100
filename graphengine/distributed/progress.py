"""``progress(futures)``: a bar that advances as the scheduler reports results.

In a terminal it draws a text bar and returns when everything is done; in Jupyter it
shows an HTML bar that updates in place and returns at once. It is fed by the
scheduler's ``key-in-memory`` / ``task-erred`` messages (futures' done callbacks), never
by polling per task.

    >>> from graphengine.distributed import Client, progress   # doctest: +SKIP
    >>> futures = client.map(slow, range(100))                  # doctest: +SKIP
    >>> progress(futures)                                       # doctest: +SKIP
    [########################################] | 100% 100/100 done, 0 erred
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from graphengine.distributed.future import futures_of

__all__ = ["progress"]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _Bar:
    def __init__(self, futures: list[Future], width: int, out: TextIO | None,
                 notebook: bool, interval: float):
        self.futures = futures
        self.total = len(futures)
        self.width = width
        self.out = out
        self.notebook = notebook
        self.interval = interval
        self.done = 0
        self.erred = 0
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self._last_draw = 0.0
        self._handle = None

    def start(self) -> None:
        if self.notebook:
            from IPython.display import HTML, display

            self._handle = display(HTML(self._html()), display_id=True)
        if not self.futures:
            self.finished.set()
        for f in self.futures:
            f.add_done_callback(self._one_done)
        self.draw(force=True)

    def _one_done(self, f: Future) -> None:
        with self.lock:
            self.done += 1
            if f.status != "finished":
                self.erred += 1
            complete = self.done == self.total
        self.draw(force=complete)
        if complete:
            self.finished.set()

    def _text(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        return (f"\r[{'#' * filled}{' ' * (self.width - filled)}] | {frac:4.0%} "
                f"{self.done}/{self.total} done, {self.erred} erred")

    def _html(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        colour = "#d9534f" if self.erred else "#5cb85c"
        return (f"<div style='width:300px;border:1px solid #999'><div style='width:{frac:.0%};"
                f"background:{colour};color:white;padding:2px'>&nbsp;{self.done}/{self.total}"
                f"</div></div><small>{self.erred} erred</small>")

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        if self.notebook and self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._html()))
            return
        out = self.out or sys.stdout
        out.write(self._text())
        if self.done == self.total:
            out.write("\n")
        out.flush()


def progress(*objs: Any, notebook: bool | None = None, width: int = 40,
             out: TextIO | None = None, interval: float = 0.1,
             timeout: float | None = None) -> None:
    """Show progress of futures (or persisted collections) until they are done.

    Parameters
    ----------
    *objs : Future, persisted collection, or lists/dicts of them
    notebook : bool, optional
        Force the HTML (True) or text (False) bar; by default HTML inside Jupyter.
    width : int
        Characters of the text bar.
    out : file, optional
        Where the text bar goes (default ``sys.stdout``).
    interval : float
        Seconds between redraws.
    timeout : float, optional
        Stop waiting (text mode) after this many seconds.
    """
    futures = [f for obj in objs for f in futures_of(obj)]
    unique = list({f.key: f for f in futures}.values())
    use_html = _in_notebook() if notebook is None else notebook
    bar = _Bar(unique, width, out, use_html, interval)
    bar.start()
    if not use_html:
        bar.finished.wait(timeout)
