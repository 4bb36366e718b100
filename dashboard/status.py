"""/status: the task stream, progress per task prefix, worker memory, tasks processing.

Each update reads only what changed: the task stream takes the records appended since
the last update (a cursor into the scheduler's log), the progress table is rebuilt only
when its version moved, and the per-worker bars cost one pass over the workers.
"""
from __future__ import annotations

from typing import Any

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource

from graphengine import config
from graphengine.dashboard import figures
from graphengine.dashboard.pages import add_updates, nav_bar

__all__ = ["TaskStream", "Progress", "WorkerBars", "status_document"]

#: Rectangles a page keeps by default (older ones roll off): the browser redraws them all
#: on each update, and on a small machine it competes with the workers for the cores.
TASK_STREAM_ROLLOVER = 2_000


class TaskStream:
    """The task stream of a live scheduler."""

    def __init__(self, scheduler: Any):
        self.log = scheduler.task_stream
        self.rows = figures.TaskStreamRows()
        self.source = ColumnDataSource(figures.empty_columns(figures.TASK_STREAM_FIELDS),
                                       name="task-stream-source")
        self.figure = figures.task_stream_figure(self.source)
        self.rollover = int(config.get("scheduler.dashboard.task-stream-rectangles")
                            or TASK_STREAM_ROLLOVER)
        self.cursor = max(self.log.count - self.rollover, 0)
        self._nrows = 0

    def update(self) -> None:
        log = self.log
        if log.count == self.cursor:
            return
        # A long pause (or a huge burst) must not make one update do unbounded work.
        start = max(self.cursor, log.count - self.rollover)
        records = log.since(start)
        self.cursor = log.count
        cols = figures.task_stream_columns(records, self.rows, arrays=True)
        self.source.stream(cols, rollover=self.rollover)
        if len(self.rows.rows) != self._nrows:
            self._nrows = len(self.rows.rows)
            figures.set_row_labels(self.figure, self.rows)


class Progress:
    """Progress bars per task prefix."""

    def __init__(self, scheduler: Any):
        self.progress = scheduler.state.progress
        self.source = ColumnDataSource(figures.progress_columns({}), name="progress-source")
        self.figure = figures.progress_figure(self.source)
        self.version = -1

    def update(self) -> None:
        if self.progress.version != self.version:
            self.version = self.progress.version
            self.source.data = figures.progress_columns(self.progress.counts)


class WorkerBars:
    """Memory (managed / unmanaged / spilled) and tasks processing, per worker."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.memory_source = ColumnDataSource(figures.memory_columns({}), name="memory-source")
        self.processing_source = ColumnDataSource(figures.processing_columns({}),
                                                  name="processing-source")
        self.memory = figures.memory_figure(self.memory_source)
        self.processing = figures.processing_figure(self.processing_source)

    def update(self) -> None:
        workers = self.scheduler.scheduler_info()["workers"]
        # Send only what changed: an unchanged plot costs the browser nothing.
        memory = figures.memory_columns(workers)
        if memory != self.memory_source.data:
            self.memory_source.data = memory
        processing = figures.processing_columns(workers)
        if processing != self.processing_source.data:
            self.processing_source.data = processing


def status_document(scheduler: Any, doc: Any) -> None:
    stream, progress, bars = TaskStream(scheduler), Progress(scheduler), WorkerBars(scheduler)
    doc.title = "graphengine: status"
    doc.add_root(column(nav_bar("/status"), stream.figure, progress.figure,
                        row(bars.memory, bars.processing, sizing_mode="stretch_width"),
                        sizing_mode="stretch_width"))
    add_updates(doc, [stream.update, progress.update, bars.update])
