"""Futures for results that live on the cluster, with the ``concurrent.futures`` API.

A :class:`Future` names one key on the scheduler. Every Future object of a key shares one
:class:`FutureState`; the client counts the objects and tells the scheduler to release the
key when the last one is garbage-collected.

    >>> from graphengine.distributed import Client          # doctest: +SKIP
    >>> with Client(processes=False) as client:              # doctest: +SKIP
    ...     f = client.submit(pow, 2, 10)
    ...     f.result(), f.done(), f.status
    (1024, True, 'finished')
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FuturesTimeoutError
from typing import TYPE_CHECKING, Any, Hashable

from graphengine.errors import RemoteTraceback

if TYPE_CHECKING:
    from graphengine.distributed.client import Client

__all__ = ["Future", "FutureState", "as_completed", "wait", "futures_of", "fire_and_forget",
           "CancelledError", "FIRST_COMPLETED", "ALL_COMPLETED", "FIRST_EXCEPTION"]

FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED = ("FIRST_COMPLETED", "FIRST_EXCEPTION",
                                                   "ALL_COMPLETED")


class FutureState:
    """Status of one key as this client knows it: ``pending``, ``finished``, ``error``,
    ``cancelled`` or ``lost``. Updated only on the client's event loop."""

    __slots__ = ("status", "exception", "traceback", "done_event", "_async_event", "callbacks")

    def __init__(self) -> None:
        self.status = "pending"
        self.exception: BaseException | None = None
        self.traceback: str | None = None
        self.done_event = threading.Event()
        self._async_event: asyncio.Event | None = None
        self.callbacks: list[Callable[[], None]] = []

    def async_event(self) -> asyncio.Event:
        if self._async_event is None:
            self._async_event = asyncio.Event()
            if self.done_event.is_set():
                self._async_event.set()
        return self._async_event

    def _finish(self, status: str) -> None:
        self.status = status
        self.done_event.set()
        if self._async_event is not None:
            self._async_event.set()
        callbacks, self.callbacks = self.callbacks, []
        for cb in callbacks:
            cb()

    def finish(self) -> None:
        self.exception = self.traceback = None
        self._finish("finished")

    def fail(self, exception: BaseException, traceback: str | None) -> None:
        self.exception, self.traceback = exception, traceback
        self._finish("error")

    def cancel(self) -> None:
        self.exception = CancelledError()
        self._finish("cancelled")

    def reset(self) -> None:
        """Pending again (a retried key)."""
        self.status = "pending"
        self.exception = self.traceback = None
        self.done_event.clear()
        if self._async_event is not None:
            self._async_event.clear()


def raise_remote(exception: BaseException, traceback: str | None) -> None:
    """Re-raise a task's exception with its original type; its remote traceback text is
    attached as ``__cause__`` so it prints first."""
    if traceback:
        raise exception.with_traceback(None) from RemoteTraceback(traceback)
    raise exception.with_traceback(None)


