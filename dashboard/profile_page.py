"""/profile: the cluster's statistical profile as an icicle (flame) graph.

Filter by task prefix and by time window; tap a frame to zoom into it, "Whole tree" to
zoom out. The tree is re-merged only when new samples arrived or a filter changed.
"""
from __future__ import annotations

import time
from typing import Any

from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, Div, Select

from graphengine.dashboard import figures
from graphengine.dashboard.pages import add_updates, nav_bar
from graphengine.worker import profile

__all__ = ["ProfileView", "profile_document", "WINDOWS"]

#: Time-window choices: label -> seconds back from now (None: everything kept).
WINDOWS = {"last 10 s": 10.0, "last minute": 60.0, "last 10 minutes": 600.0, "all": None}
ALL_PREFIXES = "all tasks"


class ProfileView:
    """Flame graph + filters over a scheduler's :class:`ProfileLog`."""

    def __init__(self, scheduler: Any):
        self.log = scheduler.profiles
        self.source = ColumnDataSource(figures.flame_columns(profile.new_tree()),
                                       name="profile-source")
        self.figure = figures.flame_figure(self.source)
        self.prefix = Select(title="Task prefix", value=ALL_PREFIXES,
                             options=[ALL_PREFIXES], name="profile-prefix")
        self.window = Select(title="Time window", value="all", options=list(WINDOWS),
                             name="profile-window")
        self.reset = Button(label="Whole tree", name="profile-reset")
        self.summary = Div(text="", name="profile-summary")
        self.path: list[str] = []
        self._seen = -1
        self._tree = profile.new_tree()
        for widget in (self.prefix, self.window):
            widget.on_change("value", lambda attr, old, new: self.refresh())
        self.reset.on_click(self._zoom_out)
        self.source.selected.on_change("indices", self._tapped)

    def _zoom_out(self) -> None:
        self.path = []
        self._draw()

    def _tapped(self, attr: str, old: list, new: list) -> None:
        if not new:
            return
        parts = self.source.data["path"][new[0]].split(profile.PATH_SEPARATOR)
        # The whole tree's paths start at "root"; a zoomed-in view's at the frame zoomed
        # into, which is the last step of the current path.
        self.path = parts[1:] if parts[0] == "root" else self.path[:-1] + parts
        self._draw()

    def update(self) -> None:
        prefixes = [ALL_PREFIXES] + self.log.prefixes()
        if prefixes != list(self.prefix.options):
            self.prefix.options = prefixes
        if self.log.count != self._seen or WINDOWS[self.window.value] is not None:
            self.refresh()

    def refresh(self) -> None:
        self._seen = self.log.count
        seconds = WINDOWS[self.window.value]
        start = None if seconds is None else time.time() - seconds
        prefix = None if self.prefix.value == ALL_PREFIXES else self.prefix.value
        self._tree = profile.merge(*self.log.select(start=start, prefix=prefix))
        self._draw()

    def _draw(self) -> None:
        try:
            node = profile.subtree(self._tree, self.path)
        except KeyError:  # the zoomed-in frame has no samples in this selection
            self.path, node = [], self._tree
        self.source.selected.indices = []
        self.source.data = figures.flame_columns(node)
        self.summary.text = (f"{self._tree['count']} samples"
                             + (f"; zoomed into {node['description'].get('name')}"
                                if self.path else ""))


def profile_document(scheduler: Any, doc: Any) -> None:
    view = ProfileView(scheduler)
    doc.title = "graphengine: profile"
    doc.add_root(column(nav_bar("/profile"),
                        row(view.prefix, view.window, view.reset, view.summary),
                        view.figure, sizing_mode="stretch_width"))
    add_updates(doc, [view.update], interval_ms=1000)
