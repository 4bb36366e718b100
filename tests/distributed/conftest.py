"""An in-process cluster (scheduler + 2 workers as threads of this process, real TCP on
127.0.0.1) shared by a test module, and a fresh Client per test."""
from __future__ import annotations

import time

import pytest

from graphengine.distributed import Client, LocalCluster


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                      validate=True) as c:
        yield c


@pytest.fixture
def client(cluster):
    with Client(cluster) as c:
        yield c


def _wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def wait_for():
    """Poll a condition until true: what is waited on lives on another thread or process."""
    return _wait_for
