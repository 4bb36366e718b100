"""Layered layout of task graphs for the dashboard (graphengine.dashboard.graph_layout)."""
from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphengine.dashboard.graph_layout import (GROUP_STATE_PRECEDENCE, STATE_COLORS,
                                                GraphLayout, layout, update_states)

pytestmark = pytest.mark.timeout(60)

STATES = ["released", "waiting", "queued", "no-worker", "processing", "memory", "erred"]


def _diamond(state: str = "waiting") -> dict:
    return {"a": ("a", state, []), "b": ("b", state, ["a"]),
            "c": ("c", state, ["a"]), "d": ("d", state, ["b", "c"])}


def _segments(lay: GraphLayout) -> set[tuple]:
    e = lay.edges
    return set(zip(e["x0"], e["y0"], e["x1"], e["y1"]))


def _point(lay: GraphLayout, key) -> tuple:
    row = lay.index[key]
    return lay.nodes["x"][row], lay.nodes["y"][row]


def _chain_of_prefixes(n_per_prefix: int, prefixes: list[str]) -> dict:
    """Tasks (p, i) for each prefix, where (p_k, i) depends on (p_{k-1}, i)."""
    tasks = {}
    for k, p in enumerate(prefixes):
        for i in range(n_per_prefix):
            deps = [(prefixes[k - 1], i)] if k else []
            tasks[(p, i)] = (p, "waiting", deps)
    return tasks


def test_state_colors_cover_every_state():
    assert set(STATE_COLORS) == set(STATES)
    assert set(GROUP_STATE_PRECEDENCE) == set(STATES)
    for colour in STATE_COLORS.values():
        assert colour.startswith("#") and len(colour) == 7
        int(colour[1:], 16)
    assert STATE_COLORS["processing"] != STATE_COLORS["memory"] != STATE_COLORS["waiting"]


def test_diamond_depths_and_positions():
    lay = layout(_diamond())
    assert not lay.collapsed
    x = {k: lay.nodes["x"][lay.index[k]] for k in "abcd"}
    y = {k: lay.nodes["y"][lay.index[k]] for k in "abcd"}
    assert x == {"a": 0, "b": 1, "c": 1, "d": 2}
    assert y["b"] != y["c"]
    # Layers are centred on 0.
    assert y["a"] == 0 and y["d"] == 0 and y["b"] + y["c"] == 0
    assert lay.nodes["key"] == ["a", "b", "c", "d"]
    assert lay.nodes["size"] == [1, 1, 1, 1]
    assert not any(c.startswith("n_") for c in lay.nodes)
    lengths = {len(col) for col in lay.nodes.values()}
    assert lengths == {4}


def test_diamond_edges_connect_dependency_to_dependent():
    lay = layout(_diamond())
    expected = {(*_point(lay, u), *_point(lay, v))
                for u, v in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]}
    assert _segments(lay) == expected
    assert len(lay.edges["x0"]) == 4


def test_barycentre_orders_layer_by_dependencies():
    # Two independent strands whose second layer is listed in the opposite order.
    tasks = {"a": ("a", "memory", []), "b": ("b", "memory", []),
             "bb": ("bb", "waiting", ["b"]), "aa": ("aa", "waiting", ["a"])}
    lay = layout(tasks)
    ya, yb = _point(lay, "a")[1], _point(lay, "b")[1]
    yaa, ybb = _point(lay, "aa")[1], _point(lay, "bb")[1]
    assert (ya < yb) == (yaa < ybb)


def test_long_chain_has_no_recursion_error():
    n = 50_000
    tasks = {i: ("chain", "waiting", [i - 1] if i else []) for i in range(n)}
    lay = layout(tasks, max_nodes=n)
    assert not lay.collapsed
    assert lay.nodes["x"][lay.index[n - 1]] == n - 1
    assert set(lay.nodes["y"]) == {0.0}
    assert len(lay.edges["x0"]) == n - 1


def test_outside_and_duplicate_dependencies_are_ignored():
    tasks = {"a": ("a", "memory", ["gone", "a"]), "b": ("b", "waiting", ["a", "a", "missing"])}
    lay = layout(tasks)
    assert lay.nodes["x"] == [0, 1]
    assert _segments(lay) == {(*_point(lay, "a"), *_point(lay, "b"))}
    assert len(lay.edges["x0"]) == 1


