"""What a Client can ask of the cluster itself, beyond running tasks: run a function on
every worker or on the scheduler, ship code, look at where data lives, restart, retire.

Mixed into :class:`~graphengine.distributed.client.Client`; every method works in both
the blocking and the ``asynchronous=True`` modes through the client's ``_sync``.

    >>> client.run(os.getpid)                     # doctest: +SKIP
    {'tcp://127.0.0.1:40123': 4242, 'tcp://127.0.0.1:40125': 4243}
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Hashable

from graphengine.distributed.future import Future
from graphengine.distributed.nesting import collect_futures

__all__ = ["ClusterOps"]


class ClusterOps:
    """Cluster-wide operations of a Client (see the module docstring)."""

    def run(self, function: Callable, *args: Any, workers: Iterable[str] | None = None,
            **kwargs: Any) -> Any:
        """Call ``function(*args, **kwargs)`` on every worker (or ``workers``); return
        ``{worker address: result}``."""
        return self._sync(self._run, function, args, kwargs, workers)

    async def _run(self, function: Callable, args: tuple, kwargs: dict, workers: Any) -> dict:
        nthreads = await self._pool(self.scheduler_address).ncores()
        targets = list(nthreads) if workers is None else list(workers)
        results = await asyncio.gather(*(self._pool(w).run(function=function, args=args,
                                                           kwargs=kwargs) for w in targets))
        return dict(zip(targets, results))

    def run_on_scheduler(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call ``function(*args, **kwargs)`` in the scheduler process and return the
        result; a parameter named ``scheduler`` receives the Scheduler object."""
        return self._sync(self._rpc_scheduler, "run", function=function, args=args,
                          kwargs=kwargs)

    def upload_file(self, path: str) -> Any:
        """Send a ``.py`` file (or ``.zip``/``.egg``) to every worker and make it
        importable there; returns ``{worker: module name}``."""
        import os

        with open(path, "rb") as f:
            content = f.read()
        return self.run(_install_file, os.path.basename(path), content)

    def who_has(self, futures: Any = None) -> dict:
        """``{key: [worker addresses]}`` for these futures (default: all of this client's)."""
        flat: dict[Hashable, Future] = {}
        if futures is not None:
            collect_futures(futures, flat)
        keys = list(flat) if futures is not None else list(self._states)
        return self._sync(self._rpc_scheduler, "who_has", keys=keys)

    def has_what(self) -> dict:
        """``{worker address: [keys]}`` for every worker."""
        return self._sync(self._rpc_scheduler, "has_what")

    def nthreads(self) -> dict:
        """``{worker address: threads}``."""
        return self._sync(self._rpc_scheduler, "ncores")

    ncores = nthreads

    def scheduler_info(self) -> dict:
        """Workers and their load as the scheduler sees them."""
        return self._sync(self._rpc_scheduler, "scheduler_info")

    def restart(self, timeout: float = 30.0) -> Any:
        """Forget all tasks on the cluster (every Future is cancelled), free worker
        memory, and restart worker processes that run under a nanny. Returns the number
        of workers afterwards."""
        return self._sync(self._rpc_scheduler, "restart", timeout=timeout)

    def retire_workers(self, workers: Iterable[str]) -> Any:
        """Close ``workers`` gracefully; their unique results are recomputed elsewhere if
        needed. Returns the addresses retired."""
        return self._sync(self._rpc_scheduler, "retire_workers", workers=list(workers))


    @property
    def dashboard_link(self) -> str | None:
        """The URL of the scheduler's dashboard (its /status page), or None when the
        scheduler serves none."""
        return getattr(self, "_dashboard_link", None)

    def get_task_stream(self, start: float | None = None, stop: float | None = None,
                        count: int | None = None) -> Any:
        """Task-stream records the scheduler keeps: one dict per task run (``action``
        ``"compute"`` or ``"erred"``), transfer and spill (``"transfer"``,
        ``"disk-write"``, ``"disk-read"``), with ``start``/``stop`` (wall-clock seconds),
        ``key``, ``prefix``, ``worker``, ``thread``, ``nbytes``, ``source``; only those
        overlapping ``[start, stop]``, only the last ``count`` when given.
        Task runs arrive with their results; transfers and spills the workers have not
        reported yet are asked for first."""
        return self._sync(self._get_task_stream, start, stop, count)

    async def _get_task_stream(self, start: Any, stop: Any, count: Any) -> list:
        await self._rpc_scheduler("flush_activity")
        return await self._rpc_scheduler("get_task_stream", start=start, stop=stop,
                                         count=count)

    def profile(self, start: float | None = None, stop: float | None = None,
                key: str | None = None, workers: Iterable[str] | None = None,
                filename: str | None = None) -> Any:
        """The cluster's statistical profile as a call tree (what /profile draws).

        Parameters
        ----------
        start, stop : float, optional
            Wall-clock window (``time.time()`` seconds) of the samples.
        key : str, optional
            Only samples of tasks with this key prefix (e.g. ``"sum"``).
        workers : list of str, optional
            Only samples from these workers.
        filename : str, optional
            Also write the flame graph as a standalone HTML file.

        Returns
        -------
        dict
            ``{"identifier", "description", "count", "children": {id: node}}``.
        """
        return self._sync(self._profile, start, stop, key, workers, filename)

    async def _profile(self, start: Any, stop: Any, key: Any, workers: Any,
                       filename: str | None) -> dict:
        from graphengine.worker.profile import unflatten

        await self._rpc_scheduler("flush_activity")
        flat = await self._rpc_scheduler("profile", start=start, stop=stop, prefix=key,
                                         workers=None if workers is None else list(workers))
        tree = unflatten(flat)
        if filename is not None:
            from graphengine.dashboard.report import write_profile_html

            write_profile_html(tree, filename)
        return tree

    def get_executor(self, **kwargs: Any) -> Any:
        """A :class:`concurrent.futures.Executor` that submits to this client."""
        from graphengine.distributed.executor import ClientExecutor

        return ClientExecutor(self, **kwargs)




def _install_file(filename: str, content: bytes) -> str:
    """Runs on a worker: write the file to its directory, put it on sys.path, (re)import."""
    import importlib
    import os
    import sys
    import tempfile

    from graphengine.worker.server import get_worker

    directory = os.path.join(tempfile.gettempdir(), "graphengine-uploads",
                             get_worker().address.replace("/", "_").replace(":", "_"))
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, filename)
    with open(path, "wb") as f:
        f.write(content)
    name, ext = os.path.splitext(filename)
    entry = path if ext in (".zip", ".egg") else directory
    if entry not in sys.path:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    if ext == ".py":
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)
    return name
