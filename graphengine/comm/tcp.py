"""TCP and TLS transports over tornado: :func:`listen`, :func:`connect` and :class:`Comm`.

A :class:`Comm` carries whole messages (see :mod:`graphengine.comm.message`) over one
authenticated connection; a :class:`Listener` accepts connections, runs the handshake
and hands each good one to your coroutine::

    async def echo(comm):
        await comm.write(await comm.read())
    listener = await listen("tcp://127.0.0.1:0", echo)
    comm = await connect(listener.address); await comm.write({"op": "ping"})
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from tornado import netutil
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer

from graphengine import config
from graphengine.comm import compression
from graphengine.comm.address import is_loopback_host, parse_address, unparse_address
from graphengine.comm.framing import FrameLimits, FrameReader, write_frames
from graphengine.comm.handshake import handshake
from graphengine.comm.message import dumps, loads
from graphengine.comm.security import Security
from graphengine.errors import AuthenticationError, CommClosedError, ProtocolError

__all__ = ["Comm", "Listener", "listen", "connect"]

logger = logging.getLogger(__name__)

# Retry delays while a peer is not accepting yet: quick at first (a server starting up),
# capped so a long timeout does not hammer the peer.
_FIRST_RETRY_DELAY = 0.005
_MAX_RETRY_DELAY = 1.0


class Comm:
    """One open, authenticated connection that reads and writes whole messages.

    Not created directly: :func:`connect` and :func:`listen` make them. One coroutine may
    read at a time; writes from several coroutines never interleave.

    Attributes
    ----------
    local_address, peer_address : str
        ``scheme://host:port`` of both ends.
    peer_info : dict
        What the peer announced in the handshake (protocol version, codecs).
    """

    __slots__ = ("_stream", "_reader", "local_address", "peer_address", "peer_info",
                 "deserialize", "_codec", "_min_size", "_limits", "_max_nesting", "_max_raw",
                 "__weakref__")

    def __init__(self, stream: IOStream, local_address: str, peer_address: str, *,
                 peer_info: dict[str, Any], deserialize: bool = True,
                 limits: FrameLimits | None = None, reader: FrameReader | None = None):
        self._stream = stream
        self.local_address = local_address
        self.peer_address = peer_address
        self.peer_info = peer_info
        self.deserialize = deserialize
        self._codec = compression.choose_codec(compression.default_codec(),
                                               peer_info.get("compression", []))
        self._min_size = compression.compression_min_size()
        self._limits = limits or FrameLimits.from_config()
        self._reader = reader or FrameReader(stream, self._limits)
        self._reader.limits = self._limits
        self._max_nesting = config.get("comm.max-nesting")
        self._max_raw = self._limits.max_message
        # Our reads land in preallocated buffers up to one frame; tornado refuses reads
        # beyond its max_buffer_size, so make room for a whole frame.
        stream.max_buffer_size = max(self._limits.max_frame, 1 << 20)

    @property
    def stream(self) -> IOStream:
        """The underlying tornado IOStream (for low-level tools and protocol tests)."""
        return self._stream

    @property
    def compression(self) -> str | None:
        """Codec used for large frames sent on this connection (agreed with the peer)."""
        return self._codec

    async def read(self, deserialize: bool | None = None) -> Any:
        """Wait for the next message and return it.

        Parameters
        ----------
        deserialize : bool, optional
            Override the comm's setting: False leaves serialized objects as
            :class:`~graphengine.comm.serialize.Serialized` (nothing is unpickled).

        Raises
        ------
        CommClosedError
            The connection is closed.
        ProtocolError
            The peer sent something malformed or oversized; the connection has been
            closed and the reason logged.
        """
        try:
            frames = await self._reader.read()
        except StreamClosedError as e:
            raise CommClosedError(f"connection to {self.peer_address} is closed"
                                  + _why(e)) from None
        except ProtocolError as e:
            self._fail(str(e))
            raise ProtocolError(f"{self.peer_address}: {e}") from None
        except BaseException:  # cancelled mid-message: the stream is out of step
            self.abort()
            raise
        try:
            return loads(frames, self.deserialize if deserialize is None else deserialize,
                         self._max_nesting, self._max_raw)
        except ProtocolError as e:
            self._fail(str(e))
            raise ProtocolError(f"{self.peer_address}: {e}") from e.__cause__
        except Exception as e:
            reason = f"could not deserialize a message: {type(e).__name__}: {e}"
            self._fail(reason)
            raise ProtocolError(f"{self.peer_address}: {reason}") from e

    async def write(self, msg: Any) -> int:
        """Send one message; return the number of bytes put on the wire.

        Raises
        ------
        TypeError
            Part of ``msg`` cannot be serialized (nothing was sent).
        CommClosedError
            The connection is closed.
        """
        stream = self._stream
        if stream.closed():
            raise CommClosedError(f"connection to {self.peer_address} is closed"
                                  + _why(stream))
        frames = dumps(msg, self._codec, self._min_size)
        try:
            return await write_frames(stream, frames, self._limits.split_size)
        except StreamClosedError as e:
            raise CommClosedError(f"connection to {self.peer_address} closed while "
                                  f"writing" + _why(e)) from None

    async def close(self) -> None:
        """Close the connection (writes already awaited have reached the kernel)."""
        self._stream.close()

    def abort(self) -> None:
        """Close at once, without waiting for anything."""
        self._stream.close()

    def closed(self) -> bool:
        """True once either end has closed the connection."""
        return self._stream.closed()

    def _fail(self, reason: str) -> None:
        logger.warning("closing connection %s <-> %s: %s", self.local_address,
                       self.peer_address, reason)
        self.abort()

    def __repr__(self) -> str:
        state = "closed" if self.closed() else "open"
        return f"<Comm {self.local_address} -> {self.peer_address} ({state})>"


def _why(error: Any) -> str:
    real = getattr(error, "real_error", None) or getattr(error, "error", None)
    return f" ({type(real).__name__}: {real})" if real else ""


def _security(security: Security | None) -> Security:
    return security if security is not None else Security.from_config()


def _sockname(stream: IOStream, scheme: str, peer: bool) -> str:
    try:
        sock = stream.socket
        host, port = (sock.getpeername() if peer else sock.getsockname())[:2]
        return unparse_address(scheme, host, port)
    except (OSError, AttributeError):
        return f"{scheme}://<closed>"


async def _run_handshake(stream: IOStream, reader: FrameReader, role: str, sec: Security,
                         peer: str, timeout: float) -> dict[str, Any]:
    return await asyncio.wait_for(
        handshake(stream, reader, role, token=sec.token,
                  codecs=compression.available_codecs(), peer=peer), timeout)


class _Server(TCPServer):
    """tornado's accept loop, forwarding each new stream to its Listener."""

    def __init__(self, listener: "Listener", **kwargs: Any):
        super().__init__(**kwargs)
        self._listener = listener

    async def handle_stream(self, stream: IOStream, address: tuple) -> None:
        await self._listener._on_stream(stream, address)