class Future:
    """A result computed (or being computed) on the cluster.

    Mirrors :class:`concurrent.futures.Future`: :meth:`result`, :meth:`exception`,
    :meth:`done`, :meth:`cancel`, :meth:`cancelled`, :meth:`add_done_callback`, plus
    :meth:`traceback`, :attr:`status` and :attr:`key`. In an ``asynchronous`` client,
    ``await future`` gives the result. Futures can be passed as arguments of other
    submits; the task then receives the value.
    """

    __slots__ = ("key", "client", "_state", "__weakref__")

    def __init__(self, key: Hashable, client: "Client", _register: bool = True):
        self.key = key
        self.client = client
        self._state = client._future_state(key, register=_register)

    @property
    def status(self) -> str:
        return self._state.status

    def done(self) -> bool:
        """True once the result is ready, failed or the future was cancelled."""
        return self._state.done_event.is_set()

    def cancelled(self) -> bool:
        return self._state.status == "cancelled"

    def _wait(self, timeout: float | None) -> None:
        if not self._state.done_event.wait(timeout):
            raise FuturesTimeoutError(f"{self.key!r} did not finish within {timeout} s")

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the value and return it (fetched from the worker that holds it).

        Raises
        ------
        Exception
            The task's own exception, with the remote traceback as its ``__cause__``.
        concurrent.futures.TimeoutError
            If not done within ``timeout`` seconds.
        concurrent.futures.CancelledError
            If the future was cancelled.
        """
        if self.client.asynchronous:
            return self._result_async()
        self._wait(timeout)
        return self.client.gather(self, timeout=timeout)

    async def _result_async(self) -> Any:
        await self._state.async_event().wait()
        (value,) = await self.client._gather_flat([self])
        return value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's exception once done (``None`` if it succeeded)."""
        self._wait(timeout)
        if self._state.status == "cancelled":
            raise CancelledError(f"{self.key!r} was cancelled")
        return self._state.exception

    def traceback(self, timeout: float | None = None) -> str | None:
        """The remote traceback text of a failed task (``None`` if it succeeded)."""
        self._wait(timeout)
        return self._state.traceback

    def cancel(self) -> bool:
        """Ask the scheduler to forget this key; pending work stops. Returns True."""
        self.client.cancel([self])
        return True

    def retry(self) -> None:
        """Run a failed task (and the failed tasks it depended on) again."""
        self.client.retry([self])

    def release(self) -> None:
        """Drop this future now instead of at garbage collection."""
        if self.client is not None:
            self.client._release_ref(self.key)
            self.client = None  # type: ignore[assignment]

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call ``fn(future)`` once done (at once if already done), off the event loop."""
        def call() -> None:
            self.client._run_callback(fn, self)

        if self.done():
            call()
        else:
            self.client._on_loop(self._state.callbacks.append, call)

    def __await__(self):
        return self._result_async().__await__()

    def __del__(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client._release_ref(self.key)
            except Exception:  # interpreter shutdown: nothing left to tell
                pass

    def __reduce__(self):
        raise TypeError(f"Future {self.key!r} cannot be pickled; pass it as an argument of "
                        "client.submit instead, which sends the value")

    def __repr__(self) -> str:
        return f"<Future: {self.status}, key: {self.key!r}>"

    def _repr_html_(self) -> str:
        return f"<b>Future:</b> {self.key!s} <b>status:</b> {self.status}"


def _flatten_futures(futures: Iterable[Future]) -> list[Future]:
    return [f for f in futures if isinstance(f, Future)]


def futures_of(obj: Any) -> list[Future]:
    """The futures in ``obj``: a Future, a persisted collection, or containers of them.

    Raises
    ------
    ValueError
        For a collection that was not persisted on a cluster.
    TypeError
        For anything else; the message names its type.
    """
    from graphengine.collections.base import is_collection

    if isinstance(obj, Future):
        return [obj]
    if is_collection(obj):
        futures = [v for v in obj.__graphengine_graph__().values() if isinstance(v, Future)]
        if not futures:
            raise ValueError("expected futures or a persisted collection; call "
                             "client.persist(collection) first")
        return futures
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple, set)):
        return [f for item in obj for f in futures_of(item)]
    raise TypeError(f"expected futures or persisted collections, not {type(obj).__name__}")


def wait(fs: Any, timeout: float | None = None,
         return_when: str = ALL_COMPLETED) -> tuple[set[Future], set[Future]]:
    """Wait like :func:`concurrent.futures.wait`; returns ``(done, not_done)`` sets.

    ``fs`` may also be one Future or a persisted collection (its futures are waited on).
    """
    fs = futures_of(fs)
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise ValueError(f"return_when must be one of FIRST_COMPLETED, FIRST_EXCEPTION, "
                         f"ALL_COMPLETED; got {return_when!r}")
    ready = threading.Condition()

    def poke(_: Future) -> None:
        with ready:
            ready.notify_all()

    for f in fs:
        f.add_done_callback(poke)

    def finished() -> bool:
        done = [f for f in fs if f.done()]
        if return_when == ALL_COMPLETED:
            return len(done) == len(fs)
        if return_when == FIRST_COMPLETED:
            return bool(done) or not fs
        return len(done) == len(fs) or any(f.status == "error" for f in done)

    with ready:
        ok = ready.wait_for(finished, timeout)
    if not ok and return_when == ALL_COMPLETED and timeout is not None:
        raise FuturesTimeoutError(f"{sum(not f.done() for f in fs)} of {len(fs)} futures "
                                  f"did not finish within {timeout} s")
    done = {f for f in fs if f.done()}
    return done, set(fs) - done


class as_completed(Iterator):
    """Iterate over futures in the order they finish.

    Parameters
    ----------
    futures : iterable of Future
    with_results : bool
        Yield ``(future, result)`` pairs instead of futures.
    raise_errors : bool
        With ``with_results``, raise a failed task's exception (else yield it).
    """

    def __init__(self, futures: Iterable[Future] = (), with_results: bool = False,
                 raise_errors: bool = True, timeout: float | None = None):
        self.with_results = with_results
        self.raise_errors = raise_errors
        self.timeout = timeout
        self._cond = threading.Condition()
        self._done: list[Future] = []
        self._pending: set[int] = set()
        for f in futures:
            self.add(f)

    def add(self, future: Future) -> None:
        """Add one more future to iterate over."""
        with self._cond:
            self._pending.add(id(future))

        def finished(f: Future) -> None:
            with self._cond:
                self._done.append(f)
                self._cond.notify_all()

        future.add_done_callback(finished)

    def update(self, futures: Iterable[Future]) -> None:
        for f in futures:
            self.add(f)

    def count(self) -> int:
        with self._cond:
            return len(self._pending)

    def __next__(self) -> Any:
        with self._cond:
            if not self._pending:
                raise StopIteration
            if not self._cond.wait_for(lambda: bool(self._done), self.timeout):
                raise FuturesTimeoutError(f"{len(self._pending)} futures did not finish "
                                          f"within {self.timeout} s")
            f = self._done.pop(0)
            self._pending.discard(id(f))
        if not self.with_results:
            return f
        if f.status == "error" and not self.raise_errors:
            return f, f.exception()
        return f, f.result()

    def __iter__(self) -> "as_completed":
        return self


def fire_and_forget(futures: Future | Iterable[Future]) -> None:
    """Keep running these tasks even after every Future for them is released."""
    fs = [futures] if isinstance(futures, Future) else list(futures)
    for f in fs:
        f.client._fire_and_forget(f.key)
