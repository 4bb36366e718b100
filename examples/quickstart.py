"""graphengine quick start: lazy graphs computed by the local schedulers.

Run with ``bash scripts/quickstart.sh`` (sets up ``.venv`` first) or, inside the venv,
``python examples/quickstart.py``. Every step checks its answer against plain
Python, NumPy or pandas, so a wrong result stops the script with an error.

It first uses the in-process ``sync``/``threads``/``processes`` schedulers, then starts
a LocalCluster (a scheduler and two worker processes on 127.0.0.1), computes an array
and a dataframe on it and submits futures, and prints the address of its dashboard.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

import graphengine
import graphengine.array as ga
import graphengine.dataframe as gd
from graphengine.distributed import Client, LocalCluster, as_completed
from graphengine.local import ProgressBar


@graphengine.delayed
def load(i: int) -> list[int]:
    return list(range(i * 10, i * 10 + 10))


@graphengine.delayed
def clean(xs: list[int]) -> list[int]:
    return [x for x in xs if x % 3]


@graphengine.delayed
def total(parts: list[list[int]]) -> int:
    return sum(sum(p) for p in parts)


def delayed_demo() -> None:
    result = total([clean(load(i)) for i in range(100)])
    expected = sum(x for x in range(1000) if x % 3)
    for scheduler in ("sync", "threads", "processes"):
        got = result.compute(scheduler=scheduler)
        assert got == expected, (scheduler, got, expected)
    print(f"delayed: 301-task graph -> {got} on sync, threads and processes")


def array_demo() -> None:
    rng = ga.random.default_rng(42)
    x = rng.random((4000, 4000), chunks=(1000, 1000))
    y = ((x + x.T) * 2).mean(axis=0)
    start = time.perf_counter()
    with ProgressBar(minimum=10.0):  # only draws if the computation takes > 10 s
        got = y.compute()
    elapsed = time.perf_counter() - start
    xn = x.compute()
    np.testing.assert_allclose(got, ((xn + xn.T) * 2).mean(axis=0))
    print(f"array: {x.shape} in {x.npartitions} chunks, ((x + x.T) * 2).mean(axis=0) "
          f"in {elapsed:.2f} s; matches NumPy")


def dataframe_demo() -> None:
    rng = np.random.default_rng(0)
    pdf = pd.DataFrame({
        "key": rng.integers(0, 50, 200_000),
        "a": rng.random(200_000),
        "b": rng.normal(size=200_000),
    })
    df = gd.from_pandas(pdf, npartitions=8)
    got = df[df.a > 0.5].groupby("key").b.mean().compute()
    expected = pdf[pdf.a > 0.5].groupby("key").b.mean()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index())
    print(f"dataframe: {len(pdf):,} rows in {df.npartitions} partitions, "
          f"filter + groupby mean over {got.size} keys; matches pandas")


def square(x: int) -> int:
    return x * x


def distributed_demo() -> None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, \
            Client(cluster) as client:
        print(f"cluster: {cluster!r}")
        print(f"dashboard: {cluster.dashboard_link} (open it in a browser while this runs)")
        # While the client is open, .compute() runs on the cluster.
        x = ga.random.default_rng(1).random((4000, 4000), chunks=(1000, 1000))
        total = x.sum().compute()
        np.testing.assert_allclose(total, x.compute().sum())
        pdf = pd.DataFrame({"k": np.arange(10_000) % 7, "v": np.arange(10_000.0)})
        got = gd.from_pandas(pdf, npartitions=4).groupby("k").v.mean().compute()
        pd.testing.assert_series_equal(got.sort_index(), pdf.groupby("k").v.mean())
        futures = client.map(square, range(100))
        done = [f.result() for f in as_completed(futures)]
        total_of_squares = client.submit(sum, futures).result()
        assert sorted(done) == [i * i for i in range(100)]
        assert total_of_squares == sum(i * i for i in range(100))
        print(f"cluster: array sum {total:.1f} and dataframe groupby match NumPy/pandas; "
              f"100 futures -> sum of squares {total_of_squares}")


def main() -> None:
    print(f"graphengine {graphengine.__version__}")
    delayed_demo()
    array_demo()
    dataframe_demo()
    distributed_demo()


if __name__ == "__main__":
    main()
