"""A statistical stack profiler for the threads that run tasks.

Every ``interval`` seconds a daemon thread looks at the current frame of each *watched*
thread (one that runs a task right now) and adds that stack, outermost frame first, to a
call tree. Trees are kept per time bucket and task prefix, so the dashboard can show
what ``"sum"`` tasks were doing during a given second, and trees from many workers or
buckets combine with :func:`merge`.

A tree is plain data (msgpack-friendly)::

    {"identifier": "root", "description": {...}, "count": 12, "children": {id: node, ...}}

where ``count`` is the number of samples that passed through the node and children are
keyed by :func:`identifier`.

    >>> import sys
    >>> tree = new_tree()
    >>> add_stack(tree, sys._getframe())
    >>> tree["count"]
    1
"""
from __future__ import annotations

import linecache
import logging
import math
import sys
import threading
import time
import zlib
from types import FrameType
from typing import Callable

__all__ = ["identifier", "describe", "new_tree", "add_stack", "merge", "plot_data",
           "subtree", "stop_at_function", "StackSampler", "PATH_SEPARATOR", "flatten",
           "unflatten"]

logger = logging.getLogger(__name__)

#: Joins the identifiers of :func:`plot_data`'s ``"path"`` column. Identifiers contain
#: ``";"`` already, so a different separator keeps the path splittable.
PATH_SEPARATOR = "|"

# Colour-blind friendly and readable with black text; indexed by crc32 of the filename
# so one file keeps its colour across workers, processes and restarts.
_PALETTE = (
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
)
_ROOT_COLOR = "#c0c0c0"


def identifier(frame: FrameType) -> str:
    """Stable identifier of the code a frame runs: ``"co_name;co_filename;co_firstlineno"``.

    The function, not the line, so that samples at different lines of one function
    share a node.
    """
    co = frame.f_code
    return f"{co.co_name};{co.co_filename};{co.co_firstlineno}"


def describe(frame: FrameType) -> dict:
    """Where a frame is now: ``filename``, ``name`` (the function), ``line_number`` and
    ``line`` (the source text stripped, ``""`` when the source is unavailable)."""
    co = frame.f_code
    lineno = frame.f_lineno or 0
    try:
        line = linecache.getline(co.co_filename, lineno, frame.f_globals).strip()
    except Exception:  # a broken loader must not break sampling
        line = ""
    return {"filename": co.co_filename, "name": co.co_name,
            "line_number": lineno, "line": line}


def new_tree() -> dict:
    """An empty call tree: a root with no samples."""
    return {"identifier": "root",
            "description": {"filename": "", "name": "", "line_number": 0, "line": ""},
            "count": 0, "children": {}}


def _new_node(ident: str, description: dict) -> dict:
    return {"identifier": ident, "description": description, "count": 0, "children": {}}


def add_stack(tree: dict, frame: FrameType | None,
              stop: Callable[[FrameType], bool] | None = None) -> None:
    """Add one sample, the stack ending at ``frame``, to ``tree`` in place.

    Parameters
    ----------
    tree : dict
        A tree from :func:`new_tree` (or any node of one).
    frame : frame or None
        The innermost frame of the sample.
    stop : callable, optional
        Walking outward from ``frame``, the first frame for which ``stop(frame)`` is true
        and everything outer to it are left out, e.g. the worker's task runner and the
        thread machinery, which every sample would otherwise share.

    Notes
    -----
    The root's count goes up even when ``stop`` excludes every frame, so the root always
    counts the samples taken.
    """
    frames = []
    while frame is not None:
        if stop is not None and stop(frame):
            break
        frames.append(frame)
        frame = frame.f_back

    node = tree
    node["count"] += 1
    for f in reversed(frames):
        ident = identifier(f)
        children = node["children"]
        child = children.get(ident)
        if child is None:
            child = children[ident] = _new_node(ident, describe(f))
        else:
            # The latest line is the most useful one to show for a hot function.
            child["description"] = describe(f)
        child["count"] += 1
        node = child


def merge(*trees: dict) -> dict:
    """Sum call trees into a new one: counts add up, children are the union, recursively.

    Where several trees have a node, the last one's description wins. The inputs are not
    modified; ``merge()`` is an empty tree.
    """
    out = new_tree()
    # Iterative: stacks can be nearly as deep as the recursion limit. Trees are walked
    # one after the other so that the last one's descriptions win.
    for t in trees:
        work = [(out, t)]
        while work:
            dest, src = work.pop()
            dest["count"] += src["count"]
            for ident, child in src["children"].items():
                d = dest["children"].get(ident)
                if d is None:
                    d = dest["children"][ident] = _new_node(ident, {})
                d["description"] = dict(child["description"])
                work.append((d, child))
    return out


