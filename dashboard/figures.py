"""The dashboard's plots: columns from scheduler data (pure) and the Bokeh figures that
draw them. Live pages and standalone performance reports share both, so a report looks
exactly like the page it records.

    >>> rows = TaskStreamRows()
    >>> cols = task_stream_columns([{"start": 1.0, "stop": 1.5, "action": "compute",
    ...     "key": "inc-1", "prefix": "inc", "worker": "tcp://a:1", "thread": 0,
    ...     "nbytes": 8, "source": None}], rows)
    >>> cols["left"], cols["right"], cols["row"]
    ([1000.0], [1500.0], [0])
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from bokeh.models import (ColumnDataSource, FixedTicker, HoverTool, NumeralTickFormatter,
                          Range1d, TapTool)
from bokeh.palettes import Category20
from bokeh.plotting import figure

__all__ = ["TaskStreamRows", "task_stream_columns", "task_stream_figure", "prefix_color",
           "progress_columns", "progress_figure", "memory_columns", "memory_figure",
           "processing_columns", "processing_figure", "flame_columns", "flame_figure", "ACTION_COLORS",
           "PROGRESS_COLORS", "empty_columns"]

#: Rectangles that are not a task running: drawn in colours no prefix gets.
ACTION_COLORS = {"transfer": "#e41a1c", "disk-write": "#ff7f00", "disk-read": "#a65628",
                 "erred": "#000000"}
_PREFIX_PALETTE = [c for c in Category20[20]
                   if c not in ("#d62728", "#ff9896", "#ff7f0e", "#ffbb78")]

#: Segments of a progress bar, left to right, and their colours.
PROGRESS_COLORS = {"done": "#1f77b4", "memory": "#6baed6", "processing": "#2ca02c",
                   "queued": "#bdbdbd", "waiting": "#969696", "no-worker": "#ff7f0e",
                   "erred": "#000000"}

TASK_STREAM_FIELDS = ("left", "right", "row", "color", "key", "worker", "action", "duration",
                      "nbytes", "source")
#: Numeric columns go to the browser as typed arrays (binary), not JSON lists.
_NUMERIC = {"left": np.float64, "right": np.float64, "row": np.int32,
            "duration": np.float64, "nbytes": np.int64}


def empty_columns(fields: Iterable[str]) -> dict[str, list]:
    return {f: [] for f in fields}


def prefix_color(prefix: str) -> str:
    """A colour per task prefix, the same in every process and every session."""
    return _PREFIX_PALETTE[zlib.crc32(prefix.encode()) % len(_PREFIX_PALETTE)]


class TaskStreamRows:
    """Rows of the task stream: one per worker thread, plus one per worker for its
    transfers and spills (thread ``-1``), numbered in order of appearance."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], int] = {}

    def row(self, worker: str, thread: int) -> int:
        r = self.rows.get((worker, thread))
        if r is None:
            r = self.rows[worker, thread] = len(self.rows)
        return r

    def labels(self) -> dict[int, str]:
        return {r: (f"{w} io" if t < 0 else f"{w} #{t}") for (w, t), r in self.rows.items()}


def task_stream_columns(records: Iterable[Mapping[str, Any]], rows: TaskStreamRows,
                        arrays: bool = False) -> dict[str, Any]:
    """Bars for task-stream records; x in milliseconds since the epoch (datetime axis).
    ``arrays``: numeric columns as NumPy arrays (what a live page streams)."""
    cols = empty_columns(TASK_STREAM_FIELDS)
    colors: dict[tuple[str, str], str] = {}
    for r in records:
        row = rows.row(r["worker"], r["thread"] if r["thread"] is not None else -1)
        action = r["action"]
        color = colors.get((action, r["prefix"]))
        if color is None:
            color = colors[action, r["prefix"]] = (ACTION_COLORS.get(action)
                                                   or prefix_color(r["prefix"]))
        cols["left"].append(r["start"] * 1000)
        cols["right"].append(r["stop"] * 1000)
        cols["row"].append(row)
        cols["color"].append(color)
        cols["key"].append(str(r["key"]))
        cols["worker"].append(r["worker"])
        cols["action"].append(action)
        cols["duration"].append(r["stop"] - r["start"])
        cols["nbytes"].append(r["nbytes"] or 0)
        cols["source"].append(r["source"] or "")
    if arrays:
        for name, dtype in _NUMERIC.items():
            cols[name] = np.asarray(cols[name], dtype=dtype)
    return cols


