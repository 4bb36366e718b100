"""Request/response on top of comms: a :class:`Server` base and pooled RPC clients.

A server maps operation names to handlers; a caller writes ``{"op": name, **kwargs}`` and
gets the handler's return value back, or the handler's exception re-raised with its
original type and the remote traceback attached as ``__cause__``::

    server = Server({"add": lambda x, y: x + y}); await server.listen("tcp://127.0.0.1:0")
    async with rpc(server.address) as remote:
        assert await remote.add(x=1, y=2) == 3

A message carrying ``"reply": False`` gets no answer. A list of messages (what a
:class:`~graphengine.comm.batched.BatchedStream` sends) is dispatched message by message
to ``stream_handlers``, without replies.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from graphengine import config
from graphengine.comm.address import normalize_address
from graphengine.comm.security import Security
from graphengine.comm.tcp import Comm, Listener, connect, listen
from graphengine.errors import CommClosedError, ProtocolError, RemoteTraceback

__all__ = ["Server", "ConnectionPool", "PooledRPC", "rpc"]

logger = logging.getLogger(__name__)


def _takes_comm(handler: Callable) -> bool:
    try:
        return "comm" in inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return False


def _error_reply(exc: BaseException) -> dict[str, Any]:
    return {"status": "error", "exception": exc,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


class Server:
    """Dispatch incoming messages by ``"op"`` to handlers and send back their results.

    Parameters
    ----------
    handlers : dict, optional
        ``{"op": handler}``; a handler is called with the message's other fields as
        keyword arguments (plus ``comm=`` if it has such a parameter), may be sync or
        async, and its return value is the reply.
    stream_handlers : dict, optional
        ``{"op": handler}`` for messages arriving in batches (no reply).
    security : Security, optional
        Credentials for :meth:`listen`.
    deserialize : bool
        False keeps payloads as ``Serialized`` (a relay need not unpickle them).

    Examples
    --------
    >>> async def main():
    ...     server = Server({"double": lambda x: 2 * x})
    ...     await server.listen("tcp://127.0.0.1:0")
    ...     async with rpc(server.address) as remote:
    ...         result = await remote.double(x=21)
    ...     await server.close()
    ...     return result
    >>> asyncio.run(main())
    42
    """

    def __init__(self, handlers: dict[str, Callable] | None = None,
                 stream_handlers: dict[str, Callable] | None = None, *,
                 security: Security | None = None, deserialize: bool = True):
        self.handlers: dict[str, Callable] = {"identity": self.identity}
        self.handlers.update(handlers or {})
        self.stream_handlers: dict[str, Callable] = dict(stream_handlers or {})
        self.security = security
        self.deserialize = deserialize
        self.listeners: list[Listener] = []
        self._comms: set[Comm] = set()
        self._takes_comm: dict[Callable, bool] = {}
        self._closed = False

    async def listen(self, address: str = "tcp://127.0.0.1:0") -> Listener:
        """Start accepting connections on ``address`` (may be called more than once)."""
        listener = await listen(address, self.handle_comm, security=self.security,
                                deserialize=self.deserialize)
        self.listeners.append(listener)
        return listener

    @property
    def address(self) -> str:
        """Address of the first listener."""
        if not self.listeners:
            raise RuntimeError(f"{type(self).__name__} is not listening; await .listen() first")
        return self.listeners[0].address

    def identity(self) -> dict[str, Any]:
        """Built-in ``identity`` operation: what kind of server this is, and where."""
        return {"type": type(self).__name__, "address": self.address}

    def _call(self, handler: Callable, kwargs: dict[str, Any], comm: Comm) -> Any:
        wants = self._takes_comm.get(handler)
        if wants is None:
            wants = self._takes_comm[handler] = _takes_comm(handler)
        if wants:
            kwargs["comm"] = comm
        return handler(**kwargs)

    async def handle_comm(self, comm: Comm) -> None:
        """Serve one connection until it closes (what :meth:`listen` runs per connection)."""
        self._comms.add(comm)
        try:
            while not self._closed:
                try:
                    msg = await comm.read()
                except CommClosedError:  # peer left; a protocol error was already logged
                    return
                if type(msg) is list:
                    await self._handle_batch(comm, msg)
                    continue
                if type(msg) is not dict or "op" not in msg:
                    logger.warning("closing connection from %s: expected a dict with an 'op', "
                                   "got %s", comm.peer_address, type(msg).__name__)
                    return
                op = msg.pop("op")
                reply = msg.pop("reply", True)
                try:
                    handler = self.handlers.get(op) if type(op) is str else None
                    if handler is None:
                        raise ValueError(f"unknown operation {op!r}; {type(self).__name__} "
                                         f"handles {sorted(self.handlers)}")
                    result = self._call(handler, msg, comm)
                    if inspect.isawaitable(result):
                        result = await result
                    response = {"status": "OK", "result": result}
                except Exception as e:
                    response = _error_reply(e)
                if reply and not comm.closed():
                    await self._reply(comm, op, response)
                if comm.closed():
                    return
        finally:
            self._comms.discard(comm)
            comm.abort()

    async def _reply(self, comm: Comm, op: Any, response: dict[str, Any]) -> None:
        try:
            await comm.write(response)
            return
        except CommClosedError:
            return
        except TypeError as e:  # the result or the exception would not serialize
            logger.debug("reply to %r from %s does not serialize: %s", op, comm.peer_address, e)
            fallback = _error_reply(e)
        try:
            await comm.write(fallback)
        except TypeError:
            exc = response.get("exception")
            await comm.write({"status": "error", "traceback": response.get("traceback", ""),
                              "exception": RuntimeError(f"{type(exc).__name__}: {exc}")})

    async def _handle_batch(self, comm: Comm, msgs: list[Any]) -> None:
        for msg in msgs:
            if type(msg) is not dict:
                logger.warning("ignoring a batched %s from %s: not a dict",
                               type(msg).__name__, comm.peer_address)
                continue
            op = msg.pop("op", None)
            handler = self.stream_handlers.get(op) if type(op) is str else None
            if handler is None:
                logger.warning("ignoring batched message with unknown op %r from %s",
                               op, comm.peer_address)
                continue
            try:
                result = self._call(handler, msg, comm)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("stream handler for %r failed on a message from %s",
                                 op, comm.peer_address)

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        self._closed = True
        for listener in self.listeners:
            listener.stop()
        for comm in list(self._comms):
            comm.abort()

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Peer:
    __slots__ = ("idle", "open", "waiters")

    def __init__(self) -> None:
        self.idle: list[tuple[Comm, float]] = []  # (comm, loop time it was released)
        self.open = 0
        self.waiters: deque[asyncio.Future] = deque()


class ConnectionPool:
    """Reusable connections to many peers, at most ``limit_per_peer`` open to each.

    ``pool(address).op(**kwargs)`` borrows a connection (reusing an idle one, opening a
    new one below the limit, or waiting for one to come back), sends the call, returns
    the reply and puts the connection back. Idle connections close after
    ``idle_timeout`` seconds.

    Parameters
    ----------
    limit_per_peer : int, optional
        Default ``comm.pool.max-per-peer``.
    idle_timeout : float, optional
        Default ``comm.pool.idle-timeout``.
    security : Security, optional
        Credentials for new connections.
    connect_timeout : float, optional
        Default ``comm.timeouts.connect``.
    deserialize : bool
        Passed to the connections (False keeps payloads serialized).

    Examples
    --------
    >>> async def main():
    ...     server = Server({"ping": lambda: "pong"})
    ...     await server.listen("tcp://127.0.0.1:0")
    ...     pool = ConnectionPool(limit_per_peer=2)
    ...     answers = await asyncio.gather(*(pool(server.address).ping() for _ in range(5)))
    ...     opened = pool.open_count(server.address)
    ...     await pool.close(); await server.close()
    ...     return answers[0], opened
    >>> asyncio.run(main())
    ('pong', 2)
    """

    def __init__(self, limit_per_peer: int | None = None, idle_timeout: float | None = None,
                 *, security: Security | None = None, connect_timeout: float | None = None,
                 deserialize: bool = True):
        self.limit = int(limit_per_peer if limit_per_peer is not None
                         else config.get("comm.pool.max-per-peer"))
        if self.limit < 1:
            raise ValueError(f"limit_per_peer must be at least 1, got {self.limit}")
        self.idle_timeout = float(idle_timeout if idle_timeout is not None
                                  else config.get("comm.pool.idle-timeout"))
        self.security = security
        self.connect_timeout = connect_timeout
        self.deserialize = deserialize
        self._peers: dict[str, _Peer] = {}
        self._in_use: set[Comm] = set()
        self._reaper: asyncio.TimerHandle | None = None
        self._closed = False

    def __call__(self, address: str) -> "PooledRPC":
        return PooledRPC(self, address)

    def open_count(self, address: str) -> int:
        """Connections to ``address`` open now (idle or in use)."""
        peer = self._peers.get(normalize_address(address))
        return peer.open if peer else 0

    def idle_count(self, address: str) -> int:
        """Idle connections to ``address`` waiting for reuse."""
        peer = self._peers.get(normalize_address(address))
        return len(peer.idle) if peer else 0

    async def acquire(self, address: str) -> Comm:
        """Borrow a connection to ``address``; give it back with :meth:`release`."""
        key = normalize_address(address)
        while True:
            if self._closed:
                raise CommClosedError("the connection pool is closed")
            peer = self._peers.get(key)
            if peer is None:
                peer = self._peers[key] = _Peer()
            while peer.idle:
                comm, _ = peer.idle.pop()  # most recent first: the others may expire
                if not comm.closed():
                    self._in_use.add(comm)
                    return comm
                peer.open -= 1
            if peer.open < self.limit:
                peer.open += 1
                try:
                    comm = await connect(key, self.connect_timeout, security=self.security,
                                         deserialize=self.deserialize)
                except BaseException:
                    peer.open -= 1
                    self._wake(peer)
                    raise
                self._in_use.add(comm)
                return comm
            waiter = asyncio.get_running_loop().create_future()
            peer.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in peer.waiters:
                    peer.waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake(peer)  # pass on the wake-up we will not use
                raise

    def release(self, address: str, comm: Comm) -> None:
        """Return a borrowed connection (a closed one just frees its slot)."""
        key = normalize_address(address)
        self._in_use.discard(comm)
        peer = self._peers.get(key)
        if peer is None:  # pool closed and cleared meanwhile
            comm.abort()
            return
        if comm.closed() or self._closed:
            comm.abort()
            peer.open -= 1
        else:
            loop = asyncio.get_running_loop()
            peer.idle.append((comm, loop.time()))
            if self._reaper is None:
                # One timer for the whole pool, not one per call: releases are hot.
                self._reaper = loop.call_later(self.idle_timeout, self._reap)
        self._wake(peer)

    def _reap(self) -> None:
        """Close connections idle for ``idle_timeout``; re-arm for the next expiry."""
        self._reaper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        next_expiry = None
        for key, peer in self._peers.items():
            keep = []
            for comm, since in peer.idle:
                if since + self.idle_timeout <= now or comm.closed():
                    peer.open -= 1
                    comm.abort()
                    logger.debug("closed idle connection to %s", key)
                else:
                    keep.append((comm, since))
                    expiry = since + self.idle_timeout
                    next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
            if len(keep) != len(peer.idle):
                peer.idle[:] = keep
                self._wake(peer)
        if next_expiry is not None and not self._closed:
            self._reaper = loop.call_at(next_expiry, self._reap)

    @staticmethod
    def _wake(peer: _Peer) -> None:
        while peer.waiters:
            waiter = peer.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def call(self, address: str, op: str, kwargs: dict[str, Any]) -> Any:
        """Send ``{"op": op, **kwargs}`` to ``address`` and return the reply.

        ``kwargs["reply"] = False`` sends without waiting for an answer (returns None).

        Raises
        ------
        Exception
            The handler's exception, its remote traceback as ``__cause__``.
        CommClosedError
            The connection broke during the call.
        """
        reply = kwargs.pop("reply", True)
        msg = {"op": op, **kwargs}
        if not reply:
            msg["reply"] = False
        comm = await self.acquire(address)
        try:
            await comm.write(msg)
            response = await comm.read() if reply else None
        except TypeError:  # did not serialize: nothing was sent, the comm is fine
            self.release(address, comm)
            raise
        except BaseException:  # broken or cancelled mid-call: the comm is out of step
            comm.abort()
            self.release(address, comm)
            raise
        self.release(address, comm)
        return _unwrap(response, op, address) if reply else None

    async def close(self) -> None:
        """Close every connection, idle or in use; later calls fail."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for peer in self._peers.values():
            for comm, _ in peer.idle:
                comm.abort()
            peer.idle.clear()
            for waiter in peer.waiters:
                if not waiter.done():
                    waiter.set_result(None)  # they wake up and see the pool closed
        for comm in list(self._in_use):
            comm.abort()
        self._peers.clear()

    async def __aenter__(self) -> "ConnectionPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _unwrap(response: Any, op: str, address: str) -> Any:
    status = response.get("status") if type(response) is dict else None
    if status == "OK":
        return response.get("result")
    if status == "error":
        exc = response.get("exception")
        if not isinstance(exc, BaseException):
            exc = RuntimeError(f"{address} failed {op!r}: {exc!r}")
        raise exc from RemoteTraceback(str(response.get("traceback", "")))
    raise ProtocolError(f"{address} answered {op!r} with a malformed reply: {response!r:.200}")


