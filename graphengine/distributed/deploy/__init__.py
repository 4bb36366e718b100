"""Clusters whose workers come from somewhere else: a batch system's jobs, plus the
adaptive scaling every cluster shares.

    >>> from graphengine.distributed.deploy import SLURMCluster     # doctest: +SKIP
    >>> cluster = SLURMCluster(cores=1, memory="1GiB", walltime="00:10:00")  # doctest: +SKIP
    >>> cluster.adapt(minimum=0, maximum=4)                         # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

from graphengine.distributed.deploy.adaptive import Adaptive, AdaptiveCore, Decision

__all__ = ["Adaptive", "AdaptiveCore", "Decision", "JobQueueCluster", "SLURMCluster"]


def __getattr__(name: str) -> Any:
    # Lazy: LocalCluster imports the adaptive module from here, and the job-queue
    # clusters build on LocalCluster, so importing them eagerly would be circular.
    if name == "JobQueueCluster":
        from graphengine.distributed.deploy.jobqueue import JobQueueCluster
        return JobQueueCluster
    if name == "SLURMCluster":
        from graphengine.distributed.deploy.slurm import SLURMCluster
        return SLURMCluster
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
