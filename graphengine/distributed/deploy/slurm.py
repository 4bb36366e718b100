"""Workers as SLURM jobs: ``sbatch`` to start, ``scancel`` to stop, ``squeue`` to watch.

    >>> from graphengine.distributed.deploy import SLURMCluster
    >>> cluster = SLURMCluster(cores=4, memory="16GiB", walltime="02:00:00",
    ...                        queue="normal", account="proj42")  # doctest: +SKIP
    >>> cluster.scale(jobs=4)                                  # doctest: +SKIP
"""
from __future__ import annotations

import math

from graphengine.distributed.deploy.jobqueue import JobQueueCluster

__all__ = ["SLURMCluster"]


class SLURMCluster(JobQueueCluster):
    """A :class:`~graphengine.distributed.deploy.jobqueue.JobQueueCluster` on SLURM.

    Each job asks for one task with ``cores`` CPUs and ``memory`` (``--mem``, rounded
    up to MiB); ``queue`` is the partition (``-p``) and ``account`` is ``-A``. The
    submitting environment carries into the job (sbatch's default), so the worker runs
    this interpreter. Parameters are those of ``JobQueueCluster``.
    """

    submit_command = ("sbatch", "--parsable")
    cancel_command = ("scancel",)
    directive_prefix = "#SBATCH"

    def header_directives(self, job_name: str) -> list[str]:
        out = [f"--job-name={job_name}", "--ntasks=1", f"--cpus-per-task={self.cores}",
               f"--mem={math.ceil(self.memory / 2**20)}M",
               f"--output={self.log_directory}/{job_name}-%j.out"]
        if self.walltime is not None:
            out.append(f"--time={self.walltime}")
        if self.queue:
            out.append(f"--partition={self.queue}")
        if self.account:
            out.append(f"--account={self.account}")
        return out

    def parse_job_id(self, output: str) -> str:
        # --parsable prints "ID" or "ID;CLUSTER"
        return output.strip().split(";")[0]

    async def queue_states(self) -> dict[str, str]:
        out = await self._run(["squeue", "--noheader", "--me", "--format=%i %T"])
        return dict(line.split(None, 1) for line in out.splitlines() if line.strip())
