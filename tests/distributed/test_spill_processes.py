"""Real worker processes with low memory limits: more data than memory completes, and a
task that blows past the limit gets its worker restarted by the nanny."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

import graphengine.array as ga
from graphengine.distributed import Client, LocalCluster
from graphengine.worker.memory import PeakRSS
from graphengine.worker.server import get_worker

MiB = 2**20



@pytest.fixture(autouse=True)
def importable_here(monkeypatch):
    """Worker processes unpickle this module's functions by importing it."""
    here = os.path.dirname(os.path.abspath(__file__))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH")) if p))


def _spill_totals():
    data = get_worker().data
    return {"spilled_bytes": data.spilled_bytes, "slow": data.slow_nbytes,
            "fast": data.fast_nbytes}


@pytest.mark.timeout(180)
def test_an_array_three_times_the_cluster_memory_persists_and_sums_exactly(tmp_path):
    limit = 256 * MiB
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit=limit, local_directory=str(tmp_path)) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        n = 3 * 2 * limit // 8  # int64: 1.5 GiB against 512 MiB of limits
        x = ga.arange(n, dtype=np.int64, chunks=MiB // 2)  # 4 MiB chunks
        with PeakRSS(pids.values()) as rss:
            x = x.persist()
            total = int(x.sum().compute())
        assert total == n * (n - 1) // 2
        assert client.run(os.getpid) == pids  # no worker was restarted
        spilled = client.run(_spill_totals)
        assert sum(s["slow"] for s in spilled.values()) >= 2 * 2 * limit * 0.9
        for pid, peak in rss.peak.items():
            assert peak <= limit, f"worker {pid} peaked at {peak / MiB:.0f} MiB"
        del x
        # Freed results take their files with them.
        deadline = time.monotonic() + 30
        while any(s["slow"] for s in client.run(_spill_totals).values()):
            assert time.monotonic() < deadline, "spill files were not freed"
            time.sleep(0.05)
        spill_dirs = list(tmp_path.glob("graphengine-worker-space/*/spill"))
        assert len(spill_dirs) == 2 and not any(f for d in spill_dirs for f in d.iterdir())
    assert list(tmp_path.glob("graphengine-worker-space/*")) == []


def _hog_once(marker, nbytes):
    """Allocate past the limit on the first run (the nanny kills the worker), return
    normally on the next."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        hog = np.ones(nbytes // 8)
        time.sleep(60)
        return float(hog.sum())
    return 42.0


@pytest.mark.timeout(120)
def test_a_task_past_terminate_gets_its_worker_restarted_and_still_finishes(tmp_path):
    limit = 300 * MiB
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      memory_limit=limit) as cluster, Client(cluster) as client:
        before = client.run(os.getpid)
        marker = str(tmp_path / "allocated")
        start = time.monotonic()
        assert client.submit(_hog_once, marker, 2 * limit).result(timeout=60) == 42.0
        assert time.monotonic() - start < 50  # it did not sit out the first run's sleep
        after = client.run(os.getpid)
        assert set(after.values()).isdisjoint(before.values())  # a fresh worker process
