"""/system: the scheduler process's CPU, memory, event-loop latency and messages/s."""
from __future__ import annotations

from typing import Any

from bokeh.layouts import column, gridplot
from bokeh.models import ColumnDataSource, NumeralTickFormatter
from bokeh.plotting import figure

from graphengine.dashboard.pages import add_updates, nav_bar
from graphengine.scheduler.system_monitor import SYSTEM_FIELDS

__all__ = ["SystemView", "system_document", "system_columns"]

ROLLOVER = 1200


def system_columns(samples: list[dict]) -> dict[str, list]:
    cols: dict[str, list] = {f: [] for f in SYSTEM_FIELDS}
    for s in samples:
        for f in SYSTEM_FIELDS:
            cols[f].append(s[f] * 1000 if f == "time" else s[f])
    cols["latency_ms"] = [v * 1000 for v in cols["latency"]]
    return cols


class SystemView:
    def __init__(self, scheduler: Any):
        self.monitor = scheduler.system
        self.cursor = 0
        self.source = ColumnDataSource(system_columns([]), name="system-source")
        plots = []
        for field, title, fmt in (("cpu", "CPU %", "0"), ("memory", "Memory", "0.0 b"),
                                  ("latency_ms", "Event-loop latency (ms)", "0.0"),
                                  ("messages_per_s", "Messages / s", "0")):
            fig = figure(title=title, x_axis_type="datetime", height=220,
                         sizing_mode="stretch_width", tools="", toolbar_location=None,
                         name=f"system-{field}")
            fig.line(x="time", y=field, source=self.source, line_width=2)
            fig.yaxis.formatter = NumeralTickFormatter(format=fmt)
            plots.append(fig)
        self.grid = gridplot(plots, ncols=2, sizing_mode="stretch_width")

    def update(self) -> None:
        new = self.monitor.since(self.cursor)
        self.cursor = self.monitor.count
        if new:
            self.source.stream(system_columns(new), rollover=ROLLOVER)


def system_document(scheduler: Any, doc: Any) -> None:
    view = SystemView(scheduler)
    doc.title = "graphengine: system"
    doc.add_root(column(nav_bar("/system"), view.grid, sizing_mode="stretch_width"))
    add_updates(doc, [view.update])