def task_stream_figure(source: ColumnDataSource, **kwargs: Any) -> Any:
    """One rectangle per task run (coloured by prefix), transfer (red) and spill (orange
    writes, brown reads), on one row per worker thread."""
    fig = figure(title="Task stream", x_axis_type="datetime", height=kwargs.pop("height", 320),
                 sizing_mode="stretch_width", tools="xpan,xwheel_zoom,box_zoom,reset",
                 name="task-stream-figure", **kwargs)
    fig.hbar(y="row", left="left", right="right", height=0.8, color="color",
             line_color=None, fill_alpha=0.9, source=source)
    fig.add_tools(HoverTool(tooltips=[
        ("key", "@key"), ("action", "@action"), ("worker", "@worker"),
        ("duration", "@duration{0.000} s"), ("bytes", "@nbytes{0.0 b}"),
        ("from", "@source")]))
    fig.yaxis.axis_label = "worker thread"
    fig.ygrid.visible = False
    return fig


def set_row_labels(fig: Any, rows: TaskStreamRows) -> None:
    labels = rows.labels()
    fig.yaxis.ticker = FixedTicker(ticks=sorted(labels))
    fig.yaxis.major_label_overrides = {int(k): v for k, v in labels.items()}
    fig.y_range = Range1d(-0.6, max(len(labels), 1) - 0.4) if labels else fig.y_range


def _legend_above(fig: Any) -> None:
    """A horizontal legend above the plot, where it hides no bar."""
    legend = fig.legend[0]
    legend.orientation = "horizontal"
    legend.label_text_font_size = "9px"
    legend.location = "top_left"
    fig.add_layout(legend, "above")


PROGRESS_FIELDS = ("prefix", "y", "left", "right", "color", "bucket", "n", "total", "label")


def progress_columns(counts: Mapping[str, Mapping[str, int]]) -> dict[str, list]:
    """Bars per prefix (most tasks first): one segment per non-empty bucket, as fractions
    of the prefix's tasks. One glyph draws them all (cheaper for the browser than one
    per bucket); ``label`` is set on the first segment of each bar only."""
    cols: dict[str, list] = empty_columns(PROGRESS_FIELDS)
    items = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    for y, (prefix, c) in enumerate(items):
        total = sum(c.values()) or 1
        parts = {"done": c.get("done", 0), "memory": c.get("memory", 0),
                 "processing": c.get("processing", 0), "queued": c.get("queued", 0),
                 "waiting": c.get("waiting", 0) + c.get("released", 0),
                 "no-worker": c.get("no-worker", 0), "erred": c.get("erred", 0)}
        label = f"{prefix}: {parts['done'] + parts['memory']} / {total}"
        left = 0.0
        for bucket, n in parts.items():
            if not n:
                continue
            right = left + n / total
            for field, value in (("prefix", prefix), ("y", y), ("left", left),
                                 ("right", right), ("color", PROGRESS_COLORS[bucket]),
                                 ("bucket", bucket), ("n", n), ("total", total),
                                 ("label", label)):
                cols[field].append(value)
            label = ""
            left = right
    return cols


def progress_figure(source: ColumnDataSource, **kwargs: Any) -> Any:
    """Progress per task prefix: done, in memory, processing, queued, waiting, erred."""
    fig = figure(title="Progress (done, in memory, processing, queued, waiting, "
                       "no-worker, erred)", height=kwargs.pop("height", 260), x_range=(0, 1),
                 sizing_mode="stretch_width", tools="", toolbar_location=None,
                 name="progress-figure", **kwargs)
    fig.hbar(y="y", left="left", right="right", height=0.8, color="color", source=source)
    fig.text(x=0.01, y="y", text="label", source=source, text_baseline="middle",
             text_font_size="11px", text_color="white")
    fig.add_tools(HoverTool(tooltips=[("prefix", "@prefix"), ("@bucket", "@n of @total")]))
    fig.yaxis.visible = False
    fig.xaxis.formatter = NumeralTickFormatter(format="0%")
    fig.y_range.flipped = True
    return fig


MEMORY_FIELDS = ("worker", "y", "managed", "unmanaged", "spilled", "limit", "m_left",
                 "m_right", "u_left", "u_right", "s_left", "s_right", "total")


