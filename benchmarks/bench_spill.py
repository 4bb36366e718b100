"""More data than memory: persist ~3 GiB of arrays on 2 workers of 1 GiB and reduce it,
graphengine and Dask's ``distributed`` under the same limits, in one run.

For each engine: whether it completed, the time to persist and to sum, bytes spilled,
spill write throughput (bytes written / seconds spent writing, per writer), peak RSS
of each worker process (sampled every 5 ms from outside), and worker restarts. The
physical reference is this disk's raw sequential write (with fsync) and read (after
dropping the file from the page cache) speed, measured first in the same directory.

Run: ``python benchmarks/bench_spill.py [--no-dask] [--gib 3] [--limit 1GiB] [--dir D]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import graphengine.array as ga  # noqa: E402
from graphengine.cli_options import parse_bytes  # noqa: E402
from graphengine.distributed import Client, LocalCluster, wait  # noqa: E402
from graphengine.worker.memory import PeakRSS  # noqa: E402

try:
    import dask.array as da
    import distributed
except ImportError:  # Dask is optional
    distributed = None

MiB = 2**20


def raw_disk_speed(directory: str, nbytes: int = 1024 * MiB) -> tuple[float, float]:
    """(write, read) bytes/s of one sequential file: written with fsync, read back
    after asking the kernel to drop it from the page cache."""
    path = os.path.join(directory, "raw-disk-probe")
    block = np.random.default_rng(0).bytes(8 * MiB)
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes // len(block)):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    write = nbytes / (time.perf_counter() - start)
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    start = time.perf_counter()
    while os.read(fd, 8 * MiB):
        pass
    read = nbytes / (time.perf_counter() - start)
    os.close(fd)
    os.unlink(path)
    return write, read


def _our_spill_stats() -> dict[str, float]:
    from graphengine.worker.server import get_worker

    data = get_worker().data
    return {"bytes": data.spilled_bytes, "seconds": data.spill_seconds}


def _dask_spill_stats(dask_worker: Any) -> dict[str, float]:
    # distributed's SpillBuffer counts what it wrote in cumulative_metrics; fall back to
    # what is on disk now when that is missing in this version.
    data = dask_worker.data
    out = {"bytes": 0.0, "seconds": 0.0}
    metrics = getattr(data, "cumulative_metrics", None)
    if metrics:
        for key, value in metrics.items():
            if "disk-write" in str(key) and "bytes" in str(key):
                out["bytes"] += value
            elif "disk-write" in str(key) and "seconds" in str(key):
                out["seconds"] += value
    if not out["bytes"]:
        out["bytes"] = float(getattr(data, "spilled_total", (0, 0))[0]
                             if hasattr(data, "spilled_total") else 0)
    return out


def run_engine(name: str, make_cluster: Any, make_client: Any, array_mod: Any, side: int,
               chunk: int, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": name}
    with make_cluster() as cluster, make_client(cluster) as client:
        pids = client.run(os.getpid)
        x = array_mod.random.random((side, side), chunks=(chunk, chunk))
        try:
            with PeakRSS(list(pids.values())) as rss:
                start = time.perf_counter()
                x = x.persist()
                (wait if name == "graphengine" else distributed.wait)(x)
                out["persist (s)"] = time.perf_counter() - start
                start = time.perf_counter()
                total = float(x.sum().compute())
                out["sum (s)"] = time.perf_counter() - start
            out["completed"] = bool(np.isfinite(total) and abs(total / x.size - 0.5) < 0.01)
        except Exception as e:  # noqa: BLE001 - a benchmark reports failures
            out["completed"] = False
            out["error"] = f"{type(e).__name__}: {e}"[:200]
            rss = None
        if name == "graphengine":
            stats = client.run(_our_spill_stats)
        else:
            stats = client.run(_dask_spill_stats)
        out["spilled (GiB)"] = sum(s["bytes"] for s in stats.values()) / 2**30
        seconds = sum(s["seconds"] for s in stats.values())
        out["spill write (MB/s)"] = (sum(s["bytes"] for s in stats.values()) / seconds / 1e6
                                     if seconds else float("nan"))
        if rss is not None:
            out["peak RSS (MiB)"] = [round(v / MiB) for v in rss.peak.values()]
            out["peak <= limit"] = all(v <= limit for v in rss.peak.values())
        try:
            out["restarts"] = int(client.run(os.getpid) != pids)
        except Exception:  # noqa: BLE001
            out["restarts"] = "unknown"
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gib", type=float, default=3.0, help="GiB of arrays to persist")
    p.add_argument("--limit", default="1GiB", help="memory limit per worker")
    p.add_argument("--chunk", type=int, default=2000, help="chunk side (float64 squares)")
    p.add_argument("--dir", default=None, help="where spill files go (default: temp)")
    p.add_argument("--no-dask", action="store_true")
    args = p.parse_args()
    limit = parse_bytes(args.limit)
    side = int((args.gib * 2**30 / 8) ** 0.5) // args.chunk * args.chunk
    base = tempfile.mkdtemp(prefix="bench-spill-", dir=args.dir)
    try:
        write, read = raw_disk_speed(base)
        print(f"raw disk in {base}: write {write / 1e6:.0f} MB/s (fsync), "
              f"read {read / 1e6:.0f} MB/s (uncached)")
        print(f"array {side} x {side} float64 = {side * side * 8 / 2**30:.2f} GiB, "
              f"chunks {args.chunk}^2 ({args.chunk ** 2 * 8 / MiB:.0f} MiB), "
              f"2 workers x 1 thread, limit {limit / 2**30:.2f} GiB each")
        results = [run_engine(
            "graphengine",
            lambda: LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 memory_limit=limit, local_directory=base),
            lambda c: Client(c), ga, side, args.chunk, limit)]
        if distributed is not None and not args.no_dask:
            results.append(run_engine(
                "dask",
                lambda: distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                                 processes=True, memory_limit=limit,
                                                 local_directory=base,
                                                 dashboard_address=None),
                lambda c: distributed.Client(c), da, side, args.chunk, limit))
        elif not args.no_dask:
            print("(dask not installed: pip install -e '.[bench]' to compare)")
        for r in results:
            print()
            for k, v in r.items():
                print(f"  {k:22} {v:.2f}" if isinstance(v, float) else f"  {k:22} {v}")
        ours = results[0]
        if ours.get("completed"):
            print(f"\ngraphengine spill write throughput = "
                  f"{ours['spill write (MB/s)'] / (write / 1e6):.0%} of the raw disk write")
        if len(results) == 2 and results[0].get("completed") and results[1].get("completed"):
            t0 = results[0]["persist (s)"] + results[0]["sum (s)"]
            t1 = results[1]["persist (s)"] + results[1]["sum (s)"]
            print(f"time ratio dask / graphengine = {t1 / t0:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
