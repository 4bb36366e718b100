"""Array benchmarks: graphengine.array side by side with dask.array (threads scheduler).

Cases (full size; ``--quick`` divides the array side by 5):

- ``x = random((20000, 20000), chunks=(2000, 2000))`` and then
  ``x.sum()``, ``(x + x.T).mean(axis=0)``, ``x[::2, ::3].std()``,
  ``x.rechunk((20000, 200)).sum(axis=0)``, ``(x @ x.T)[:2000, :2000].sum()``;
- graph build time of ``(x + 1) * 2 - x.T`` on a 1,000 x 1,000-block array;
- plain single-threaded NumPy for the sum (the same per-block generator and sums, no
  scheduler), and the "ideal" two-core time (half of it).

Run: ``python benchmarks/bench_array.py [--quick] [--repeat N]``. Dask is optional
(``pip install dask``); without it only graphengine's numbers are printed. The ratio is
dask time / graphengine time (>= 1.0 means graphengine is at least as fast).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from timing import best_of  # noqa: E402  (benchmarks/timing.py)
import graphengine.array as ga  # noqa: E402

try:
    import dask
    import dask.array as da
except ImportError:  # the benchmark still reports graphengine alone
    dask = da = None


def numpy_sum(n: int, c: int, seed: int = 0) -> float:
    """Single-threaded: generate each block as graphengine does and sum it."""
    from graphengine.collections.array.random import block_generator
    total = 0.0
    blocks = n // c
    for i in range(blocks * blocks):
        total += block_generator(seed, i).random((c, c)).sum()
    return total


def cases(lib: Any, x: Any, n: int, c: int) -> dict[str, Callable[[], Any]]:
    return {
        "x.sum()": lambda: x.sum(),
        "(x + x.T).mean(axis=0)": lambda: (x + x.T).mean(axis=0),
        "x[::2, ::3].std()": lambda: x[::2, ::3].std(),
        f"x.rechunk(({n}, {c // 10})).sum(axis=0)": lambda: x.rechunk((n, c // 10)).sum(axis=0),
        f"(x @ x.T)[:{c}, :{c}].sum()": lambda: (x @ x.T)[:c, :c].sum(),
    }


def build_expression(lib: Any, random_array: Callable) -> float:
    x = random_array((20000, 20000), (20, 20))  # 1,000 x 1,000 blocks
    start = time.perf_counter()
    y = (x + 1) * 2 - x.T
    elapsed = time.perf_counter() - start
    del y
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="arrays 5x smaller per side")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    n, c = (4000, 400) if args.quick else (20000, 2000)
    print(f"array {n} x {n} float64 in {c} x {c} blocks, threads scheduler, "
          f"{os.cpu_count()} cores, best of {args.repeat}")
    if da is None:
        print("dask is not installed: showing graphengine only (pip install dask)")

    gx = ga.random.default_rng(0).random((n, n), chunks=(c, c))
    if da is not None:
        rng = getattr(da.random, "default_rng", None)
        dx = (rng(0).random((n, n), chunks=(c, c)) if rng is not None
              else da.random.RandomState(0).random_sample((n, n), chunks=(c, c)))
    rows = []
    g_cases = cases(ga, gx, n, c)
    d_cases = cases(da, dx, n, c) if da is not None else {}
    for name, build in g_cases.items():
        g = best_of(args.repeat, lambda: build().compute(scheduler="threads"))
        d = (best_of(args.repeat, lambda: d_cases[name]().compute(scheduler="threads"))
             if da is not None else float("nan"))
        rows.append((name, g, d))

    gb = min(build_expression(ga, lambda s, ch: ga.random.random(s, chunks=ch))
             for _ in range(3))
    if da is not None:
        db = min(build_expression(da, lambda s, ch: da.random.random(s, chunks=ch))
                 for _ in range(2))
    else:
        db = float("nan")
    rows.append(("build (x + 1) * 2 - x.T, 1000x1000 blocks", gb, db))

    width = max(len(r[0]) for r in rows) + 2
    print(f"{'case':<{width}}{'graphengine s':>14}{'dask s':>10}{'ratio':>8}")
    for name, g, d in rows:
        print(f"{name:<{width}}{g:>14.4f}{d:>10.4f}{d / g:>8.2f}")

    np_time = best_of(args.repeat, lambda: numpy_sum(n, c))
    ideal = np_time / 2
    g_sum = rows[0][1]
    print(f"\nNumPy single-threaded sum (same blocks): {np_time:.4f} s; ideal on 2 cores "
          f"{ideal:.4f} s; graphengine x.sum() is {g_sum / ideal:.2f}x the ideal "
          f"(target <= 1.3)")


if __name__ == "__main__":
    main()
