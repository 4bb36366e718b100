"""Specification of culling, linear-chain fusion and inlining (graph.cull, graph.fuse)."""
from __future__ import annotations

import itertools
from operator import add, mul

import pytest

from graphengine.errors import MissingDependencyError
from graphengine.graph.cull import cull
from graphengine.graph.fuse import fuse, fused_key, inline, is_cheap, mark_cheap
from graphengine.graph.spec import Ref, Task, key_name
from graphengine.graph.toposort import dependencies_map
from graphengine.local.get import get

pytestmark = pytest.mark.timeout(60)


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def neg(x):
    return -x


def _run(graph, keys):
    return get(graph, keys, scheduler="sync")


# --- cull -------------------------------------------------------------------------------

def _diamond_with_extras() -> dict:
    return {
        "a": 1,
        "b": Task("b", inc, Ref("a")),
        "c": Task("c", double, Ref("a")),
        "d": Task("d", add, Ref("b"), Ref("c")),
        "unused-data": 100,
        "unused-task": Task("unused-task", inc, Ref("b")),
        "other": Task("other", inc, Ref("unused-data")),
    }


def test_cull_keeps_exactly_the_tasks_the_keys_need():
    graph = _diamond_with_extras()
    culled, deps = cull(graph, ["d"])
    assert set(culled) == {"a", "b", "c", "d"}
    assert all(culled[k] is graph[k] for k in culled)
    assert deps == {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}
    assert _run(culled, "d") == _run(graph, "d") == 4


def test_cull_to_several_keys_keeps_their_union():
    culled, _ = cull(_diamond_with_extras(), ["b", "other"])
    assert set(culled) == {"a", "b", "other", "unused-data"}


def test_cull_does_not_modify_its_input():
    graph = _diamond_with_extras()
    before = dict(graph)
    cull(graph, ["b"])
    assert graph == before


def test_cull_of_a_missing_requested_key_names_it():
    with pytest.raises(MissingDependencyError) as info:
        cull(_diamond_with_extras(), ["nope"])
    assert info.value.key == "nope"


def test_cull_of_a_missing_dependency_names_it_and_its_dependent():
    graph = {"x": Task("x", inc, Ref("y")), "y": Task("y", inc, Ref("z"))}
    with pytest.raises(MissingDependencyError) as info:
        cull(graph, ["x"])
    assert (info.value.key, info.value.dependent) == ("z", "y")


# --- fuse -------------------------------------------------------------------------------

def _chain(names: list, n_chains: int = 1) -> tuple[dict, list]:
    """``n_chains`` parallel chains data -> names[0] -> names[1] -> ..."""
    funcs = {"inc": inc, "double": double, "neg": neg}
    graph: dict = {}
    outputs = []
    for j in range(n_chains):
        graph[("data", j)] = j + 1
        prev = ("data", j)
        for step, name in enumerate(names):
            # Names carry an 8-digit token, like generated collection names do.
            key = (f"{name}-{step:08d}", j)
            graph[key] = Task(key, funcs[name], Ref(prev))
            prev = key
        outputs.append(prev)
    return graph, outputs


def test_fuse_merges_a_linear_chain_into_one_task_with_the_same_result():
    graph, outputs = _chain(["inc", "double", "neg", "inc"], n_chains=3)
    fused = fuse(graph, keys=outputs)
    tasks = [k for k, v in fused.items() if type(v) is Task]
    assert len(tasks) == 3  # one per chain, down from 12
    assert _run(fused, outputs) == _run(graph, outputs) == [-3, -5, -7]


def test_fused_outputs_keep_their_keys():
    graph, outputs = _chain(["inc", "double", "neg"], n_chains=2)
    fused = fuse(graph, keys=outputs)
    for out in outputs:
        assert out in fused
        assert fused[out].key == out


def test_fused_intermediate_gets_a_readable_name_from_the_chain():
    graph, _ = _chain(["inc", "double", "neg"])
    graph["sink"] = Task("sink", add, Ref(("neg-00000002", 0)), Ref(("data", 0)))
    fused = fuse(graph, keys=["sink"])
    # inc -> double -> neg is one task under a new name; sink reads it by that name.
    (renamed,) = [k for k in fused if k not in graph]
    assert renamed == ("inc-double-neg-00000002", 0)
    assert fused["sink"].dependencies == {renamed, ("data", 0)}
    assert _run(fused, "sink") == _run(graph, "sink") == -4 + 1


def test_fused_key_keeps_indices_and_collapses_repeated_names():
    assert fused_key([("inc-aaaaaaaa", 3), ("inc-bbbbbbbb", 3), ("neg-cccccccc", 3)]) == (
        "inc-neg-cccccccc", 3)
    assert fused_key(["load", "parse-0f0f0f0f"]) == "load-parse-0f0f0f0f"


def test_fuse_respects_max_width():
    graph, outputs = _chain(["inc"] * 10)
    fused = fuse(graph, keys=outputs, max_width=3)
    tasks = [k for k, v in fused.items() if type(v) is Task]
    assert len(tasks) == 4  # ceil(10 / 3)
    assert _run(fused, outputs) == [11]
    assert outputs[0] in fused


