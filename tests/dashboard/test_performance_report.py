"""performance_report writes a standalone HTML file that renders in a browser with no
server; Client.get_task_stream and Client.profile return the raw records."""
from __future__ import annotations

import time

import numpy as np
import pytest

import graphengine.array as ga
from graphengine.distributed import Client, LocalCluster, performance_report

from dashboard_browser import launch_browser, open_bokeh_page, source_column

pytestmark = pytest.mark.timeout(120)


def spin(i: int) -> int:
    deadline = time.perf_counter() + 0.04
    while time.perf_counter() < deadline:
        sum(range(300))
    return i


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def test_a_report_records_the_block_and_opens_with_no_server(client, tmp_path):
    before = client.submit(spin, -1)
    before.result()
    filename = tmp_path / "report.html"
    with performance_report(filename=str(filename)):
        x = ga.ones((300, 300), chunks=(100, 100))
        assert (x @ x).sum().compute() == 300.0 ** 3
        futures = client.map(spin, range(10))
        assert client.gather(futures) == list(range(10))
    text = filename.read_text()
    assert "<html" in text.lower() and "<script src=" not in text  # BokehJS is inlined
    manager, browser = launch_browser()
    try:
        page, errors = open_bokeh_page(browser, filename.as_uri())
        keys = set(source_column(page, "task-stream-source", "key"))
        assert {str(f.key) for f in futures} <= keys
        assert str(before.key) not in keys  # it ran before the block
        assert "spin" in source_column(page, "progress-source", "prefix")
        assert "spin" in source_column(page, "profile-source", "name")
        assert page.locator("canvas").count() >= 4
        assert errors.errors == []
    finally:
        browser.close()
        manager.stop()


def test_get_task_stream_has_one_compute_record_per_task(client):
    start = time.time()
    futures = client.map(spin, range(100, 106))
    client.gather(futures)
    records = client.get_task_stream(start=start)
    computes = {r["key"]: r for r in records if r["action"] == "compute"}
    assert {f.key for f in futures} <= set(computes)
    workers = set(client.scheduler_info()["workers"])
    for f in futures:
        r = computes[f.key]
        assert r["prefix"] == "spin" and r["worker"] in workers
        assert start <= r["start"] <= r["stop"] and r["stop"] - r["start"] >= 0.03
    # one thread per worker: one row each
    assert len({(computes[f.key]["worker"], computes[f.key]["thread"]) for f in futures}) <= 2
    assert len(client.get_task_stream(start=start, count=2)) == 2


def test_failed_tasks_appear_as_erred(client):
    start = time.time()
    future = client.submit(np.reshape, np.arange(3), (2, 2))
    with pytest.raises(ValueError):
        future.result()
    erred = [r for r in client.get_task_stream(start=start) if r["action"] == "erred"]
    assert [r["key"] for r in erred] == [future.key]


def test_transfers_between_workers_are_recorded(client):
    start = time.time()
    workers = sorted(client.scheduler_info()["workers"])
    a = client.submit(np.ones, 1000, workers=[workers[0]], pure=False)
    b = client.submit(np.sum, a, workers=[workers[1]])
    assert b.result() == 1000
    transfers = [r for r in client.get_task_stream(start=start) if r["action"] == "transfer"]
    assert transfers and transfers[0]["worker"] == workers[1]
    assert transfers[0]["source"] == workers[0] and transfers[0]["nbytes"] >= 8000


def test_profile_filters_by_prefix_and_worker_and_writes_html(client, tmp_path):
    start = time.time()
    client.gather(client.map(spin, range(200, 210)))
    everything = client.profile(start=start)
    only_spin = client.profile(start=start, key="spin")
    nothing = client.profile(start=start, key="no-such-prefix")
    assert everything["count"] >= only_spin["count"] > 0
    assert nothing["count"] == 0 and nothing["children"] == {}

    def names(node):
        yield node["description"]["name"]
        for child in node["children"].values():
            yield from names(child)

    assert "spin" in set(names(only_spin))
    worker = sorted(client.scheduler_info()["workers"])[0]
    assert client.profile(start=start, workers=[worker])["count"] <= everything["count"]
    out = tmp_path / "profile.html"
    client.profile(start=start, key="spin", filename=str(out))
    assert "spin" in out.read_text()


def test_a_report_without_a_client_names_the_problem(tmp_path):
    from graphengine.collections import base

    saved = list(base._default_clients)
    base._default_clients.clear()
    try:
        with pytest.raises(ValueError, match="Client"):
            with performance_report(filename=str(tmp_path / "r.html")):
                pass
    finally:
        base._default_clients.extend(saved)


def test_spills_to_disk_are_recorded(tmp_path):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      memory_limit="64MiB", memory_spill_fraction=False,
                      memory_pause_fraction=False, local_directory=str(tmp_path),
                      dashboard_address=None) as cluster, Client(cluster) as c:
        start = time.time()
        futures = [c.submit(np.full, 2**20, i, pure=False) for i in range(10)]  # 8 MiB each
        c.gather(futures[-1:])
        writes = [r for r in c.get_task_stream(start=start) if r["action"] == "disk-write"]
        assert writes, "nothing spilled past a 38 MiB target with 80 MiB of results"
        assert {r["key"] for r in writes} <= {f.key for f in futures}
        assert all(r["nbytes"] >= 2**23 and r["stop"] >= r["start"] for r in writes)
