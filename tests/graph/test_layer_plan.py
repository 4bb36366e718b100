"""Grid plans: the dependencies a scheduler expands from plain data must be exactly what
the layer's tasks read, for every kind of blockwise and partitionwise layer we build."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine.array as ga
import graphengine.dataframe as gd
from graphengine.collections.array.layer import Blockwise, PerBlock
from graphengine.collections.base import collections_to_layers
from graphengine.comm.message import dumps, loads
from graphengine.graph.layer_plan import GridPlan, shipping_plan
from graphengine.graph.layers import HighLevelGraph, Layer, MaterializedLayer
from graphengine.graph.spec import Ref, Task

pytestmark = pytest.mark.timeout(60)


def _x(shape=(6, 4), chunks=(2, 3)):
    return ga.from_array(np.arange(np.prod(shape), dtype=float).reshape(shape), chunks=chunks)


EXPRESSIONS = {
    "elementwise": lambda: (_x() + 1) * 2,
    "broadcast row": lambda: _x() + ga.from_array(np.arange(4.0), chunks=3),
    "transpose": lambda: _x((4, 4), (2, 3)) - _x((4, 4), (2, 3)).T,
    "matmul": lambda: _x() @ _x().T,
    "tensordot": lambda: ga.tensordot(_x(), _x(), axes=([0], [0])),
    "einsum diagonal": lambda: ga.einsum("ii->i", _x((4, 4), (2, 2))),
    "outer": lambda: ga.outer(_x((4,), (3,)), _x((5,), (2,))),
    "map_blocks new axis": lambda: _x().map_blocks(lambda b: b[..., None], new_axis=2,
                                                    chunks=(2, 3, 1)),
    "random": lambda: ga.random.default_rng(3).random((5, 4), chunks=(2, 3)) + 1,
    "reduction partials": lambda: _x().sum(axis=0, split_every=2),
}


def _blockwise_layers(collection):
    graph = collection.__graphengine_graph__()
    return [lay for lay in graph.layers.values() if type(lay) is Blockwise]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_a_blockwise_plan_reads_exactly_what_its_tasks_read(name):
    layers = _blockwise_layers(EXPRESSIONS[name]())
    assert layers, f"{name}: no blockwise layer to check"
    for layer in layers:
        plan = layer.grid_plan()
        keys = list(plan.keys())
        assert set(keys) == set(layer.output_keys())
        expanded = dict(plan.expand())
        for key in keys:
            task = layer.task_for(key)
            assert set(plan.dependencies(key[1:])) == task.dependencies, (name, key)
            assert set(expanded[key]) == task.dependencies, (name, key)
        assert shipping_plan(layer) is not None


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_culling_a_whole_layer_keeps_it_lazy_and_names_every_key_it_reads(name):
    for layer in _blockwise_layers(EXPRESSIONS[name]()):
        whole, external = layer.cull(set(layer.output_keys()))
        assert type(whole) is Blockwise and whole is not layer
        assert whole._shipping_plan is not None
        read = set().union(*(t.dependencies for t in layer._materialize().values()))
        assert external == read


def test_a_partial_cull_still_materializes_only_the_blocks_asked_for():
    layer = _blockwise_layers((_x() + 1))[-1]
    key = next(iter(layer.output_keys()))
    culled, external = layer.cull({key})
    assert type(culled) is MaterializedLayer and list(culled) == [key]
    assert external == layer.task_for(key).dependencies


def test_computing_locally_leaves_no_materialized_tasks_on_the_collection():
    y = (_x() + 1) * 2
    np.testing.assert_array_equal(y.compute(scheduler="sync"),
                                  (np.arange(24.0).reshape(6, 4) + 1) * 2)
    for layer in y.__graphengine_graph__().layers.values():
        if type(layer) is Blockwise:
            assert layer._cache is None


def test_partitionwise_layers_plan_partitions_and_scalar_constants():
    pdf = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10) % 3})
    df = gd.from_pandas(pdf, npartitions=3)
    y = df.a - df.a.mean()  # every partition also reads one scalar
    tasks, layers, _ = collections_to_layers([y])
    assert layers
    for layer, plan in layers:
        for key in plan.keys():
            assert set(plan.dependencies(key[1:])) == layer.task_for(key).dependencies
    assert any(plan.constants for _, plan in layers)
    # The scalar is computed by materialized tasks, kept under their names for the layer.
    constants = {k for _, plan in layers for k in plan.constants}
    assert constants <= set(tasks)


class _IrregularLayer(Layer):
    """A grid layer whose tasks read a different extra key per block."""

    def __init__(self):
        self._tasks = {("z", i): Task(("z", i), sum, [Ref(("x", i)), Ref(f"extra-{i}")])
                       for i in range(3)}

    def _materialize(self):
        return dict(self._tasks)

    def grid_plan(self):
        return GridPlan("z", (3,), [("x", (0,), ())])


def test_a_layer_whose_tasks_read_more_than_its_plan_is_not_shipped():
    assert shipping_plan(_IrregularLayer()) is None


def test_a_layer_whose_plan_claims_keys_its_tasks_do_not_read_is_not_shipped():
    layer = Blockwise("w", ("i",), abs, [("x", ("i",))], {"x": (3,)})
    layer._grid = GridPlan("w", (3,), [("x", (0,), ()), ("other", (0,), ())])
    layer._arg_plans = ((2,),)
    assert shipping_plan(layer) is None


def test_plans_survive_the_wire_codec_with_tuples_intact():
    plan = GridPlan("y", (2, 3), [("x", (1, 0), ()), ("b", (0, -2), (2,))], [("s", 0)])
    back = GridPlan.from_msg(loads(dumps(plan.to_msg())))
    assert list(back.expand()) == list(plan.expand())
    assert back.constants == (("s", 0),)


@pytest.mark.parametrize("msg, culprit", [
    ({"numblocks": (2,), "inputs": ()}, "name"),
    ({"name": "y", "numblocks": (2,), "inputs": [("x", (3,), ())]}, "axis code 3"),
    ({"name": "y", "numblocks": 5, "inputs": ()}, "'y'"),
])
def test_a_malformed_plan_is_refused_naming_what_is_wrong(msg, culprit):
    with pytest.raises(ValueError, match=culprit):
        GridPlan.from_msg(msg)


def test_per_block_arguments_are_not_dependencies():
    layer = Blockwise("r", ("i",), lambda x, seed: x + seed,
                      [("x", ("i",)), (PerBlock(lambda idx: idx[0] * 10), ("i",))],
                      {"x": (3,)})
    plan = shipping_plan(layer)
    assert plan is not None and not plan.constants
    assert layer.task_for(("r", 2)).args[1] == 20


def test_collections_to_layers_keeps_keys_layers_read_out_of_fusion():
    pdf = pd.DataFrame({"a": np.arange(12.0)})
    df = gd.from_pandas(pdf, npartitions=4)
    y = (df.a + 1).cumsum() * 2  # a scan (materialized) read by a partitionwise layer
    tasks, layers, keys = collections_to_layers([y])
    for layer, plan in layers:
        for key in plan.keys():
            for dep in plan.dependencies(key[1:]):
                producer_in_layers = any(dep in lay.output_keys() for lay, _ in layers)
                assert dep in tasks or producer_in_layers, dep
    graph = HighLevelGraph.merge(y.__graphengine_graph__())
    assert len(tasks) + sum(len(p) for _, p in layers) <= len(graph)