def _color(filename: str) -> str:
    return _PALETTE[zlib.crc32(filename.encode("utf-8", "surrogateescape")) % len(_PALETTE)]


_PLOT_COLUMNS = ("left", "right", "bottom", "top", "name", "filename", "line_number",
                 "line", "count", "percentage", "identifier", "path", "color")


def plot_data(tree: dict, max_depth: int = 200) -> dict[str, list]:
    """Icicle (flame graph) layout of a tree, as columns for Bokeh quads.

    The root spans ``x`` in ``[0, 1]`` at depth 0 (``bottom=0``, ``top=1``); each child
    takes a share of its parent's width proportional to ``count / parent count``, placed
    left to right ordered by identifier, one unit higher per level.

    Parameters
    ----------
    tree : dict
        A call tree (or a :func:`subtree` of one, which is then laid out as the root).
    max_depth : int
        Nodes deeper than this are left out.

    Returns
    -------
    dict of str to list
        Columns ``left``, ``right``, ``bottom``, ``top``, ``name``, ``filename``,
        ``line_number``, ``line``, ``count``, ``percentage`` (of the root's count),
        ``identifier``, ``path`` (the identifiers from the root to the node joined by
        :data:`PATH_SEPARATOR`, starting with ``"root"``) and ``color`` (stable per
        filename). Nodes narrower than 1e-4 are skipped, and an empty tree gives empty
        columns.
    """
    data: dict[str, list] = {k: [] for k in _PLOT_COLUMNS}
    total = tree["count"]
    if total <= 0:
        return data

    work = [(tree, 0.0, 1.0, 0, tree["identifier"])]
    while work:
        node, left, width, depth, path = work.pop()
        desc = node["description"]
        data["left"].append(left)
        data["right"].append(left + width)
        data["bottom"].append(depth)
        data["top"].append(depth + 1)
        data["name"].append(desc["name"])
        data["filename"].append(desc["filename"])
        data["line_number"].append(desc["line_number"])
        data["line"].append(desc["line"])
        data["count"].append(node["count"])
        data["percentage"].append(100.0 * node["count"] / total)
        data["identifier"].append(node["identifier"])
        data["path"].append(path)
        data["color"].append(_ROOT_COLOR if depth == 0 else _color(desc["filename"]))

        if depth >= max_depth or node["count"] <= 0:
            continue
        x = left
        placed = []
        for ident in sorted(node["children"]):
            child = node["children"][ident]
            w = width * child["count"] / node["count"]
            if w >= 1e-4:
                placed.append((child, x, w, depth + 1, path + PATH_SEPARATOR + ident))
            # Skipped slivers still take their space so siblings stay where counts say.
            x += w
        # Reversed so that pop() emits siblings left to right.
        work.extend(reversed(placed))
    return data


def subtree(tree: dict, path: list[str] | str) -> dict:
    """The node reached by following identifiers down from the root.

    Parameters
    ----------
    tree : dict
        A call tree.
    path : list of str, or str
        Identifiers; a leading ``"root"`` is allowed. A string is split on
        :data:`PATH_SEPARATOR`, so a ``"path"`` from :func:`plot_data` works as is.

    Raises
    ------
    KeyError
        Naming the first identifier that is not a child of the node reached so far.
    """
    if isinstance(path, str):
        path = path.split(PATH_SEPARATOR) if path else []
    path = list(path)
    if path and path[0] == "root":
        path = path[1:]
    node = tree
    for ident in path:
        try:
            node = node["children"][ident]
        except KeyError:
            raise KeyError(ident) from None
    return node


def flatten(tree: dict) -> list[list]:
    """A tree as a flat list of nodes, for the wire: nesting one level per stack frame
    would exceed the comm layer's nesting limit for deep stacks.

    Each node is ``[parent index, identifier, count, filename, name, line_number, line]``
    in depth-first order; the root comes first with parent ``-1``.
    """
    out: list[list] = []
    stack: list[tuple[int, dict]] = [(-1, tree)]
    while stack:
        parent, node = stack.pop()
        d = node["description"]
        out.append([parent, node["identifier"], node["count"], d.get("filename", ""),
                    d.get("name", ""), d.get("line_number", 0), d.get("line", "")])
        here = len(out) - 1
        stack.extend((here, child) for child in reversed(list(node["children"].values())))
    return out


