"""Collections reach the cluster as layers: one plan and one pickled layer per
operation, expanded by the scheduler, opened by the workers; real in-process cluster."""
from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

import graphengine
import graphengine.array as ga
import graphengine.dataframe as gd
from graphengine.collections.base import collections_to_layers
from graphengine.distributed import Client, LocalCluster
from graphengine.distributed.graph_submission import update_graph_message
from graphengine.worker.layer_cache import LayerCache

pytestmark = pytest.mark.timeout(60)

XN = np.random.default_rng(1).random((60, 40))


def _x():
    return ga.from_array(XN, chunks=(10, 15))


def _layers_gone(cluster):
    gc.collect()
    return len(cluster.scheduler.layers) == 0 and all(
        len(w.layers) == 0 for w in cluster.workers.values())


def test_an_array_graph_is_sent_as_layers_not_as_one_task_per_block():
    y = ((_x() + 1) * 2 - _x()).sum(axis=0)
    tasks, layers, keys = collections_to_layers([y])
    n_blocks = sum(len(plan) for _, plan in layers)
    assert n_blocks >= 24  # the fused elementwise layer and the partial sums
    msg = update_graph_message(tasks, [k for k in keys[0]], layers, order=True)
    assert len(msg["tasks"]) < n_blocks  # only the aggregation tree goes task by task
    assert len(msg["layers"]) == len(layers)
    assert all(len(m["order"]) == len(p) for m, (_, p) in zip(msg["layers"], layers))


@pytest.mark.parametrize("expr", [
    lambda x: ((x + 1) * 2 - x).sum(),
    lambda x: (x @ x.T)[:20, :30],
    lambda x: x.rechunk((20, 40)).mean(axis=1),
    lambda x: ga.where(x > 0.5, x, -x).cumsum(axis=0),
], ids=["elementwise-sum", "matmul-slice", "rechunk-mean", "where-cumsum"])
def test_array_results_from_shipped_layers_match_local_results(client, cluster, expr,
                                                               wait_for):
    expected = expr(_x()).compute(scheduler="sync")
    np.testing.assert_allclose(client.compute(expr(_x())).result(timeout=30), expected)
    wait_for(lambda: _layers_gone(cluster), what="layers dropped everywhere")


def test_dataframe_results_from_shipped_layers_match_pandas(client, cluster, wait_for):
    pdf = pd.DataFrame({"a": np.arange(50.0), "k": np.arange(50) % 4,
                        "s": [f"v{i % 3}" for i in range(50)]})
    df = gd.from_pandas(pdf, npartitions=6)
    out = df.assign(c=df.a - df.a.mean(), u=df.s.str.upper()).groupby("k").c.sum()
    expected = pdf.assign(c=pdf.a - pdf.a.mean()).groupby("k").c.sum()
    pd.testing.assert_series_equal(client.compute(out).result(timeout=30), expected)
    wait_for(lambda: _layers_gone(cluster), what="layers dropped everywhere")


def test_dot_compute_with_a_default_client_ships_layers(cluster):
    with Client(cluster) as c:
        y = (_x() * 3).sum()
        assert y.compute() == pytest.approx((XN * 3).sum())
        assert c.scheduler_info()["workers"]


def test_persisted_layers_stay_until_released_and_each_worker_opens_one_copy(
        client, cluster, wait_for):
    y = (_x() + 5).persist()
    graphengine.distributed.wait(list(_chunk_futures(y)))
    assert len(cluster.scheduler.layers) >= 1
    opened = [len(w.layers) for w in cluster.workers.values()]
    assert all(n <= len(cluster.scheduler.layers) for n in opened) and sum(opened) >= 1
    np.testing.assert_array_equal(y.compute(), XN + 5)
    del y
    wait_for(lambda: _layers_gone(cluster), what="layers dropped after release")


def _chunk_futures(collection):
    graph = collection.__graphengine_graph__()
    return [v for layer in graph.layers.values() for v in layer.values()]


def test_a_failing_block_of_a_shipped_layer_raises_its_error_and_the_cluster_goes_on(
        client):
    def boom(b, block_info=None):
        if block_info[0]["chunk-location"] == (1, 1):
            raise ValueError("block (1, 1) is bad")
        return b

    with pytest.raises(ValueError, match=r"block \(1, 1\) is bad"):
        client.compute(_x().map_blocks(boom, dtype=float).sum()).result(timeout=30)
    assert client.compute((_x() * 0).sum()).result(timeout=30) == 0


def test_restrictions_apply_to_every_task_of_a_shipped_layer(client):
    target = sorted(client.nthreads())[0]
    y = (_x() * 2 + 1)
    blocks = client.persist(y, workers=[target])
    futures = _chunk_futures(blocks)
    graphengine.distributed.wait(futures)
    holders = client.who_has(futures)
    assert holders and all(h == [target] for h in holders.values())


def test_switching_shipping_off_sends_tasks_and_gives_the_same_result(client):
    with graphengine.config.set({"optimization.ship-layers": False}):
        tasks, layers, _ = collections_to_layers([(_x() + 1).sum()])
        assert layers == [] and tasks
        assert client.compute((_x() + 1).sum()).result(timeout=30) == pytest.approx(
            (XN + 1).sum())


def test_a_lost_block_is_recomputed_from_its_layer_on_a_worker_that_never_had_it():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        a, b = sorted(c.nthreads())
        y = c.persist(_x() * 7, workers=[a], allow_other_workers=True)
        futures = _chunk_futures(y)
        graphengine.distributed.wait(futures)
        survivor = next(w for w in cluster.workers.values() if w.address == b)
        assert len(survivor.layers) == 0  # nothing of this layer ran there
        holder = next(w for w in cluster.workers.values() if w.address == a)
        cluster._runner.run_sync(holder.close)  # abrupt: its blocks are gone
        np.testing.assert_array_equal(c.compute(y).result(timeout=30), XN * 7)
        assert len(survivor.layers) >= 1


def test_a_worker_without_the_layer_fails_the_task_with_a_clear_error():
    cache = LayerCache()
    layer = cache.resolve({"layer": 41})
    with pytest.raises(RuntimeError, match="layer 41 is not on this worker"):
        layer.task_for(("x", 0))
