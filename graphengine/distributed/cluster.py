"""A scheduler and workers on this machine: threads in this process or worker processes.

    >>> from graphengine.distributed import LocalCluster, Client
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster:
    ...     with Client(cluster) as client:
    ...         client.submit(abs, -3).result()
    3
"""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from typing import Any

from graphengine import config
from graphengine.comm import Security
from graphengine.distributed.deploy.adaptive import AdaptiveMixin
from graphengine.distributed.loop import LoopRunner
from graphengine.scheduler.server import Scheduler
from graphengine.worker.memory import MemoryThresholds, parse_memory_limit
from graphengine.worker.server import Worker

__all__ = ["LocalCluster"]

logger = logging.getLogger(__name__)


class LocalCluster(AdaptiveMixin):
    """Start a scheduler and ``n_workers`` workers on this machine.

    Parameters
    ----------
    n_workers : int, optional
        Default: one per core with ``processes=True``, one with ``processes=False``.
    threads_per_worker : int, optional
        Default: the cores divided among the workers.
    processes : bool
        True runs each worker in its own process (``graphengine-worker``), so tasks
        holding the GIL run in parallel and a crashing task kills only its worker; False
        runs workers as threads of this process (fast to start, for tests and light work).
    memory_limit : int, str, "auto", 0 or None
        Bytes per worker (``"2GiB"`` works); ``"auto"`` is system memory divided among
        the workers; 0/None: no limit (nothing spills, nothing pauses).
    memory_target_fraction, memory_spill_fraction, memory_pause_fraction, \
memory_terminate_fraction : float or False, optional
        Per-cluster memory thresholds (default: config ``worker.memory.*``); the
        terminate one applies to worker processes, which a nanny supervises.
    local_directory : str, optional
        Where workers put their scratch directories (spill files).
    host : str
        Interface to listen on; 127.0.0.1 by default.
    scheduler_port : int
        0 means any free port.
    security : Security, optional
    asynchronous : bool
        Use inside a running loop: ``cluster = await LocalCluster(asynchronous=True)``.
    heartbeat_timeout : float, optional
        Seconds without a heartbeat before a worker is declared dead.
    resources : dict, optional
        Abstract resources every worker declares, e.g. ``{"GPU": 1}``.
    dashboard_address : str, None or False, optional
        Where the scheduler serves the dashboard (default: config
        ``scheduler.dashboard.address``, ``":8787"``; a port in use falls back to a free
        one); None or False: no dashboard. ``cluster.dashboard_link`` has the URL.
    """

    def __init__(self, n_workers: int | None = None, threads_per_worker: int | None = None,
                 processes: bool = True, memory_limit: Any = "auto", host: str = "127.0.0.1",
                 scheduler_port: int = 0, security: Security | None = None,
                 asynchronous: bool = False, heartbeat_timeout: float | None = None,
                 resources: dict[str, float] | None = None, validate: bool = False,
                 local_directory: str | None = None, memory_target_fraction: Any = None,
                 memory_spill_fraction: Any = None, memory_pause_fraction: Any = None,
                 memory_terminate_fraction: Any = None, dashboard_address: Any = "config"):
        cores = os.cpu_count() or 1
        if n_workers is None:
            n_workers = max(1, cores // (threads_per_worker or 1)) if processes else 1
        if threads_per_worker is None:
            threads_per_worker = max(1, cores // max(n_workers, 1))
        if n_workers < 0 or threads_per_worker < 1:
            raise ValueError(f"need n_workers >= 0 and threads_per_worker >= 1, got "
                             f"n_workers={n_workers!r}, threads_per_worker={threads_per_worker!r}")
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.memory_limit = parse_memory_limit(memory_limit, max(n_workers, 1))
        # Checked here, so a bad fraction fails the constructor rather than each worker.
        MemoryThresholds(self.memory_limit, memory_target_fraction, memory_spill_fraction,
                         memory_pause_fraction, memory_terminate_fraction)
        self.memory_fractions = {"target": memory_target_fraction,
                                 "spill": memory_spill_fraction,
                                 "pause": memory_pause_fraction,
                                 "terminate": memory_terminate_fraction}
        self.local_directory = local_directory
        self.host = host
        self.scheduler_port = scheduler_port
        self.security = security
        self.asynchronous = asynchronous
        self.heartbeat_timeout = heartbeat_timeout
        self.resources = resources
        self.validate = validate
        if dashboard_address == "config":
            dashboard_address = config.get("scheduler.dashboard.address")
        self.dashboard_address = dashboard_address or None
        self.scheduler: Scheduler | None = None
        self.workers: dict[str, Any] = {}  # name -> Worker (threads) or Popen (processes)
        self._counter = 0
        self.status = "created"
        self._runner: LoopRunner | None = None
        if not asynchronous:
            self._runner = LoopRunner("graphengine-cluster")
            try:
                self._runner.run_sync(self._start)
            except BaseException:
                self._runner.run_sync(self._close)
                self._runner.stop()
                raise

    @property
    def scheduler_address(self) -> str:
        if self.scheduler is None:
            raise RuntimeError("the cluster has not started")
        return self.scheduler.address

    @property
    def dashboard_link(self) -> str | None:
        """The URL of the dashboard's /status page, or None without a dashboard."""
        return self.scheduler.dashboard_link if self.scheduler is not None else None

    async def _start(self) -> "LocalCluster":
        if self.status == "running":
            return self
        self.scheduler = Scheduler(f"tcp://{self.host}:{self.scheduler_port}",
                                   security=self.security,
                                   heartbeat_timeout=self.heartbeat_timeout,
                                   validate=self.validate,
                                   dashboard_address=self.dashboard_address)
        await self.scheduler.start()
        await self._scale(self.n_workers)
        self.status = "running"
        return self

    def __await__(self):
        return self._start().__await__()

    # --- workers ----------------------------------------------------------------------

    def _worker_names(self) -> list[str]:
        return list(self.workers)

    async def _start_worker(self) -> None:
        name = f"local-{self._counter}"
        self._counter += 1
        if self.processes:
            cmd = [sys.executable, "-m", "graphengine.worker.cli", self.scheduler.address,
                   "--nthreads", str(self.threads_per_worker), "--name", name,
                   "--memory-limit", str(self.memory_limit), "--host", self.host,
                   "--log-level", logging.getLevelName(logger.getEffectiveLevel())]
            for k, v in (self.resources or {}).items():
                cmd += ["--resources", f"{k}={v}"]
            for k, v in self.memory_fractions.items():
                if v is not None:
                    cmd += [f"--memory-{k}-fraction", "false" if v is False else str(v)]
            if self.local_directory:
                cmd += ["--local-directory", self.local_directory]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
            self.workers[name] = proc
            await self._wait_for(lambda: any(ws.name == name
                                             for ws in self.scheduler.state.workers.values()),
                                 f"worker process {name} (pid {proc.pid}) to register",
                                 proc=proc)
        else:
            worker = Worker(self.scheduler.address, nthreads=self.threads_per_worker, name=name,
                            memory_limit=self.memory_limit, resources=self.resources,
                            address=f"tcp://{self.host}:0", security=self.security,
                            validate=self.validate, local_directory=self.local_directory,
                            memory_target_fraction=self.memory_fractions["target"],
                            memory_spill_fraction=self.memory_fractions["spill"],
                            memory_pause_fraction=self.memory_fractions["pause"])
            self.workers[name] = worker
            await worker.start()

    async def _wait_for(self, condition: Any, what: str, timeout: float = 30.0,
                        proc: subprocess.Popen | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what}: it exited with status {proc.returncode}")
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.02)

    async def _stop_worker(self, name: str) -> None:
        worker = self.workers.pop(name)
        address = next((a for a, ws in self.scheduler.state.workers.items()
                        if ws.name == name), None)
        if address is not None:
            await self.scheduler.retire_workers([address])
        if isinstance(worker, Worker):
            await worker.close()
        else:
            try:
                await asyncio.get_running_loop().run_in_executor(None, worker.wait, 10)
            except subprocess.TimeoutExpired:
                worker.terminate()
                await asyncio.get_running_loop().run_in_executor(None, worker.wait)

    async def _scale(self, n: int) -> None:
        while len(self.workers) < n:
            await self._start_worker()
        while len(self.workers) > n:
            await self._stop_worker(self._worker_names()[-1])

    def scale(self, n: int) -> Any:
        """Run ``n`` workers: start new ones or retire the newest gracefully (stops
        :meth:`adapt`)."""
        if n < 0:
            raise ValueError(f"cannot scale to {n} workers")
        self._stop_adaptive()
        self.n_workers = n
        if self.asynchronous:
            return self._scale(n)
        return self._runner.run_sync(self._scale, n)

    # --- closing ----------------------------------------------------------------------

    async def _close(self) -> None:
        if self.status == "closed":
            return
        self.status = "closed"
        if self._adaptive is not None:
            self._adaptive.stop()
        for name in list(self.workers):
            try:
                await self._stop_worker(name)
            except Exception:
                logger.exception("could not stop worker %s cleanly", name)
        if self.scheduler is not None:
            await self.scheduler.close()

    def close(self, timeout: float | None = 30) -> Any:
        """Stop every worker and the scheduler."""
        if self.asynchronous:
            return self._close()
        if self._runner is None or self.status == "closed":
            return None
        try:
            self._runner.run_sync(self._close, timeout=timeout)
        finally:
            self._runner.stop()
        return None

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "LocalCluster":
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    def __repr__(self) -> str:
        kind = "processes" if self.processes else "threads"
        address = self.scheduler.address if self.scheduler and self.scheduler.listeners else None
        return (f"LocalCluster({address!r}, workers={len(self.workers)}, "
                f"threads={len(self.workers) * self.threads_per_worker}, {kind}, "
                f"memory={_format_bytes(self.memory_limit * len(self.workers))}, "
                f"dashboard={self.dashboard_link!r})")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
            for k, v in [("Scheduler", self.scheduler.address if self.scheduler else "-"),
                         ("Workers", len(self.workers)),
                         ("Threads", len(self.workers) * self.threads_per_worker),
                         ("Memory", _format_bytes(self.memory_limit * len(self.workers))),
                         ("Workers run as", "processes" if self.processes else "threads"),
                         ("Dashboard", _link_html(self.dashboard_link))])
        return f"<div><b>LocalCluster</b><table>{rows}</table></div>"


def _link_html(link: str | None) -> str:
    if link is None:
        return "none"
    import html

    url = html.escape(link, quote=True)
    return f"<a href='{url}' target='_blank'>{url}</a>"


def _format_bytes(n: int) -> str:
    if not n:
        return "no limit"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"
