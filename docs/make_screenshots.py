"""Take the README's dashboard screenshots: /status and /profile during a computation.

Run: ``python docs/make_screenshots.py`` (needs playwright and Debian's chromium). It
starts a LocalCluster of 2 worker processes, runs an array computation and a map of
pure-Python tasks in a background thread, and photographs the pages while they run.
"""
from __future__ import annotations

import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH"))
                                           if p)

import graphengine.array as ga  # noqa: E402
from graphengine.distributed import Client, LocalCluster  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def crunch(i: int) -> float:
    """Pure-Python work the profiler can see."""
    total = 0.0
    for j in range(200_000):
        total += (i * j) % 7
    return total


def workload(client: Client, stop: threading.Event) -> None:
    while not stop.is_set():
        x = ga.random.random((6000, 6000), chunks=(1000, 1000))
        (x + x.T).mean(axis=0).sum().compute()
        client.gather(client.map(crunch, range(40), pure=False))


def main() -> None:
    from playwright.sync_api import sync_playwright

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        stop = threading.Event()
        thread = threading.Thread(target=workload, args=(client, stop), daemon=True)
        thread.start()
        base = cluster.dashboard_link.rsplit("/", 1)[0]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path, wait in (("/status", 12), ("/profile", 4)):
                page.goto(base + path, wait_until="load")
                page.wait_for_function("() => window.Bokeh !== undefined && "
                                       "Object.keys(Bokeh.index).length > 0")
                time.sleep(wait)  # let a computation's worth of activity arrive
                page.screenshot(path=os.path.join(HERE, path.strip("/") + ".png"),
                                full_page=True)
                print("wrote", path)
            browser.close()
        stop.set()
        thread.join()


if __name__ == "__main__":
    main()
