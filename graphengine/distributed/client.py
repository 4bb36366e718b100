"""The client: submit functions and graphs to a cluster, get futures, gather results.

    >>> from graphengine.distributed import Client
    >>> with Client(processes=False, n_workers=2, threads_per_worker=1) as client:
    ...     total = client.submit(sum, [1, 2, 3])       # runs on a worker
    ...     scaled = client.map(lambda x, t: x * t, [1, 2], t=total)  # a future as argument
    ...     client.gather(scaled)
    [6, 12]

Creating a Client makes it the default for ``.compute()`` of every collection until it
closes. With ``asynchronous=True`` the same methods are awaitable inside a running loop.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import Any, Hashable

from graphengine.collections import base as collections_base
from graphengine.comm import BatchedStream, ConnectionPool, Security, connect
from graphengine.comm.pickled_function import pickled_by_value, pickled_function
from graphengine.errors import CommClosedError
from graphengine.graph.spec import Ref, Task
from graphengine.distributed.cluster_ops import ClusterOps
from graphengine.distributed.future import Future, FutureState, raise_remote
from graphengine.distributed.graph_submission import update_graph_message
from graphengine.distributed.loop import LoopRunner
from graphengine.distributed.nesting import (SKIPPED, collect_futures, fill_futures,
                                             futures_to_refs, keys_to_refs, map_keys)
from graphengine.graph.tokenize import tokenize
from graphengine.local.get import flatten_keys

__all__ = ["Client", "default_client"]

logger = logging.getLogger(__name__)


def _identity(x: Any) -> Any:
    return x


def default_client() -> "Client":
    """The Client that ``.compute()`` uses now.

    Raises
    ------
    ValueError
        If no Client is active.
    """
    clients = [c for c in collections_base._default_clients if isinstance(c, Client)]
    if not clients:
        raise ValueError("no Client is active; create one with Client(...)")
    return clients[-1]


class Client(ClusterOps):
    """Connect to a scheduler and run work on its cluster.

    Parameters
    ----------
    address : str, LocalCluster or None
        A scheduler address (``"tcp://host:8786"``), a cluster object, or ``None`` to
        start a :class:`~graphengine.distributed.cluster.LocalCluster` with
        ``**cluster_kwargs``.
    scheduler_file : str, optional
        Read the address from the JSON file ``graphengine-scheduler --scheduler-file``
        wrote (waiting up to ``timeout`` for it to appear).
    asynchronous : bool
        Use inside a running event loop: ``client = await Client(..., asynchronous=True)``
        and ``await`` the methods.
    timeout : float, optional
        Seconds to keep trying to reach the scheduler (default ``comm.timeouts.connect``).
    security : Security, optional
        Credentials for TLS / token authentication.
    set_as_default : bool
        Make this client the default for ``.compute()`` of collections.
    """

    def __init__(self, address: Any = None, *, scheduler_file: str | None = None,
                 asynchronous: bool = False, timeout: float | None = None,
                 security: Security | None = None, set_as_default: bool = True,
                 name: str | None = None, **cluster_kwargs: Any):
        self.asynchronous = asynchronous
        self.id = f"client-{name or ''}{'-' if name else ''}{uuid.uuid4().hex[:12]}"
        self.security = security
        self.timeout = timeout
        self.cluster = None
        self._own_cluster = False
        if scheduler_file is not None:
            if address is not None:
                raise TypeError("give either an address or a scheduler_file, not both")
            from graphengine.cli_options import read_scheduler_file

            address = read_scheduler_file(scheduler_file, timeout or 10.0)
        if address is None:
            from graphengine.distributed.cluster import LocalCluster

            self.cluster = LocalCluster(asynchronous=asynchronous, security=security,
                                        **cluster_kwargs)
            self._own_cluster = True
        elif hasattr(address, "scheduler_address"):
            if cluster_kwargs:
                raise TypeError(f"unexpected arguments {sorted(cluster_kwargs)} with a cluster")
            self.cluster = address
        elif isinstance(address, str):
            if cluster_kwargs:
                raise TypeError(f"unexpected arguments {sorted(cluster_kwargs)}: they only "
                                "apply when the Client starts its own LocalCluster")
        else:
            raise TypeError(f"address must be a scheduler address, a cluster or None, "
                            f"not {type(address).__name__}")
        self._address = address if isinstance(address, str) else None
        self._set_as_default = set_as_default
        self._states: dict[Hashable, FutureState] = {}
        self._refcount: Counter = Counter()
        self._lock = threading.Lock()
        # Calls handed to the loop from other threads, run in order by _run_handed_calls.
        self._handed_calls: deque = deque()
        self._handed_calls_scheduled = False
        self._stream: BatchedStream | None = None
        self._pool: ConnectionPool | None = None
        self._reader: asyncio.Task | None = None
        self._callbacks = ThreadPoolExecutor(1, thread_name_prefix="graphengine-callbacks")
        self._loop: asyncio.AbstractEventLoop | None = None
        self.status = "newly-created"
        self._runner: LoopRunner | None = None
        self._shared_runner = False
        if not asynchronous:
            cluster_runner = getattr(self.cluster, "_runner", None)
            if cluster_runner is not None and not self._own_cluster:
                # An in-process cluster: run on its loop. A loop thread of our own would
                # fight the scheduler's for the GIL on every message (each socket call
                # hands it over), which made a submit+result round trip ~1.6x slower.
                self._runner = cluster_runner
                self._shared_runner = True
            else:
                self._runner = LoopRunner("graphengine-client")
            try:
                self._runner.run_sync(self._start)
            except BaseException:
                if not self._shared_runner:
                    self._runner.stop()
                if self._own_cluster:
                    self.cluster.close()
                raise

    # --- lifecycle --------------------------------------------------------------------

    @property
    def scheduler_address(self) -> str:
        return self._address if self._address is not None else self.cluster.scheduler_address

    async def _start(self) -> "Client":
        if self.status == "running":
            return self
        if self._own_cluster and self.asynchronous:
            await self.cluster
        self._loop = asyncio.get_running_loop()
        self._pool = ConnectionPool(security=self.security, connect_timeout=self.timeout)
        comm = await connect(self.scheduler_address, self.timeout, security=self.security)
        await comm.write({"op": "register-client", "reply": False, "client_id": self.id})
        response = await comm.read()
        if response.get("status") != "OK":
            comm.abort()
            raise ValueError(f"scheduler {self.scheduler_address} refused the client: "
                             f"{response.get('message')}")
        self._dashboard_link = response.get("dashboard_link")
        self._stream = BatchedStream(comm)
        self._reader = asyncio.ensure_future(self._read_stream(comm))
        self.status = "running"
        if self._set_as_default:
            collections_base.set_default_client(self)
        return self

    def __await__(self):
        return self._start().__await__()

    def close(self, timeout: float | None = 10) -> Any:
        """Release everything, disconnect, and stop the LocalCluster this client started."""
        if self.asynchronous:
            return self._close()
        if self.status == "closed":
            return None
        try:
            if not self._runner.loop.is_closed():
                self._runner.run_sync(self._close, timeout=timeout)
            else:  # the cluster whose loop we shared has closed already
                self.status = "closed"
                collections_base.set_default_client(self, active=False)
        finally:
            if not self._shared_runner:
                self._runner.stop()
            self._callbacks.shutdown(wait=False)
            if self._own_cluster:
                self.cluster.close()
        return None

    async def _close(self) -> None:
        if self.status == "closed":
            return
        self.status = "closed"
        collections_base.set_default_client(self, active=False)
        if self._stream is not None:
            self._stream.send({"op": "close"})
            await self._stream.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._pool is not None:
            await self._pool.close()
        for state in self._states.values():
            if not state.done_event.is_set():
                state.cancel()
        if self._own_cluster and self.asynchronous:
            await self.cluster.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Client":
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    def __repr__(self) -> str:
        return f"<Client {self.id!r} scheduler={self._safe_address()!r} status={self.status}>"

    def _repr_html_(self) -> str:
        from graphengine.distributed.cluster import _link_html

        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                       for k, v in [("Scheduler", self._safe_address()),
                                    ("Status", self.status),
                                    ("Dashboard", _link_html(self.dashboard_link))])
        return f"<div><b>Client</b> {self.id}<table>{rows}</table></div>"

    def _safe_address(self) -> str | None:
        try:
            return self.scheduler_address
        except Exception:
            return None

    # --- the loop, the stream, the reference counts ----------------------------------

    def _sync(self, func: Callable, *args: Any, timeout: float | None = None, **kwargs: Any
              ) -> Any:
        if self.asynchronous:
            return func(*args, **kwargs)
        if self.status == "closed":
            raise RuntimeError(f"{self!r} is closed")
        return self._runner.run_sync(func, *args, timeout=timeout, **kwargs)

    def _on_loop(self, fn: Callable, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
            return
        # A burst of submits or releases from a user thread wakes the loop once, not once
        # per call; the calls still run in the order they were made.
        self._handed_calls.append((fn, args))
        if not self._handed_calls_scheduled:
            self._handed_calls_scheduled = True
            loop.call_soon_threadsafe(self._run_handed_calls)

    def _run_handed_calls(self) -> None:
        # Reset before draining: a call appended from now on schedules its own run.
        self._handed_calls_scheduled = False
        calls = self._handed_calls
        for _ in range(len(calls)):
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - one failed call must not drop the rest
                logger.exception("%r failed on the client's loop", fn)

    def _send(self, msg: dict) -> None:
        if self._stream is not None and not self._stream.closed():
            self._stream.send(msg)

    def _future_state(self, key: Hashable, register: bool = True) -> FutureState:
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = FutureState()
            if register:
                self._refcount[key] += 1
            return state

    def _release_ref(self, key: Hashable) -> None:
        with self._lock:
            if self._refcount.get(key, 0) <= 0:
                return
            self._refcount[key] -= 1
            if self._refcount[key]:
                return
            del self._refcount[key]
            self._states.pop(key, None)
        if self.status == "running":
            self._on_loop(self._send, {"op": "release-keys", "keys": [key]})

    def _run_callback(self, fn: Callable, future: Future) -> None:
        def call() -> None:
            try:
                fn(future)
            except Exception:
                logger.exception("done-callback %r of %r failed", fn, future)

        try:
            self._callbacks.submit(call)
        except RuntimeError:  # client closing: run it here rather than drop it
            call()

    async def _read_stream(self, comm: Any) -> None:
        while True:
            try:
                batch = await comm.read()
            except (CommClosedError, OSError):
                break
            for msg in batch if type(batch) is list else [batch]:
                op = msg.get("op")
                state = self._states.get(msg.get("key"))
                if op == "key-in-memory":
                    if state is not None:
                        state.finish()
                elif op == "task-erred":
                    if state is not None:
                        state.fail(msg.get("exception"), msg.get("traceback"))
                elif op == "lost-data":
                    if state is not None and state.status == "finished":
                        state.reset()
                elif op == "restart":
                    for st in list(self._states.values()):
                        if st.status != "cancelled":
                            st.cancel()
                elif op == "close":
                    await self._scheduler_gone()
                    return
        if self.status == "running":
            await self._scheduler_gone()

    async def _scheduler_gone(self) -> None:
        logger.warning("%r lost its connection to the scheduler", self)
        for key, state in list(self._states.items()):
            if not state.done_event.is_set():
                state.fail(CancelledError(f"{key!r}: the scheduler closed the connection"),
                           None)

    # --- submitting -------------------------------------------------------------------

    def submit(self, func: Callable, *args: Any, key: Hashable | None = None,
               pure: bool = True, workers: Iterable[str] | str | None = None,
               resources: Mapping[str, float] | None = None, retries: int = 0,
               priority: int = 0, allow_other_workers: bool = False, **kwargs: Any
               ) -> Future:
        """Run ``func(*args, **kwargs)`` on the cluster; return a Future for the result.

        Futures among the arguments (also inside lists, tuples and dicts) are replaced by
        their values on the worker. ``pure=True`` names the task by a hash of the function
        and arguments, so equal submissions share one result.
        """
        if not callable(func):
            raise TypeError(f"first argument must be callable, got {type(func).__name__}")
        if key is None:
            name = getattr(func, "__name__", type(func).__name__)
            key = f"{name}-{tokenize(func, args, kwargs) if pure else uuid.uuid4().hex}"
        task = Task(key, _function_to_ship(func, 1), *futures_to_refs(args), **futures_to_refs(kwargs))
        (future,) = self._submit_tasks({key: task}, [key], workers, resources, retries,
                                       priority, allow_other_workers)
        return future

    def map(self, func: Callable, *iterables: Iterable, key: Iterable | str | None = None,
            pure: bool = True, workers: Iterable[str] | str | None = None,
            resources: Mapping[str, float] | None = None, retries: int = 0,
            priority: int = 0, allow_other_workers: bool = False, **kwargs: Any
            ) -> list[Future]:
        """``submit`` over zipped ``iterables``, in one message to the scheduler."""
        if not callable(func):
            raise TypeError(f"first argument must be callable, got {type(func).__name__}")
        if not iterables:
            raise TypeError("map needs at least one iterable")
        arg_tuples = list(zip(*iterables))
        name = getattr(func, "__name__", type(func).__name__)
        if isinstance(key, (list, tuple)):
            keys = list(key)
            if len(keys) != len(arg_tuples):
                raise ValueError(f"{len(keys)} keys given for {len(arg_tuples)} tasks")
        elif pure:
            prefix = key or name
            base = tokenize(func, kwargs)
            keys = [f"{prefix}-{tokenize(base, a)}" for a in arg_tuples]
        else:
            prefix = key or name
            keys = [f"{prefix}-{uuid.uuid4().hex}" for _ in arg_tuples]
        kw = futures_to_refs(kwargs)
        shared = _function_to_ship(func, len(arg_tuples))
        tasks = {k: Task(k, shared, *futures_to_refs(a), **kw) for k, a in zip(keys, arg_tuples)}
        return self._submit_tasks(tasks, keys, workers, resources, retries, priority,
                                  allow_other_workers)

    def _submit_tasks(self, tasks: dict, keys: list, workers: Any, resources: Any,
                      retries: int, priority: int, allow_other_workers: bool,
                      order: Any = None, layers: Any = ()) -> list[Future]:
        if self.status != "running":
            raise RuntimeError(f"{self!r} is not running")
        msg = update_graph_message(tasks, keys, layers, workers=workers, resources=resources,
                                   retries=retries, priority=priority,
                                   allow_other_workers=allow_other_workers, order=order)
        futures = [Future(k, self) for k in keys]
        self._on_loop(self._send, msg)
        return futures

    # --- gathering --------------------------------------------------------------------

    def gather(self, futures: Any, errors: str = "raise", timeout: float | None = None
               ) -> Any:
        """The values of ``futures`` (a Future or nested lists/tuples/dicts of them).

        ``errors="raise"`` re-raises the first failed task's exception with its original
        type; ``errors="skip"`` leaves failed futures out of lists.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
        if self.asynchronous:
            return self._gather(futures, errors)
        try:
            return self._sync(self._gather, futures, errors, timeout=timeout)
        except asyncio.CancelledError as e:
            # asyncio turns the CancelledError of concurrent.futures into its own on the
            # way out of the loop; users catch the standard library's.
            raise CancelledError(*e.args) from None

    async def _gather(self, futures: Any, errors: str = "raise") -> Any:
        flat: dict[Hashable, Future] = {}
        collect_futures(futures, flat)
        values = await self._gather_flat(list(flat.values()), errors)
        data = {f.key: v for f, v in zip(flat.values(), values) if v is not SKIPPED}
        return fill_futures(futures, data, errors)

    async def _gather_flat(self, futures: list[Future], errors: str = "raise") -> list:
        while True:
            await asyncio.gather(*(f._state.async_event().wait() for f in futures))
            ok = []
            for f in futures:
                state = f._state
                if state.status == "error":
                    if errors == "raise":
                        raise_remote(state.exception, state.traceback)
                elif state.status == "cancelled":
                    if errors == "raise":
                        raise CancelledError(f"{f.key!r} was cancelled")
                else:
                    ok.append(f)
            data, lost = await self._fetch([f.key for f in ok])
            if not lost:
                return [data.get(f.key, SKIPPED) for f in futures]
            # Lost with its worker: the scheduler recomputes it and says so on our stream
            # ("lost-data", then "key-in-memory"); that notice can trail this answer.
            if any(self._states.get(k) is not None and self._states[k].status == "finished"
                   for k in lost):
                await asyncio.sleep(0.05)

    async def _fetch(self, keys: list) -> tuple[dict, list]:
        """Values of ``keys`` straight from the workers holding them; also the keys no
        live worker holds."""
        data: dict = {}
        missing = list(dict.fromkeys(keys))
        for _ in range(5):
            if not missing:
                break
            who_has = await self._pool(self.scheduler_address).who_has(keys=missing)
            by_worker: dict[str, list] = defaultdict(list)
            for key in missing:
                holders = who_has.get(key) or []
                if holders:
                    by_worker[holders[hash(key) % len(holders)]].append(key)
            if not by_worker:
                break
            replies = await asyncio.gather(
                *(self._pool(w).get_data(keys=ks) for w, ks in by_worker.items()),
                return_exceptions=True)
            for reply in replies:
                if isinstance(reply, dict):
                    data.update(reply)
            missing = [k for k in missing if k not in data]
        return data, missing

    # --- collections ------------------------------------------------------------------

    def get(self, graph: Mapping, keys: Any, **kwargs: Any) -> Any:
        """Run a graph on the cluster and return the values of ``keys`` (nested as given):
        what ``.compute()`` calls while this client is the default."""
        flat = flatten_keys(keys)
        futures = self._graph_to_futures(dict(graph), flat, **kwargs)
        by_key = dict(zip(flat, futures))
        try:
            return self.gather(map_keys(keys, by_key))
        finally:
            for f in futures:
                f.release()

    def compute(self, collections: Any, sync: bool = False, optimize_graph: bool = True,
                **kwargs: Any) -> Any:
        """Start computing collections; return one Future per collection (the final value:
        e.g. the concatenated NumPy array), or the values with ``sync=True``."""
        single = not isinstance(collections, (list, tuple))
        items = [collections] if single else list(collections)
        found = [c for c in items if collections_base.is_collection(c)]
        graph, layers, keys = (collections_base.collections_to_layers(found, optimize_graph)
                               if found else ({}, [], []))
        finals = []
        for c, k in zip(found, keys):
            func, extra = c.__graphengine_postcompute__()
            fkey = f"finalize-{tokenize(k, func, extra)}"
            graph[fkey] = Task(fkey, func, keys_to_refs(k), *extra)
            finals.append(fkey)
        futures = (iter(self._graph_to_futures(graph, finals, layers=layers, **kwargs))
                   if finals else iter(()))
        out = [next(futures) if collections_base.is_collection(c) else c for c in items]
        if sync:
            out = self.gather(out)
        return out[0] if single else out

    def persist(self, collections: Any, optimize_graph: bool = True, **kwargs: Any) -> Any:
        """Start computing collections and return equal collections whose chunks are
        Futures on the cluster (results stay there)."""
        single = not isinstance(collections, (list, tuple))
        items = [collections] if single else list(collections)
        found = [c for c in items if collections_base.is_collection(c)]
        graph, layers, keys = collections_base.collections_to_layers(found, optimize_graph)
        flat = flatten_keys(keys)
        by_key = dict(zip(flat, self._graph_to_futures(graph, flat, layers=layers, **kwargs)))
        results = []
        for c, k in zip(found, keys):
            func, extra = c.__graphengine_postpersist__()
            results.append(func({key: by_key[key] for key in flatten_keys(k)}, *extra))
        rebuilt = iter(results)
        out = [next(rebuilt) if collections_base.is_collection(c) else c for c in items]
        return out[0] if single else out

    def _graph_to_futures(self, graph: dict, keys: list, workers: Any = None,
                          resources: Any = None, retries: int = 0, priority: int = 0,
                          allow_other_workers: bool = False, layers: Any = (),
                          **ignored: Any) -> list[Future]:
        tasks = {}
        for key, value in graph.items():
            if isinstance(value, Future):
                if value.key == key:
                    continue  # already on the cluster, held by that Future
                value = Task(key, _identity, Ref(value.key))
            tasks[key] = value
        return self._submit_tasks(tasks, keys, workers, resources, retries, priority,
                                  allow_other_workers, order=True, layers=layers)

    # --- data -------------------------------------------------------------------------

    def scatter(self, data: Any, workers: Iterable[str] | None = None,
                broadcast: bool = False, hash: bool = True) -> Any:
        """Send local data to workers; return Futures (same shape: value, list or dict)."""
        return self._sync(self._scatter, data, workers, broadcast, hash)

    async def _scatter(self, data: Any, workers: Any, broadcast: bool, hash: bool) -> Any:
        if isinstance(data, dict):
            items = dict(data)
        else:
            values = list(data) if isinstance(data, (list, tuple, set)) else [data]
            items = {f"{type(v).__name__}-{tokenize(v) if hash else uuid.uuid4().hex}": v
                     for v in values}
        nthreads = await self._pool(self.scheduler_address).ncores()
        targets = sorted(nthreads) if workers is None else [
            w for w in nthreads if w in set([workers] if isinstance(workers, str) else workers)]
        if not targets:
            raise ValueError(f"no workers to scatter to (asked for {workers!r}, "
                             f"cluster has {sorted(nthreads)})")
        groups: dict[str, dict] = defaultdict(dict)
        for i, (k, v) in enumerate(items.items()):
            for w in targets if broadcast else [targets[i % len(targets)]]:
                groups[w][k] = v
        futures = {k: Future(k, self) for k in items}
        replies = await asyncio.gather(*(self._pool(w).update_data(data=d)
                                         for w, d in groups.items()))
        nbytes: dict = {}
        for reply in replies:
            nbytes.update(reply["nbytes"])
        who_has = defaultdict(list)
        for w, d in groups.items():
            for k in d:
                who_has[k].append(w)
        await self._rpc_scheduler("update_data", client_id=self.id, who_has=dict(who_has),
                                  nbytes=nbytes)
        for f in futures.values():  # the data is on the workers already: done, not pending
            if f._state.status == "pending":
                f._state.finish()
        if isinstance(data, dict):
            return futures
        out = [futures[k] for k in items]
        if isinstance(data, (list, tuple, set)):
            return type(data)(out) if not isinstance(data, set) else out
        return out[0]

    def cancel(self, futures: Any) -> Any:
        """Stop and forget these futures' tasks (also for other Futures of the same keys
        in this client)."""
        flat: dict[Hashable, Future] = {}
        collect_futures(futures, flat)

        def do() -> None:
            for key, f in flat.items():
                f._state.cancel()
                with self._lock:
                    self._refcount.pop(key, None)
                    self._states.pop(key, None)
            self._send({"op": "release-keys", "keys": list(flat)})

        if self.asynchronous:
            do()
            return _done()
        self._runner.run_sync(_as_coroutine(do))
        return None

    def retry(self, futures: Any) -> Any:
        """Run failed futures (and the failed tasks they depend on) again."""
        flat: dict[Hashable, Future] = {}
        collect_futures(futures, flat)

        def do() -> None:
            for f in flat.values():
                if f._state.status == "error":
                    f._state.reset()
            self._send({"op": "retry", "keys": list(flat)})

        if self.asynchronous:
            do()
            return _done()
        self._runner.run_sync(_as_coroutine(do))
        return None

    def _fire_and_forget(self, key: Hashable) -> None:
        self._on_loop(self._send, {"op": "fire-and-forget", "keys": [key]})

    async def _rpc_scheduler(self, op: str, **kwargs: Any) -> Any:
        return await self._pool.call(self.scheduler_address, op, kwargs)


async def _done() -> None:
    return None


def _as_coroutine(fn: Callable[[], None]) -> Callable[[], Any]:
    async def run() -> None:
        fn()

    return run


def _function_to_ship(func: Callable, ntasks: int) -> Callable:
    """``func`` as the tasks of one submission carry it: pickled once for all of them
    (see PickledFunction), and reused across submissions while that cannot be stale. A
    lone task of an importable function pickles it by name faster on its own."""
    if ntasks > 1 or pickled_by_value(func):
        return pickled_function(func)
    return func
