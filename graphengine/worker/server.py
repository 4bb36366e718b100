"""The worker's server: runs what its pure state machine decides, and holds the data.

The scheduler's messages become events for :class:`~graphengine.worker.state.WorkerState`;
its instructions are carried out here: ``Execute`` on a thread pool, ``GatherDep`` as a
fetch from a peer worker, ``SendToScheduler`` on the batched stream, ``ReleaseData`` on
the data dict. Peers and clients read results with the ``get_data`` operation.

    >>> import asyncio
    >>> from graphengine.scheduler.server import Scheduler
    >>> async def main():
    ...     async with Scheduler() as s, Worker(s.address, nthreads=1) as w:
    ...         return w.address in s.state.workers
    >>> asyncio.run(main())
    True
"""
from __future__ import annotations

import asyncio
import logging
import os
import pickle
import threading
import time
import traceback as tb_module
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Hashable

import cloudpickle
import psutil

from graphengine.comm import (BatchedStream, ConnectionPool, Security, Serialized, Server,
                              connect)
from graphengine.errors import CommClosedError
from graphengine.graph.spec import run
from graphengine import config
from graphengine.worker import state as ws_state
from graphengine.worker.activity import WorkerActivity
from graphengine.worker.layer_cache import LayerCache, is_layer_spec
from graphengine.worker.memory import MemoryThresholds, parse_memory_limit
from graphengine.worker.memory_monitor import WorkerMemory
from graphengine.worker.store import SpillStore
from graphengine.worker.workspace import WorkSpace

__all__ = ["Worker", "get_worker", "get_client", "secede", "rejoin"]

logger = logging.getLogger(__name__)

_current = threading.local()

#: Exit status asking the nanny for a fresh worker process (Client.restart).
RESTART_EXIT_CODE = 3


def get_worker() -> "Worker":
    """The worker running the current task (only inside a task).

    Raises
    ------
    ValueError
        Outside a task running on a worker.
    """
    worker = getattr(_current, "worker", None)
    if worker is None:
        raise ValueError("get_worker() was called outside a task running on a worker")
    return worker


def get_client() -> Any:
    """A Client connected to this worker's scheduler, for tasks that submit tasks.

    One client per worker, created on first use and closed with the worker. A task that
    waits on the futures it submitted holds a thread meanwhile; give the worker enough
    threads for such nesting.
    """
    worker = get_worker()
    with worker._client_lock:
        if worker._client is None:
            from graphengine.distributed.client import Client

            worker._client = Client(worker.scheduler_address, security=worker.security,
                                    set_as_default=False, name="worker")
        return worker._client


def secede() -> None:
    """Give this task's thread slot back while it waits on other work (e.g. on futures
    it submitted), so the worker can run other tasks meanwhile. Pair with :func:`rejoin`.
    """
    worker = get_worker()
    key = _current.key
    worker.loop.call_soon_threadsafe(worker.handle_event,
                                     ws_state.Secede(key=key, stimulus_id=f"secede-{key}"))


def rejoin(timeout: float | None = None) -> None:
    """Wait until a thread slot is free again and take it (after :func:`secede`)."""
    worker = get_worker()
    key = _current.key
    ready = threading.Event()
    worker._rejoin_waiters[key] = ready
    worker.loop.call_soon_threadsafe(worker.handle_event,
                                     ws_state.Rejoin(key=key, stimulus_id=f"rejoin-{key}"))
    if not ready.wait(timeout):
        raise TimeoutError(f"task {key!r} could not rejoin within {timeout} s")