def memory_columns(workers: Mapping[str, Mapping[str, Any]]) -> dict[str, list]:
    """Per worker: managed in memory, unmanaged, spilled (stacked, in bytes)."""
    cols = empty_columns(MEMORY_FIELDS)
    for y, (address, info) in enumerate(sorted(workers.items())):
        mem = info.get("memory", {})
        managed, unmanaged, spilled = (int(mem.get(k, 0) or 0)
                                       for k in ("managed", "unmanaged", "spilled"))
        cols["worker"].append(address)
        cols["y"].append(y)
        cols["managed"].append(managed)
        cols["unmanaged"].append(unmanaged)
        cols["spilled"].append(spilled)
        cols["limit"].append(int(info.get("memory_limit") or 0))
        cols["m_left"].append(0)
        cols["m_right"].append(managed)
        cols["u_left"].append(managed)
        cols["u_right"].append(managed + unmanaged)
        cols["s_left"].append(managed + unmanaged)
        cols["s_right"].append(managed + unmanaged + spilled)
        cols["total"].append(managed + unmanaged + spilled)
    return cols


def memory_figure(source: ColumnDataSource, **kwargs: Any) -> Any:
    """Worker memory: managed in memory (blue), unmanaged (light blue), spilled (grey)."""
    fig = figure(title="Worker memory", height=kwargs.pop("height", 200),
                 sizing_mode="stretch_width", tools="", toolbar_location=None,
                 name="memory-figure", **kwargs)
    for prefix, color, label in (("m", "#1f77b4", "managed"), ("u", "#9ecae1", "unmanaged"),
                                 ("s", "#bdbdbd", "spilled")):
        fig.hbar(y="y", left=f"{prefix}_left", right=f"{prefix}_right", height=0.8,
                 color=color, source=source, legend_label=label)
    fig.scatter(x="limit", y="y", marker="dash", size=18, color="#d62728", source=source,
                angle=1.5708)
    fig.add_tools(HoverTool(tooltips=[("worker", "@worker"), ("managed", "@managed{0.0 b}"),
                                      ("unmanaged", "@unmanaged{0.0 b}"),
                                      ("spilled", "@spilled{0.0 b}"),
                                      ("limit", "@limit{0.0 b}")]))
    fig.xaxis.formatter = NumeralTickFormatter(format="0.0 b")
    fig.yaxis.visible = False
    _legend_above(fig)
    return fig


def processing_columns(workers: Mapping[str, Mapping[str, Any]]) -> dict[str, list]:
    cols = empty_columns(("worker", "y", "processing", "nthreads"))
    for y, (address, info) in enumerate(sorted(workers.items())):
        cols["worker"].append(address)
        cols["y"].append(y)
        cols["processing"].append(int(info.get("processing", 0)))
        cols["nthreads"].append(int(info.get("nthreads", 0)))
    return cols


def processing_figure(source: ColumnDataSource, **kwargs: Any) -> Any:
    """Tasks assigned to each worker and not finished yet."""
    fig = figure(title="Tasks processing", height=kwargs.pop("height", 200),
                 sizing_mode="stretch_width", tools="", toolbar_location=None,
                 name="processing-figure", **kwargs)
    fig.hbar(y="y", left=0, right="processing", height=0.8, color="#2ca02c", source=source)
    fig.add_tools(HoverTool(tooltips=[("worker", "@worker"), ("processing", "@processing"),
                                      ("threads", "@nthreads")]))
    fig.yaxis.visible = False
    return fig


def flame_columns(tree: dict) -> dict[str, list]:
    """``profile.plot_data`` columns plus ``label``: the function name on frames wide
    enough to hold it."""
    from graphengine.worker import profile

    cols = profile.plot_data(tree)
    cols["label"] = [name if right - left > 0.04 else ""
                     for name, left, right in zip(cols["name"], cols["left"], cols["right"])]
    cols["label_x"] = [left + 0.002 for left in cols["left"]]
    cols["label_y"] = [(b + t) / 2 for b, t in zip(cols["bottom"], cols["top"])]
    return cols


def flame_figure(source: ColumnDataSource, **kwargs: Any) -> Any:
    """An icicle graph of a call tree (``profile.plot_data`` columns): width is the
    share of samples; tap a frame to zoom into it."""
    fig = figure(title="Profile", height=kwargs.pop("height", 480),
                 sizing_mode="stretch_width", x_range=(0, 1),
                 tools="xpan,xwheel_zoom,reset", name="profile-figure", **kwargs)
    fig.quad(left="left", right="right", bottom="bottom", top="top", color="color",
             line_color="white", source=source, name="profile-quads")
    fig.text(x="label_x", y="label_y", text="label", source=source, text_font_size="10px",
             text_baseline="middle", text_color="#222222")
    fig.add_tools(TapTool())
    fig.add_tools(HoverTool(tooltips=[
        ("function", "@name"), ("file", "@filename:@line_number"), ("line", "@line"),
        ("samples", "@count"), ("share", "@percentage{0.0}%")]))
    fig.xaxis.visible = False
    fig.yaxis.axis_label = "stack depth"
    return fig
