"""Layered layout of a task graph for the dashboard's graph page.

The page hands us plain task records and turns the result into Bokeh glyphs; keeping
this module free of Bokeh lets it be tested (and timed) on its own.  Small graphs are
drawn task by task; large ones are collapsed to one node per key prefix, because
thousands of individual circles are unreadable and slow to ship to the browser.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["STATE_COLORS", "GROUP_STATE_PRECEDENCE", "GraphLayout", "layout", "update_states"]

Tasks = Mapping[Hashable, "tuple[str, str, Iterable[Hashable]]"]

STATE_COLORS: dict[str, str] = {
    "released": "#e6e6e6",
    "waiting": "#8c8c8c",
    "queued": "#c4c4c4",
    "no-worker": "#ff7f0e",
    "processing": "#2ca02c",
    "memory": "#d62728",
    "erred": "#000000",
}

# A state we have no colour for still has to be drawn; magenta makes it stand out as a
# bug rather than blending in with the greys.
UNKNOWN_COLOR = "#ff00ff"

# The state a prefix group shows is the first one in this order that any of its tasks is
# in: failures and stuck tasks first (they need attention), then work in flight, then
# work not yet started, and only when nothing else is left, finished or released tasks.
GROUP_STATE_PRECEDENCE: tuple[str, ...] = (
    "erred", "no-worker", "processing", "queued", "waiting", "memory", "released")

_RANK = {state: i for i, state in enumerate(GROUP_STATE_PRECEDENCE)}
_COUNT_COLUMNS = tuple("n_" + s.replace("-", "_") for s in GROUP_STATE_PRECEDENCE)


@dataclass
class GraphLayout:
    """Column data for the graph page.

    Attributes
    ----------
    collapsed : bool
        True when nodes are key prefixes rather than individual tasks.
    nodes : dict of str to list
        Columns ``x``, ``y``, ``key``, ``label``, ``state``, ``color``, ``size`` and, for
        collapsed layouts only, one ``n_<state>`` count column per known state
        (``no-worker`` becomes ``n_no_worker``).
    edges : dict of str to list
        Columns ``x0``, ``y0`` (dependency) and ``x1``, ``y1`` (dependent).
    index : dict
        Task key (or prefix when collapsed) to its row in ``nodes``.
    """

    collapsed: bool
    nodes: dict[str, list] = field(default_factory=dict)
    edges: dict[str, list] = field(default_factory=dict)
    index: dict[Hashable, int] = field(default_factory=dict)


def _color(state: str) -> str:
    return STATE_COLORS.get(state, UNKNOWN_COLOR)


def _layers(n: int, deps: list[list[int]]) -> tuple[list[int], list[float]]:
    """Depth and in-layer position of nodes ``0..n-1`` given their dependency lists.

    Iterative throughout, so 100k-long chains cannot hit the recursion limit.  Cycles
    are broken by dropping the back edges of a depth-first search; every other edge
    then points from a smaller depth to a strictly larger one.
    """
    dependents: list[list[int]] = [[] for _ in range(n)]
    for v, ds in enumerate(deps):
        for u in ds:
            dependents[u].append(v)

    # Find back edges.  Starting from the sources first means that on a DAG nothing is
    # dropped, and on a cyclic graph the edges dropped are the ones closing a loop.
    seen = [0] * n  # 0 unvisited, 1 on the DFS stack, 2 finished
    back: set[tuple[int, int]] = set()
    starts = [i for i in range(n) if not deps[i]]
    starts.extend(range(n))
    for s in starts:
        if seen[s]:
            continue
        seen[s] = 1
        stack = [(s, iter(dependents[s]))]
        while stack:
            u, children = stack[-1]
            for v in children:
                if seen[v] == 0:
                    seen[v] = 1
                    stack.append((v, iter(dependents[v])))
                    break
                if seen[v] == 1:
                    back.add((u, v))
            else:
                seen[u] = 2
                stack.pop()
    if back:
        deps = [[u for u in ds if (u, v) not in back] for v, ds in enumerate(deps)]
        dependents = [[v for v in ds if (u, v) not in back] for u, ds in enumerate(dependents)]

    # Longest path from a source, in topological (Kahn) order.
    missing = [len(ds) for ds in deps]
    depth = [0] * n
    ready = deque(i for i in range(n) if missing[i] == 0)
    while ready:
        u = ready.popleft()
        du = depth[u] + 1
        for v in dependents[u]:
            if depth[v] < du:
                depth[v] = du
            missing[v] -= 1
            if missing[v] == 0:
                ready.append(v)

    layers: list[list[int]] = [[] for _ in range(max(depth, default=-1) + 1)]
    for i in range(n):
        layers[depth[i]].append(i)

    # One barycentre sweep: a node sits near the mean height of its dependencies, which
    # all live in earlier layers once back edges are gone.  Ties keep input order.
    y = [0.0] * n
    for layer in layers:
        if len(layer) > 1 and depth[layer[0]] > 0:
            layer.sort(key=lambda i: (sum(y[u] for u in deps[i]) / len(deps[i]), i))
        offset = (len(layer) - 1) / 2
        for pos, i in enumerate(layer):
            y[i] = pos - offset
    return depth, y


def _edge_columns(pairs: Iterable[tuple[int, int]], x: list[int],
                  y: list[float]) -> dict[str, list]:
    x0: list[int] = []
    y0: list[float] = []
    x1: list[int] = []
    y1: list[float] = []
    for u, v in pairs:
        x0.append(x[u])
        y0.append(y[u])
        x1.append(x[v])
        y1.append(y[v])
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1}


def _groups(tasks: Tasks) -> tuple[dict[str, int], list[str], list[int], list[list[int]]]:
    """Per-prefix row numbers, dominant state, size and counts (in precedence order)."""
    rows: dict[str, int] = {}
    best: list[str] = []
    sizes: list[int] = []
    counts: list[list[int]] = []
    unknown = len(GROUP_STATE_PRECEDENCE)
    for prefix, state, _ in tasks.values():
        row = rows.get(prefix)
        if row is None:
            row = rows[prefix] = len(sizes)
            best.append(state)
            sizes.append(0)
            counts.append([0] * unknown)
        sizes[row] += 1
        rank = _RANK.get(state, unknown)
        if rank < unknown:
            counts[row][rank] += 1
        if rank < _RANK.get(best[row], unknown):
            best[row] = state
    return rows, best, sizes, counts


def _group_state_columns(best: list[str], counts: list[list[int]]) -> dict[str, list]:
    columns: dict[str, list] = {"state": best, "color": [_color(s) for s in best]}
    for j, name in enumerate(_COUNT_COLUMNS):
        columns[name] = [c[j] for c in counts]
    return columns


def layout(tasks: Tasks, max_nodes: int = 1000) -> GraphLayout:
    """Lay out a task graph in layers, collapsing it to prefixes when it is large.

    Parameters
    ----------
    tasks : Mapping
        Task key to ``(prefix, state, dependency keys)``.  Dependencies that are not
        keys of ``tasks`` (and a task depending on itself) are ignored.
    max_nodes : int, optional
        Largest task count drawn task by task; above it, one node per prefix is drawn.

    Returns
    -------
    GraphLayout
        ``x`` is the longest-path depth from a node without in-graph dependencies;
        ``y`` is the position within that layer, ordered by the mean ``y`` of the
        node's dependencies and centred on 0.  When collapsed, a group's ``state`` is
        the first of :data:`GROUP_STATE_PRECEDENCE` held by any of its tasks, and
        edges between prefixes are deduplicated; edges that close a cycle between
        prefixes are kept for drawing but ignored for the depth.
    """
    if len(tasks) <= max_nodes:
        index = {key: i for i, key in enumerate(tasks)}
        deps: list[list[int]] = []
        for key, (_, _, dependencies) in tasks.items():
            own = index[key]
            # dict.fromkeys deduplicates while keeping order, so edges are stable.
            deps.append(list(dict.fromkeys(
                r for r in (index.get(d) for d in dependencies) if r is not None and r != own)))
        x, y = _layers(len(index), deps)
        states = [state for _, state, _ in tasks.values()]
        nodes = {"x": x, "y": y, "key": [str(k) for k in index],
                 "label": [str(k) for k in index], "state": states,
                 "color": [_color(s) for s in states], "size": [1] * len(index)}
        pairs = ((u, v) for v, ds in enumerate(deps) for u in ds)
        return GraphLayout(False, nodes, _edge_columns(pairs, x, y), dict(index))

    rows, best, sizes, counts = _groups(tasks)
    prefix_deps: list[dict[int, None]] = [{} for _ in sizes]
    for prefix, _, dependencies in tasks.values():
        own = rows[prefix]
        wanted = prefix_deps[own]
        for d in dependencies:
            record = tasks.get(d)
            if record is not None:
                other = rows[record[0]]
                if other != own:
                    wanted[other] = None
    deps = [list(ds) for ds in prefix_deps]
    x, y = _layers(len(sizes), deps)
    prefixes = list(rows)
    nodes = {"x": x, "y": y, "key": [str(p) for p in prefixes],
             "label": [f"{p} ({n})" for p, n in zip(prefixes, sizes)],
             **_group_state_columns(best, counts), "size": sizes}
    pairs = ((u, v) for v, ds in enumerate(deps) for u in ds)
    return GraphLayout(True, nodes, _edge_columns(pairs, x, y), dict(rows))


def update_states(layout: GraphLayout, tasks: Tasks) -> dict[str, list] | None:
    """New state columns for an existing layout, or None if it must be redone.

    Parameters
    ----------
    layout : GraphLayout
        A result of :func:`layout`.
    tasks : Mapping
        The current tasks, in the same form :func:`layout` takes.

    Returns
    -------
    dict of str to list or None
        ``state`` and ``color`` columns in row order (plus the ``n_<state>`` columns
        for a collapsed layout).  None when the node set changed: for a task layout,
        the set of keys; for a collapsed one, the set of prefixes or any prefix's task
        count, since sizes and labels would otherwise be stale.  Dependencies are
        assumed not to change for existing tasks, so edges are not rechecked.
    """
    index = layout.index
    if not layout.collapsed:
        if len(tasks) != len(index):
            return None
        states: list[str] = [""] * len(index)
        for key, (_, state, _) in tasks.items():
            row = index.get(key)
            if row is None:
                return None
            states[row] = state
        return {"state": states, "color": [_color(s) for s in states]}

    rows, best, sizes, counts = _groups(tasks)
    if rows.keys() != index.keys():
        return None
    order = [rows[p] for p in sorted(index, key=index.__getitem__)]
    if [sizes[r] for r in order] != list(layout.nodes["size"]):
        return None
    return _group_state_columns([best[r] for r in order], [counts[r] for r in order])
