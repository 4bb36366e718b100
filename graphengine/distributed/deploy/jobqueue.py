"""Workers as batch jobs: the shared machinery of every job-queue cluster.

A :class:`JobQueueCluster` runs the scheduler in this process (the LocalCluster
machinery, with no local workers) and asks a batch system for workers: each job runs
``graphengine-worker`` with the job's cores and memory. A subclass per batch system
(:class:`~graphengine.distributed.deploy.slurm.SLURMCluster`) says how to write the
script's header and which commands submit, cancel and list jobs.

    >>> cluster = SLURMCluster(cores=2, memory="4GiB", walltime="01:00:00")  # doctest: +SKIP
    >>> print(cluster.job_script())                                        # doctest: +SKIP
    >>> cluster.scale(jobs=2)                                              # doctest: +SKIP
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

from graphengine.cli_options import parse_bytes
from graphengine.distributed.cluster import LocalCluster, _format_bytes

__all__ = ["JobQueueCluster", "parse_walltime"]

logger = logging.getLogger(__name__)

#: job states after which a job will never run a worker again
FINISHED_STATES = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "PREEMPTED",
                   "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


def parse_walltime(walltime: str) -> int:
    """Seconds in a batch walltime: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``,
    ``D-HH:MM`` or ``D-HH:MM:SS``.

    >>> parse_walltime("01:30:00"), parse_walltime("1-00:00:00"), parse_walltime("90")
    (5400, 86400, 5400)
    """
    text = str(walltime).strip()
    try:
        days, _, rest = text.rpartition("-")
        parts = [int(p) for p in rest.split(":")]
        if any(p < 0 for p in parts) or not 1 <= len(parts) <= 3:
            raise ValueError
        if days:
            h, m, s = (parts + [0, 0])[:3]
        else:
            h, m, s = {1: [0, parts[0], 0], 2: [0, *parts], 3: parts}[len(parts)]
        seconds = int(days or 0) * 86400 + h * 3600 + m * 60 + s
    except ValueError:
        raise ValueError(f"walltime {walltime!r} is not MM, MM:SS, HH:MM:SS or "
                         "D-HH:MM:SS") from None
    if seconds <= 0:
        raise ValueError(f"walltime {walltime!r} must be longer than 0 s")
    return seconds


class JobQueueCluster(LocalCluster):
    """A scheduler here and workers in batch jobs (base class; use a subclass).

    Parameters
    ----------
    cores : int
        Cores per job, shared among its ``processes`` workers.
    memory : str or int
        Memory per job ("4GiB", 8e9), shared among its workers.
    processes : int
        Worker processes per job (``--nworkers``); each gets ``cores // processes``
        threads.
    walltime : str, optional
        Time limit of each job; workers retire gracefully a little before it.
    queue, account : str, optional
        Partition/queue and account to charge.
    job_extra_directives : list of str
        More header directives, e.g. ``["--gres=gpu:1"]``.
    job_script_prologue : list of str
        Shell lines run before the worker starts (``module load``, ``source venv``);
        ``env_extra`` is accepted as an older name.
    local_directory : str, optional
        Worker scratch directory on the compute node.
    log_directory : str, optional
        Where the jobs' output goes (default: a temporary directory removed at close).
    python : str
        The interpreter jobs run (default: this one; the batch system must see it).
    name : str
        Prefix of job and worker names.
    poll_interval : float
        Seconds between looks at the queue, to notice jobs that ended.
    host, scheduler_port, security, asynchronous
        As for :class:`~graphengine.distributed.LocalCluster`. Workers on other nodes
        reach the scheduler at ``host``: set it to an interface they can reach.
    """

    #: the batch system's command that takes a script path and prints the job id
    submit_command: Sequence[str] = ()
    #: cancels the job ids that follow
    cancel_command: Sequence[str] = ()
    #: how directives start in the script header, e.g. "#SBATCH"
    directive_prefix = "#"

    def __init__(self, cores: int, memory: str | int, processes: int = 1,
                 walltime: str | None = None, queue: str | None = None,
                 account: str | None = None,
                 job_extra_directives: Sequence[str] = (),
                 job_script_prologue: Sequence[str] | None = None,
                 env_extra: Sequence[str] | None = None,
                 local_directory: str | None = None, log_directory: str | None = None,
                 python: str = sys.executable, name: str = "graphengine",
                 poll_interval: float = 1.0, host: str = "127.0.0.1",
                 scheduler_port: int = 0, security: Any = None,
                 asynchronous: bool = False, n_workers: int = 0, **kwargs: Any):
        if not isinstance(cores, int) or cores < 1:
            raise ValueError(f"cores must be a whole number >= 1, got {cores!r}")
        if not isinstance(processes, int) or not 1 <= processes <= cores:
            raise ValueError(f"processes must be between 1 and cores={cores}, "
                             f"got {processes!r}")
        try:
            memory_bytes = parse_bytes(str(memory)) if isinstance(memory, str) else int(memory)
        except (TypeError, ValueError) as e:
            raise ValueError(f"memory {memory!r} is not a size like '4GiB': {e}") from None
        if memory_bytes <= 0:
            raise ValueError(f"memory {memory!r} must be more than 0 bytes")
        if job_script_prologue is not None and env_extra is not None:
            raise TypeError("give job_script_prologue or its old name env_extra, not both")
        self.cores = cores
        self.memory = memory_bytes
        self.processes_per_job = processes  # not .processes: LocalCluster owns that name
        self.walltime = walltime
        self.walltime_seconds = parse_walltime(walltime) if walltime is not None else None
        self.queue = queue
        self.account = account
        self.job_extra_directives = list(job_extra_directives)
        self.job_script_prologue = list(job_script_prologue or env_extra or [])
        self._own_log_directory = log_directory is None
        self.log_directory = log_directory or tempfile.mkdtemp(prefix="graphengine-jobs-")
        self.python = python
        self.name = f"{name}-{uuid.uuid4().hex[:6]}"  # unique: several clusters, one queue
        self.poll_interval = poll_interval
        #: job id -> job name, for every job submitted and not known to be over
        self.jobs: dict[str, str] = {}
        #: job id -> last state the batch system reported ("PENDING", "RUNNING", ...)
        self.job_states: dict[str, str] = {}
        self._job_counter = 0
        self._poller: asyncio.Task | None = None
        self._initial_workers = n_workers
        super().__init__(n_workers=0, threads_per_worker=max(1, cores // processes),
                         processes=True, memory_limit=memory_bytes // processes, host=host,
                         scheduler_port=scheduler_port, security=security,
                         asynchronous=asynchronous, local_directory=local_directory,
                         **kwargs)

    # --- what a subclass provides ------------------------------------------------------

    def header_directives(self, job_name: str) -> list[str]:
        """Batch directives (without the prefix) for one job named ``job_name``."""
        raise NotImplementedError

    def parse_job_id(self, output: str) -> str:
        """The job id in what :attr:`submit_command` printed."""
        return output.strip().split()[-1]

    async def queue_states(self) -> dict[str, str]:
        """``{job id: state}`` of this user's jobs the batch system still lists."""
        raise NotImplementedError

    # --- the job script ----------------------------------------------------------------

    def worker_command(self, job_name: str) -> list[str]:
        """The ``graphengine-worker`` command line a job runs."""
        cmd = [self.python, "-m", "graphengine.worker.cli", self.scheduler_address,
               "--nthreads", str(self.threads_per_worker),
               "--memory-limit", str(self.memory_limit), "--name", job_name,
               "--host", self.host]
        if self.processes_per_job > 1:
            cmd += ["--nworkers", str(self.processes_per_job)]
        else:
            cmd += ["--no-nanny"]  # the batch system supervises the job
        if self.local_directory:
            cmd += ["--local-directory", self.local_directory]
        if self.walltime_seconds:
            # Retire before the batch system kills the job, so results move first.
            margin = min(60.0, 0.1 * self.walltime_seconds)
            cmd += ["--lifetime", f"{self.walltime_seconds - margin:g}"]
        return cmd

    def job_script(self, job_name: str | None = None) -> str:
        """The batch script a job runs (what :meth:`scale` submits)."""
        job_name = job_name or f"{self.name}-N"
        lines = ["#!/usr/bin/env bash"]
        lines += [f"{self.directive_prefix} {d}" for d in self.header_directives(job_name)]
        lines += [f"{self.directive_prefix} {d}" for d in self.job_extra_directives]
        lines += self.job_script_prologue
        lines.append("exec " + shlex.join(self.worker_command(job_name)))
        return "\n".join(lines) + "\n"

    # --- jobs ----------------------------------------------------------------------------

    async def _start(self) -> "JobQueueCluster":
        await super()._start()
        if self._poller is None:
            self._poller = asyncio.ensure_future(self._poll_queue())
        if self._initial_workers:
            await self._scale(self._initial_workers)
        return self

    async def _run(self, cmd: Sequence[str]) -> str:
        """Run a batch command off the loop; its stdout, or an error naming it."""
        def run() -> subprocess.CompletedProcess:
            return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
        proc = await asyncio.get_running_loop().run_in_executor(None, run)
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed with status {proc.returncode}: "
                               f"{proc.stderr.strip()}")
        return proc.stdout

    async def _submit_job(self) -> str:
        job_name = f"{self.name}-{self._job_counter}"
        self._job_counter += 1
        path = os.path.join(self.log_directory, f"{job_name}.sh")
        with open(path, "w") as f:
            f.write(self.job_script(job_name))
        submit = asyncio.ensure_future(self._run([*self.submit_command, path]))
        try:
            output = await asyncio.shield(submit)
        except asyncio.CancelledError:
            # Cancelled (adapt stopping, close) while sbatch ran: the job exists all
            # the same, so record it for close to cancel rather than orphan it.
            submit.add_done_callback(lambda f: f.exception() or self.jobs.setdefault(
                self.parse_job_id(f.result()), job_name))
            raise
        job_id = self.parse_job_id(output)
        self.jobs[job_id] = job_name
        self.job_states[job_id] = "PENDING"
        logger.info("submitted job %s (%s)", job_id, job_name)
        return job_id

    def _workers_of(self, job_id: str) -> list[str]:
        """Scheduler addresses of the workers that job ``job_id`` started."""
        name = self.jobs.get(job_id)
        return [ws.address for ws in self.scheduler.state.workers.values()
                if ws.name == name or str(ws.name).startswith(f"{name}-")]

    def _job_of(self, address: str) -> str | None:
        ws = self.scheduler.state.workers.get(address)
        for job_id, name in self.jobs.items():
            if ws is not None and (ws.name == name or str(ws.name).startswith(f"{name}-")):
                return job_id
        return None

    async def _cancel_jobs(self, job_ids: list[str]) -> None:
        """Retire the jobs' workers gracefully (results move first), then cancel."""
        if not job_ids:
            return
        workers = [a for j in job_ids for a in self._workers_of(j)]
        if workers:
            await self.scheduler.retire_workers(workers)
        for j in job_ids:
            self.jobs.pop(j, None)
            self.job_states.pop(j, None)
        try:
            await self._run([*self.cancel_command, *job_ids])
        except RuntimeError as e:  # e.g. a job that ended meanwhile
            logger.warning("%s", e)
        logger.info("cancelled jobs %s", " ".join(job_ids))

    async def _scale(self, n: int) -> None:
        wanted = math.ceil(n / self.processes_per_job)
        while len(self.jobs) < wanted:
            await self._submit_job()
        if len(self.jobs) > wanted:
            # Pending jobs go first (no worker to move data from), then the newest.
            order = sorted(self.jobs, key=lambda j: (self.job_states.get(j) != "PENDING",
                                                     -int(j) if j.isdigit() else 0))
            await self._cancel_jobs(order[:len(self.jobs) - wanted])

    def scale(self, n: int | None = None, *, jobs: int | None = None,
              cores: int | None = None, memory: str | int | None = None) -> Any:
        """Ask for ``n`` workers, or ``jobs`` jobs, or enough jobs for ``cores`` cores or
        ``memory`` bytes (one of them). Stops :meth:`adapt`."""
        given = [k for k, v in {"n": n, "jobs": jobs, "cores": cores,
                                "memory": memory}.items() if v is not None]
        if len(given) != 1:
            raise TypeError(f"scale takes exactly one of n, jobs, cores, memory; got {given}")
        if jobs is not None:
            n = jobs * self.processes_per_job
        elif cores is not None:
            n = math.ceil(cores / self.cores) * self.processes_per_job
        elif memory is not None:
            need = parse_bytes(memory) if isinstance(memory, str) else int(memory)
            n = math.ceil(need / self.memory) * self.processes_per_job
        return super().scale(n)

    async def _poll_queue(self) -> None:
        """Notice jobs that ended (walltime, failure, scancel by hand): forget them, so
        :meth:`adapt` replaces them."""
        while True:
            await asyncio.sleep(self.poll_interval)  # a period, not a wait for a condition
            if not self.jobs:
                continue
            known = list(self.jobs)  # a job submitted during the query is not judged by it
            try:
                states = await self.queue_states()
            except Exception as e:
                logger.warning("could not list the batch queue: %s", e)
                continue
            for job_id in known:
                state = states.get(job_id)
                if state is None or state in FINISHED_STATES:
                    if job_id not in self.jobs:
                        continue
                    logger.warning("job %s (%s) ended%s", job_id, self.jobs[job_id],
                                   f" ({state})" if state else "")
                    del self.jobs[job_id]
                    self.job_states.pop(job_id, None)
                else:
                    self.job_states[job_id] = state

    # --- adaptive hooks ------------------------------------------------------------------

    def _adaptive_current(self) -> int:
        return len(self.jobs) * self.processes_per_job

    async def _adaptive_scale_up(self, n: int) -> None:
        await self._scale(n)

    async def _adaptive_scale_down(self, n: int, addresses: list[str]) -> None:
        excess = len(self.jobs) - math.ceil(n / self.processes_per_job)
        pending = [j for j in self.jobs if self.job_states.get(j) == "PENDING"
                   and not self._workers_of(j)]
        victims = pending[:excess]
        idle = set(addresses)
        for address in addresses:  # whole jobs whose workers are all idle
            job_id = self._job_of(address)
            if (len(victims) < excess and job_id is not None and job_id not in victims
                    and set(self._workers_of(job_id)) <= idle):
                victims.append(job_id)
        await self._cancel_jobs(victims)

    # --- closing and showing -----------------------------------------------------------

    async def _close(self) -> None:
        if self.status == "closed":
            return
        if self._poller is not None:
            self._poller.cancel()
        if self._adaptive is not None:
            self._adaptive.stop()
        if self.scheduler is not None:
            await self._cancel_jobs(list(self.jobs))
        await super()._close()
        if self._own_log_directory:
            shutil.rmtree(self.log_directory, ignore_errors=True)

    def __repr__(self) -> str:
        address = self.scheduler.address if self.scheduler and self.scheduler.listeners else None
        running = len(self.scheduler.state.workers) if self.scheduler else 0
        return (f"{type(self).__name__}({address!r}, jobs={len(self.jobs)}, "
                f"workers={running}, cores/job={self.cores}, "
                f"memory/job={_format_bytes(self.memory)})")

    def _repr_html_(self) -> str:
        running = len(self.scheduler.state.workers) if self.scheduler else 0
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
            for k, v in [("Scheduler", self.scheduler.address if self.scheduler else "-"),
                         ("Jobs", len(self.jobs)), ("Workers", running),
                         ("Per job", f"{self.cores} cores, {_format_bytes(self.memory)}, "
                                     f"{self.processes_per_job} processes"),
                         ("Walltime", self.walltime or "-")])
        return f"<div><b>{type(self).__name__}</b><table>{rows}</table></div>"
