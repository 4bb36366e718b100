"""The scheduler's server: moves messages between the network and :class:`SchedulerState`.

Workers and clients each open one long-lived connection (``register-worker`` /
``register-client``) that then carries batched messages both ways; short requests
(``who_has``, ``scheduler_info``…) use ordinary RPC. The server never unpickles a task or
a result: it runs with ``deserialize=False`` and forwards payloads as they came.

    >>> import asyncio
    >>> async def main():
    ...     async with Scheduler() as s:
    ...         return s.address.startswith("tcp://127.0.0.1:")
    >>> asyncio.run(main())
    True
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Hashable

from graphengine import config
from graphengine.comm import BatchedStream, Comm, ConnectionPool, Security, Server
from graphengine.comm.address import parse_address
from graphengine.errors import CommClosedError
from graphengine.graph.spec import key_prefix
from graphengine.scheduler.activity import MemoryHistory, ProfileLog, TaskStreamLog
from graphengine.scheduler.model import Outbox
from graphengine.scheduler.shipped_layers import LayerRun, ShippedLayers
from graphengine.scheduler.state import SchedulerState
from graphengine.scheduler.system_monitor import SystemMonitor

__all__ = ["Scheduler"]

#: The pseudo-client holding keys submitted with fire_and_forget.
FIRE_AND_FORGET = "fire-and-forget"

logger = logging.getLogger(__name__)


def _loads(obj: Any) -> Any:
    """Deserialize what the scheduler kept serialized, inside plain containers too."""
    from graphengine.comm.serialize import Serialized

    if isinstance(obj, Serialized):
        return obj.deserialize()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_loads(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _loads(v) for k, v in obj.items()}
    return obj


class Scheduler(Server):
    """A scheduler listening on ``address``.

    Parameters
    ----------
    address : str
        Where to listen, e.g. ``"tcp://127.0.0.1:8786"`` (port 0: any free port).
    security : Security, optional
        TLS credentials and/or authentication token.
    heartbeat_timeout : float, optional
        Seconds without a heartbeat after which a worker is declared dead (default
        config ``scheduler.worker-ttl``).
    validate : bool
        Check every state invariant after each event (slow; for tests).
    dashboard_address : str, optional
        Serve the Bokeh dashboard there, e.g. ``":8787"`` (the scheduler's host) or
        ``"127.0.0.1:0"`` (any free port); a port in use falls back to a free one, with a
        warning. None (the default here; the CLI and LocalCluster use config
        ``scheduler.dashboard.address``): no dashboard.
    **state_kwargs
        Passed to :class:`~graphengine.scheduler.state.SchedulerState`.
    """

    def __init__(self, address: str = "tcp://127.0.0.1:0", *, security: Security | None = None,
                 heartbeat_timeout: float | None = None, validate: bool = False,
                 dashboard_address: str | None = None, **state_kwargs: Any):
        super().__init__(
            handlers={
                "register-worker": self.register_worker,
                "register-client": self.register_client,
                "who_has": self.who_has,
                "scheduler_info": self.scheduler_info,
                "ncores": self.ncores,
                "has_what": self.has_what,
                "retire_workers": self.retire_workers,
                "run": self.run_function,
                "update_data": self.update_data,
                "restart": self.restart,
                "get_task_stream": self.get_task_stream,
                "profile": self.get_profile,
                "flush_activity": self.flush_activity,
                "performance_data": self.performance_data,
            },
            security=security, deserialize=False)
        parse_address(address)  # fail early, naming the address
        self._listen_address = address
        self.heartbeat_timeout = float(heartbeat_timeout if heartbeat_timeout is not None
                                       else config.get("scheduler.worker-ttl"))
        state_kwargs.setdefault("allowed_failures", config.get("scheduler.allowed-failures"))
        state_kwargs.setdefault("saturation", config.get("scheduler.worker-saturation"))
        state_kwargs.setdefault("lookahead", config.get("scheduler.worker-lookahead"))
        self.state = SchedulerState(**state_kwargs)
        self.layers = ShippedLayers()
        self.validate = validate
        self.worker_streams: dict[str, BatchedStream] = {}
        self.rpc_pool = ConnectionPool(security=security, deserialize=False)
        self.client_streams: dict[str, BatchedStream] = {}
        self._watchdog: asyncio.Task | None = None
        self._stealer: asyncio.Task | None = None
        self._started = False
        self._closed_event: asyncio.Event | None = None
        # What the dashboard and performance reports read.
        self.task_stream = TaskStreamLog(config.get("scheduler.task-stream-length"))
        self.profiles = ProfileLog(config.get("scheduler.profile-history"),
                                   bucket=config.get("worker.profile.cycle"))
        self.memory_history = MemoryHistory(config.get("scheduler.memory-history"))
        self.system = SystemMonitor()
        self._system_task: asyncio.Task | None = None
        self._flushes: dict[str, tuple[set[str], asyncio.Event]] = {}
        self._dashboard_address = dashboard_address
        self.dashboard: Any = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> "Scheduler":
        if not self._started:
            self._started = True
            self._closed_event = asyncio.Event()
            await self.listen(self._listen_address)
            self._watchdog = asyncio.ensure_future(self._check_heartbeats())
            if config.get("scheduler.work-stealing"):
                self._stealer = asyncio.ensure_future(self._balance())
            self._system_task = asyncio.ensure_future(self.system.run())
            if self._dashboard_address not in (None, False, ""):
                from graphengine.dashboard.server import DashboardServer

                self.dashboard = DashboardServer(self)
                self.dashboard.listen(self._dashboard_address)
            logger.info("scheduler listening at %s", self.address)
        return self

    async def close(self) -> None:
        for task in (self._watchdog, self._stealer, self._system_task):
            if task is not None:
                task.cancel()
        if self.dashboard is not None:
            self.dashboard.stop()
        for stream in [*self.worker_streams.values(), *self.client_streams.values()]:
            stream.send({"op": "close"})
            await stream.close()
        await self.rpc_pool.close()
        await super().close()
        if self._closed_event is not None:
            self._closed_event.set()

    async def finished(self) -> None:
        """Wait until the scheduler has closed."""
        if self._closed_event is not None:
            await self._closed_event.wait()

    async def __aenter__(self) -> "Scheduler":
        return await self.start()

    def __await__(self):
        return self.start().__await__()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- sending ----------------------------------------------------------------------

    def send(self, out: Outbox) -> None:
        """Queue the messages of an event on the recipients' batched streams."""
        for address, msgs in out.workers.items():
            stream = self.worker_streams.get(address)
            if stream is not None:
                for msg in msgs:
                    if type(msg.get("run_spec")) is LayerRun:
                        msg = self.layers.compute_message(address, msg)
                    stream.send(msg)
        done_forgotten = [m["key"] for m in out.clients.pop(FIRE_AND_FORGET, ())]
        for client_id, msgs in out.clients.items():
            stream = self.client_streams.get(client_id)
            if stream is not None:
                for msg in msgs:
                    stream.send(msg)
        # After this event's own messages: a worker drops a layer only once it has been
        # told to drop that layer's tasks.
        for address, ids in self.layers.take_freed().items():
            stream = self.worker_streams.get(address)
            if stream is not None:
                stream.send({"op": "free-layers", "ids": ids})
        if done_forgotten:  # finished fire-and-forget work is released like any other
            self.send(self.state.release_keys(FIRE_AND_FORGET, done_forgotten))
        if self.validate:
            self.state.validate()

    # --- workers ----------------------------------------------------------------------

    async def register_worker(self, comm: Comm, address: str, nthreads: int,
                              memory_limit: int = 0, resources: dict | None = None,
                              name: Any = None) -> None:
        """A worker's long-lived connection: register it, then serve its stream."""
        # A worker registering at an address has none of the layers sent there before.
        self.layers.worker_removed(address)
        try:
            out = self.state.add_worker(address, nthreads, memory_limit, resources, name,
                                        now=self._now(), stimulus_id=f"register-{address}")
        except ValueError as e:
            await comm.write({"status": "error", "message": str(e)})
            comm.abort()
            return
        await comm.write({"status": "OK", "heartbeat_interval": self.heartbeat_timeout / 6})
        self.worker_streams[address] = BatchedStream(comm)
        logger.info("worker %s joined (%d threads)", address, nthreads)
        self.send(out)
        handlers = {
            "task-finished": self._task_finished,
            "task-erred": self._task_erred,
            "missing-data": self._missing_data,
            "add-keys": self._add_keys,
            "worker-status": self._worker_status,
            "heartbeat": self._heartbeat,
            "steal-response": self._steal_response,
            "worker-activity": self._worker_activity,
        }
        try:
            await self._serve_stream(comm, handlers, address, "worker")
        finally:
            if self.worker_streams.get(address) is not None:
                self.worker_streams.pop(address).abort()
                if address in self.state.workers:
                    logger.info("worker %s left", address)
                    self.send(self.state.remove_worker(address,
                                                       stimulus_id=f"worker-lost-{address}"))

    def _task_finished(self, worker: str, key: Hashable, nbytes: int, duration: float,
                       stimulus_id: str = "task-finished", startstop: Any = None) -> None:
        if startstop is not None:
            self._record_run("compute", key, worker, startstop, nbytes)
        self.send(self.state.task_finished(key, worker, nbytes, duration, stimulus_id))

    def _task_erred(self, worker: str, key: Hashable, exception: Any, traceback: Any = None,
                    stimulus_id: str = "task-erred", startstop: Any = None) -> None:
        if startstop is not None:
            self._record_run("erred", key, worker, startstop, 0)
        self.send(self.state.task_erred(key, worker, exception, traceback, stimulus_id))

    def _record_run(self, action: str, key: Hashable, worker: str, startstop: Any,
                    nbytes: int) -> None:
        """A task-stream rectangle for a task run (before the state moves: the task's
        record, and its prefix, may be gone after)."""
        thread, start, stop = startstop
        ts = self.state.tasks.get(key)
        prefix = ts.prefix if ts is not None else key_prefix(key)
        self.task_stream.append((start, stop, action, key, prefix, worker, thread, nbytes,
                                 None))

    def _worker_activity(self, worker: str, records: list, profile: list,
                         flush_id: str | None = None) -> None:
        """Transfers, spills and profile samples a worker collected since its last report."""
        from graphengine.worker.profile import unflatten

        self.task_stream.extend(tuple(r) for r in records)
        for t, prefix, flat in profile:
            self.profiles.append((t, worker, prefix, unflatten(flat)))
        waiting = self._flushes.get(flush_id) if flush_id is not None else None
        if waiting is not None:
            waiting[0].discard(worker)
            if not waiting[0]:
                waiting[1].set()

    def _missing_data(self, worker: str, key: Hashable, errant_worker: str,
                      stimulus_id: str = "missing-data") -> None:
        self.send(self.state.missing_data(key, errant_worker, stimulus_id))

    def _add_keys(self, worker: str, keys: list, stimulus_id: str = "add-keys") -> None:
        self.send(self.state.add_keys(worker, keys, stimulus_id))

    def _worker_status(self, worker: str, status: str, stimulus_id: str = "worker-status"
                       ) -> None:
        self.send(self.state.set_worker_status(worker, status, stimulus_id))

    def _steal_response(self, worker: str, key: Hashable, state: str,
                        stimulus_id: str = "steal-response") -> None:
        self.send(self.state.steal_response(key, worker, state, stimulus_id))

    async def _balance(self) -> None:
        interval = config.get("scheduler.work-stealing-interval")
        while True:
            await asyncio.sleep(interval)
            if self.state.workers:
                self.send(self.state.balance())

    def _heartbeat(self, worker: str, metrics: dict | None = None) -> None:
        if worker in self.state.workers:
            self.state.heartbeat(worker, self._now(), metrics)
            if metrics and "managed" in metrics:
                self.memory_history.append((metrics.get("time", 0.0), worker,
                                            metrics["managed"], metrics.get("spilled", 0),
                                            metrics.get("unmanaged", 0)))

    async def _check_heartbeats(self) -> None:
        interval = max(self.heartbeat_timeout / 4, 0.05)
        while True:
            await asyncio.sleep(interval)
            for address in self.state.stale_workers(self._now(), self.heartbeat_timeout):
                logger.warning("worker %s sent no heartbeat for %.1f s: removing it",
                               address, self.heartbeat_timeout)
                stream = self.worker_streams.pop(address, None)
                if stream is not None:
                    stream.abort()
                self.send(self.state.remove_worker(address,
                                                   stimulus_id=f"heartbeat-timeout-{address}"))

    async def retire_workers(self, workers: list[str]) -> list[str]:
        """Close ``workers`` gracefully, losing no result.

        Each stops receiving tasks; results that only it holds and that are still needed
        are first copied to the other workers; then it is removed without counting
        against the tasks it was running, and told to close.
        """
        retired = []
        for address in workers:
            ws = self.state.workers.get(address)
            if ws is None:
                continue
            ws.status = "closing"
            self.state.update_idle(ws)
            await self._replicate_unique_results(ws)
            stream = self.worker_streams.pop(address, None)
            if address in self.state.workers:
                self.send(self.state.remove_worker(address, safe=True,
                                                   stimulus_id=f"retire-{address}"))
                retired.append(address)
                logger.info("worker %s retired", address)
            if stream is not None:
                stream.send({"op": "close"})
                await stream.close()
        return retired

    async def _replicate_unique_results(self, ws: Any) -> None:
        others = [w for w in self.state.workers.values()
                  if w is not ws and w.status == "running"]
        unique = [ts for ts in ws.has_what
                  if ts.who_has == {ws} and (ts.who_wants or ts.waiters)]
        if not others or not unique:
            return
        plan: dict[str, list] = {}
        load = {w.address: w.nbytes for w in others}
        for ts in sorted(unique, key=lambda t: -t.nbytes):  # biggest first, to the emptiest
            target = min(load, key=load.__getitem__)
            load[target] += max(ts.nbytes, 0)
            plan.setdefault(target, []).append(ts.key)
        replies = await asyncio.gather(
            *(self.rpc_pool(target).gather(who_has={k: [ws.address] for k in keys})
              for target, keys in plan.items()),
            return_exceptions=True)
        for (target, keys), reply in zip(plan.items(), replies):
            if isinstance(reply, BaseException):
                logger.warning("could not copy %d results from retiring %s to %s: %s",
                               len(keys), ws.address, target, reply)
                continue
            self.send(self.state.add_keys(target, reply.get("keys", []),
                                          stimulus_id=f"retire-copy-{ws.address}"))

    # --- clients ----------------------------------------------------------------------

    async def register_client(self, comm: Comm, client_id: str) -> None:
        """A client's long-lived connection: register it, then serve its stream."""
        try:
            self.state.add_client(client_id, now=self._now())
        except ValueError as e:
            await comm.write({"status": "error", "message": str(e)})
            comm.abort()
            return
        await comm.write({"status": "OK", "dashboard_link": self.dashboard_link})
        self.client_streams[client_id] = BatchedStream(comm)
        handlers = {
            "update-graph": self._update_graph,
            "release-keys": self._release_keys,
            "retry": self._retry,
            "fire-and-forget": self._fire_and_forget,
        }
        try:
            await self._serve_stream(comm, handlers, client_id, "client_id")
        finally:
            stream = self.client_streams.pop(client_id, None)
            if stream is not None:
                stream.abort()
            self.send(self.state.remove_client(client_id, stimulus_id=f"client-lost-{client_id}"))

    def _update_graph(self, client_id: str, tasks: dict, dependencies: dict, keys: list,
                      order: dict | None = None, user_priority: int = 0,
                      restrictions: dict | None = None, resources: dict | None = None,
                      loose_restrictions: Iterable = (), retries: Any = 0,
                      layers: list | None = None,
                      stimulus_id: str = "update-graph") -> None:
        try:
            if layers:
                order = dict(order or {})
                self.layers.expand(layers, tasks, dependencies, order)
            out = self.state.update_graph(client_id, tasks, dependencies, keys, order,
                                          user_priority, restrictions, resources,
                                          loose_restrictions, retries, stimulus_id)
        except (KeyError, ValueError, TypeError) as e:
            # Nothing was stored; tell the client which keys failed and why.
            stream = self.client_streams.get(client_id)
            if stream is not None:
                for key in keys:
                    stream.send({"op": "task-erred", "key": key, "blamed_key": key,
                                 "exception": e, "traceback": None})
            return
        self.send(out)

    def _release_keys(self, client_id: str, keys: list, stimulus_id: str = "release") -> None:
        self.send(self.state.release_keys(client_id, keys, stimulus_id))

    def _retry(self, client_id: str, keys: list, stimulus_id: str = "retry") -> None:
        self.send(self.state.retry(client_id, keys, stimulus_id))

    def update_data(self, client_id: str, who_has: dict, nbytes: dict) -> None:
        """A client placed data on workers (``scatter``): a request, not a stream message,
        so the client knows the scheduler has it before using the keys."""
        self.send(self.state.update_data(client_id, who_has, nbytes, "scatter"))

    def _fire_and_forget(self, client_id: str, keys: list) -> None:
        # A client that never leaves holds these keys until they finish.
        if FIRE_AND_FORGET not in self.state.clients:
            self.state.add_client(FIRE_AND_FORGET)
        keys = [k for k in keys if k in self.state.tasks]
        self.send(self.state.update_graph(FIRE_AND_FORGET, {}, {}, keys,
                                          stimulus_id="fire-and-forget"))

    # --- streams ----------------------------------------------------------------------

    async def _serve_stream(self, comm: Comm, handlers: dict, sender: str, field: str
                            ) -> None:
        """Read batches from ``comm`` and dispatch each message; returns when it closes.

        The sender's identity is added by the server (``worker=`` / ``client_id=``), never
        taken from the message, so a peer cannot act for another.
        """
        while True:
            try:
                batch = await comm.read()
            except (CommClosedError, OSError):
                return
            batch = batch if type(batch) is list else [batch]
            self.system.messages += len(batch)
            for msg in batch:
                op = msg.pop("op", None) if type(msg) is dict else None
                if op == "close":
                    return
                handler = handlers.get(op)
                if handler is None:
                    logger.warning("ignoring message %r from %s: unknown op", op, sender)
                    continue
                msg[field] = sender
                try:
                    handler(**msg)
                except Exception:
                    logger.exception("handling %r from %s failed", op, sender)

    # --- queries ----------------------------------------------------------------------

    def who_has(self, keys: list) -> dict:
        """``{key: [worker addresses]}`` for the keys in memory."""
        tasks = self.state.tasks
        return {k: [ws.address for ws in tasks[k].who_has] for k in keys if k in tasks}

    async def restart(self, timeout: float = 30.0) -> int:
        """Forget every task of every client, free all worker memory, and restart worker
        processes that run under a nanny; returns the workers present afterwards."""
        before = len(self.state.workers)
        for client_id, stream in self.client_streams.items():
            stream.send({"op": "restart"})
        for client_id, cs in list(self.state.clients.items()):
            self.send(self.state.release_keys(client_id, [ts.key for ts in cs.wants_what],
                                              stimulus_id="restart"))
        for stream in list(self.worker_streams.values()):
            stream.send({"op": "restart"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.sleep(0.05)
        while len(self.state.workers) < before and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return len(self.state.workers)

    async def run_function(self, function: Any, args: Any = (), kwargs: Any = None) -> Any:
        """``Client.run_on_scheduler``: call a function here (unpickled only for this)."""
        function, args, kwargs = (_loads(x) for x in (function, args, kwargs or {}))
        import inspect

        if "scheduler" in inspect.signature(function).parameters:
            kwargs = dict(kwargs, scheduler=self)
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def has_what(self) -> dict:
        """``{worker address: [keys it holds]}``."""
        return {a: [ts.key for ts in ws.has_what] for a, ws in self.state.workers.items()}

    def ncores(self) -> dict[str, int]:
        return {a: ws.nthreads for a, ws in self.state.workers.items()}

    def scheduler_info(self) -> dict:
        """Workers and their load, for clients and the dashboard."""
        return {
            "address": self.address,
            "workers": {
                a: {"name": ws.name, "nthreads": ws.nthreads, "memory_limit": ws.memory_limit,
                    "status": ws.status, "processing": len(ws.processing),
                    "in_memory": len(ws.has_what), "nbytes": ws.nbytes,
                    "resources": ws.resources, "metrics": ws.metrics,
                    "memory": {k: ws.metrics.get(k, 0)
                               for k in ("managed", "spilled", "unmanaged")}}
                for a, ws in self.state.workers.items()
            },
            "tasks": len(self.state.tasks),
            "clients": len(self.state.clients),
            "dashboard_address": self.dashboard_link,
        }

    # --- activity: the task stream, profiles, performance reports ---------------------

    @property
    def dashboard_link(self) -> str | None:
        """``http://host:port/status`` of this scheduler's dashboard, or None."""
        return self.dashboard.link if self.dashboard is not None else None

    async def flush_activity(self, timeout: float = 2.0) -> list[str]:
        """Ask every worker for what it has not reported yet and wait for the answers
        (at most ``timeout`` seconds); returns the workers that did not answer."""
        import uuid

        pending = {a for a, s in self.worker_streams.items() if not s.closed()}
        if not pending:
            return []
        flush_id = uuid.uuid4().hex
        event = asyncio.Event()
        self._flushes[flush_id] = (pending, event)
        for address in list(pending):
            self.worker_streams[address].send({"op": "flush-activity", "flush_id": flush_id})
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            logger.info("no activity report from %s within %.1f s", sorted(pending), timeout)
        finally:
            self._flushes.pop(flush_id, None)
        return sorted(pending)

    def get_task_stream(self, start: float | None = None, stop: float | None = None,
                        count: int | None = None) -> list[dict]:
        """Task-stream records (see :data:`~graphengine.scheduler.activity.RECORD_FIELDS`)."""
        return self.task_stream.window(start, stop, count)

    def get_profile(self, start: float | None = None, stop: float | None = None,
                    prefix: str | None = None, workers: list | None = None) -> list:
        """The merged call tree of the samples in the window, flattened for the wire."""
        from graphengine.worker.profile import flatten, merge

        return flatten(merge(*self.profiles.select(start, stop, prefix, workers)))

    async def performance_data(self, start: float, stop: float | None = None) -> dict:
        """Everything a performance report shows for the wall-clock window."""
        await self.flush_activity()
        return {
            "start": start, "stop": stop,
            "task_stream": self.get_task_stream(start, stop),
            "profile": self.get_profile(start, stop),
            "memory": [list(e) for e in self.memory_history.window(start, stop)],
            "workers": {a: {"nthreads": ws.nthreads, "memory_limit": ws.memory_limit,
                            "name": ws.name}
                        for a, ws in self.state.workers.items()},
        }
