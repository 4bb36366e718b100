"""Worker memory in an in-process cluster: spilled results are served, freed files go,
paused workers get no work, the scheduler sees the three memory figures.

In-process workers share the test process, so its RSS means nothing to them: these
tests turn the RSS thresholds (spill, pause) off or point them at that process on
purpose, and drive spilling by the managed-memory target.
"""
from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from graphengine.distributed import Client, LocalCluster
from graphengine.scheduler.server import Scheduler
from graphengine.worker.memory import MemoryThresholds
from graphengine.worker.server import Worker, get_worker

MB = 2**20


def _make(i):
    return np.full(MB // 8, i, dtype=np.int64)  # 1 MiB


def _noise(i):
    return np.random.default_rng(i).random(MB // 8)  # 1 MiB that does not compress


def _float_total(*arrays):
    return float(sum(float(a.sum()) for a in arrays))


def _total(*arrays):
    return int(sum(int(a.sum()) for a in arrays))


def _store_state():
    data = get_worker().data
    files = [f for f in os.listdir(data.directory) if f.endswith(".spill")]
    return {"fast": len(data.fast), "slow": len(data.slow), "files": len(files),
            "directory": get_worker().workspace.path}


@pytest.fixture
def spilling_cluster(tmp_path):
    # 4 MiB limit, target 0.5: each worker keeps 2 MiB of results in memory.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      memory_limit=4 * MB, memory_target_fraction=0.5,
                      memory_spill_fraction=False, memory_pause_fraction=False,
                      local_directory=str(tmp_path), heartbeat_timeout=1.2,
                      validate=True) as cluster:
        yield cluster


def test_spilled_results_are_gathered_fetched_by_peers_and_their_files_freed(
        spilling_cluster, wait_for):
    with Client(spilling_cluster) as client:
        a, b = sorted(client.nthreads())
        xs = client.map(_make, range(12), workers=[a])
        client.gather(xs)
        wait_for(lambda: client.run(_store_state)[a]["slow"] >= 10, what="spilling")
        state = client.run(_store_state)[a]
        assert state["fast"] <= 2 and state["files"] == state["slow"]
        # Gathered straight from the worker, spilled ones from disk.
        assert [int(x[0]) for x in client.gather(xs)] == list(range(12))
        # A task on the other worker fetches every input, spilled ones included.
        total = client.submit(_total, *xs, workers=[b]).result()
        assert total == sum(i * (MB // 8) for i in range(12))
        directory = state["directory"]
        del xs
        wait_for(lambda: client.run(_store_state)[a]["files"] == 0, what="files to go")
        info = client.scheduler_info()["workers"][a]
        assert set(info["memory"]) == {"managed", "spilled", "unmanaged"}
    spilling_cluster.close()
    assert not os.path.exists(directory)  # the worker's directory went with it


def test_the_scheduler_sees_managed_and_spilled_bytes(spilling_cluster, wait_for):
    with Client(spilling_cluster) as client:
        a = sorted(client.nthreads())[0]
        xs = client.map(_make, range(8), workers=[a])
        client.gather(xs)

        def figures():
            return client.scheduler_info()["workers"][a]["memory"]

        wait_for(lambda: figures()["spilled"] >= 6 * MB, what="the heartbeat to tell")
        m = figures()
        assert m["managed"] <= 2 * MB + 1000
        assert m["managed"] + m["spilled"] == pytest.approx(8 * MB, rel=0.01)
        assert m["unmanaged"] > 0


def _where(_):
    return get_worker().address


def test_a_paused_worker_gets_no_tasks_until_it_resumes():
    async def main():
        async with Scheduler(heartbeat_timeout=1.2) as s:
            # The test process holds far more than 1 MiB: past pause at once.
            full = Worker(s.address, nthreads=1, memory_limit=MB, name="full",
                          memory_spill_fraction=False, memory_pause_fraction=0.5)
            roomy = Worker(s.address, nthreads=1, name="roomy")
            async with full, roomy:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while s.state.workers[full.address].status != "paused":
                    assert loop.time() < deadline, "the worker never paused"
                    await asyncio.sleep(0.01)
                async with Client(s.address, asynchronous=True, set_as_default=False) as c:
                    where = await c.gather(c.map(_where, range(20)))
                    assert set(where) == {roomy.address}
                    # Room again: the worker resumes and takes work.
                    full.memory = MemoryThresholds(2**50, spill=False, pause=0.5)
                    while s.state.workers[full.address].status != "running":
                        assert loop.time() < deadline + 10, "the worker never resumed"
                        await asyncio.sleep(0.01)
                    where = await c.gather(c.map(_where, range(100, 140)))
                    assert full.address in set(where)

    asyncio.run(main())


def test_placement_passes_over_a_worker_whose_memory_is_full():
    async def main():
        async with Scheduler(heartbeat_timeout=1.2) as s:
            # Past its spill threshold at once, but never paused.
            full = Worker(s.address, nthreads=1, memory_limit=MB, name="full",
                          memory_spill_fraction=0.5, memory_pause_fraction=False)
            roomy = Worker(s.address, nthreads=1, name="roomy")
            async with full, roomy:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while s.state.workers[full.address] not in s.state.memory_full:
                    assert loop.time() < deadline, "the scheduler never heard"
                    await asyncio.sleep(0.01)
                async with Client(s.address, asynchronous=True, set_as_default=False) as c:
                    # Inputs on both workers: the dependents could go either way.
                    xs = [c.submit(_make, i, workers=[w.address], key=f"x-{i}")
                          for i, w in enumerate([full, roomy] * 3)]
                    await c.gather(xs)
                    ys = [c.submit(_where, x, key=f"y-{i}") for i, x in enumerate(xs)]
                    assert set(await c.gather(ys)) == {roomy.address}

    asyncio.run(main())


def test_bad_memory_settings_are_named():
    with pytest.raises(ValueError, match="memory_limit"):
        LocalCluster(n_workers=1, processes=False, memory_limit="plenty")
    with pytest.raises(ValueError, match="target fraction"):
        LocalCluster(n_workers=1, processes=False, memory_target_fraction=2)


def test_wait_takes_a_persisted_collection(spilling_cluster):
    import graphengine.array as ga
    from graphengine.distributed import futures_of, wait

    with Client(spilling_cluster):  # the default client that persist() uses
        x = ga.ones((100,), chunks=10).persist()
        done, not_done = wait(x, timeout=30)
        assert len(done) == 10 and not not_done
        assert set(done) == set(futures_of(x))
        with pytest.raises(ValueError, match="persist"):
            wait(ga.ones(3, chunks=1))
        with pytest.raises(TypeError, match="int"):
            futures_of(3)


def test_a_worker_whose_spill_disk_is_full_keeps_results_and_keeps_working(tiny_tmpfs):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      memory_limit=4 * MB, memory_target_fraction=0.25,
                      memory_spill_fraction=False, memory_pause_fraction=False,
                      local_directory=tiny_tmpfs, heartbeat_timeout=1.2) as cluster, \
            Client(cluster) as client:
        # 6 MiB of incompressible data against a 1 MiB disk.
        xs = client.map(_noise, range(6))
        assert [x.shape for x in client.gather(xs)] == [(MB // 8,)] * 6
        expected = sum(float(_noise(i).sum()) for i in range(6))
        assert client.submit(_float_total, *xs).result() == pytest.approx(expected)

        def failing():
            return get_worker().data.spill_failing

        assert all(client.run(failing).values())
