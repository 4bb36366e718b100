"""The nanny: a small supervisor process that keeps one worker process alive.

It starts ``graphengine-worker --no-nanny …`` as a child, restarts it when it dies or when
its memory passes ``worker.memory.terminate`` of its limit, forwards SIGINT/SIGTERM to it,
and exits when the worker exits cleanly (it was told to close). The scheduler recomputes
what a dead worker held, so a restart loses no results.

    nanny = Nanny(["tcp://127.0.0.1:8786", "--nthreads", "2"], memory_limit=4 * 2**30)
    sys.exit(nanny.run())
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

import psutil

from graphengine.local.blas_threads import blas_threads_setting
from graphengine.worker.memory import MemoryThresholds

__all__ = ["Nanny", "run_workers", "MALLOC_ENV", "worker_environment"]

logger = logging.getLogger(__name__)

#: glibc settings for worker processes. By default glibc raises its mmap threshold each
#: time a large block is freed, so the next chunk-sized buffers (arrays, spill reads)
#: come from the heap, where freed memory stays in the process: a worker that has
#: spilled everything still showed ~200 MiB of RSS. Fixed thresholds keep large
#: blocks in mmap (returned on free) and let the heap be trimmed.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}


#: Variables that size the thread pools of BLAS and OpenMP libraries.
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a worker process the nanny starts: ``base`` plus, where
    ``base`` does not set them, :data:`MALLOC_ENV` and the BLAS thread variables.

    A worker's task threads (and the host's other workers) already fill the cores: with
    the ``blas-threads`` config at ``"auto"``, each BLAS/OpenMP call in a worker gets one
    thread, as Dask's nanny does; an int sets that many; None leaves them unset.
    """
    env = dict(base, GRAPHENGINE_NANNY="1")
    for name, value in MALLOC_ENV.items():
        env.setdefault(name, value)
    setting = blas_threads_setting()
    if setting is not None:
        threads = 1 if setting == "auto" else setting
        for name in BLAS_THREAD_VARIABLES:
            env.setdefault(name, str(threads))
    return env


#: Consecutive memory checks (``poll_interval`` apart) over the terminate threshold
#: before the nanny restarts its worker.
OVER_SAMPLES = 2

class Nanny:
    """Supervise one worker process.

    Parameters
    ----------
    worker_args : list of str
        Arguments of ``graphengine-worker`` for the child (``--no-nanny`` is added).
    memory_limit : int
        Bytes; 0 disables the memory check.
    poll_interval : float
        Seconds between checks of the child's memory and liveness.
    max_restarts : int
        Give up (exit 1) after this many restarts in a row that lived < 10 s each.
    terminate_fraction : float or False, optional
        Restart the worker past this fraction of ``memory_limit`` (default: config
        ``worker.memory.terminate``; False: never for memory).
    """

    def __init__(self, worker_args: Sequence[str], memory_limit: int = 0,
                 poll_interval: float = 0.1, max_restarts: int = 20,
                 terminate_fraction: float | bool | None = None):
        self.worker_args = list(worker_args)
        self.memory_limit = memory_limit
        self.thresholds = MemoryThresholds(memory_limit, terminate=terminate_fraction)
        self.poll_interval = poll_interval
        self._over_count = 0
        self.max_restarts = max_restarts
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = False

    def _spawn(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "graphengine.worker.cli", *self.worker_args, "--no-nanny"]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                        env=worker_environment(os.environ))
        logger.info("nanny started worker process %d", self.process.pid)
        return self.process

    def _forward(self, signum: int, frame: object) -> None:
        self._stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def _over_memory(self, proc: subprocess.Popen) -> bool:
        limit = self.thresholds.bytes("terminate")
        if limit is None:
            return False
        try:
            rss = psutil.Process(proc.pid).memory_info().rss
        except psutil.Error:
            return False
        if rss <= limit:
            self._over_count = 0
            return False
        # One sample over the line may be a transient (a transfer being unpacked while
        # the worker is already pausing and spilling); a runaway stays over it.
        self._over_count += 1
        if self._over_count < OVER_SAMPLES:
            return False
        self._over_count = 0
        logger.warning("worker process %d uses %d bytes, over %.0f%% of its %d-byte "
                       "limit for %d checks in a row: restarting it", proc.pid, rss,
                       100 * self.thresholds.terminate, self.memory_limit, OVER_SAMPLES)
        return True

    def run(self) -> int:
        """Supervise until the worker exits cleanly or a signal stops us; the exit code."""
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGINT, self._forward)
        quick_failures = 0
        while True:
            started = time.monotonic()
            proc = self._spawn()
            while proc.poll() is None:
                if not self._stopping and self._over_memory(proc):
                    proc.kill()
                    proc.wait()
                    break
                time.sleep(self.poll_interval)
            code = proc.returncode
            if self._stopping or code == 0:
                return 0 if self._stopping else code
            self.restarts += 1
            quick_failures = quick_failures + 1 if time.monotonic() - started < 10 else 0
            if quick_failures > self.max_restarts:
                logger.error("worker died %d times in a row within 10 s each: giving up",
                             quick_failures)
                return 1
            logger.warning("worker process %d exited with %s: restarting it (restart %d)",
                           proc.pid, code, self.restarts)


def run_workers(worker_args: Sequence[str], n: int, name: str | None) -> int:
    """Run ``n`` worker commands side by side (``--nworkers``); forward signals; wait."""
    procs = []
    for i in range(n):
        args = list(worker_args) + ["--nworkers", "1"]
        if name is not None:
            args += ["--name", f"{name}-{i}"]
        procs.append(subprocess.Popen([sys.executable, "-m", "graphengine.worker.cli", *args],
                                      stdin=subprocess.DEVNULL))

    def forward(signum: int, frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(p.wait() for p in procs)