class PooledRPC:
    """Calls to one address through a pool: ``await PooledRPC(pool, addr).op(**kwargs)``."""

    __slots__ = ("pool", "address", "_owns_pool")

    def __init__(self, pool: ConnectionPool, address: str, _owns_pool: bool = False):
        self.pool = pool
        self.address = address
        self._owns_pool = _owns_pool

    def __getattr__(self, op: str) -> Callable[..., Any]:
        if op.startswith("_"):
            raise AttributeError(op)
        pool, address = self.pool, self.address

        def send(**kwargs: Any) -> Any:
            return pool.call(address, op, kwargs)

        send.__name__ = op
        return send

    async def close(self) -> None:
        """Close the private pool of an :func:`rpc` (a shared pool is left alone)."""
        if self._owns_pool:
            await self.pool.close()

    async def __aenter__(self) -> "PooledRPC":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<rpc {self.address}>"


def rpc(address: str, *, security: Security | None = None, timeout: float | None = None,
        limit: int | None = None, deserialize: bool = True) -> PooledRPC:
    """Calls to one address over a private pool; close it with ``await r.close()``.

    Examples
    --------
    >>> async def main():
    ...     server = Server({"echo": lambda x: x}); await server.listen("tcp://127.0.0.1:0")
    ...     async with rpc(server.address) as remote:
    ...         out = await remote.echo(x=("a", 1))
    ...     await server.close()
    ...     return out
    >>> asyncio.run(main())
    ('a', 1)
    """
    pool = ConnectionPool(limit, security=security, connect_timeout=timeout,
                          deserialize=deserialize)
    return PooledRPC(pool, address, _owns_pool=True)
