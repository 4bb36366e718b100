"""/workers: a live table of the workers."""
from __future__ import annotations

from typing import Any

from bokeh.models import (ColumnDataSource, DataTable, NumberFormatter, StringFormatter,
                          TableColumn)
from bokeh.layouts import column

from graphengine.dashboard.pages import add_updates, nav_bar

__all__ = ["worker_table_columns", "WorkerTable", "workers_document"]

#: (column, title, formatter)
COLUMNS = [
    ("address", "address", None), ("name", "name", None), ("nthreads", "threads", "0"),
    ("cpu", "CPU %", "0.0"), ("memory", "memory", "0.0 b"), ("managed", "managed", "0.0 b"),
    ("unmanaged", "unmanaged", "0.0 b"), ("spilled", "spilled", "0.0 b"),
    ("memory_limit", "limit", "0.0 b"), ("executing", "executing", "0"),
    ("ready", "ready", "0"), ("in_memory", "in memory", "0"),
    ("net_in", "net in /s", "0.0 b"), ("net_out", "net out /s", "0.0 b"),
    ("status", "status", None), ("last_seen", "last heartbeat (s ago)", "0.0"),
]


def worker_table_columns(scheduler: Any, now: float | None = None) -> dict[str, list]:
    """One row per worker, from the scheduler's records and the workers' heartbeats."""
    loop_now = scheduler._now() if now is None else now
    cols: dict[str, list] = {c: [] for c, _, _ in COLUMNS}
    for address, ws in sorted(scheduler.state.workers.items()):
        m = ws.metrics
        row = {"address": address, "name": str(ws.name), "nthreads": ws.nthreads,
               "cpu": m.get("cpu", 0.0), "memory": m.get("memory", 0),
               "managed": m.get("managed", 0), "unmanaged": m.get("unmanaged", 0),
               "spilled": m.get("spilled", 0), "memory_limit": ws.memory_limit,
               "executing": m.get("executing", 0), "ready": m.get("ready", 0),
               "in_memory": len(ws.has_what), "net_in": m.get("net_in", 0.0),
               "net_out": m.get("net_out", 0.0), "status": ws.status,
               "last_seen": max(loop_now - ws.last_seen, 0.0)}
        for c in cols:
            cols[c].append(row[c])
    return cols


class WorkerTable:
    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.source = ColumnDataSource(worker_table_columns(scheduler), name="workers-source")
        columns = [TableColumn(field=c, title=t,
                               formatter=NumberFormatter(format=f) if f else StringFormatter())
                   for c, t, f in COLUMNS]
        self.table = DataTable(source=self.source, columns=columns, index_position=None,
                               sizing_mode="stretch_width", height=400, name="workers-table")

    def update(self) -> None:
        self.source.data = worker_table_columns(self.scheduler)


def workers_document(scheduler: Any, doc: Any) -> None:
    table = WorkerTable(scheduler)
    doc.title = "graphengine: workers"
    doc.add_root(column(nav_bar("/workers"), table.table, sizing_mode="stretch_width"))
    add_updates(doc, [table.update])
