"""Every dashboard page, loaded in headless Chromium from a real cluster's scheduler.

One page load per page (loading is what costs time on two cores); each test checks what
its page must show, that the browser reported no JavaScript error, and that no update
callback failed on the server.
"""
from __future__ import annotations

import logging
import time
import urllib.request

import numpy as np
import pytest

import graphengine.array as ga
from graphengine.distributed import Client, LocalCluster

from dashboard_browser import launch_browser, open_bokeh_page, source_column, wait_for_values

pytestmark = pytest.mark.timeout(120)


def busy(i: int) -> int:
    """About 50 ms of pure-Python work: something for the profiler to sample."""
    deadline = time.perf_counter() + 0.05
    total = 0
    while time.perf_counter() < deadline:
        total += sum(range(200))
    return i


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def server_errors():
    """Errors the dashboard logged on the scheduler side (a failing update callback)."""
    handler = _Errors()
    log = logging.getLogger("graphengine.dashboard")
    log.addHandler(handler)
    yield handler.records
    log.removeHandler(handler)


@pytest.fixture(scope="module")
def cluster(server_errors):
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def ran(client):
    """Run an array reduction and some profiled tasks; the keys of the busy tasks."""
    x = ga.random.random((400, 400), chunks=(100, 100))
    assert np.isclose((x + 1).sum().compute(), (x.compute() + 1).sum())
    futures = client.map(busy, range(12))
    assert client.gather(futures) == list(range(12))
    return [str(f.key) for f in futures]


@pytest.fixture(scope="module")
def browser():
    manager, browser = launch_browser()
    yield browser
    browser.close()
    manager.stop()


@pytest.fixture
def load(cluster, browser, server_errors):
    """Open a page of the cluster's dashboard; checks the error logs on the way out."""
    opened = []

    def load(path: str):
        page, errors = open_bokeh_page(browser, cluster.dashboard_link.rsplit("/", 1)[0] + path)
        opened.append((page, errors))
        return page

    yield load
    for page, errors in opened:
        try:
            assert errors.errors == [], errors.errors
        finally:
            page.close()
    assert server_errors == []


def test_the_root_url_lists_every_page(cluster):
    with urllib.request.urlopen(cluster.dashboard_link.rsplit("/", 1)[0] + "/",
                                timeout=10) as r:
        text = r.read().decode()
    for path in ("/status", "/workers", "/profile", "/graph", "/system"):
        assert f'href="{path}"' in text


def test_the_link_is_the_same_for_client_and_cluster(cluster, client):
    assert cluster.dashboard_link == client.dashboard_link
    assert cluster.dashboard_link.startswith("http://127.0.0.1:")
    assert cluster.dashboard_link.endswith("/status")
    assert cluster.dashboard_link in cluster._repr_html_()
    assert cluster.dashboard_link in client._repr_html_()
    assert cluster.dashboard_link in repr(cluster)


def test_status_shows_the_tasks_that_ran_and_updates_live(client, ran, load):
    page = load("/status")
    assert page.locator("canvas").count() > 0  # Playwright looks into shadow roots
    assert set(ran) <= set(source_column(page, "task-stream-source", "key"))
    assert "compute" in source_column(page, "task-stream-source", "action")
    # Live: a task that runs after the page opened appears on it.
    future = client.submit(busy, 1000)
    assert future.result() == 1000
    wait_for_values(page, "task-stream-source", "key", [str(future.key)])
    wait_for_values(page, "progress-source", "prefix", ["busy"])
    workers = sorted(client.scheduler_info()["workers"])
    wait_for_values(page, "memory-source", "worker", workers)
    wait_for_values(page, "processing-source", "worker", workers)


def test_workers_has_a_row_per_worker(client, ran, load):
    page = load("/workers")
    addresses = sorted(client.scheduler_info()["workers"])
    wait_for_values(page, "workers-source", "address", addresses)
    assert page.locator(".slick-row").count() == len(addresses)


def test_profile_draws_the_sampled_function(ran, load):
    page = load("/profile")
    assert page.locator("canvas").count() > 0
    wait_for_values(page, "profile-source", "name", ["busy"])


def test_graph_shows_the_tasks_held(client, ran, load):
    held = client.map(busy, range(100, 105))
    client.gather(held)
    page = load("/graph")
    assert page.locator("canvas").count() > 0
    wait_for_values(page, "graph-nodes", "key", [str(f.key) for f in held])
    assert "memory" in source_column(page, "graph-nodes", "state")


def test_system_plots_the_scheduler_process(load):
    page = load("/system")
    assert page.locator("canvas").count() >= 4
    page.wait_for_function(
        """() => {
            const s = Bokeh.documents[0].get_model_by_name("system-source");
            const d = s.data instanceof Map ? s.data.get("memory") : s.data["memory"];
            return Array.from(d).some(v => v > 0);
        }""", timeout=10_000)