def test_cycle_between_tasks_terminates():
    tasks = {"a": ("a", "waiting", ["b"]), "b": ("b", "waiting", ["a"])}
    lay = layout(tasks)
    assert sorted(lay.nodes["x"]) == [0, 1]
    assert len(lay.edges["x0"]) == 2


def test_collapse_one_node_per_prefix():
    tasks = _chain_of_prefixes(100, ["load", "clean", "sum"])
    lay = layout(tasks, max_nodes=299)
    assert lay.collapsed
    assert lay.nodes["key"] == ["load", "clean", "sum"]
    assert set(lay.index) == {"load", "clean", "sum"}
    assert sum(lay.nodes["size"]) == len(tasks) == 300
    assert [_point(lay, p)[0] for p in ["load", "clean", "sum"]] == [0, 1, 2]
    # 200 task edges collapse into two prefix edges.
    assert _segments(lay) == {(*_point(lay, "load"), *_point(lay, "clean")),
                              (*_point(lay, "clean"), *_point(lay, "sum"))}
    assert len(lay.edges["x0"]) == 2
    assert layout(tasks, max_nodes=300).collapsed is False


def test_collapsed_state_counts_and_dominant_state():
    tasks = {}
    mix = {"x": ["memory"] * 3 + ["processing"] * 2 + ["waiting"],
           "y": ["memory"] * 4 + ["released"],
           "z": ["erred", "no-worker", "queued", "processing"]}
    for p, states in mix.items():
        for i, s in enumerate(states):
            tasks[(p, i)] = (p, s, [])
    lay = layout(tasks, max_nodes=1)
    assert lay.collapsed
    row = lay.index
    n = lay.nodes
    assert n["n_memory"][row["x"]] == 3
    assert n["n_processing"][row["x"]] == 2
    assert n["n_waiting"][row["x"]] == 1
    assert n["n_erred"][row["x"]] == 0
    assert n["n_released"][row["y"]] == 1
    assert n["n_no_worker"][row["z"]] == 1
    assert n["n_queued"][row["z"]] == 1
    assert n["size"] == [6, 5, 4]
    for r in range(3):
        assert sum(n["n_" + s.replace("-", "_")][r] for s in STATES) == n["size"][r]
    assert n["state"][row["x"]] == "processing"
    assert n["state"][row["y"]] == "memory"
    assert n["state"][row["z"]] == "erred"
    assert n["color"] == [STATE_COLORS[s] for s in n["state"]]
    assert {len(col) for col in n.values()} == {3}
    assert lay.edges == {"x0": [], "y0": [], "x1": [], "y1": []}


def test_prefix_cycle_terminates():
    # a-0 -> b-0 -> a-1 -> b-1: prefixes a and b depend on each other.
    tasks = {"a-0": ("a", "memory", []), "b-0": ("b", "memory", ["a-0"]),
             "a-1": ("a", "waiting", ["b-0"]), "b-1": ("b", "waiting", ["a-1"]),
             "c-0": ("c", "waiting", ["b-1"])}
    lay = layout(tasks, max_nodes=2)
    assert lay.collapsed
    assert sorted(lay.index) == ["a", "b", "c"]
    x = {p: _point(lay, p)[0] for p in "abc"}
    assert x["a"] < x["b"] < x["c"]
    assert len(lay.edges["x0"]) == 3  # a->b, b->a, b->c; no self-loops


def test_update_states_same_tasks():
    lay = layout(_diamond("waiting"))
    tasks = _diamond("waiting")
    tasks["a"] = ("a", "memory", [])
    tasks["b"] = ("b", "processing", ["a"])
    upd = update_states(lay, tasks)
    assert set(upd) == {"state", "color"}
    assert upd["state"][lay.index["a"]] == "memory"
    assert upd["state"][lay.index["b"]] == "processing"
    assert upd["state"][lay.index["d"]] == "waiting"
    assert upd["color"] == [STATE_COLORS[s] for s in upd["state"]]


