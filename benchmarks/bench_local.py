"""Per-task overhead of the local schedulers, side by side with Dask.

The workload is a ~100,000-task graph: a wide map of ``--leaves`` trivial tasks
``inc(i)`` feeding a binary tree reduction of ``sum`` over two-element lists. The task
bodies cost well under a microsecond, so the time measured is the scheduler's own work:
dependency bookkeeping, ordering, handing tasks to a pool and releasing results.

    $ python benchmarks/bench_local.py            # full run, ~2-3 minutes
    $ python benchmarks/bench_local.py --quick    # smaller graph, fewer repeats
    $ python benchmarks/bench_local.py --no-dask  # graphengine numbers only

The same logical graph is built for both engines: graphengine ``Task``/``Ref`` and Dask's
own task spec (``dask._task_spec.Task``/``TaskRef``/``List``, what Dask collections build
today) and, for ``get``, also its legacy dict-of-tuples form; Dask's faster form counts.
Every timing is the best of ``--repeat`` runs; a garbage collection precedes each run.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A script run from anywhere in the checkout imports this checkout's graphengine.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graphengine  # noqa: E402
from graphengine.collections.delayed import Delayed  # noqa: E402
from graphengine.graph.cull import cull  # noqa: E402
from graphengine.graph.order import order  # noqa: E402
from graphengine.graph.spec import Ref, Task  # noqa: E402
from graphengine.local.get import get  # noqa: E402

try:
    import dask
    import dask.local
    import dask.optimization
    import dask.order
    import dask.threaded
    from dask._task_spec import List as DaskList
    from dask._task_spec import Task as DaskTask
    from dask._task_spec import TaskRef as DaskTaskRef
    from dask.delayed import Delayed as DaskDelayed
except ImportError:  # Dask is optional: graphengine numbers are printed alone
    dask = None


def inc(x: int) -> int:
    return x + 1


# --- the graph, three ways ---------------------------------------------------------------

def _tree_levels(nleaves: int):
    """Yield ``(key, input_keys)`` for every node of the reduction, leaves excluded."""
    level = [("inc", i) for i in range(nleaves)]
    depth = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for j in range(0, len(level), 2):
            key = ("sum", depth, j // 2)
            yield key, level[j:j + 2]
            nxt.append(key)
        level = nxt


def build_graphengine(nleaves: int) -> tuple[dict, Any]:
    graph: dict = {("inc", i): Task(("inc", i), inc, i) for i in range(nleaves)}
    key = ("inc", 0)
    for key, inputs in _tree_levels(nleaves):
        graph[key] = Task(key, sum, [Ref(k) for k in inputs])
    return graph, key


def build_dask_spec(nleaves: int) -> tuple[dict, Any]:
    graph: dict = {("inc", i): DaskTask(("inc", i), inc, i) for i in range(nleaves)}
    key = ("inc", 0)
    for key, inputs in _tree_levels(nleaves):
        graph[key] = DaskTask(key, sum, DaskList(*[DaskTaskRef(k) for k in inputs]))
    return graph, key


def build_dask_tuples(nleaves: int) -> tuple[dict, Any]:
    graph: dict = {("inc", i): (inc, i) for i in range(nleaves)}
    key = ("inc", 0)
    for key, inputs in _tree_levels(nleaves):
        graph[key] = (sum, list(inputs))
    return graph, key


def expected_result(nleaves: int) -> int:
    return nleaves * (nleaves + 1) // 2


# --- timing ------------------------------------------------------------------------------

def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
    return best, result


def check(result: Any, expected: int, label: str) -> None:
    if result != expected:
        raise AssertionError(f"{label}: got {result!r}, expected {expected!r}")


def machine_info() -> str:
    cores = f"{os.cpu_count()} cores"
    if hasattr(os, "sched_getaffinity"):
        cores += f" ({len(os.sched_getaffinity(0))} usable)"
    lines = [
        f"date        {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"machine     {platform.machine()} {platform.system()} {platform.release()}, {cores}",
        f"python      {platform.python_version()} ({platform.python_implementation()})",
        f"graphengine {graphengine.__version__}",
        f"dask        {dask.__version__ if dask else 'not installed'}",
    ]
    return "\n".join(lines)


def run(nleaves: int, repeat: int, with_dask: bool, compute_path: bool) -> None:
    expected = expected_result(nleaves)
    ge_graph, root = build_graphengine(nleaves)
    ntasks = len(ge_graph)
    print(machine_info())
    print(f"graph       {nleaves} inc leaves + binary sum tree = {ntasks} tasks; "
          f"best of {repeat}\n")

    # 1. build + cull + order ------------------------------------------------------------
    rows = []
    t_build, (g, root) = best_of(repeat, lambda: build_graphengine(nleaves))
    t_cull, (culled, deps) = best_of(repeat, lambda: cull(g, [root]))
    t_order, _ = best_of(repeat, lambda: order(culled, deps, outputs=[root]))
    ge_prep = (t_build, t_cull, t_order)
    dask_prep = None
    if with_dask:
        forms = {}
        for form, builder in (("spec", build_dask_spec), ("tuples", build_dask_tuples)):
            tb, (dg, droot) = best_of(repeat, lambda b=builder: b(nleaves))
            tc, (dculled, _) = best_of(repeat, lambda: dask.optimization.cull(dg, [droot]))
            to, _ = best_of(repeat, lambda: dask.order.order(dculled))
            forms[form] = (tb, tc, to)
        dask_prep = forms
    print("build + cull + order (seconds)")
    header = f"{'':14}{'build':>9}{'cull':>9}{'order':>9}{'total':>9}"
    print(header)
    print(f"{'graphengine':14}" + "".join(f"{t:9.3f}" for t in ge_prep)
          + f"{sum(ge_prep):9.3f}")
    if dask_prep:
        for form, times in dask_prep.items():
            print(f"{'dask ' + form:14}" + "".join(f"{t:9.3f}" for t in times)
                  + f"{sum(times):9.3f}")
        # The ratio is against Dask's faster graph form (least total time).
        form, times = min(dask_prep.items(), key=lambda item: sum(item[1]))
        print(f"{'ratio (' + form + ')':14}"
              + "".join(f"{d / g:9.2f}" for d, g in zip(times, ge_prep))
              + f"{sum(times) / sum(ge_prep):9.2f}   (dask / graphengine)")
    print()

    # 2. per-task overhead of get ------------------------------------------------------
    del g, culled, deps
    for scheduler in ("sync", "threads"):
        t, result = best_of(repeat, lambda s=scheduler: get(ge_graph, root, scheduler=s))
        check(result, expected, f"graphengine get {scheduler}")
        dask_t = None
        if with_dask:
            dask_get = dask.local.get_sync if scheduler == "sync" else dask.threaded.get
            best = {}
            for form, builder in (("spec", build_dask_spec), ("tuples", build_dask_tuples)):
                dg, droot = builder(nleaves)
                best[form], result = best_of(repeat, lambda: dask_get(dg, droot))
                check(result, expected, f"dask {scheduler} ({form})")
                del dg
            dask_t = min(best.items(), key=lambda item: item[1])
        rows.append((f"get {scheduler}", t, dask_t))

    # 3. the full compute path of a collection ------------------------------------------
    if compute_path:
        for scheduler in ("sync", "threads"):
            coll = Delayed(root, ge_graph)
            t, (result,) = best_of(repeat, lambda s=scheduler: graphengine.compute(
                coll, scheduler=s))
            check(result, expected, f"graphengine compute {scheduler}")
            dask_t = None
            if with_dask:
                dg, droot = build_dask_spec(nleaves)
                dcoll = DaskDelayed(droot, dg)
                dt, (result,) = best_of(repeat, lambda s=scheduler: dask.compute(
                    dcoll, scheduler=s))
                check(result, expected, f"dask compute {scheduler}")
                dask_t = ("spec", dt)
                del dg, dcoll
            rows.append((f"compute {scheduler}", t, dask_t))

    print("per-task overhead (µs/task; whole run / number of tasks)")
    print(f"{'':18}{'graphengine':>12}{'dask':>16}{'ratio':>8}   (dask / graphengine)")
    for label, t, dask_t in rows:
        ge_us = t / ntasks * 1e6
        line = f"{label:18}{ge_us:12.2f}"
        if dask_t is not None:
            form, dt = dask_t
            d_us = dt / ntasks * 1e6
            line += f"{d_us:10.2f} {form:>5}{d_us / ge_us:8.2f}"
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10,000 leaves and 2 repeats instead of 50,000 and 3")
    parser.add_argument("--leaves", type=int, default=None, help="width of the map")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement")
    parser.add_argument("--no-dask", action="store_true", help="skip Dask")
    parser.add_argument("--no-compute", action="store_true",
                        help="skip the collection compute() path")
    args = parser.parse_args(argv)
    nleaves = args.leaves or (10_000 if args.quick else 50_000)
    repeat = args.repeat or (2 if args.quick else 3)
    with_dask = dask is not None and not args.no_dask
    run(nleaves, repeat, with_dask, compute_path=not args.no_compute)


if __name__ == "__main__":
    main()
