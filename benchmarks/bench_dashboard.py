"""What an open dashboard costs: ``client.map`` throughput with and without a browser.

The target: throughput of the ``--tasks``-task map with the dashboard open in a browser
within 10% of throughput with no dashboard (ratio >= 0.90). Every case is a fresh
LocalCluster of 2 worker processes with 1 thread each (the shape of
``bench_distributed.py``) and a Client; each times ``client.map(inc, range(n),
pure=False)`` + ``client.gather`` (tasks/s, best of ``--repeat``) after one untimed
warm-up map of 1,000 tasks. Cases:

- ``no dashboard``: ``dashboard_address=None``, the baseline;
- ``dashboard served, no browser``: the Bokeh server runs but no page is open;
- ``dashboard open on /status``: /status loaded and rendered in headless Chromium
  before timing starts and kept open (updating live) during the runs;
- ``open on /status, /system, /workers``: three tabs, one page each.

Unless ``--no-dask``, Dask's ``distributed`` LocalCluster (same shape) runs the same map
with its /status page open in Chromium vs ``dashboard_address=None``, for context.
One Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright; never a downloaded
browser) runs for the whole script, so every case pays for an idle browser alike.

Run: ``python benchmarks/bench_dashboard.py [--quick] [--no-dask] [--repeat N]
[--tasks N]``. The ratio printed is ``case / no dashboard`` of the same engine: above
0.90 meets the target.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from timing import best_of  # noqa: E402  (benchmarks/timing.py)
from graphengine.distributed import Client, LocalCluster  # noqa: E402

try:
    import distributed
except ImportError:  # Dask is optional
    distributed = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BOKEH_RENDERED = "() => window.Bokeh !== undefined && Object.keys(Bokeh.index).length > 0"
WARMUP_TASKS = 1_000
TARGET = 0.90


def inc(x: int) -> int:
    return x + 1


def open_pages(browser: Any, link: str, paths: list[str]) -> list[Any]:
    """One tab per path of the dashboard at ``link`` (``.../status``), each rendered."""
    base = link.rsplit("/", 1)[0]
    pages = []
    try:
        for path in paths:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            pages.append(page)
            page.goto(base + path, wait_until="load")
            page.wait_for_function(BOKEH_RENDERED, timeout=20000)
    except BaseException:
        close_pages(pages)
        raise
    return pages


def close_pages(pages: list[Any]) -> None:
    for page in pages:
        try:
            page.close()
        except Exception:
            pass


def time_map(client: Any, n: int, repeat: int, before: Callable[[], Any]) -> float:
    """tasks/s of the map + gather, after a warm-up map and ``before()`` (opening tabs)."""
    client.gather(client.map(inc, range(WARMUP_TASKS), pure=False))
    pages = before()
    try:
        def map_gather() -> None:
            client.gather(client.map(inc, range(n), pure=False))
        return n / best_of(repeat, map_gather)
    finally:
        close_pages(pages)


def run_graphengine(browser: Any, n: int, repeat: int, served: bool,
                    paths: list[str]) -> float:
    address = "127.0.0.1:0" if served else None
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0,
                      dashboard_address=address) as cluster, Client(cluster) as client:
        link = cluster.dashboard_link
        if served and not link:
            raise RuntimeError("the cluster serves no dashboard")
        return time_map(client, n, repeat,
                        lambda: open_pages(browser, link, paths) if paths else [])


def run_dask(browser: Any, n: int, repeat: int, paths: list[str]) -> float:
    address = ":0" if paths else None
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=address,
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as client:
        link = cluster.dashboard_link if paths else ""
        return time_map(client, n, repeat,
                        lambda: open_pages(browser, link, paths) if paths else [])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller: 2,000 tasks")
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tasks", type=int, default=None, help="tasks per map (20,000)")
    args = p.parse_args()
    n = args.tasks or (2_000 if args.quick else 20_000)

    from playwright.sync_api import sync_playwright

    ge_cases = [("no dashboard", False, []),
                ("dashboard served, no browser", True, []),
                ("dashboard open on /status", True, ["/status"]),
                ("open on /status, /system, /workers", True,
                 ["/status", "/system", "/workers"])]
    ge: dict[str, float] = {}
    dk: dict[str, float | str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, served, paths in ge_cases:
                ge[name] = run_graphengine(browser, n, args.repeat, served, paths)
                print(f"graphengine  {name:38s} {ge[name]:10.0f} tasks/s", flush=True)
            if distributed is not None and not args.no_dask:
                for name, paths in [("no dashboard", []),
                                    ("dashboard open on /status", ["/status"])]:
                    try:
                        dk[name] = run_dask(browser, n, args.repeat, paths)
                        print(f"dask         {name:38s} {dk[name]:10.0f} tasks/s", flush=True)
                    except Exception as exc:  # e.g. the page never renders
                        dk[name] = f"failed: {type(exc).__name__}"
                        print(f"dask         {name:38s} failed: {exc!r:.200}", flush=True)
        finally:
            browser.close()

    print(f"\n{n:,}-task map + gather; 2 worker processes x 1 thread; best of {args.repeat}; "
          f"ratio = case / no dashboard")
    header = f"{'case':38s} {'graphengine':>12s} {'ratio':>7s}"
    if dk:
        header += f" {'dask':>12s} {'ratio':>7s}"
    print(header)
    for name, rate in ge.items():
        line = f"{name:38s} {rate:12.0f} {rate / ge['no dashboard']:6.2f}x"
        if dk:
            d, base = dk.get(name), dk.get("no dashboard")
            if isinstance(d, float) and isinstance(base, float):
                line += f" {d:12.0f} {d / base:6.2f}x"
            elif isinstance(d, str):
                line += f" {d:>20s}"
        print(line)
    ratio = ge["dashboard open on /status"] / ge["no dashboard"]
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"\ntarget (/status open in a browser >= {TARGET:.2f}x no dashboard): "
          f"{verdict} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
