"""Invariants of the local execution loop and of the static order it follows.

These pin down what the fast paths of ``graphengine.local.loop`` and
``graphengine.graph.order`` must keep: priority order, early release of results, stop at
the first error, callbacks, and a deterministic order with dependencies first.
"""
from __future__ import annotations

import random
import threading
import time

import pytest

from graphengine.errors import CycleError
from graphengine.graph.order import order
from graphengine.graph.spec import Ref, Task
from graphengine.local.callbacks import Callback
from graphengine.local.get import get
from graphengine.local.loop import execute
from graphengine.local.sync import SyncPool
from graphengine.local.threads import ThreadPool

pytestmark = pytest.mark.timeout(60)


def tree_graph(nleaves: int, fanin: int = 2, leaf=lambda i: i, combine=sum):
    """A map of ``nleaves`` leaves reduced by a ``fanin``-ary tree; returns (graph, root)."""
    graph = {("leaf", i): Task(("leaf", i), leaf, i) for i in range(nleaves)}
    level = [("leaf", i) for i in range(nleaves)]
    depth = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for j in range(0, len(level), fanin):
            key = ("node", depth, j // fanin)
            graph[key] = Task(key, combine, [Ref(k) for k in level[j:j + fanin]])
            nxt.append(key)
        level = nxt
    return graph, level[0]


def shuffled(graph: dict, seed: int) -> dict:
    items = list(graph.items())
    random.Random(seed).shuffle(items)
    return dict(items)


# --- order -------------------------------------------------------------------------------

def test_order_ranks_every_key_once_with_dependencies_first():
    graph, root = tree_graph(100, fanin=3)
    graph["data"] = 5
    graph["uses-data"] = Task("uses-data", abs, Ref("data"))
    prio = order(graph)
    assert sorted(prio.values()) == list(range(len(graph)))
    for key, value in graph.items():
        if isinstance(value, Task):
            assert all(prio[d] < prio[key] for d in value.dependencies), key


def test_order_finishes_a_subtree_before_starting_its_sibling():
    graph, root = tree_graph(8)
    prio = order(graph)
    by_rank = sorted(prio, key=prio.get)
    assert by_rank[:3] == [("leaf", 0), ("leaf", 1), ("node", 1, 0)]
    assert by_rank.index(("node", 2, 0)) < by_rank.index(("leaf", 4))


def test_order_is_the_same_whatever_the_insertion_order_of_the_graph():
    graph, root = tree_graph(300, fanin=4)
    expected = order(graph)
    for seed in range(3):
        assert order(shuffled(graph, seed)) == expected
        assert order(shuffled(graph, seed), outputs=[root]) == expected


def test_order_takes_the_smaller_subtree_first():
    graph = {
        "a": 1, "b": Task("b", abs, Ref("a")), "c": Task("c", abs, Ref("b")),
        "x": 2,
        "top": Task("top", max, Ref("c"), Ref("x")),
    }
    prio = order(graph)
    assert prio["x"] < prio["a"] < prio["b"] < prio["c"] < prio["top"]


def test_order_with_outputs_ranks_unreachable_keys_last_and_dependencies_first():
    graph = {"a": 1, "b": Task("b", abs, Ref("a")),
             "u": 2, "v": Task("v", abs, Ref("u"))}
    prio = order(graph, outputs=["b"])
    assert {prio["a"], prio["b"]} == {0, 1}
    assert prio["u"] < prio["v"]


def test_order_mixes_str_and_tuple_keys():
    graph = {"s": 1, ("t", 0): 2, ("t", 1): 3,
             "top": Task("top", sum, [Ref("s"), Ref(("t", 0)), Ref(("t", 1))])}
    assert order(graph) == order(shuffled(graph, 1))
    assert order(graph)["top"] == 3


def test_order_ignores_dependencies_outside_the_graph():
    graph = {"b": Task("b", abs, Ref("missing")), "c": Task("c", abs, Ref("b"))}
    assert order(graph) == {"b": 0, "c": 1}


def test_order_raises_cycle_error_naming_the_cycle():
    graph = {"a": Task("a", abs, Ref("c")), "b": Task("b", abs, Ref("a")),
             "c": Task("c", abs, Ref("b")), "d": 1}
    with pytest.raises(CycleError) as info:
        order(graph)
    assert set(info.value.cycle) == {"a", "b", "c"}


# --- the loop ----------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_tree_reduction_matches_python_sum(scheduler):
    graph, root = tree_graph(2000, fanin=3)
    assert get(graph, root, scheduler=scheduler) == sum(range(2000))


def test_sync_runs_tasks_in_static_priority_order():
    ran = []

    def leaf(i):
        ran.append(("leaf", i))
        return i

    graph, root = tree_graph(64, fanin=2, leaf=leaf)
    prio = order(graph)
    execute(graph, [root], SyncPool())
    assert ran == sorted(ran, key=prio.get)
    assert len(ran) == 64


def test_execute_follows_given_priorities():
    ran = []
    graph = {k: Task(k, ran.append, k) for k in "abcd"}
    execute(graph, list("abcd"), SyncPool(), priorities={"a": 30, "b": 10, "c": 20, "d": 10})
    assert ran == ["b", "d", "c", "a"]


class Tracked:
    """A result that counts how many of its kind are alive at once."""

    live = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, value):
        self.value = value
        with Tracked.lock:
            Tracked.live += 1
            Tracked.peak = max(Tracked.peak, Tracked.live)

    def __del__(self):
        with Tracked.lock:
            Tracked.live -= 1


