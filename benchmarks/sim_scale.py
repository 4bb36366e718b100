"""The real scheduler state machine at scale, driven by simulated workers (no sockets).

A graph of ``T`` tasks (wide map of root tasks feeding a tree reduction with fan-in 8)
runs on ``N`` simulated workers of 2 threads each. The simulator keeps, per worker, the
tasks it was sent and "finishes" them in simulated time (every task takes one time
unit; a worker runs two at once); every ``compute-task`` message the scheduler emits is
delivered, every finished task is reported back with ``task_finished``. Only the CPU time
spent inside the scheduler's event methods is counted (``time.process_time`` around each
call), so the figure is the scheduler's own cost per task, in µs. The garbage collector is
tuned as in a ``graphengine-scheduler`` process (config ``scheduler.gc-threshold``).

    python benchmarks/sim_scale.py            # 10k, 100k, 1M tasks x 10, 100, 1000 workers
    python benchmarks/sim_scale.py --quick    # without the 1M-task runs

The target (issue 6): µs per task stays flat, no worse than 1.5x, from 10,000 to
1,000,000 tasks and from 10 to 1,000 workers. Dask has no comparable socket-free driver
of its scheduler, so this benchmark runs graphengine alone.
"""
from __future__ import annotations

import argparse
import gc
import heapq
import os
import sys
import time
from collections import deque

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from graphengine import config  # noqa: E402
from graphengine.scheduler.state import SchedulerState  # noqa: E402


def build_graph(n_tasks: int, fan_in: int = 8) -> tuple[dict, dict, str]:
    """A map of leaves under a fan-in tree, about ``n_tasks`` tasks in all."""
    leaves = max(1, n_tasks * (fan_in - 1) // fan_in)
    tasks: dict = {}
    deps: dict = {}
    level = [f"leaf-{i}" for i in range(leaves)]
    for k in level:
        tasks[k] = k  # any spec but None (None means "data without a task")
    depth = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for j in range(0, len(level), fan_in):
            key = f"sum-{depth}-{j // fan_in}"
            tasks[key] = key
            deps[key] = level[j:j + fan_in]
            nxt.append(key)
        level = nxt
    return tasks, deps, level[0]


def simulate(n_tasks: int, n_workers: int, nthreads: int = 2) -> tuple[float, int]:
    """Run one graph to completion; return (scheduler CPU seconds, tasks run)."""
    tasks, deps, root = build_graph(n_tasks)
    state = SchedulerState()
    clock = time.process_time
    cpu = 0.0
    queues: dict[str, deque] = {}
    running: dict[str, int] = {}
    events: list = []
    now = 0.0
    seq = 0

    def start(address: str) -> None:
        nonlocal seq
        q = queues[address]
        while running[address] < nthreads and q:
            running[address] += 1
            seq += 1
            heapq.heappush(events, (now + 1.0, seq, address, q.popleft()))

    def deliver(out) -> None:
        for address, msgs in out.workers.items():
            q = queues[address]
            for m in msgs:
                if m["op"] == "compute-task":
                    q.append(m["key"])
            start(address)

    t0 = clock()
    for i in range(n_workers):
        address = f"tcp://10.0.{i // 250}.{i % 250}:9000"
        queues[address], running[address] = deque(), 0
        out = state.add_worker(address, nthreads)
        cpu += clock() - t0
        deliver(out)
        t0 = clock()
    state.add_client("sim")
    t0 = clock()
    out = state.update_graph("sim", tasks, deps, [root])
    cpu += clock() - t0
    deliver(out)
    done = 0
    while events:
        now, _, address, key = heapq.heappop(events)
        running[address] -= 1
        t0 = clock()
        out = state.task_finished(key, address, nbytes=8, duration=1.0)
        cpu += clock() - t0
        done += 1
        deliver(out)
        start(address)  # a thread freed up: the next task sent earlier may start
    assert state.tasks[root].state == "memory", "the simulation did not finish"
    return cpu, done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="skip the 1,000,000-task runs")
    args = p.parse_args()
    # As in a scheduler process started by graphengine-scheduler.
    gc.set_threshold(*config.get("scheduler.gc-threshold"))
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    workers = [10, 100, 1000]
    table: dict[tuple[int, int], float] = {}
    print(f"{'tasks':>10s} {'workers':>8s} {'sched CPU s':>12s} {'µs/task':>8s}")
    for n in sizes:
        for w in workers:
            gc.collect()
            cpu, done = simulate(n, w)
            table[n, w] = cpu / done * 1e6
            print(f"{done:>10,d} {w:>8d} {cpu:>12.2f} {table[n, w]:>8.2f}", flush=True)
    values = list(table.values())
    spread = max(values) / min(values)
    print(f"\nworst/best µs per task over the grid: {spread:.2f}x "
          f"({'flat: target <= 1.5x met' if spread <= 1.5 else 'target <= 1.5x NOT met'})")


if __name__ == "__main__":
    main()
