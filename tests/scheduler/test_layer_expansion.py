"""The scheduler's side of shipped layers, without sockets: expanding plans into tasks,
sending each worker a layer once, and telling workers when they may drop it."""
from __future__ import annotations

import gc

import pytest

from graphengine.graph.layer_plan import GridPlan
from graphengine.scheduler.shipped_layers import MAX_LAYER_TASKS, LayerRun, ShippedLayers
from graphengine.scheduler.state import SchedulerState

pytestmark = pytest.mark.timeout(30)


def _layer_msg(name="y", n=4, order=None, spec=b"pickled"):
    msg = {"plan": GridPlan(name, (n,), [("x", (0,), ())]).to_msg(), "spec": spec}
    if order is not None:
        msg["order"] = order
    return msg


def test_expanding_a_plan_gives_every_task_its_dependencies_and_priority():
    layers = ShippedLayers()
    tasks, deps, order = {}, {}, {}
    layers.expand([_layer_msg(order=[3, 2, 1, 0])], tasks, deps, order)
    assert deps == {("y", i): [("x", i)] for i in range(4)}
    assert order == {("y", i): 3 - i for i in range(4)}
    runs = set(map(id, tasks.values()))
    assert len(runs) == 1 and type(next(iter(tasks.values()))) is LayerRun


@pytest.mark.parametrize("msg, culprit", [
    (_layer_msg(order=[1, 2]), "2 priorities for 4 tasks"),
    ({"plan": GridPlan("y", (2,), []).to_msg()}, "without its spec"),
    ({"spec": b""}, "malformed grid plan"),
    (_layer_msg(n=MAX_LAYER_TASKS + 1), "more than"),
])
def test_a_bad_layer_message_is_refused_naming_the_layer(msg, culprit):
    tasks: dict = {}
    with pytest.raises(ValueError, match=culprit):
        ShippedLayers().expand([msg], tasks, {}, {})


def test_each_worker_is_sent_a_layer_once_and_again_after_it_re_registers():
    layers = ShippedLayers()
    tasks: dict = {}
    layers.expand([_layer_msg()], tasks, {}, {})
    run = tasks[("y", 0)]

    def sent(address, key):
        msg = layers.compute_message(address, {"op": "compute-task", "key": key,
                                               "run_spec": tasks[key]})
        assert msg["run_spec"] == {"layer": run.id}
        return "layer_spec" in msg

    assert [sent("a", ("y", 0)), sent("a", ("y", 1)), sent("b", ("y", 2))] == [True, False, True]
    layers.worker_removed("a")
    assert sent("a", ("y", 3)) is True


def test_workers_are_told_to_drop_a_layer_once_no_task_uses_it():
    layers = ShippedLayers()
    tasks: dict = {}
    layers.expand([_layer_msg()], tasks, {}, {})
    layers.compute_message("a", {"run_spec": tasks[("y", 0)]})
    layers.compute_message("b", {"run_spec": tasks[("y", 1)]})
    assert layers.take_freed() == {}
    tasks.clear()
    gc.collect()
    freed = layers.take_freed()
    assert freed == {"a": [0], "b": [0]} and len(layers) == 0
    assert layers.take_freed() == {}


def test_a_layer_no_worker_got_sends_no_free_message():
    layers = ShippedLayers()
    tasks: dict = {}
    layers.expand([_layer_msg()], tasks, {}, {})
    tasks.clear()
    gc.collect()
    assert layers.take_freed() == {}


def test_the_state_machine_runs_layer_tasks_like_any_other():
    layers = ShippedLayers()
    state = SchedulerState()
    state.add_client("c")
    state.add_worker("w", 2, now=0.0)
    tasks = {("x", i): f"spec-x{i}" for i in range(4)}
    deps: dict = {k: [] for k in tasks}
    order: dict = {}
    layers.expand([_layer_msg()], tasks, deps, order)
    out = state.update_graph("c", tasks, deps, [("y", i) for i in range(4)], order)
    pending = [m for m in out.workers.get("w", []) if m["op"] == "compute-task"]
    ran = []
    while pending:  # play the worker: finish whatever was sent, in order
        msg = pending.pop(0)
        ran.append(msg)
        out = state.task_finished(msg["key"], "w", nbytes=8, duration=0.01)
        pending += [m for m in out.workers.get("w", []) if m["op"] == "compute-task"]
    assert {m["key"] for m in ran} == set(tasks)
    assert all(type(m["run_spec"]) is LayerRun for m in ran if m["key"][0] == "y")
    assert all(state.tasks[("y", i)].state == "memory" for i in range(4))
    state.validate()
