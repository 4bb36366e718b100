"""A :class:`concurrent.futures.Executor` backed by a Client, for code written against the
standard library's executor interface.

    >>> from graphengine.distributed import Client
    >>> with Client(processes=False, n_workers=1) as client:
    ...     with client.get_executor() as ex:
    ...         list(ex.map(abs, [-1, -2]))
    [1, 2]
"""
from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphengine.distributed.client import Client

__all__ = ["ClientExecutor"]


class ClientExecutor(cf.Executor):
    """Submit to a Client; returns real :class:`concurrent.futures.Future` objects.

    ``**submit_kwargs`` (``workers=``, ``resources=``, ``retries=``, ``pure=``…) apply to
    every task; ``pure`` defaults to False as in ``concurrent.futures``.
    """

    def __init__(self, client: "Client", **submit_kwargs: Any):
        self.client = client
        self.submit_kwargs = {"pure": False, **submit_kwargs}
        self._futures: set = set()
        self._shutdown = False

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        if self._shutdown:
            raise RuntimeError("cannot submit after shutdown")
        remote = self.client.submit(fn, *args, **self.submit_kwargs, **kwargs)
        local: cf.Future = cf.Future()
        local.set_running_or_notify_cancel()
        self._futures.add(remote)

        def copy(f: Any) -> None:
            self._futures.discard(f)
            try:
                local.set_result(f.result())
            except BaseException as e:  # noqa: BLE001 - handed to the caller's future
                local.set_exception(e)

        remote.add_done_callback(copy)
        return local

    def map(self, fn: Callable, *iterables: Iterable, timeout: float | None = None,
            chunksize: int = 1) -> Iterator:
        futures = [self.submit(fn, *args) for args in zip(*iterables)]

        def results() -> Iterator:
            for f in futures:
                yield f.result(timeout)

        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        if cancel_futures:
            self.client.cancel(list(self._futures))
        elif wait:
            for f in list(self._futures):
                f.exception()  # waits
