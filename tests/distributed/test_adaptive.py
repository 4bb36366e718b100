"""Adaptive scaling: the pure policy fed numbers, then LocalCluster.adapt() on a real
backlog (SLURMCluster.adapt is tested in tests/hpc)."""
from __future__ import annotations

import time

import pytest

from graphengine.distributed import Client, LocalCluster
from graphengine.distributed.deploy.adaptive import AdaptiveCore, backlog_seconds
from graphengine.scheduler.state import SchedulerState


def test_backlog_asks_for_workers_up_to_maximum_at_once():
    core = AdaptiveCore(minimum=1, maximum=5, target_duration=2.0)
    assert core.recommend(backlog=6.0, threads_per_worker=1, current=1, idle=[]).target == 3
    assert core.recommend(backlog=6.0, threads_per_worker=3, current=1, idle=[]).target == 1
    assert core.recommend(backlog=100.0, threads_per_worker=1, current=1, idle=[]).target == 5


def test_no_backlog_holds_minimum_and_any_backlog_gets_one_worker():
    core = AdaptiveCore(minimum=0, maximum=4, target_duration=10.0)
    assert core.recommend(0.0, 1, current=0, idle=[]).target == 0
    assert core.recommend(0.01, 1, current=0, idle=[]).target == 1
    assert AdaptiveCore(minimum=2).recommend(0.0, 1, current=0, idle=[]).target == 2


def test_shrinking_waits_for_agreement_and_retires_only_idle_workers():
    core = AdaptiveCore(minimum=1, maximum=4, target_duration=1.0, wait_count=2)
    first = core.recommend(0.0, 1, current=3, idle=["tcp://c:1"])
    assert (first.target, first.retire) == (3, [])
    second = core.recommend(0.0, 1, current=3, idle=["tcp://c:1"])
    assert (second.target, second.retire) == (1, ["tcp://c:1"])  # b is busy: it stays


def test_a_backlog_between_lulls_resets_the_wait():
    core = AdaptiveCore(maximum=4, target_duration=1.0, wait_count=2)
    core.recommend(0.0, 1, current=2, idle=["a", "b"])
    core.recommend(5.0, 1, current=2, idle=[])
    assert core.recommend(0.0, 1, current=2, idle=["a", "b"]).retire == []


@pytest.mark.parametrize("kwargs, culprit", [({"minimum": -1}, "minimum"),
                                             ({"minimum": 3, "maximum": 2}, "maximum"),
                                             ({"target_duration": 0}, "target_duration"),
                                             ({"wait_count": 0}, "wait_count")])
def test_bad_bounds_are_refused_naming_them(kwargs, culprit):
    with pytest.raises(ValueError, match=culprit):
        AdaptiveCore(**kwargs)


def test_backlog_counts_work_waiting_for_any_worker_at_the_prefix_estimate():
    state = SchedulerState()
    state.durations["slow"] = 2.0
    state.add_client("c")
    state.update_graph("c", {("slow", i): (time.sleep, 0) for i in range(3)},
                       {("slow", i): set() for i in range(3)}, [("slow", i) for i in range(3)])
    assert backlog_seconds(state) == pytest.approx(6.0)


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_local_cluster_adapts_up_on_backlog_and_retires_idle_workers_keeping_results():
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster) as client:
        cluster.adapt(minimum=0, maximum=3, target_duration=0.2, wait_count=2,
                      interval=0.05)
        futures = client.map(lambda x: time.sleep(0.2) or x * 2, range(9))
        _wait(lambda: len(cluster.workers) == 3, 10, "adapt to start three workers")
        assert client.gather(futures) == [x * 2 for x in range(9)]
        # Idle now, but the results are still wanted: retirement moves them first.
        _wait(lambda: len(cluster.workers) == 1, 10, "adapt to retire idle workers")
        assert client.gather(futures) == [x * 2 for x in range(9)]
        del futures
        _wait(lambda: len(cluster.workers) == 0, 10, "adapt to retire the last worker")
        cluster.scale(1)  # scale() takes over from adapt()
        assert len(cluster.workers) == 1 and cluster._adaptive is None


def test_the_last_worker_stays_while_it_holds_wanted_results():
    core = AdaptiveCore(minimum=0, maximum=4, wait_count=1)
    decision = core.recommend(0.0, 1, current=2, idle=["a", "b"], keep=1)
    assert (decision.target, decision.retire) == (1, ["a"])
