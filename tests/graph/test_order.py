"""Specification of static ordering (graph.order): deterministic, dependencies first, and
memory-frugal: a tree reduction holds O(log n) results at once under the sync scheduler."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from graphengine.errors import CycleError
from graphengine.graph.order import order
from graphengine.graph.spec import Ref, Task
from graphengine.graph.toposort import dependencies_map, toposort
from graphengine.local.callbacks import Callback
from graphengine.local.get import get
from graphengine.local.loop import execute
from graphengine.local.sync import SyncPool

pytestmark = pytest.mark.timeout(60)

# Builds a graph with str and tuple keys, shared dependencies and several outputs; run
# both here and in fresh interpreters with other hash seeds.
_GRAPH_SOURCE = textwrap.dedent("""
    from graphengine.graph.spec import Ref, Task

    def build_graph():
        g = {}
        for i in range(40):
            g[("x", i)] = Task(("x", i), abs, -i)
            g[f"y-{i}"] = Task(f"y-{i}", max, Ref(("x", i)), Ref(("x", (i * 7) % 40)))
        for i in range(0, 40, 4):
            g[("z", i, 0)] = Task(("z", i, 0), sum, [Ref(f"y-{j}") for j in range(i, i + 4)])
        g["total"] = Task("total", sum, [Ref(("z", i, 0)) for i in range(0, 40, 4)])
        g["side"] = Task("side", abs, Ref("y-3"))
        return g
