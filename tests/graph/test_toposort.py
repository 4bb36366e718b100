"""Specification of dependency maps, validation and topological sort (graph.toposort)."""
from __future__ import annotations

import random
import sys
from operator import add

import pytest

from graphengine.errors import CycleError, GraphError, MissingDependencyError
from graphengine.graph.spec import Ref, Task
from graphengine.graph.toposort import (dependencies_map, dependents_map, find_cycle,
                                        get_dependencies, toposort, validate_graph)
from graphengine.local.get import get

pytestmark = pytest.mark.timeout(60)


def _random_dag(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    graph: dict = {}
    for i in range(n):
        deps = rng.sample(range(i), k=min(i, rng.randint(0, 3)))
        key = ("n", i) if i % 2 else f"n-{i}"
        refs = [Ref(("n", d) if d % 2 else f"n-{d}") for d in deps]
        graph[key] = Task(key, sum, [1, *refs]) if refs else i
    # Shuffle insertion order so that dict order does not already give a valid order.
    items = list(graph.items())
    rng.shuffle(items)
    return dict(items)


@pytest.mark.parametrize("seed", range(5))
def test_toposort_puts_every_key_after_its_dependencies(seed):
    graph = _random_dag(300, seed)
    order = toposort(graph)
    assert sorted(order, key=repr) == sorted(graph, key=repr)
    position = {k: i for i, k in enumerate(order)}
    for key, deps in dependencies_map(graph).items():
        for d in deps:
            assert position[d] < position[key], (d, key)


def test_dependencies_and_dependents_maps_are_inverse():
    graph = {"a": 1, "b": Task("b", add, Ref("a"), 1),
             "c": Task("c", add, Ref("a"), Ref("b")), "d": 5}
    deps = dependencies_map(graph)
    assert deps == {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": set()}
    assert dependents_map(deps) == {"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": set()}
    assert get_dependencies(graph, "c") == {"a", "b"}
    assert get_dependencies(graph, "a") == frozenset()


@pytest.fixture(scope="module")
def million_chain():
    n = 1_000_000
    graph: dict = {("c", 0): 0}
    for i in range(1, n):
        graph[("c", i)] = Task(("c", i), abs, Ref(("c", i - 1)))
    return graph


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_toposort_of_a_million_task_chain_needs_no_recursion(million_chain):
    n = len(million_chain)
    limit = sys.getrecursionlimit()
    order = toposort(million_chain)
    assert len(order) == n
    # A chain has exactly one valid order.
    assert order[::99_999] == [("c", i) for i in range(0, n, 99_999)]
    assert order[-1] == ("c", n - 1)
    assert sys.getrecursionlimit() == limit  # nothing raised the limit to get there


@pytest.mark.timeout(120)
def test_find_cycle_follows_a_million_key_cycle_iteratively():
    n = 1_000_000
    deps = {i: (i + 1,) for i in range(n - 1)}
    deps[n - 1] = (0,)
    cycle = find_cycle(deps)
    assert cycle is not None
    assert len(cycle) == n + 1 and cycle[0] == cycle[-1]


def test_cycle_error_names_the_keys_on_the_cycle():
    graph = {
        "data": 1,
        "a": Task("a", add, Ref("data"), Ref("c")),
        "b": Task("b", abs, Ref("a")),
        "c": Task("c", abs, Ref("b")),
        "outside": Task("outside", abs, Ref("c")),
    }
    with pytest.raises(CycleError) as info:
        toposort(graph)
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1]
    assert set(cycle[:-1]) == {"a", "b", "c"}
    assert len(cycle) == 4
    deps = dependencies_map(graph)
    for k, nxt in zip(cycle, cycle[1:]):
        assert nxt in deps[k], f"{k!r} does not depend on {nxt!r}"
    for k in "abc":
        assert repr(k) in str(info.value)
    assert "outside" not in str(info.value)


def test_a_task_depending_on_itself_is_a_cycle():
    with pytest.raises(CycleError) as info:
        validate_graph({"x": Task("x", abs, Ref("x"))})
    assert info.value.cycle == ["x", "x"]


def test_cycle_error_is_a_graph_error_and_a_value_error():
    graph = {"a": Task("a", abs, Ref("b")), "b": Task("b", abs, Ref("a"))}
    with pytest.raises(GraphError):
        toposort(graph)
    with pytest.raises(ValueError):
        toposort(graph)


def test_computing_a_cyclic_graph_raises_cycle_error():
    graph = {"a": Task("a", abs, Ref("b")), "b": Task("b", abs, Ref("a"))}
    with pytest.raises(CycleError) as info:
        get(graph, "a", scheduler="sync")
    assert set(info.value.cycle) == {"a", "b"}


def test_missing_dependency_error_names_the_missing_key_and_its_dependent():
    graph = {"a": 1, ("b", 0): Task(("b", 0), add, Ref("a"), Ref(("gone", 3)))}
    with pytest.raises(MissingDependencyError) as info:
        validate_graph(graph)
    assert info.value.key == ("gone", 3)
    assert info.value.dependent == ("b", 0)
    assert "('gone', 3)" in str(info.value) and "('b', 0)" in str(info.value)


def test_missing_dependency_error_is_a_key_error():
    graph = {"b": Task("b", abs, Ref("gone"))}
    with pytest.raises(KeyError):
        validate_graph(graph)
    with pytest.raises(KeyError) as info:
        get(graph, "b", scheduler="sync")
    assert info.value.key == "gone" and info.value.dependent == "b"


def test_validate_graph_accepts_dependencies_given_as_available_data():
    graph = {"b": Task("b", abs, Ref("external"))}
    validate_graph(graph, available=["external"])


def test_toposort_ignores_dependencies_outside_the_graph():
    graph = {"b": Task("b", abs, Ref("external")), "c": Task("c", abs, Ref("b"))}
    assert toposort(graph) == ["b", "c"]


def test_get_dependencies_of_an_unknown_key_raises_missing_dependency_error():
    with pytest.raises(MissingDependencyError, match="'nope'"):
        get_dependencies({}, "nope")
