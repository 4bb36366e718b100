"""``get``: compute keys of a graph with a named local scheduler.

    >>> from graphengine.graph.spec import Task, Ref
    >>> g = {"a": 2, "b": Task("b", pow, Ref("a"), 10)}
    >>> get(g, ["b", "a"], scheduler="sync")
    [1024, 2]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphengine import config
from graphengine.graph.cull import cull
from graphengine.graph.spec import Key, iskey
from graphengine.local.callbacks import Callback
from graphengine.local.loop import execute

__all__ = ["get", "SCHEDULER_ALIASES", "normalize_scheduler_name", "flatten_keys", "pack_results"]

SCHEDULER_ALIASES = {
    "sync": "sync", "synchronous": "sync", "single-threaded": "sync",
    "threads": "threads", "threading": "threads",
    "processes": "processes", "multiprocessing": "processes",
}


def normalize_scheduler_name(name: str) -> str:
    """Canonical local scheduler name for ``name`` or an alias of it.

    Raises
    ------
    ValueError
        Naming the unknown scheduler and the known ones.
    """
    try:
        return SCHEDULER_ALIASES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown scheduler {name!r}; expected one of {sorted(SCHEDULER_ALIASES)}, "
            "a get function, or a Client"
        ) from None


def flatten_keys(keys: Any, out: list | None = None) -> list:
    """All keys in ``keys`` (a key, or nested lists of keys), in order."""
    if out is None:
        out = []
    if iskey(keys):
        out.append(keys)
    elif isinstance(keys, list):
        for k in keys:
            flatten_keys(k, out)
    else:
        raise TypeError(f"{keys!r} is neither a key nor a list of keys")
    return out


def pack_results(keys: Any, results: Mapping) -> Any:
    """Arrange ``results`` in the nested-list shape of ``keys``."""
    if isinstance(keys, list):
        return [pack_results(k, results) for k in keys]
    return results[keys]


def get(graph: Mapping[Key, Any], keys: Any, scheduler: str | None = None,
        num_workers: int | None = None, callbacks: Sequence[Callback] = (),
        pool: Any = None, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``graph`` on a local scheduler.

    Parameters
    ----------
    graph : mapping
        ``key -> Task | value``.
    keys : key or nested lists of keys
        What to return, in that shape.
    scheduler : {"threads", "sync", "processes"}, optional
        Defaults to the ``scheduler`` configuration value.
    num_workers : int, optional
        Threads or processes; defaults to the number of cores.
    callbacks : sequence of Callback
        Observers for this computation only.
    pool : optional
        A pool object to run on instead of the scheduler's default pool.

    Returns
    -------
    The results, nested like ``keys``.
    """
    flat = flatten_keys(keys)
    culled, _ = cull(graph, flat)
    if pool is None:
        pool = make_pool(scheduler, num_workers)
    results = execute(culled, flat, pool, callbacks=callbacks)
    return pack_results(keys, results)


def make_pool(scheduler: str | None = None, num_workers: int | None = None) -> Any:
    """The pool for a scheduler name (``None``: the configured default)."""
    from graphengine.local.processes import default_process_pool
    from graphengine.local.sync import SyncPool
    from graphengine.local.threads import default_thread_pool, in_pool_thread

    name = normalize_scheduler_name(scheduler or config.get("scheduler"))
    num_workers = num_workers or config.get("num-workers")
    if name == "sync" or (name == "threads" and in_pool_thread()):
        # A task that computes inside a pool thread runs its graph inline: waiting on the
        # same pool from one of its own threads could deadlock.
        return SyncPool()
    if name == "threads":
        return default_thread_pool(num_workers)
    return default_process_pool(num_workers)