class Worker(WorkerMemory, Server):
    """A worker connected to the scheduler at ``scheduler_address``.

    Parameters
    ----------
    scheduler_address : str
        ``tcp://host:port`` of the scheduler.
    nthreads : int, optional
        Tasks run at once (default: the number of cores).
    name : optional
        A name unique in the cluster (for ``workers=`` restrictions).
    memory_limit : int, str or None
        Bytes (``4e9``, ``"4GiB"``), ``"auto"`` (system memory), or 0/None for no limit.
        Results past ``memory_target_fraction`` of it spill to disk; see
        :mod:`graphengine.worker.memory` for the other thresholds.
    memory_target_fraction, memory_spill_fraction, memory_pause_fraction : float or False
        Override ``worker.memory.target`` / ``.spill`` / ``.pause``; False turns one off.
    local_directory : str, optional
        Where this worker's scratch directory (spill files) goes; default
        ``worker.local-directory`` or the system's temporary directory.
    resources : dict, optional
        Abstract resources this worker offers, e.g. ``{"GPU": 1}``.
    address : str
        Where to listen for peers and clients.
    security : Security, optional
        Credentials for every connection.
    """

    def __init__(self, scheduler_address: str, *, nthreads: int | None = None,
                 name: Any = None, memory_limit: Any = 0,
                 resources: dict[str, float] | None = None,
                 address: str = "tcp://127.0.0.1:0", security: Security | None = None,
                 validate: bool = False, local_directory: str | None = None,
                 memory_target_fraction: Any = None, memory_spill_fraction: Any = None,
                 memory_pause_fraction: Any = None):
        super().__init__(
            handlers={"get_data": self.get_data, "update_data": self.update_data,
                      "gather": self.gather, "run": self.run_function},
            security=security)
        self.scheduler_address = scheduler_address
        self.nthreads = int(nthreads or os.cpu_count() or 1)
        if self.nthreads < 1:
            raise ValueError(f"nthreads must be at least 1, got {nthreads!r}")
        self.name = name
        self.memory_limit = parse_memory_limit(memory_limit)
        self.memory = MemoryThresholds(self.memory_limit, memory_target_fraction,
                                       memory_spill_fraction, memory_pause_fraction)
        self.local_directory = local_directory or config.get("worker.local-directory")
        self.workspace: WorkSpace | None = None
        self.resources = dict(resources or {})
        self.validate = validate
        self._listen_address = address
        #: results: a SpillStore once started
        self.data: Any = {}
        # Task threads spill their own overflow; this one thread spills what arrives
        # from peers and what the memory monitor asks for. Reads for peers go through
        # another, so a slow disk never stalls transfers of data in memory (those are
        # served on the loop).
        self._spill_executor = ThreadPoolExecutor(1, thread_name_prefix="graphengine-spill")
        self._disk_read_executor = ThreadPoolExecutor(
            2, thread_name_prefix="graphengine-disk-read")
        self._evicting = False
        self._unmanaged_warned = False
        self._memory_full = False
        self._process = psutil.Process()
        self.state: ws_state.WorkerState | None = None
        # Threads are made on demand; the state machine keeps nthreads of them busy, and
        # the headroom is for tasks that secede() while they wait on other tasks.
        self.executor = ThreadPoolExecutor(self.nthreads + 256,
                                           thread_name_prefix="graphengine-task")
        self._rejoin_waiters: dict[Hashable, threading.Event] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.peers = ConnectionPool(security=security)
        self.stream: BatchedStream | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closed_event: asyncio.Event | None = None
        self._status = "init"
        self._client: Any = None
        self._client_lock = threading.Lock()
        self.activity: WorkerActivity | None = None
        self._last_net: tuple[float, int, int] | None = None  # for network rates
        #: task -> (thread, start, stop) of a run that raised, for its task-erred message
        self._failed_runs: dict[Hashable, tuple] = {}

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> "Worker":
        if self._status != "init":
            return self
        self._status = "starting"
        self._closed_event = asyncio.Event()
        self._scheduler_lost = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.workspace = WorkSpace(self.local_directory)
        await self.listen(self._listen_address)
        self.activity = WorkerActivity(self.address)
        self.layers = LayerCache()
        self.data = SpillStore(self.workspace.subdirectory("spill"),
                               target=self.memory.bytes("target"),
                               on_disk_io=self.activity.on_disk_io)
        in_flight = config.get("worker.transfer.max-bytes-in-flight")
        if self.memory_limit:
            # Inputs arriving at network speed must not outrun spilling: a tenth of the
            # limit in flight at most (one fetch may always start, whatever its size).
            in_flight = min(in_flight, max(self.memory_limit // 10, 1))
        self.state = ws_state.WorkerState(nthreads=self.nthreads, address=self.address,
                                          resources=self.resources, validate=self.validate,
                                          max_bytes_in_flight=in_flight,
                                          message_bytes_limit=min(
                                              in_flight,
                                              config.get("worker.transfer.message-bytes-limit")))
        # Task specs stay serialized on this stream: each is unpickled in its own task
        # thread, so one that cannot be (a missing module) fails that task, not the link.
        comm = await connect(self.scheduler_address, security=self.security,
                             deserialize=False)
        await comm.write({"op": "register-worker", "reply": False, "address": self.address,
                          "nthreads": self.nthreads, "memory_limit": self.memory_limit,
                          "resources": self.resources, "name": self.name})
        response = await comm.read()
        if response.get("status") != "OK":
            comm.abort()
            await super().close()
            raise ValueError(f"scheduler {self.scheduler_address} refused worker "
                             f"{self.address}: {response.get('message')}")
        self.stream = BatchedStream(comm)
        self._status = "running"
        self._spawn(self._serve_scheduler(comm))
        self._spawn(self._heartbeats(float(response.get("heartbeat_interval", 5.0))))
        if self.memory_limit:
            self._spawn(self._monitor_memory(config.get("worker.memory.monitor-interval")))
        self.activity.start()
        self._spawn(self._report_activity(config.get("worker.activity-interval")))
        logger.info("worker %s connected to %s", self.address, self.scheduler_address)
        return self

    async def close(self) -> None:
        """Stop: leave the scheduler, stop serving peers, shut the thread pool down."""
        if self._status in ("closing", "closed"):
            return
        self._status = "closing"
        if self.stream is not None:
            self.stream.send({"op": "close"})
            await self.stream.close()
        for task in list(self._tasks):
            task.cancel()
        if self.activity is not None:
            self.activity.stop()
        await self.peers.close()
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._spill_executor.shutdown(wait=True, cancel_futures=True)
        self._disk_read_executor.shutdown(wait=False, cancel_futures=True)
        if isinstance(self.data, SpillStore):
            self.data.close()
        if self.workspace is not None:
            self.workspace.close()
        if self._client is not None:  # its own loop thread: close it off ours
            await asyncio.get_running_loop().run_in_executor(None, self._client.close)
        self._status = "closed"
        if self._closed_event is not None:
            self._closed_event.set()

    async def retire(self) -> None:
        """Leave gracefully: the scheduler copies results only we hold to other workers,
        reschedules our tasks without blaming them, and tells us to close."""
        if self._status != "running":
            return
        try:
            if self.stream is None or self.stream.closed():
                raise CommClosedError("no connection to the scheduler")
            call = asyncio.ensure_future(self.peers.call(
                self.scheduler_address, "retire_workers", {"workers": [self.address]}))
            lost = asyncio.ensure_future(self._scheduler_lost.wait())
            # A scheduler that is shutting down too would never answer: stop waiting
            # as soon as its connection goes.
            await asyncio.wait([call, lost], timeout=60, return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            if not call.done():
                call.cancel()
                raise CommClosedError("the scheduler went away during retirement")
            call.result()
        except Exception as e:  # scheduler gone: nothing to hand over to
            logger.info("worker %s could not retire through the scheduler: %s", self.address, e)
        await self.close()

    async def finished(self) -> None:
        """Wait until the worker has closed (e.g. because the scheduler told it to)."""
        assert self._closed_event is not None
        await self._closed_event.wait()

    async def __aenter__(self) -> "Worker":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __await__(self):
        return self.start().__await__()

    @property
    def status(self) -> str:
        return self._status

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the scheduler's stream -------------------------------------------------------

    async def _serve_scheduler(self, comm: Any) -> None:
        try:
            while True:
                try:
                    batch = await comm.read()
                except (CommClosedError, OSError):
                    logger.info("worker %s lost its scheduler connection", self.address)
                    break
                for msg in batch if type(batch) is list else [batch]:
                    if type(msg) is dict and msg.get("op") == "close":
                        self._spawn(self.close())
                        return
                    if type(msg) is dict and msg.get("op") == "flush-activity":
                        self._send_activity(msg.get("flush_id"))
                        continue
                    if type(msg) is dict and msg.get("op") == "free-layers":
                        self.layers.free(msg.get("ids", ()))
                        continue
                    if type(msg) is dict and "layer_spec" in msg:
                        msg = dict(msg)
                        self.layers.add(msg["run_spec"]["layer"], msg.pop("layer_spec"))
                    if type(msg) is dict and msg.get("op") == "restart":
                        if os.environ.get("GRAPHENGINE_NANNY"):
                            # A fresh process: the nanny starts one when we exit non-zero.
                            logger.info("worker %s restarting", self.address)
                            os._exit(RESTART_EXIT_CODE)
                        continue  # in-process: the scheduler has freed our data already
                    try:
                        event = ws_state.event_from_message(msg)
                    except (KeyError, TypeError, ValueError):
                        logger.warning("worker %s ignores malformed message %r",
                                       self.address, msg)
                        continue
                    self.handle_event(event)
        finally:
            self._scheduler_lost.set()
            if self._status == "running":
                self._spawn(self.close())

    def _send_heartbeat(self) -> None:
        if self.stream is None or self.stream.closed():
            return
        data = self.data
        metrics = self.memory_metrics()
        self._memory_full = metrics["memory_full"]
        metrics.update({
            "cpu": self._process.cpu_percent(),
            "executing": len(self.state.executing) if self.state else 0,
            "ready": len(self.state.ready) if self.state else 0,
            **self._network_rates(),
            "in_memory": len(data), "spilled_keys": len(getattr(data, "slow", ())),
            "spill_failing": bool(getattr(data, "spill_failing", False)),
            "paused": bool(self.state.paused) if self.state else False,
            "time": time.time()})
        self.stream.send({"op": "heartbeat", "metrics": metrics})

    def _network_rates(self) -> dict[str, float]:
        """Bytes/s received and sent by this machine since the last heartbeat (psutil
        has no per-process figure)."""
        try:
            io = psutil.net_io_counters()
        except Exception:  # noqa: BLE001 - some containers have no counters
            return {}
        now = time.monotonic()
        last, self._last_net = self._last_net, (now, io.bytes_recv, io.bytes_sent)
        if last is None or now <= last[0]:
            return {"net_in": 0.0, "net_out": 0.0}
        dt = now - last[0]
        return {"net_in": (io.bytes_recv - last[1]) / dt, "net_out": (io.bytes_sent - last[2]) / dt}

    def _send_activity(self, flush_id: Any = None) -> None:
        if self.stream is None or self.stream.closed() or self.activity is None:
            return
        msg = self.activity.take()
        if flush_id is not None:  # the scheduler waits for this answer, empty or not
            msg = msg or {"op": "worker-activity", "records": [], "profile": []}
            msg["flush_id"] = flush_id
        if msg is not None:
            self.stream.send(msg)

    async def _report_activity(self, interval: float) -> None:
        while self.stream is not None and not self.stream.closed():
            await asyncio.sleep(interval)
            self._send_activity()

    async def _heartbeats(self, interval: float) -> None:
        while self.stream is not None and not self.stream.closed():
            self._send_heartbeat()
            await asyncio.sleep(interval)

    # --- events and instructions ------------------------------------------------------

    def handle_event(self, event: Any) -> None:
        """Feed one event to the state machine and carry out what it decides."""
        for inst in self.state.handle(event):
            kind = type(inst)
            if kind is ws_state.Execute:
                run_spec = inst.run_spec
                if is_layer_spec(run_spec):
                    # Opened now, on the loop: a free-layers message read while the task
                    # waits for a thread must not take its layer away.
                    run_spec = self.layers.resolve(run_spec)
                self._spawn(self._execute(inst.key, run_spec))
            elif kind is ws_state.GatherDep:
                self._spawn(self._gather_dep(inst.worker, list(inst.keys)))
            elif kind is ws_state.SendToScheduler:
                if self.stream is not None and not self.stream.closed():
                    self.stream.send(_sendable(inst.msg))
            elif kind is ws_state.ReleaseData:
                data = self.data
                for key in inst.keys:
                    if key in data:  # pop() would read a spilled value back first
                        del data[key]
            elif kind is ws_state.Rejoined:
                waiter = self._rejoin_waiters.pop(inst.key, None)
                if waiter is not None:
                    waiter.set()
            else:  # pragma: no cover - a new instruction type without a handler
                raise TypeError(f"worker cannot carry out {inst!r}")

    async def _execute(self, key: Hashable, run_spec: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            nbytes, duration, startstop = await loop.run_in_executor(
                self.executor, self._run_task, key, run_spec)
        except BaseException as exc:  # noqa: BLE001 - everything a task raises is reported
            if isinstance(exc, asyncio.CancelledError) and self._status != "running":
                raise
            text = "".join(tb_module.format_exception(type(exc), exc, exc.__traceback__))
            self.handle_event(ws_state.ExecuteFailure(
                key=key, exception=exc, traceback=text, stimulus_id=f"task-erred-{key}",
                startstop=self._failed_runs.pop(key, None)))
            return
        self.handle_event(ws_state.ExecuteSuccess(
            key=key, nbytes=nbytes, duration=duration, stimulus_id=f"task-finished-{key}",
            startstop=startstop))

    def _run_task(self, key: Hashable, run_spec: Any) -> tuple[int, float, list]:
        """Run a task in a task thread and store its result; (its bytes, seconds,
        (thread index, wall-clock start, stop))."""
        _current.worker = self
        _current.key = key
        activity = self.activity
        thread, wall_start = activity.task_started(key)
        start = time.perf_counter()
        try:
            if type(run_spec) is Serialized:
                run_spec = run_spec.deserialize()
            elif hasattr(run_spec, "task_for"):  # a shipped layer, opened by handle_event
                run_spec = run_spec.task_for(key)
            result = run(run_spec, self.data)
        except BaseException:
            self._failed_runs[key] = [thread, wall_start, activity.task_stopped(thread)]
            raise
        finally:
            _current.worker = None
            _current.key = None
        duration = time.perf_counter() - start
        # A list, not a tuple: msgpack carries lists natively, tuples as a nested pack.
        startstop = [thread, wall_start, activity.task_stopped(thread)]
        data = self.data
        data[key] = result
        nbytes = data.nbytes(key)
        del result
        if data.target is not None and data.fast_nbytes > data.target:
            # Spill here, before this thread takes its next task: tasks can make data
            # far faster than a disk takes it, and this is what keeps them apart.
            data.evict()
        return nbytes, duration, startstop

    async def _gather_dep(self, worker: str, keys: list) -> None:
        start = time.time()
        try:
            data = await self.peers(worker).get_data(keys=keys)
        except (CommClosedError, OSError, asyncio.TimeoutError) as e:
            logger.info("worker %s could not fetch %d keys from %s: %s",
                        self.address, len(keys), worker, e)
            self.handle_event(ws_state.GatherDepNetworkFailure(
                worker=worker, keys=keys, stimulus_id=f"gather-failed-{worker}"))
            return
        missing = [k for k in keys if k not in data]
        if data:
            nbytes = self._store(data)
            self.activity.record("transfer", keys[0], sum(nbytes.values()), start, time.time(),
                                 source=worker)
            self.handle_event(ws_state.GatherDepSuccess(
                worker=worker, data_nbytes=nbytes, stimulus_id=f"gather-{worker}"))
        if missing:
            self.handle_event(ws_state.GatherDepMissing(
                worker=worker, keys=missing, stimulus_id=f"gather-missing-{worker}"))

    # --- operations for peers and clients ---------------------------------------------

    def get_data(self, keys: Iterable[Hashable]) -> Any:
        """The values of ``keys`` this worker holds (absent keys are left out).

        Values in memory are answered at once; spilled ones are read from disk off the
        event loop and sent as their serialized frames (the peer rebuilds them).
        """
        in_memory, spilled = self.data.split_for_transfer(keys)
        if not spilled:
            return in_memory
        return self._read_spilled(in_memory, spilled)

    async def _read_spilled(self, out: dict, keys: list) -> dict:
        loop = asyncio.get_running_loop()
        read = self.data.get_for_transfer

        def read_present(key: Hashable) -> Any:
            try:
                return read(key)
            except KeyError:  # forgotten meanwhile
                return _ABSENT

        values = await asyncio.gather(*(loop.run_in_executor(self._disk_read_executor,
                                                             read_present, k) for k in keys))
        out.update((k, v) for k, v in zip(keys, values) if v is not _ABSENT)
        return out

    def update_data(self, data: dict) -> dict:
        """Store values sent by a client (``scatter``); returns their sizes."""
        nbytes = self._store(data)
        self.handle_event(ws_state.AddData(nbytes=nbytes, stimulus_id=f"scatter-{uuid.uuid4().hex}"))
        return {"nbytes": nbytes}

    async def gather(self, who_has: dict) -> dict:
        """Copy keys from peers (``{key: [addresses]}``) into this worker; return the keys
        now held. The scheduler uses it to move results off a retiring worker."""
        got: dict = {}
        here: list = []
        by_peer: dict[str, list] = {}
        for key, peers in who_has.items():
            if key in self.data:
                here.append(key)  # already held: no need to read it (it may be on disk)
            elif peers:
                by_peer.setdefault(peers[0], []).append(key)
        replies = await asyncio.gather(*(self.peers(p).get_data(keys=ks)
                                         for p, ks in by_peer.items()), return_exceptions=True)
        for reply in replies:
            if isinstance(reply, dict):
                got.update(reply)
        new = {k: v for k, v in got.items() if k not in self.data}
        if new:
            self.handle_event(ws_state.AddData(nbytes=self._store(new),
                                               stimulus_id="gather-for-retire"))
        return {"keys": here + list(got)}

    async def run_function(self, function: Any, args: tuple = (), kwargs: dict | None = None
                           ) -> Any:
        """Call ``function(*args, **kwargs)`` here (``Client.run``); coroutines are awaited."""
        _current.worker = self
        try:
            result = function(*args, **(kwargs or {}))
        finally:
            _current.worker = None
        if asyncio.iscoroutine(result):
            result = await result
        return result


_ABSENT = object()


def _sendable(msg: dict) -> dict:
    """Replace an exception that would not pickle by one that does, keeping its text:
    one bad exception must not break the whole batch on the scheduler stream."""
    exc = msg.get("exception")
    if exc is not None:
        try:
            pickle.dumps(exc)
        except Exception:
            try:
                cloudpickle.dumps(exc)
            except Exception:
                msg = dict(msg, exception=RuntimeError(f"{type(exc).__name__}: {exc}"))
    return msg
