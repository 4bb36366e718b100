"""The distributed runtime side by side with Dask's ``distributed``, in one run.

Both engines get the same cluster shape: a LocalCluster of 2 worker processes with 1
thread each on this machine. Cases:

- ``client.map`` of ``--tasks`` trivial tasks, then ``gather`` (tasks/s);
- a ``--tasks``-leaf tree reduction built with ``submit`` (fan-in 2; tasks/s);
- ``--roundtrips`` sequential ``submit(...).result()`` round trips (µs each);
- ``random((20000, 20000), chunks=(1000, 1000)).sum()`` on the cluster (seconds);
- a ``--blocks``-block expression ``((x + 1) * 2 - x.T).sum()`` of tiny chunks: how long
  ``client.compute`` takes to hand it over (ms: building, optimizing and sending the
  graph) and the whole run to the result (s). graphengine sends such layers whole; the
  extra row "per-task shipping" is graphengine with ``optimization.ship-layers`` off.

Run: ``python benchmarks/bench_distributed.py [--quick] [--no-dask] [--repeat N]``.
The ratio printed is ``dask / graphengine`` for times (``graphengine / dask`` for
rates): above 1 means graphengine is faster.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from timing import best_of  # noqa: E402  (benchmarks/timing.py)
import graphengine  # noqa: E402
import graphengine.array as ga  # noqa: E402
from graphengine.distributed import Client, LocalCluster  # noqa: E402

try:
    import dask.array as da
    import distributed
except ImportError:  # Dask is optional
    distributed = None


def inc(x: int) -> int:
    return x + 1


def add(a: int, b: int) -> int:
    return a + b


def big_graph_cases(client: Any, array_mod: Any, blocks: int, repeat: int
                    ) -> dict[str, float]:
    """Handing over and running a graph of ``blocks`` tiny blocks per layer."""
    per_side = int(round(blocks ** 0.5))
    n = per_side * 4
    handover: list[float] = []
    runs = iter(range(1, 1000))

    def run() -> None:
        # A new constant per run: new keys, so no run reuses a result of the last one.
        c = next(runs)
        x = array_mod.ones((n, n), chunks=(4, 4)) * c
        expr = ((x + 1) * 2 - x.T).sum()
        start = time.perf_counter()
        future = client.compute(expr)
        handover.append(time.perf_counter() - start)
        assert future.result() == float(n * n * (c + 2))
        del future

    label = f"{per_side * per_side:,}-block expression"
    total = best_of(min(repeat, 2), run)  # minutes per run under Dask: at most best of 2
    return {f"{label}: compute() hands over (ms)": min(handover) * 1e3,
            f"{label}: to the result (s)": total}


def run_cases(client: Any, array_mod: Any, n: int, roundtrips: int, side: int,
              chunk: int, repeat: int, blocks: int = 0) -> dict[str, float]:
    out: dict[str, float] = {}

    def map_gather() -> None:
        futures = client.map(inc, range(n), pure=False)
        client.gather(futures)

    def tree() -> None:
        level = client.map(inc, range(n), pure=False)
        while len(level) > 1:
            nxt = [client.submit(add, level[i], level[i + 1], pure=False)
                   for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        level[0].result()

    def roundtrip() -> None:
        for i in range(roundtrips):
            client.submit(inc, i, pure=False).result()

    def array_sum() -> None:
        x = array_mod.random.random((side, side), chunks=(chunk, chunk))
        x.sum().compute()

    map_gather()  # warm up: imports and connections on the workers
    out["map + gather (tasks/s)"] = n / best_of(repeat, map_gather)
    tree_tasks = 2 * n - 1
    out["tree reduction via submit (tasks/s)"] = tree_tasks / best_of(repeat, tree)
    out["submit+result round trip (µs)"] = best_of(repeat, roundtrip) / roundtrips * 1e6
    out["array sum on cluster (s)"] = best_of(repeat, array_sum)
    if blocks:
        out.update(big_graph_cases(client, array_mod, blocks, repeat))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller: 2,000 tasks, 5000^2 array")
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--blocks", type=int, default=0,
                   help="blocks per layer of the big-graph case (default 10,000; 2,500 quick)")
    args = p.parse_args()
    blocks = args.blocks or (2_500 if args.quick else 10_000)
    n = 2_000 if args.quick else 20_000
    roundtrips = 200 if args.quick else 1_000
    side = 5_000 if args.quick else 20_000
    chunk = 1_000

    results: dict[str, dict[str, float]] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit=0) as cluster, Client(cluster) as client:
        results["graphengine"] = run_cases(client, ga, n, roundtrips, side, chunk, args.repeat,
                                           blocks)
        with graphengine.config.set({"optimization.ship-layers": False}):
            per_task = big_graph_cases(client, ga, blocks, args.repeat)
    if distributed is not None and not args.no_dask:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            results["dask"] = run_cases(client, da, n, roundtrips, side, chunk, args.repeat,
                                        blocks)

    print(f"\n{n:,} tasks, {roundtrips:,} round trips, {side}x{side} array in "
          f"{chunk}x{chunk} chunks; 2 worker processes x 1 thread; best of {args.repeat}")
    header = f"{'case':40s} {'graphengine':>14s}"
    if "dask" in results:
        header += f" {'dask':>14s} {'ratio':>8s}"
    print(header)
    for case, ge in results["graphengine"].items():
        line = f"{case:40s} {ge:14.2f}"
        if "dask" in results:
            dk = results["dask"][case]
            higher_is_better = "/s" in case
            ratio = ge / dk if higher_is_better else dk / ge
            line += f" {dk:14.2f} {ratio:7.2f}x"
        print(line)
    for case, value in per_task.items():
        print(f"{case + ', per-task shipping':40s} {value:14.2f}")


if __name__ == "__main__":
    main()
