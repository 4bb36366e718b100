"""What a nanny-started worker process runs with: glibc's thresholds, and BLAS/OpenMP pools
of one thread (the worker's task threads already fill the cores)."""
from __future__ import annotations

import os

import pytest

from graphengine import config
from graphengine.distributed import Client, LocalCluster
from graphengine.worker.nanny import BLAS_THREAD_VARIABLES, MALLOC_ENV, worker_environment

pytestmark = pytest.mark.timeout(120)


def _worker_threads_and_env() -> dict:
    import numpy as np
    from threadpoolctl import threadpool_info
    a = np.ones((64, 64))
    (a @ a).sum()
    return {"blas": sorted({i["num_threads"] for i in threadpool_info()
                            if i["user_api"] == "blas"}),
            "env": {k: os.environ.get(k) for k in BLAS_THREAD_VARIABLES + tuple(MALLOC_ENV)}}


def test_auto_gives_one_thread_and_the_users_own_setting_wins() -> None:
    env = worker_environment({"OMP_NUM_THREADS": "3", "PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["PATH"] == "/bin" and env["GRAPHENGINE_NANNY"] == "1"
    assert all(env[k] == v for k, v in MALLOC_ENV.items())


def test_an_int_or_none() -> None:
    with config.set({"blas-threads": 2}):
        assert worker_environment({})["OPENBLAS_NUM_THREADS"] == "2"
    with config.set({"blas-threads": None}):
        assert not set(BLAS_THREAD_VARIABLES) & set(worker_environment({}))
    with config.set({"blas-threads": "lots"}):
        with pytest.raises(ValueError, match="blas-threads"):
            worker_environment({})


def test_a_real_worker_process_runs_blas_on_one_thread(monkeypatch) -> None:
    # The worker unpickles _worker_threads_and_env by importing this module.
    here = os.path.dirname(os.path.abspath(__file__))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH")) if p))
    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True) as cluster, \
            Client(cluster) as client:
        (seen,) = client.run(_worker_threads_and_env).values()
    assert seen["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert seen["env"]["MALLOC_TRIM_THRESHOLD_"] == MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]
    assert seen["blas"] == [1]