def unflatten(flat: list) -> dict:
    """The tree :func:`flatten` flattened (an empty list gives an empty tree)."""
    if not flat:
        return new_tree()
    nodes: list[dict] = []
    for parent, ident, count, filename, name, line_number, line in flat:
        node = {"identifier": ident, "count": count, "children": {},
                "description": {"filename": filename, "name": name,
                                "line_number": line_number, "line": line}}
        nodes.append(node)
        if parent >= 0:
            nodes[parent]["children"][ident] = node
    return nodes[0]


def stop_at_function(*names: str) -> Callable[[FrameType], bool]:
    """A ``stop`` predicate for :func:`add_stack`: true for frames of these functions."""
    wanted = frozenset(names)

    def stop(frame: FrameType) -> bool:
        return frame.f_code.co_name in wanted

    return stop


class StackSampler:
    """Samples the stacks of watched threads every ``interval`` seconds in a daemon thread.

    Parameters
    ----------
    interval : float
        Seconds between samples.
    bucket : float
        Samples are grouped in trees per ``bucket`` seconds of ``clock()``.
    stop : callable, optional
        Passed to :func:`add_stack` to leave out frames outer to the task's code.
    clock : callable
        Time source for the buckets.

    Examples
    --------
    >>> s = StackSampler(interval=0.01)
    >>> s.start()                                       # doctest: +SKIP
    >>> s.watch(threading.get_ident(), "sum")           # when a task starts
    >>> s.unwatch(threading.get_ident())                # when it ends
    >>> for bucket_start, prefix, tree in s.take(): ...  # doctest: +SKIP
    """

    def __init__(self, interval: float = 0.01, bucket: float = 1.0,
                 stop: Callable[[FrameType], bool] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if interval <= 0 or bucket <= 0:
            raise ValueError(f"interval and bucket must be positive, got {interval}, {bucket}")
        self.interval = interval
        self.bucket = bucket
        self.clock = clock
        self._stop_predicate = stop
        self._lock = threading.Lock()
        self._watched: dict[int, str] = {}
        self._trees: dict[tuple[float, str], dict] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._logged_error = False
        self.samples = 0

    def watch(self, thread_ident: int, prefix: str) -> None:
        """Thread ``thread_ident`` now runs a task of ``prefix``."""
        with self._lock:
            self._watched[thread_ident] = prefix

    def unwatch(self, thread_ident: int) -> None:
        """Thread ``thread_ident`` no longer runs a task; unknown threads are ignored."""
        with self._lock:
            self._watched.pop(thread_ident, None)

    def _bucket_start(self) -> float:
        return math.floor(self.clock() / self.bucket) * self.bucket

    def sample_once(self) -> None:
        """Take one sample of every watched thread; nothing at all if none is watched."""
        if not self._watched:  # racy read on purpose: the common idle case stays free
            return
        with self._lock:
            watched = list(self._watched.items())
        frames = sys._current_frames()
        try:
            start = self._bucket_start()
            with self._lock:
                for ident, prefix in watched:
                    frame = frames.get(ident)
                    # The thread may have finished, or been unwatched since the copy.
                    if frame is None or self._watched.get(ident) != prefix:
                        continue
                    key = (start, prefix)
                    tree = self._trees.get(key)
                    if tree is None:
                        tree = self._trees[key] = new_tree()
                    add_stack(tree, frame, self._stop_predicate)
                    self.samples += 1
        finally:
            # Frames reference their locals; don't keep task data alive until next time.
            del frames

    def take(self) -> list[tuple[float, str, dict]]:
        """``[(bucket_start, prefix, tree)]`` accumulated since the last call, sorted; the
        sampler starts afresh afterwards, so each sample is returned once."""
        with self._lock:
            trees, self._trees = self._trees, {}
        return [(start, prefix, tree) for (start, prefix), tree in sorted(trees.items())]

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.wait(self.interval):
            try:
                self.sample_once()
            except Exception:
                # Profiling is optional: keep going, and don't flood the log every 10 ms.
                if not self._logged_error:
                    self._logged_error = True
                    logger.exception("Stack sampling failed; further failures logged at debug")
                else:
                    logger.debug("Stack sampling failed", exc_info=True)

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the sampling thread; does nothing if it is running."""
        if self.running:
            return
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stopping,),
                                        name="graphengine-profiler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sampling thread and wait for it; does nothing if it is not running."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        if thread is not threading.current_thread():
            thread.join()
