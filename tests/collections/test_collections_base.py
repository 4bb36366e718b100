"""Specification of the collection protocol: compute, persist, visualize, schedulers."""
from __future__ import annotations

import operator
import os
import shutil
import threading
import traceback

import pytest

import graphengine
from graphengine import compute, config, delayed, persist, visualize
from graphengine.collections import base
from graphengine.collections.base import is_collection
from graphengine.graph.spec import Ref, Task
from graphengine.local import get as local_get

pytestmark = pytest.mark.timeout(60)

SCHEDULERS = ["sync", "threads", "processes"]


class Counter:
    """A thread-safe count of calls, by argument."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list = []

    def record(self, x):
        with self.lock:
            self.calls.append(x)
        return x


COUNTER = Counter()


def counted(x):
    return COUNTER.record(x)


@pytest.fixture
def counter():
    COUNTER.calls.clear()
    return COUNTER


def failing_task(x):
    raise ZeroDivisionError(f"cannot divide {x}")


def inc(x):
    return x + 1


def dec(x):
    return x - 1


class ToySum:
    """A collection written directly against the protocol: the sum of ``n`` parts.

    Part ``i`` is ``inc(i)``; the value is the sum of the parts.
    """

    def __init__(self, name: str, graph: dict, n: int):
        self.name, self.graph, self.n = name, graph, n

    @classmethod
    def build(cls, name: str, n: int) -> "ToySum":
        graph = {}
        for i in range(n):
            graph[(f"{name}-in", i)] = i
            graph[(name, i)] = Task((name, i), inc, Ref((f"{name}-in", i)))
        return cls(name, graph, n)

    def __graphengine_graph__(self):
        return self.graph

    def __graphengine_keys__(self):
        return [(self.name, i) for i in range(self.n)]

    def __graphengine_postcompute__(self):
        return sum, ()

    def __graphengine_postpersist__(self):
        return ToySum._rebuild, (self.name, self.n)

    @staticmethod
    def _rebuild(results, name, n):
        # results: {key: value} for this collection's keys.
        return ToySum(name, dict(results), n)


class ToyWithOptimizer(ToySum):
    """A ToySum whose optimizer rewrites every ``inc`` part into ``dec``."""

    @staticmethod
    def __graphengine_optimize__(graph, keys):
        return {k: (Task(k, dec, *v.args) if type(v) is Task and v.func is inc else v)
                for k, v in graph.items()}


class SyncPreferring(ToySum):
    """A ToySum that asks for the synchronous scheduler by default."""

    __graphengine_scheduler__ = "sync"


def thread_id(_=None):
    return threading.get_ident()


# --- the protocol ---------------------------------------------------------------------------

def test_is_collection_holds_for_instances_only():
    assert is_collection(delayed(1))
    assert is_collection(ToySum.build("t", 2))
    assert not is_collection(ToySum)
    assert not is_collection([delayed(1)])
    assert not is_collection(5)


def test_toy_collection_computes_through_postcompute():
    toy = ToySum.build("toy", 4)
    assert compute(toy, scheduler="sync") == (1 + 2 + 3 + 4,)


def test_toy_collection_persists_to_its_results():
    toy = ToySum.build("toyp", 3)
    (kept,) = persist(toy, scheduler="sync")
    assert isinstance(kept, ToySum)
    assert kept.graph == {("toyp", 0): 1, ("toyp", 1): 2, ("toyp", 2): 3}
    assert compute(kept, scheduler="sync") == (6,)


def test_toy_collection_arrives_computed_inside_a_delayed_call():
    toy = ToySum.build("toyd", 3)
    assert delayed(lambda v: v * 10)(toy).compute(scheduler="sync") == 60
    assert delayed([toy, 1]).compute(scheduler="sync") == [6, 1]
    assert delayed(toy).compute(scheduler="sync") == 6


def test_collection_optimizer_runs_unless_optimization_is_off():
    toy = ToyWithOptimizer.build("opt", 3)
    assert compute(toy, scheduler="sync") == (-1 + 0 + 1,)
    assert compute(toy, scheduler="sync", optimize_graph=False) == (1 + 2 + 3,)


def test_collection_preferred_scheduler_is_used_by_default():
    toy = SyncPreferring("pref", {("pref", 0): Task(("pref", 0), thread_id)}, 1)
    assert compute(toy) == (threading.get_ident(),)


# --- compute --------------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_computing_together_runs_shared_work_once(counter, scheduler):
    shared = delayed(counted)(5)
    a, b = shared + 1, shared * 2
    assert compute(a, b, scheduler=scheduler) == (6, 10)
    assert counter.calls == [5]


def test_compute_merges_graphs_of_different_collection_types(counter):
    shared = delayed(counted)(2)
    toy = ToySum.build("mixed", 2)
    total = delayed(operator.add)(shared, toy)
    assert compute(total, shared, toy, scheduler="threads") == (5, 2, 3)
    assert counter.calls == [2]


def test_compute_passes_one_merged_graph_to_the_get_function():
    seen = []

    def recording_get(graph, keys, **kwargs):
        seen.append((set(graph), keys))
        return local_get(graph, keys, scheduler="sync", **kwargs)

    x, y = delayed(inc)(1), delayed(dec)(1)
    assert compute(x, y, get=recording_get) == (2, 0)
    (graph_keys, keys), = seen
    assert {x.key, y.key} <= graph_keys
    assert keys == [[x.key], [y.key]]


def test_compute_traverses_lists_tuples_and_dicts():
    x = delayed(inc)(1)
    result = compute([x, 10, (x,)], {"a": x, "b": [x]}, 7, scheduler="sync")
    assert result == ([2, 10, (2,)], {"a": 2, "b": [2]}, 7)


def test_compute_without_traverse_leaves_containers_alone():
    x = delayed(inc)(1)
    (out,) = compute([x], traverse=False, scheduler="sync")
    assert out == [x] and out[0] is x


def test_compute_of_plain_values_returns_them():
    assert compute(1, "a", [2]) == (1, "a", [2])


def test_unknown_scheduler_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="bogus"):
        delayed(inc)(1).compute(scheduler="bogus")


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_local_scheduler_computes_the_same_results(scheduler):
    parts = [delayed(operator.mul)(i, i) for i in range(6)]
    total = delayed(sum)(parts)
    pair = delayed(divmod, nout=2)(total, 7)
    assert compute(total, list(pair), scheduler=scheduler) == (55, [7, 6])
    assert delayed(lambda s: s.upper())(delayed("ab")).compute(scheduler=scheduler) == "AB"


def test_processes_scheduler_runs_tasks_in_other_processes():
    assert delayed(os.getpid)().compute(scheduler="processes") != os.getpid()
    assert delayed(os.getpid)().compute(scheduler="threads") == os.getpid()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_persist_works_on_every_local_scheduler(scheduler):
    x = delayed(operator.add)(2, 3)
    (kept,) = persist(x, scheduler=scheduler)
    assert kept.__graphengine_graph__().to_dict() == {x.key: 5}
    assert (kept * 2).compute(scheduler="sync") == 10


def test_config_scheduler_is_honoured():
    main = threading.get_ident()
    probe = delayed(thread_id)()
    with config.set(scheduler="sync"):
        assert probe.compute() == main
    with config.set(scheduler="threads"):
        assert probe.compute() != main


def test_scheduler_keyword_overrides_config():
    main = threading.get_ident()
    with config.set(scheduler="threads"):
        assert delayed(thread_id)().compute(scheduler="sync") == main


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_task_error_keeps_its_type_and_the_failing_frame(scheduler):
    with pytest.raises(ZeroDivisionError, match="cannot divide 3") as info:
        delayed(failing_task)(3).compute(scheduler=scheduler)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "failing_task" in frames


def test_task_error_in_a_process_keeps_its_type_and_remote_traceback():
    with pytest.raises(ZeroDivisionError, match="cannot divide 4") as info:
        delayed(failing_task)(4).compute(scheduler="processes")
    assert "failing_task" in str(info.value.__cause__)


def test_error_in_a_dependency_stops_the_dependents(counter):
    bad = delayed(failing_task)(1)
    after = delayed(counted)(bad)
    with pytest.raises(ZeroDivisionError):
        after.compute(scheduler="threads")
    assert counter.calls == []


# --- persist --------------------------------------------------------------------------------

def test_persist_holds_values_and_does_not_rerun(counter):
    x = delayed(counted)(4)
    kept = x.persist(scheduler="threads")
    assert counter.calls == [4]
    assert kept.key == x.key
    graph = kept.__graphengine_graph__()
    assert dict(graph) == {x.key: 4}
    assert (kept + 1).compute(scheduler="threads") == 5
    assert kept.compute(scheduler="sync") == 4
    assert counter.calls == [4]


def test_persist_of_several_shares_work_and_traverses(counter):
    shared = delayed(counted)(3)
    a, b = shared + 1, shared + 2
    out = persist({"a": a}, [b], 9, scheduler="sync")
    assert counter.calls == [3]
    assert isinstance(out[0]["a"], graphengine.Delayed)
    assert compute(out[0]["a"], out[1][0], scheduler="sync") == (4, 5)
    assert out[2] == 9
    assert counter.calls == [3]


def test_persisted_iterable_keeps_its_length():
    d = delayed(divmod, nout=2)(9, 4)
    kept = d.persist(scheduler="sync")
    q, r = kept
    assert compute(q, r, scheduler="sync") == (2, 1)


# --- visualize ------------------------------------------------------------------------------

def test_visualize_dot_text_contains_the_nodes():
    x = delayed(inc, name="inc-fn")(1, graphengine_key_name="first")
    y = delayed(dec)(x, graphengine_key_name="second")
    text = visualize(y, filename=None, format="dot").decode()
    assert text.startswith("digraph")
    for label in ("first", "second", "inc", "dec"):
        assert f'label="{label}"' in text
    assert text.count("->") >= 3


def test_visualize_method_writes_dot_file(tmp_path):
    y = delayed(dec)(delayed(inc)(1), graphengine_key_name="out-node")
    target = tmp_path / "graph"
    data = y.visualize(filename=str(target), format="dot")
    written = (tmp_path / "graph.dot").read_bytes()
    assert written == data and b"out-node" in written


def test_visualize_rejects_unknown_format():
    with pytest.raises(ValueError, match="jpeg2000"):
        visualize(delayed(1), filename=None, format="jpeg2000")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' not installed")
def test_visualize_writes_svg_with_graphviz(tmp_path):
    y = delayed(inc)(1, graphengine_key_name="svgnode")
    target = tmp_path / "g.svg"
    data = y.visualize(filename=str(target))
    assert target.read_bytes() == data
    assert b"<svg" in data and b"svgnode" in data


def test_visualize_svg_without_graphviz_raises_runtime_error(tmp_path, monkeypatch):
    monkeypatch.setattr(base.shutil, "which", lambda name: None)
    target = tmp_path / "g.svg"
    with pytest.raises(RuntimeError, match="graphviz"):
        delayed(inc)(1).visualize(filename=str(target))
    assert not target.exists()


# --- top-level exports ----------------------------------------------------------------------

def test_package_exports_the_collection_api():
    for name in ("delayed", "Delayed", "compute", "persist", "visualize"):
        assert name in graphengine.__all__
        assert getattr(graphengine, name) is not None
    assert graphengine.compute is base.compute
