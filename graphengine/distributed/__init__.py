"""The distributed runtime seen from a script or notebook: Client, Future, LocalCluster.

    >>> from graphengine.distributed import Client
    >>> with Client(processes=False, n_workers=1) as client:
    ...     client.submit(max, 3, 4).result()
    4
"""
from __future__ import annotations

from graphengine.distributed.client import Client, default_client
from graphengine.distributed.cluster import LocalCluster
from graphengine.distributed.future import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION,
                                            Future, as_completed, fire_and_forget, futures_of,
                                            wait)
from graphengine.distributed.performance_report import performance_report
from graphengine.distributed.progress import progress
from graphengine.worker.server import get_client, get_worker, rejoin, secede

__all__ = ["Client", "LocalCluster", "Future", "as_completed", "wait", "futures_of", "fire_and_forget",
           "default_client", "get_worker", "get_client", "secede", "rejoin", "progress", "performance_report", "FIRST_COMPLETED", "FIRST_EXCEPTION",
           "ALL_COMPLETED"]
