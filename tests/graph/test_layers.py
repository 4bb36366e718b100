"""Specification of layered graphs (graph.layers): build, merge and cull by layer, without
materializing layers that are not needed."""
from __future__ import annotations

from operator import add

import pytest

from graphengine.errors import MissingDependencyError
from graphengine.graph.layers import HighLevelGraph, Layer, MaterializedLayer
from graphengine.graph.spec import Ref, Task
from graphengine.local.get import get

pytestmark = pytest.mark.timeout(60)


class ElementwiseLayer(Layer):
    """A lazy layer ``(name, i) = func((input, i))`` for i < n, counting materializations."""

    def __init__(self, name: str, func, input_name: str | None, n: int):
        self.name, self.func, self.input_name, self.n = name, func, input_name, n
        self.materializations = 0
        self.tasks_built = 0

    def output_keys(self):
        # A set-like that answers `in` and len() without building any task.
        return _KeyRange(self.name, self.n)

    def _task(self, i: int) -> Task:
        self.tasks_built += 1
        key = (self.name, i)
        if self.input_name is None:
            return Task(key, self.func, i)
        return Task(key, self.func, Ref((self.input_name, i)))

    def _materialize(self) -> dict:
        self.materializations += 1
        return {(self.name, i): self._task(i) for i in range(self.n)}

    def cull(self, keys: set):
        tasks = {k: self._task(k[1]) for k in keys}
        external = {d for t in tasks.values() for d in t.dependencies}
        return MaterializedLayer(tasks), external


class _KeyRange:
    def __init__(self, name: str, n: int):
        self.name, self.n = name, n

    def __contains__(self, key) -> bool:
        return (type(key) is tuple and len(key) == 2 and key[0] == self.name
                and type(key[1]) is int and 0 <= key[1] < self.n)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return ((self.name, i) for i in range(self.n))


def _inc(x):
    return x + 1


def _three_layers():
    a = HighLevelGraph.from_layer("a", {("a", i): i * 10 for i in range(4)})
    b = HighLevelGraph.from_layer(
        "b", {("b", i): Task(("b", i), _inc, Ref(("a", i))) for i in range(4)},
        dependencies=[a])
    c = HighLevelGraph.from_layer("c", {"c": Task("c", abs, -5)})
    return a, b, c


def test_from_layer_stacks_a_layer_on_its_dependencies():
    a, b, _ = _three_layers()
    assert set(b.layers) == {"a", "b"}
    assert b.layer_dependencies == {"a": set(), "b": {"a"}}
    assert len(b) == 8 and ("a", 3) in b and ("b", 0) in b
    assert get(b, [("b", 0), ("b", 3)], scheduler="sync") == [1, 31]


def test_from_layer_accepts_a_collection_as_dependency():
    class Box:
        def __init__(self, graph):
            self.graph = graph

        def __graphengine_graph__(self):
            return self.graph

    a, _, _ = _three_layers()
    top = HighLevelGraph.from_layer("top", {"top": Task("top", sum, [Ref(("a", 1))])},
                                    dependencies=[Box(a)])
    assert top.layer_dependencies["top"] == {"a"}
    assert get(top, "top", scheduler="sync") == 10


def test_from_layer_rejects_a_dependency_that_is_no_graph():
    with pytest.raises(TypeError, match="42"):
        HighLevelGraph.from_layer("x", {}, dependencies=[42])


def test_merge_keeps_every_layer_and_dependency():
    _, b, c = _three_layers()
    merged = HighLevelGraph.merge(b, c, {"plain": 1})
    assert {"a", "b", "c"} <= set(merged.layers)
    assert len(merged.layers) == 4  # the plain mapping became a layer of its own
    assert merged.layer_dependencies["b"] == {"a"}
    assert get(merged, ["c", ("b", 2), "plain"], scheduler="sync") == [5, 21, 1]


def test_top_layers_are_the_ones_nothing_depends_on():
    _, b, c = _three_layers()
    assert b.top_layers() == {"b"}
    assert HighLevelGraph.merge(b, c).top_layers() == {"b", "c"}


def test_cull_keeps_only_the_needed_layers_and_keys():
    _, b, c = _three_layers()
    merged = HighLevelGraph.merge(b, c)
    culled = merged.cull([("b", 1)])
    assert set(culled.layers) == {"a", "b"}
    assert set(culled) == {("a", 1), ("b", 1)}
    assert culled.layer_dependencies == {"a": set(), "b": {"a"}}
    assert get(culled, ("b", 1), scheduler="sync") == 11


def test_cull_drops_a_layer_dependency_to_a_dropped_layer():
    a, b, _ = _three_layers()
    extra = HighLevelGraph.from_layer("d", {"d": Task("d", add, Ref(("b", 0)), 1)},
                                      dependencies=[b])
    culled = extra.cull([("a", 2)])
    assert set(culled.layers) == {"a"}
    assert culled.layer_dependencies == {"a": set()}


def test_cull_of_a_key_no_layer_defines_raises_missing_dependency_error():
    _, b, _ = _three_layers()
    with pytest.raises(MissingDependencyError) as info:
        b.cull([("nowhere", 0)])
    assert info.value.key == ("nowhere", 0)


def test_cull_does_not_materialize_lazy_layers():
    load = ElementwiseLayer("load", int, None, 1000)
    inc = ElementwiseLayer("inc", _inc, "load", 1000)
    unused = ElementwiseLayer("unused", _inc, "load", 1000)
    g = HighLevelGraph({"load": load, "inc": inc, "unused": unused},
                       {"load": set(), "inc": {"load"}, "unused": {"load"}})
    culled = g.cull([("inc", 7), ("inc", 8)])
    assert set(culled.layers) == {"load", "inc"}
    assert set(culled) == {("load", 7), ("load", 8), ("inc", 7), ("inc", 8)}
    assert load.materializations == inc.materializations == unused.materializations == 0
    assert unused.tasks_built == 0
    assert inc.tasks_built == load.tasks_built == 2  # just the needed keys
    assert get(culled, [("inc", 7), ("inc", 8)], scheduler="sync") == [8, 9]
    assert unused.materializations == 0


def test_lazy_layer_materializes_once_when_the_whole_graph_is_needed():
    load = ElementwiseLayer("load", int, None, 5)
    g = HighLevelGraph.from_layer("load", load)
    assert len(g) == 5 and len(g) == 5
    assert load.materializations == 1
    assert get(g, [("load", i) for i in range(5)], scheduler="sync") == [0, 1, 2, 3, 4]
    assert load.materializations == 1


def test_default_layer_cull_follows_dependencies_within_the_layer():
    layer = MaterializedLayer({"x": 1, "y": Task("y", _inc, Ref("x")),
                               "z": Task("z", _inc, Ref("outside")), "w": 0})
    culled, external = layer.cull({"y", "z"})
    assert set(culled) == {"x", "y", "z"}
    assert external == {"outside"}