class Listener:
    """Accepts connections on an address; see :func:`listen`."""

    def __init__(self, address: str, handler: Callable[[Comm], Awaitable[None] | None], *,
                 security: Security | None = None, deserialize: bool = True):
        self.scheme, self._host, self._port = parse_address(address)
        self.handler = handler
        self.security = _security(security)
        self.deserialize = deserialize
        self._server: _Server | None = None
        self._bound_port: int | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Bind the socket(s) and start accepting."""
        tls = self.scheme == "tls"
        ssl_ctx = self.security.server_context() if tls else None
        if not is_loopback_host(self._host) and not tls and not self.security.token:
            logger.warning(
                "SECURITY: listening on %s with neither TLS nor an authentication token: "
                "anyone who can reach this port can run arbitrary code in this process. "
                "Use tls:// with a Security, or set comm.auth-token.",
                unparse_address(self.scheme, self._host, self._port))
        sockets = netutil.bind_sockets(self._port, address=self._host or None)
        self._bound_port = sockets[0].getsockname()[1]
        self._server = _Server(self, ssl_options=ssl_ctx,
                               max_buffer_size=max(FrameLimits.from_config().max_frame, 1 << 20))
        self._server.add_sockets(sockets)
        logger.debug("listening on %s", self.address)

    @property
    def address(self) -> str:
        """The listening address, with the real port when 0 was asked for."""
        port = self._bound_port if self._bound_port is not None else self._port
        return unparse_address(self.scheme, self._host, port)

    def stop(self) -> None:
        """Stop accepting new connections (open ones are left to their owners)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        for task in self._tasks:
            task.cancel()  # handshakes still in progress

    async def _on_stream(self, stream: IOStream, sockaddr: tuple) -> None:
        peer = unparse_address(self.scheme, sockaddr[0], sockaddr[1]) \
            if isinstance(sockaddr, tuple) else f"{self.scheme}://{sockaddr}"
        stream.set_nodelay(True)
        task = asyncio.current_task()
        self._tasks.add(task)
        limits = FrameLimits.from_config()
        reader = FrameReader(stream, limits)
        try:
            info = await _run_handshake(stream, reader, "server", self.security, peer,
                                        config.get("comm.timeouts.handshake"))
        except (ProtocolError, AuthenticationError) as e:
            logger.warning("rejected connection from %s: %s", peer, e)
            stream.close()
            return
        except (StreamClosedError, OSError, asyncio.TimeoutError) as e:
            logger.info("connection from %s closed during handshake: %s",
                        peer, _why(e) or type(e).__name__)
            stream.close()
            return
        except asyncio.CancelledError:
            stream.close()
            return
        finally:
            self._tasks.discard(task)
        comm = Comm(stream, _sockname(stream, self.scheme, False), peer, peer_info=info,
                    deserialize=self.deserialize, limits=limits, reader=reader)
        try:
            result = self.handler(comm)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("connection handler %r failed for %s", self.handler, peer)
            comm.abort()

    async def __aenter__(self) -> "Listener":
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Listener {self.address}>"