def combine(parts):
    return Tracked(sum(p.value for p in parts))


def test_sync_releases_results_so_memory_stays_logarithmic():
    Tracked.live = Tracked.peak = 0
    graph, root = tree_graph(1024, fanin=2, leaf=Tracked, combine=combine)
    result = get(graph, root, scheduler="sync")
    assert result.value == sum(range(1024))
    # One pending result per tree level (10) plus the few in hand: far below 1024.
    assert Tracked.peak <= 2 * 10 + 4
    del result
    assert Tracked.live == 0


def test_threads_release_results_before_the_end():
    Tracked.live = Tracked.peak = 0
    graph, root = tree_graph(4096, fanin=2, leaf=Tracked, combine=combine)
    result = get(graph, root, scheduler="threads", num_workers=2)
    assert result.value == sum(range(4096))
    assert Tracked.peak < 4096 // 4
    del result
    # A pool thread drops its last batch right after handing the result back.
    deadline = time.monotonic() + 5
    while Tracked.live and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Tracked.live == 0


def test_an_output_that_is_also_an_input_is_kept():
    graph = {"a": Task("a", abs, -3), "b": Task("b", abs, Ref("a")), "c": 7,
             "d": Task("d", max, Ref("c"), Ref("b"))}
    assert get(graph, ["a", "b", "c", "d"], scheduler="sync") == [3, 3, 7, 7]
    assert get(graph, ["d", "c", "a"], scheduler="threads") == [7, 7, 3]


def boom(x):
    raise ZeroDivisionError(f"boom {x}")


@pytest.mark.parametrize("pool_factory", [SyncPool, lambda: ThreadPool(1)],
                         ids=["sync", "one-thread"])
def test_no_task_starts_after_the_first_error(pool_factory):
    ran = []

    def leaf(i):
        ran.append(i)
        if i == 10:
            boom(i)
        return i

    graph, root = tree_graph(200, fanin=2, leaf=leaf)
    pool = pool_factory()
    try:
        with pytest.raises(ZeroDivisionError, match="boom 10"):
            execute(graph, [root], pool)
    finally:
        if isinstance(pool, ThreadPool):
            pool.close()
    prio = order(graph)
    leaves = sorted((k for k in graph if k[0] == "leaf"), key=prio.get)
    expected = [i for _, i in leaves]
    assert ran == expected[:expected.index(10) + 1]


def test_callbacks_see_every_task_once_and_the_error_flag():
    events = {"pre": [], "post": [], "finish": [], "start": 0}
    cb = Callback(
        start=lambda graph: events.__setitem__("start", events["start"] + 1),
        pretask=lambda key, graph, state: events["pre"].append(key),
        posttask=lambda key, result, graph, state: events["post"].append(key),
        finish=lambda graph, state, errored: events["finish"].append(errored),
    )
    graph, root = tree_graph(50, fanin=3)
    for scheduler in ("sync", "threads"):
        events.update(pre=[], post=[])
        assert get(graph, root, scheduler=scheduler, callbacks=[cb]) == sum(range(50))
        assert sorted(events["pre"], key=repr) == sorted(graph, key=repr)
        assert sorted(events["post"], key=repr) == sorted(graph, key=repr)
    failing = dict(graph)
    failing[("leaf", 3)] = Task(("leaf", 3), boom, 3)
    with pytest.raises(ZeroDivisionError):
        get(failing, root, scheduler="sync", callbacks=[cb])
    assert events["start"] == 3
    assert events["finish"] == [False, False, True]


def test_posttask_state_counts_finished_tasks():
    counts = []
    cb = Callback(posttask=lambda key, result, graph, state: counts.append(
        (state["finished"], state["total"])))
    graph = {"x": 1, "y": Task("y", abs, Ref("x")), "z": Task("z", abs, Ref("y"))}
    get(graph, "z", scheduler="sync", callbacks=[cb])
    assert counts == [(2, 3), (3, 3)]
