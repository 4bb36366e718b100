"""/graph: the scheduler's current task graph, nodes coloured by state.

Up to ``MAX_NODES`` tasks are drawn one node each; larger graphs collapse to one node
per task prefix (see :mod:`graphengine.dashboard.graph_layout`). Node colours are
refreshed every update; the layout is recomputed only when the set of nodes changed.
This page costs time proportional to the tasks the scheduler holds now, and only while
it is open; it throttles itself to at most ``MAX_SHARE`` of the scheduler's time.
"""
from __future__ import annotations

import time
from typing import Any

from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, HoverTool

from bokeh.plotting import figure

from graphengine.dashboard import graph_layout
from graphengine.dashboard.pages import add_updates, nav_bar

__all__ = ["GraphView", "graph_document", "scheduler_tasks", "MAX_NODES"]

MAX_NODES = 1000
#: The page may take at most this share of the scheduler's time: after an update that
#: took ``t`` seconds, the next waits ``t / MAX_SHARE`` (a huge graph updates rarely).
MAX_SHARE = 0.05


def scheduler_tasks(scheduler: Any) -> dict:
    """``{key: (prefix, state, dependency keys)}`` of the tasks the scheduler holds."""
    return {key: (ts.prefix, ts.state, [d.key for d in ts.dependencies])
            for key, ts in scheduler.state.tasks.items()}


class GraphView:
    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.layout: graph_layout.GraphLayout | None = None
        self.nodes = ColumnDataSource({c: [] for c in ("x", "y", "key", "label", "state",
                                                       "color", "size")},
                                      name="graph-nodes")
        self.edges = ColumnDataSource({c: [] for c in ("x0", "y0", "x1", "y1")},
                                      name="graph-edges")
        self.figure = figure(title="Task graph", height=600, sizing_mode="stretch_width",
                             tools="pan,wheel_zoom,box_zoom,reset", name="graph-figure")
        self.figure.segment(x0="x0", y0="y0", x1="x1", y1="y1", source=self.edges,
                            line_alpha=0.3, color="#777777")
        self.figure.scatter(x="x", y="y", color="color", size=10, source=self.nodes,
                            line_color="#444444")
        self.figure.add_tools(HoverTool(tooltips=[("node", "@label"), ("state", "@state"),
                                                  ("tasks", "@size")]))
        self.figure.axis.visible = False
        self.figure.grid.visible = False
        self.summary = Div(text="", name="graph-summary")
        self._version = None
        self._next = 0.0

    def update(self) -> None:
        progress = self.scheduler.state.progress
        if progress.version == self._version:
            return  # no task moved
        started = time.perf_counter()
        if started < self._next:
            return
        self._version = progress.version
        try:
            self._update()
        finally:
            took = time.perf_counter() - started
            self._next = started + took / MAX_SHARE

    def _update(self) -> None:
        tasks = scheduler_tasks(self.scheduler)
        states = (graph_layout.update_states(self.layout, tasks)
                  if self.layout is not None else None)
        if states is None:
            self.layout = graph_layout.layout(tasks, max_nodes=MAX_NODES)
            self.nodes.data = dict(self.layout.nodes)
            self.edges.data = dict(self.layout.edges)
        else:
            patch = {c: [(slice(len(v)), v)] for c, v in states.items()
                     if c in self.nodes.data}
            if patch:
                self.nodes.patch(patch)
        kind = "prefixes" if self.layout.collapsed else "tasks"
        self.summary.text = (f"{len(tasks)} tasks, drawn as {len(self.layout.index)} {kind}")


def graph_document(scheduler: Any, doc: Any) -> None:
    view = GraphView(scheduler)
    doc.title = "graphengine: graph"
    doc.add_root(column(nav_bar("/graph"), view.summary, view.figure,
                        sizing_mode="stretch_width"))
    add_updates(doc, [view.update], interval_ms=1000)