""")
_namespace: dict = {}
exec(_GRAPH_SOURCE, _namespace)
build_graph = _namespace["build_graph"]


def _canonical(priorities: dict) -> list:
    return sorted(([list(k) if isinstance(k, tuple) else k, v] for k, v in priorities.items()),
                  key=lambda kv: kv[1])


def test_order_gives_every_key_a_distinct_priority_after_its_dependencies():
    graph = build_graph()
    priorities = order(graph)
    assert set(priorities) == set(graph)
    assert sorted(priorities.values()) == list(range(len(graph)))
    for key, deps in dependencies_map(graph).items():
        for d in deps:
            assert priorities[d] < priorities[key], (d, key)


def test_order_is_deterministic_across_runs_and_insertion_order():
    graph = build_graph()
    first = order(graph)
    assert order(graph) == first
    reversed_graph = dict(reversed(list(graph.items())))
    assert order(reversed_graph) == first


def test_order_is_the_same_in_processes_with_other_hash_seeds():
    expected = _canonical(order(build_graph()))
    script = _GRAPH_SOURCE + textwrap.dedent("""
        import json
        from graphengine.graph.order import order
        prios = order(build_graph())
        print(json.dumps(sorted(([list(k) if isinstance(k, tuple) else k, v]
                                 for k, v in prios.items()), key=lambda kv: kv[1])))
    """)
    for seed in ("1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=30, check=True).stdout
        assert json.loads(out) == expected


def test_order_runs_a_small_branch_before_starting_a_big_one():
    graph = {"s0": Task("s0", abs, 1)}
    for i in range(5):
        graph[f"b{i}"] = Task(f"b{i}", abs, Ref(f"b{i - 1}") if i else 1)
    graph["top"] = Task("top", max, Ref("b4"), Ref("s0"))
    p = order(graph)
    assert p["s0"] == 0
    assert p["top"] == len(graph) - 1


def test_order_of_a_cyclic_graph_raises_cycle_error():
    graph = {"a": Task("a", abs, Ref("b")), "b": Task("b", abs, Ref("a")),
             "c": Task("c", abs, 1)}
    with pytest.raises(CycleError) as info:
        order(graph)
    assert set(info.value.cycle) == {"a", "b"}


@pytest.mark.timeout(120)
def test_order_of_a_long_chain_needs_no_recursion():
    n = 200_000
    graph = {("c", 0): 0}
    for i in range(1, n):
        graph[("c", i)] = Task(("c", i), abs, Ref(("c", i - 1)))
    p = order(graph)
    assert p[("c", 0)] == 0 and p[("c", n - 1)] == n - 1


# --- memory: peak number of results alive --------------------------------------------------

class _Counter:
    """Counts live :class:`_Blob` objects and the peak; the engine holds the only refs."""

    def __init__(self):
        self.live = 0
        self.peak = 0


_counter = _Counter()


class _Blob:
    """A task result whose lifetime is observable: alive from creation to collection."""

    def __init__(self):
        _counter.live += 1
        if _counter.live > _counter.peak:
            _counter.peak = _counter.live

    def __del__(self):
        _counter.live -= 1


def _leaf(i):
    return _Blob()


def _combine(*parts):
    return _Blob()


def _tree_reduction(n: int, fan_in: int) -> tuple[dict, tuple]:
    graph: dict = {}
    layer = [("leaf", i) for i in range(n)]
    for key in layer:
        graph[key] = Task(key, _leaf, key[1])
    level = 0
    while len(layer) > 1:
        level += 1
        nxt = []
        for j in range(0, len(layer), fan_in):
            key = ("node", level, j // fan_in)
            graph[key] = Task(key, _combine, *[Ref(k) for k in layer[j:j + fan_in]])
            nxt.append(key)
        layer = nxt
    return graph, layer[0]


def _breadth_first_priorities(graph: dict) -> dict:
    """A naive order: by level in the graph (all leaves, then all their parents, ...)."""
    deps = dependencies_map(graph)
    level: dict = {}
    for key in toposort(graph, deps):
        level[key] = 1 + max((level[d] for d in deps[key]), default=-1)
    ranked = sorted(graph, key=lambda k: (level[k], k))
    return {k: i for i, k in enumerate(ranked)}


def _peak_live_results(run) -> int:
    _counter.live = _counter.peak = 0
    result = run()
    assert isinstance(result, _Blob)
    del result
    assert _counter.live == 0, "results leaked after the computation"
    return _counter.peak


class _AliveCounter(Callback):
    """Counts results the loop must keep: from a task's posttask until its last user ends."""

    def __init__(self):
        super().__init__()
        self.alive = self.peak = 0

    def _start(self, graph):
        deps = dependencies_map(graph)
        self.deps = deps
        self.users = {k: 0 for k in graph}
        for ds in deps.values():
            for d in ds:
                self.users[d] += 1

    def _posttask(self, key, result, graph, state):
        self.alive += 1
        self.peak = max(self.peak, self.alive)
        for d in self.deps[key]:
            self.users[d] -= 1
            if self.users[d] == 0:
                self.alive -= 1


N_LEAVES = 10_000


@pytest.mark.parametrize("fan_in", [2, 8])
def test_tree_reduction_holds_only_log_n_results_under_the_sync_scheduler(fan_in):
    graph, root = _tree_reduction(N_LEAVES, fan_in)
    # Depth x fan-in is 28 (binary) or 40 (8-ary) here; the order keeps about that many.
    bound = 3 * math.log2(N_LEAVES)

    peak = _peak_live_results(lambda: get(graph, root, scheduler="sync"))
    assert peak <= bound, f"{peak} results alive at once for {N_LEAVES} leaves"

    counter = _AliveCounter()
    get(graph, root, scheduler="sync", callbacks=[counter])
    assert counter.peak <= bound, f"{counter.peak} results kept by the loop"
    assert counter.alive == 1  # only the root is left


@pytest.mark.parametrize("fan_in", [2, 8])
def test_breadth_first_order_would_hold_every_leaf_at_once(fan_in):
    graph, root = _tree_reduction(N_LEAVES, fan_in)
    naive = _breadth_first_priorities(graph)
    peak = _peak_live_results(
        lambda: execute(graph, [root], SyncPool(), priorities=naive)[root])
    assert peak >= N_LEAVES

    counter = _AliveCounter()
    execute(graph, [root], SyncPool(), priorities=naive, callbacks=[counter])
    assert counter.peak >= N_LEAVES