def test_update_states_none_when_node_set_changes():
    lay = layout(_diamond())
    tasks = _diamond()
    tasks["e"] = ("e", "waiting", ["d"])
    assert update_states(lay, tasks) is None
    tasks = _diamond()
    del tasks["d"]
    tasks["z"] = ("z", "waiting", [])
    assert update_states(lay, tasks) is None


def test_update_states_collapsed():
    tasks = _chain_of_prefixes(10, ["load", "sum"])
    lay = layout(tasks, max_nodes=5)
    tasks[("sum", 3)] = ("sum", "erred", [("load", 3)])
    tasks[("load", 0)] = ("load", "memory", [])
    upd = update_states(lay, tasks)
    assert set(upd) == {"state", "color"} | {"n_" + s.replace("-", "_") for s in STATES}
    assert upd["state"][lay.index["sum"]] == "erred"
    assert upd["n_erred"][lay.index["sum"]] == 1
    assert upd["n_waiting"][lay.index["sum"]] == 9
    assert upd["n_memory"][lay.index["load"]] == 1
    assert upd["state"][lay.index["load"]] == "waiting"
    assert upd["color"] == [STATE_COLORS[s] for s in upd["state"]]
    # A new task in an existing prefix changes its size: relayout.
    tasks[("sum", 10)] = ("sum", "waiting", [])
    assert update_states(lay, tasks) is None
    del tasks[("sum", 10)]
    tasks[("new", 0)] = ("new", "waiting", [])
    del tasks[("sum", 9)]
    assert update_states(lay, tasks) is None


@st.composite
def _dags(draw):
    n = draw(st.integers(1, 40))
    tasks = {}
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=4)) if i else []
        # Some dependencies point outside the graph.
        deps += draw(st.lists(st.just(("outside", i)), max_size=1))
        key = ("t", i) if i % 2 else f"t-{i}"
        dep_keys = [d if isinstance(d, tuple) else (("t", d) if d % 2 else f"t-{d}")
                    for d in deps]
        tasks[key] = (f"p{i % 3}", draw(st.sampled_from(STATES)), dep_keys)
    items = list(tasks.items())
    order = draw(st.permutations(range(n)))
    return dict(items[j] for j in order)


@settings(max_examples=80, deadline=None)
@given(_dags())
def test_random_dags_edges_go_forward_and_one_node_per_task(tasks):
    lay = layout(tasks)
    assert not lay.collapsed
    assert set(lay.index) == set(tasks)
    assert sorted(lay.index.values()) == list(range(len(tasks)))
    assert len(lay.nodes["key"]) == len(tasks)
    for key, row in lay.index.items():
        assert lay.nodes["key"][row] == str(key)
        assert lay.nodes["state"][row] == tasks[key][1]
    points = list(zip(lay.nodes["x"], lay.nodes["y"]))
    assert len(set(points)) == len(points)
    e = lay.edges
    assert all(x0 < x1 for x0, x1 in zip(e["x0"], e["x1"]))
    expected = {(*_point(lay, d), *_point(lay, k))
                for k, (_, _, deps) in tasks.items() for d in deps if d in tasks}
    assert _segments(lay) == expected
    # Longest path: a node sits one layer past its deepest dependency.
    for key, (_, _, deps) in tasks.items():
        inside = [lay.nodes["x"][lay.index[d]] for d in deps if d in tasks]
        assert _point(lay, key)[0] == (max(inside) + 1 if inside else 0)
    # Collapsing the same graph gives one node per prefix covering every task.
    small = layout(tasks, max_nodes=0)
    assert small.collapsed
    assert sum(small.nodes["size"]) == len(tasks)
    assert set(small.index) == {p for p, _, _ in tasks.values()}


def test_speed_sanity_guard():
    # Generous bound only to catch accidental quadratic behaviour; speed is not
    # otherwise asserted (the target is well under 0.2 s for each).
    big = {}
    for i in range(20_000):
        deps = [i - 1, i // 2] if i else []
        big[i] = (f"prefix-{i % 50}", STATES[i % len(STATES)], deps)
    small = {i: (f"p{i % 7}", "waiting", [i - 1, i // 3] if i else []) for i in range(1000)}
    start = time.perf_counter()
    assert layout(big).collapsed
    assert not layout(small).collapsed
    assert time.perf_counter() - start < 2