async def listen(address: str, handler: Callable[[Comm], Awaitable[None] | None], *,
                 security: Security | None = None, deserialize: bool = True) -> Listener:
    """Listen on ``address`` and call ``handler(comm)`` for every authenticated connection.

    Parameters
    ----------
    address : str
        ``tcp://host:port`` or ``tls://host:port``; port 0 picks a free port (see
        ``Listener.address``).
    handler : callable
        ``async def handler(comm)``; the connection is the handler's to close.
    security : Security, optional
        Credentials; default from config (``comm.tls.*``, ``comm.auth-token``).
    deserialize : bool
        Default for ``Comm.read`` on accepted connections.

    Returns
    -------
    Listener
        Already accepting; ``.stop()`` stops it.

    Examples
    --------
    >>> async def main():
    ...     listener = await listen("tcp://127.0.0.1:0", lambda comm: None)
    ...     listener.stop()
    ...     return listener.address.startswith("tcp://127.0.0.1:")
    >>> asyncio.run(main())
    True
    """
    listener = Listener(address, handler, security=security, deserialize=deserialize)
    await listener.start()
    return listener


def _tls_failure(error: BaseException) -> bool:
    real = getattr(error, "real_error", None)
    return isinstance(error, ssl.SSLError) or isinstance(real, ssl.SSLError)


async def connect(address: str, timeout: float | None = None, *,
                  security: Security | None = None, deserialize: bool = True) -> Comm:
    """Open an authenticated connection to ``address``, retrying until ``timeout``.

    Refused connections are retried with exponential backoff (a server may still be
    starting); TLS, version and authentication failures are not.

    Parameters
    ----------
    timeout : float, optional
        Seconds (default ``comm.timeouts.connect``).

    Raises
    ------
    TimeoutError
        Nobody accepted within ``timeout``; the message names the address.
    ProtocolError, AuthenticationError
        The handshake failed (incompatible versions, wrong token).
    CommClosedError
        The peer closed the connection during TLS or the handshake.
    """
    scheme, host, port = parse_address(address)
    sec = _security(security)
    if timeout is None:
        timeout = config.get("comm.timeouts.connect")
    ssl_ctx = sec.client_context() if scheme == "tls" else None
    limits = FrameLimits.from_config()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = _FIRST_RETRY_DELAY
    client = TCPClient()
    last_error: BaseException | None = None
    while True:
        remaining = deadline - loop.time()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError()
            stream = await asyncio.wait_for(
                client.connect(host, port, ssl_options=ssl_ctx,
                               max_buffer_size=max(limits.max_frame, 1 << 20)), remaining)
            break
        except asyncio.TimeoutError:
            if last_error is not None:
                e = last_error
                raise TimeoutError(f"could not connect to {address} within {timeout:g}s: "
                                   f"{type(e).__name__}: {e}{_why(e)}") from e
            raise TimeoutError(f"timed out after {timeout:g}s connecting to {address}") from None
        except (OSError, StreamClosedError) as e:
            if _tls_failure(e):
                raise CommClosedError(f"TLS handshake with {address} failed: {_why(e) or e}") \
                    from e
            last_error = e
            # Jitter spreads retries; keep trying until the deadline, not short of it.
            pause = delay * (0.5 + random.random())
            await asyncio.sleep(max(0.0, min(pause, deadline - loop.time())))
            delay = min(2 * delay, _MAX_RETRY_DELAY)
    stream.set_nodelay(True)
    reader = FrameReader(stream, limits)
    try:
        info = await _run_handshake(stream, reader, "client", sec, address,
                                    config.get("comm.timeouts.handshake"))
    except (ProtocolError, AuthenticationError):
        stream.close()
        raise
    except asyncio.TimeoutError:
        stream.close()
        raise TimeoutError(f"handshake with {address} timed out") from None
    except (StreamClosedError, OSError) as e:
        stream.close()
        hint = " (TLS certificate rejected?)" if scheme == "tls" else ""
        raise CommClosedError(f"{address} closed the connection during the handshake"
                              f"{hint}{_why(e)}") from None
    except BaseException:
        stream.close()
        raise
    return Comm(stream, _sockname(stream, scheme, False), unparse_address(scheme, host, port),
                peer_info=info, deserialize=deserialize, limits=limits, reader=reader)
