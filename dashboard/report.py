"""Standalone HTML: performance reports and profile files that open with no server.

BokehJS is inlined, so the file works offline; the figures are the live pages' own
(:mod:`graphengine.dashboard.figures`) filled with the recorded data.
"""
from __future__ import annotations

import datetime
import html
from collections import Counter
from typing import Any

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, NumeralTickFormatter
from bokeh.plotting import figure
from bokeh.resources import INLINE

from graphengine.dashboard import figures
from graphengine.worker import profile

__all__ = ["performance_report_html", "write_profile_html", "report_progress"]


def report_progress(task_stream: list[dict]) -> dict[str, dict[str, int]]:
    """Per prefix, the tasks that ran in the window (``done``) and that failed."""
    done: Counter = Counter()
    erred: Counter = Counter()
    for r in task_stream:
        if r["action"] == "compute":
            done[r["prefix"]] += 1
        elif r["action"] == "erred":
            erred[r["prefix"]] += 1
    return {p: {"done": done[p], "erred": erred[p]} for p in sorted(set(done) | set(erred))}


def _memory_over_time(samples: list) -> Any:
    """Cluster memory (summed over workers) as stacked areas: managed, unmanaged,
    spilled."""
    latest: dict[str, tuple] = {}
    cols: dict[str, list] = {"time": [], "managed": [], "unmanaged": [], "spilled": []}
    for t, worker, managed, spilled, unmanaged in sorted(samples, key=lambda e: e[0]):
        latest[worker] = (managed, spilled, unmanaged)
        cols["time"].append(t * 1000)
        cols["managed"].append(sum(v[0] for v in latest.values()))
        cols["spilled"].append(sum(v[1] for v in latest.values()))
        cols["unmanaged"].append(sum(v[2] for v in latest.values()))
    fig = figure(title="Cluster memory", x_axis_type="datetime", height=240,
                 sizing_mode="stretch_width", tools="xpan,xwheel_zoom,reset",
                 name="memory-history-figure")
    fig.varea_stack(["managed", "unmanaged", "spilled"], x="time",
                    color=["#1f77b4", "#9ecae1", "#bdbdbd"],
                    legend_label=["managed", "unmanaged", "spilled"],
                    source=ColumnDataSource(cols))
    fig.yaxis.formatter = NumeralTickFormatter(format="0.0 b")
    fig.legend.location = "top_left"
    return fig


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def performance_report_html(data: dict[str, Any], title: str = "graphengine performance report"
                            ) -> str:
    """The HTML of a report from the scheduler's ``performance_data`` answer."""
    stream = data["task_stream"]
    rows = figures.TaskStreamRows()
    ts_source = ColumnDataSource(figures.task_stream_columns(stream, rows),
                                 name="task-stream-source")
    ts_fig = figures.task_stream_figure(ts_source, height=max(200, 40 + 22 * len(rows.rows)))
    figures.set_row_labels(ts_fig, rows)
    progress = report_progress(stream)
    pr_fig = figures.progress_figure(
        ColumnDataSource(figures.progress_columns(progress), name="progress-source"),
        height=max(120, 60 + 24 * len(progress)))
    tree = profile.unflatten(data["profile"])
    flame = figures.flame_figure(ColumnDataSource(figures.flame_columns(tree),
                                                  name="profile-source"))
    computes = [r for r in stream if r["action"] == "compute"]
    compute_seconds = sum(r["stop"] - r["start"] for r in computes)
    transfers = [r for r in stream if r["action"] == "transfer"]
    spills = [r for r in stream if r["action"] == "disk-write"]
    stop = data.get("stop") or max((r["stop"] for r in stream), default=data["start"])
    summary = Div(name="report-summary", sizing_mode="stretch_width", text=(
        f"<h2>{html.escape(title)}</h2>"
        f"<p>{_when(data['start'])} to {_when(stop)} ({stop - data['start']:.2f} s), "
        f"{len(data.get('workers', {}))} workers, "
        f"{sum(w['nthreads'] for w in data.get('workers', {}).values())} threads</p>"
        f"<p>{len(computes)} tasks ran ({compute_seconds:.2f} s of compute), "
        f"{sum(p['erred'] for p in progress.values())} failed; {len(transfers)} transfers "
        f"({sum(r['nbytes'] for r in transfers)} bytes); {len(spills)} spills to disk; "
        f"{tree['count']} profile samples.</p>"))
    layout = column(summary, ts_fig, pr_fig, _memory_over_time(data.get("memory", [])), flame,
                    sizing_mode="stretch_width")
    return file_html(layout, INLINE, title)


def write_profile_html(tree: dict, filename: str, title: str = "graphengine profile") -> None:
    """Write a call tree's flame graph as a standalone HTML file."""
    fig = figures.flame_figure(ColumnDataSource(figures.flame_columns(tree),
                                                name="profile-source"))
    text = file_html(column(Div(text=f"<h2>{html.escape(title)}</h2><p>{tree['count']} "
                                     f"samples</p>"), fig, sizing_mode="stretch_width"),
                     INLINE, title)
    with open(filename, "w", encoding="utf-8") as f:
        f.write(text)
