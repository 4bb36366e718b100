"""The wire protocol: addresses, TCP/TLS transports, framing, serialization, RPC.

Everything a scheduler, worker or client needs to talk to another process::

    server = Server({"add": lambda x, y: x + y}); await server.listen("tcp://127.0.0.1:0")
    async with rpc(server.address) as remote:
        assert await remote.add(x=1, y=2) == 3

Layers, bottom up: :mod:`~.address` (parse/format ``tcp://host:port``), :mod:`~.framing`
(length-prefixed frames), :mod:`~.serialize` and :mod:`~.message` (msgpack header plus
zero-copy out-of-band buffers), :mod:`~.compression`, :mod:`~.security` and
:mod:`~.handshake` (TLS, token authentication, version check), :mod:`~.tcp` (``Comm``,
``listen``, ``connect``), :mod:`~.rpc` (``Server``, ``ConnectionPool``) and
:mod:`~.batched` (``BatchedStream``).
"""
from __future__ import annotations

from graphengine.comm.address import (
    Address,
    normalize_address,
    parse_address,
    unparse_address,
)
from graphengine.comm.batched import BatchedStream
from graphengine.comm.handshake import PROTOCOL_VERSION
from graphengine.comm.message import dumps, loads
from graphengine.comm.rpc import ConnectionPool, PooledRPC, Server, rpc
from graphengine.comm.security import Security
from graphengine.comm.serialize import Serialized, deserialize, register_serializer, serialize
from graphengine.comm.tcp import Comm, Listener, connect, listen

__all__ = [
    "Address",
    "parse_address",
    "unparse_address",
    "normalize_address",
    "Comm",
    "Listener",
    "listen",
    "connect",
    "Server",
    "ConnectionPool",
    "PooledRPC",
    "rpc",
    "BatchedStream",
    "Security",
    "Serialized",
    "serialize",
    "deserialize",
    "register_serializer",
    "dumps",
    "loads",
    "PROTOCOL_VERSION",
]