def test_fuse_without_rename_keeps_the_last_key_of_each_chain():
    graph, _ = _chain(["inc", "double"])
    graph["sink"] = Task("sink", add, Ref(("double-00000001", 0)), Ref(("data", 0)))
    fused = fuse(graph, keys=["sink"], rename=False)
    assert set(fused) == {("data", 0), ("double-00000001", 0), "sink"}
    assert _run(fused, "sink") == 4 + 1


def _map_then_tree_reduce(n: int) -> tuple[dict, object]:
    graph: dict = {}
    layer = []
    for i in range(n):
        graph[("load", i)] = Task(("load", i), int, str(i))
        graph[("inc", i)] = Task(("inc", i), inc, Ref(("load", i)))
        layer.append(("inc", i))
    level = 0
    while len(layer) > 1:
        level += 1
        nxt = []
        for j in range(0, len(layer), 2):
            key = ("sum", level, j // 2)
            graph[key] = Task(key, sum, [Ref(k) for k in layer[j:j + 2]])
            nxt.append(key)
        layer = nxt
    return graph, layer[0]


def test_tree_reduction_is_not_fused_into_one_task_so_leaves_stay_parallel():
    graph, root = _map_then_tree_reduce(16)
    fused = fuse(graph, keys=[root])
    assert _run(fused, root) == _run(graph, root) == sum(range(1, 17))
    deps = dependencies_map(fused)
    leaves = [k for k, d in deps.items() if not d]
    # load -> inc fuses per leaf; the reduction tree keeps its shape.
    assert len(leaves) == 16
    assert len(fused) == 16 + 15
    assert all(len(deps[k]) == 2 for k in fused if key_name(k) == "sum")


def test_fuse_does_not_fold_a_task_into_a_dependent_that_reads_it_twice():
    calls = itertools.count()

    def expensive(x):
        next(calls)
        return x * 10

    graph = {"a": 1, "b": Task("b", expensive, Ref("a")),
             "c": Task("c", add, Ref("b"), Ref("b"))}
    fused = fuse(graph, keys=["c"])
    assert _run(fused, "c") == 20
    assert next(calls) == 1  # expensive ran once


def test_fuse_leaves_shared_intermediates_alone():
    graph = {"a": Task("a", inc, 1), "b": Task("b", inc, Ref("a")),
             "c": Task("c", double, Ref("a"))}
    fused = fuse(graph, keys=["b", "c"])
    assert set(fused) == set(graph)
    assert _run(fused, ["b", "c"]) == [3, 4]


# --- inline -----------------------------------------------------------------------------

def test_inline_puts_small_constants_into_their_dependents():
    graph = {"x": 5, "name": "n", "y": Task("y", add, Ref("x"), 1),
             "z": Task("z", mul, Ref("x"), Ref("y")), "w": Task("w", str.upper, Ref("name"))}
    inlined = inline(graph)
    assert "x" not in inlined and "name" not in inlined
    assert inlined["y"].dependencies == frozenset()
    assert inlined["z"].dependencies == {"y"}
    assert _run(inlined, ["z", "w"]) == _run(graph, ["z", "w"]) == [30, "N"]


def test_inline_keeps_constants_that_are_outputs():
    graph = {"x": 5, "y": Task("y", add, Ref("x"), 1)}
    inlined = inline(graph, outputs=["x"])
    assert inlined["x"] == 5
    assert inlined["y"].dependencies == frozenset()
    assert _run(inlined, ["x", "y"]) == [5, 6]


def test_inline_of_mark_cheap_functions_recomputes_them_in_each_dependent():
    calls = []

    @mark_cheap
    def getitem_cheap(seq, i):
        calls.append(i)
        return seq[i]

    assert is_cheap(getitem_cheap) and not is_cheap(inc)
    graph = {
        "data": Task("data", list, range(10)),
        "pick": Task("pick", getitem_cheap, Ref("data"), 3),
        "p1": Task("p1", inc, Ref("pick")),
        "p2": Task("p2", double, Ref("pick")),
    }
    inlined = inline(graph)
    assert "pick" not in inlined and "data" in inlined  # `list` is not marked cheap
    assert inlined["p1"].dependencies == inlined["p2"].dependencies == {"data"}
    assert _run(inlined, ["p1", "p2"]) == [4, 6]
    assert calls == [3, 3]


def test_inline_of_a_container_constant_keeps_refs_inside_it_as_data():
    payload = [Ref("a"), 1]
    graph = {"a": 0, "c": payload, "user": Task("user", list, Ref("c"))}
    inlined = inline(graph, keys=["c"])
    assert "c" not in inlined
    assert inlined["user"].dependencies == frozenset()
    assert _run(inlined, "user") == [Ref("a"), 1]


def test_inline_chooses_only_the_given_keys():
    graph = {"x": 5, "y": 6, "s": Task("s", add, Ref("x"), Ref("y"))}
    inlined = inline(graph, keys=["x"])
    assert set(inlined) == {"y", "s"}
    assert _run(inlined, "s") == 11
