"""The processes scheduler: tasks run in a pool of worker processes.

For pure-Python work that holds the GIL. Tasks and their inputs travel to the workers
with cloudpickle (so lambdas and closures work); results come back the same way. An
exception keeps its type, with the worker's traceback attached as ``__cause__``.

    >>> from graphengine.graph.spec import Task
    >>> get_processes({"x": Task("x", sum, [1, 2])}, "x")  # doctest: +SKIP
    3
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import cloudpickle

from graphengine.errors import RemoteTraceback, TaskSerializationError
from graphengine.graph.spec import Key, Task
from graphengine.local.batch import run_batch

__all__ = ["ProcessPool", "get_processes", "default_process_pool"]


def _run_pickled_batch(payload: bytes) -> bytes:
    """Worker-process side: unpickle a batch, run it, pickle the outcome."""
    batch, inputs = cloudpickle.loads(payload)
    done, error = run_batch(batch, inputs, None)
    if error is not None:
        key, exc = error
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            exc_bytes = cloudpickle.dumps(exc)
            pickle.loads(exc_bytes)  # an exception that pickles but won't unpickle is no use
        except Exception:  # noqa: BLE001 - fall back to a description of it
            exc_bytes = None
        error = (key, exc_bytes, f"{type(exc).__name__}: {exc}", tb)
    try:
        return cloudpickle.dumps((done, error))
    except Exception as exc:  # noqa: BLE001 - a result that cannot travel back
        key = done[-1][0] if done else None
        return cloudpickle.dumps(([], (key, None, f"result of task {key!r} could not be "
                                       f"pickled: {exc}", "")))


class ProcessPool:
    """A pool of worker processes (``spawn`` start method: safe with threads)."""

    def __init__(self, nworkers: int | None = None, start_method: str = "spawn"):
        self.nworkers = nworkers or os.cpu_count() or 1
        self.closed = False
        ctx = multiprocessing.get_context(start_method)
        self._executor = ProcessPoolExecutor(self.nworkers, mp_context=ctx)

    def submit(self, batch: list, data: Mapping, computation: Any) -> None:
        if computation.results is None:
            computation.results = queue.SimpleQueue()
        inputs = {}
        for _, task in batch:
            if type(task) is Task:
                for d in task.dependencies:
                    inputs[d] = data[d]
        payload = _dumps_batch(batch, inputs)
        results = computation.results
        future = self._executor.submit(_run_pickled_batch, payload)
        future.add_done_callback(lambda f: results.put(f))

    def wait(self, computation: Any) -> list:
        results = computation.results
        futures = [results.get()]
        while not results.empty():
            futures.append(results.get())
        return [_outcome(f) for f in futures]

    def close(self) -> None:
        self.closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    def abandon(self) -> None:
        # A running task cannot be cancelled, and the interpreter joins the workers at
        # exit: without this, Ctrl-C would wait for every running task to finish.
        self.terminate()

    def terminate(self) -> None:
        """Stop the worker processes now, abandoning whatever they are running."""
        self.closed = True
        processes = list((self._executor._processes or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


def _dumps_batch(batch: list, inputs: dict) -> bytes:
    try:
        return cloudpickle.dumps((batch, inputs))
    except Exception:  # noqa: BLE001 - find which task is at fault, then say so
        for key, task in batch:
            try:
                cloudpickle.dumps(task)
            except Exception as exc:  # noqa: BLE001
                raise TaskSerializationError(
                    key, f"{type(exc).__name__}: {exc} (the processes scheduler pickles "
                    "each task; use the threads scheduler for unpicklable functions)"
                ) from exc
        for key, value in inputs.items():
            try:
                cloudpickle.dumps(value)
            except Exception as exc:  # noqa: BLE001
                raise TaskSerializationError(key, f"its result cannot be pickled: {exc}") from exc
        raise


def _outcome(future: Any) -> tuple:
    exc = future.exception()
    if exc is not None:  # the worker process itself died or the pool broke
        raise exc
    done, error = cloudpickle.loads(future.result())
    if error is not None:
        key, exc_bytes, text, tb = error
        if exc_bytes is not None:
            exc = cloudpickle.loads(exc_bytes)
        else:
            exc = RuntimeError(f"task {key!r} failed: {text}")
        exc.__cause__ = RemoteTraceback(tb) if tb else None
        error = (key, exc)
    return done, error


_default: dict[int, ProcessPool] = {}
_lock = threading.Lock()


def default_process_pool(nworkers: int | None = None) -> ProcessPool:
    """The process-wide pool of ``nworkers`` processes (started on first use)."""
    n = nworkers or os.cpu_count() or 1
    with _lock:
        pool = _default.get(n)
        if pool is None or pool.closed or pool._executor._broken:
            pool = _default[n] = ProcessPool(n)
        return pool


def get_processes(graph: Mapping[Key, Any], keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` (a key, or nested lists of keys) of ``graph`` in worker processes."""
    from graphengine.local.get import get
    return get(graph, keys, scheduler="processes", **kwargs)
