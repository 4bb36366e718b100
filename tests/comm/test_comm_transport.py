"""Addresses, listen/connect, and hostile peers over real loopback sockets.

Every attack closes only the attacker's connection: each test then checks that a
well-behaved client is still served.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import time

import msgpack
import pytest
from tornado.tcpclient import TCPClient

from graphengine import config
from graphengine.comm import Security, Server, connect, listen, parse_address, rpc
from graphengine.comm.address import unparse_address
from graphengine.comm.framing import FrameLimits, FrameReader, pack_frames
from graphengine.comm.handshake import handshake
from graphengine.comm.message import dumps
from graphengine.errors import AuthenticationError, CommClosedError, ProtocolError

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(coro)


# --- addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, parsed", [
    ("tcp://127.0.0.1:8786", ("tcp", "127.0.0.1", 8786)),
    ("tls://[::1]:0", ("tls", "::1", 0)),
    ("tcp://localhost:1", ("tcp", "localhost", 1)),
    ("127.0.0.1:8786", ("tcp", "127.0.0.1", 8786)),  # tcp by default
])
def test_addresses_parse(text, parsed):
    assert tuple(parse_address(text)) == parsed
    assert parse_address(unparse_address(*parsed)) == parse_address(text)


@pytest.mark.parametrize("bad, why", [
    ("udp://127.0.0.1:1", "udp"),
    ("tcp://127.0.0.1:99999", "port"),
    ("tcp://127.0.0.1", "port"),
    ("tcp://::1:80", "IPv6"),
    ("tcp://bad host:1", "host"),
])
def test_bad_addresses_are_refused_naming_the_address(bad, why):
    with pytest.raises(ValueError) as info:
        parse_address(bad)
    assert bad in str(info.value)
    assert why.lower() in str(info.value).lower()


# --- listen / connect --------------------------------------------------------------------

async def _echo_server(**kw):
    async def echo(comm):
        try:
            while True:
                await comm.write(await comm.read())
        except CommClosedError:
            pass

    return await listen("tcp://127.0.0.1:0", echo, **kw)


async def _roundtrip(address, msg="ping", **kw):
    comm = await connect(address, timeout=5, **kw)
    try:
        await comm.write({"op": "echo", "x": msg})
        return (await comm.read())["x"]
    finally:
        comm.abort()


def test_listen_on_port_zero_and_echo():
    async def main():
        async with await _echo_server() as listener:
            assert parse_address(listener.address).port > 0
            assert await _roundtrip(listener.address, ("a", 1)) == ("a", 1)

    run(main())


def _ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback_works(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback():
    async def main():
        async def echo(comm):
            await comm.write(await comm.read())

        async with await listen("tcp://[::1]:0", echo) as listener:
            assert listener.address.startswith("tcp://[::1]:")
            assert await _roundtrip(listener.address) == "ping"

    run(main())


def test_connect_retries_until_the_timeout_and_names_the_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens here
    address = f"tcp://127.0.0.1:{port}"

    async def main():
        start = time.monotonic()
        with pytest.raises((OSError, asyncio.TimeoutError)) as info:
            await connect(address, timeout=0.6)
        elapsed = time.monotonic() - start
        # Several attempts with growing pauses until the deadline.
        assert 0.55 <= elapsed < 5, elapsed
        assert address in str(info.value)

    run(main())


def test_connect_succeeds_once_a_late_server_appears():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        async def echo(comm):
            await comm.write(await comm.read())

        async def start_late():
            await asyncio.sleep(0.3)
            return await listen(f"tcp://127.0.0.1:{port}", echo)

        late = asyncio.ensure_future(start_late())
        assert await _roundtrip(f"tcp://127.0.0.1:{port}") == "ping"
        (await late).stop()

    run(main())


def test_a_non_loopback_listener_without_security_warns(caplog):
    async def main():
        async def nothing(comm):
            comm.abort()

        with caplog.at_level(logging.WARNING, logger="graphengine.comm"):
            listener = await listen("tcp://0.0.0.0:0", nothing)
            listener.stop()

    run(main())
    assert any("SECURITY" in r.message and "0.0.0.0" in r.message for r in caplog.records)


# --- hostile peers -----------------------------------------------------------------------

async def _raw_stream(address):
    addr = parse_address(address)
    return await TCPClient().connect(addr.host, addr.port)


async def _handshaken_comm(address):
    """A real Comm whose raw stream the test then abuses."""
    return await connect(address, timeout=5)


async def _closed_by_peer(stream, timeout=5.0):
    try:
        await asyncio.wait_for(stream.read_bytes(1 << 20, partial=True), timeout)
        await asyncio.wait_for(stream.read_bytes(1 << 20, partial=True), timeout)
    except Exception:
        pass
    return stream.closed()


def test_garbage_bytes_close_only_that_connection():
    async def main():
        async with await _echo_server() as listener:
            raw = await _raw_stream(listener.address)
            await raw.write(os.urandom(4096))
            assert await _closed_by_peer(raw)
            assert await _roundtrip(listener.address) == "ping"

    run(main())


def test_a_frame_claiming_100_gb_is_refused_before_allocating():
    async def main():
        async with await _echo_server() as listener:
            comm = await _handshaken_comm(listener.address)
            # n=1 frame, body claims 100 GB + its length entry.
            await comm.stream.write(struct.pack("<QQQ", 1, 8 + 100 * 2**30, 100 * 2**30))
            assert await _closed_by_peer(comm.stream)
            assert await _roundtrip(listener.address) == "ping"

    run(main())


def test_a_truncated_frame_closes_only_that_connection():
    async def main():
        async with await _echo_server() as listener:
            comm = await _handshaken_comm(listener.address)
            wire = b"".join(pack_frames(dumps({"op": "echo", "x": "y" * 1000}), 1 << 20))
            await comm.stream.write(wire[: len(wire) // 2])
            comm.stream.close()
            assert await _roundtrip(listener.address) == "ping"

    run(main())


def test_a_msgpack_nesting_bomb_is_refused():
    async def main():
        async with await _echo_server() as listener:
            comm = await _handshaken_comm(listener.address)
            header = b"\x91" * 100_000 + b"\xc0"  # 100,000 nested one-element lists
            await comm.stream.write(b"".join(pack_frames([header], 1 << 20)))
            assert await _closed_by_peer(comm.stream)
            assert await _roundtrip(listener.address) == "ping"

    run(main())


class _Tripwire:
    """Unpickling it creates a file: proof that something was deserialized."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_an_unauthenticated_peer_is_closed_before_anything_is_unpickled(tmp_path):
    trip = str(tmp_path / "unpickled")
    sec = Security(token="right")

    async def main():
        async with await _echo_server(security=sec) as listener:
            raw = await _raw_stream(listener.address)
            # Sent straight away, instead of the handshake's hello.
            msg = dumps({"op": "echo", "x": _Tripwire(trip)})
            await raw.write(b"".join(pack_frames(msg, 1 << 20)))
            assert await _closed_by_peer(raw)
            assert await _roundtrip(listener.address, security=sec) == "ping"

    run(main())
    assert not os.path.exists(trip)


def test_a_wrong_token_is_refused_and_the_right_one_served():
    async def main():
        async with await _echo_server(security=Security(token="right")) as listener:
            with pytest.raises(AuthenticationError):
                await connect(listener.address, timeout=5, security=Security(token="wrong"))
            with pytest.raises((AuthenticationError, CommClosedError)):
                await connect(listener.address, timeout=5)  # no token at all
            assert await _roundtrip(listener.address, security=Security(token="right")) == "ping"

    run(main())


def test_the_token_never_crosses_the_wire(tmp_path):
    token = "super-secret-token-value"
    captured = bytearray()

    async def main():
        async with await _echo_server(security=Security(token=token)) as listener:
            target = parse_address(listener.address)

            async def relay(reader, writer):
                up_r, up_w = await asyncio.open_connection(target.host, target.port)

                async def pipe(src, dst):
                    while data := await src.read(65536):
                        captured.extend(data)
                        dst.write(data)
                        await dst.drain()
                    dst.close()

                await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer),
                                     return_exceptions=True)

            proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
            port = proxy.sockets[0].getsockname()[1]
            assert await _roundtrip(f"tcp://127.0.0.1:{port}",
                                    security=Security(token=token)) == "ping"
            proxy.close()

    run(main())
    assert b"ping" in captured  # the capture saw the traffic...
    assert token.encode() not in bytes(captured)  # ...but never the token


def test_mutual_tls_with_temporary_credentials_and_a_client_without_a_certificate():
    sec = Security.temporary()

    async def main():
        async def echo(comm):
            try:
                await comm.write(await comm.read())
            except CommClosedError:
                pass

        async with await listen("tls://127.0.0.1:0", echo, security=sec) as listener:
            assert listener.address.startswith("tls://")
            assert await _roundtrip(listener.address, security=sec) == "ping"
            with pytest.raises(ValueError, match="ca_file"):  # told what is missing
                await connect(listener.address, timeout=2, security=Security())
            # Trusts the server, but has no certificate of its own: the server refuses.
            no_cert = Security(ca_file=sec.ca_file)
            with pytest.raises((OSError, CommClosedError, asyncio.TimeoutError)):
                await _roundtrip(listener.address, security=no_cert)
            assert await _roundtrip(listener.address, security=sec) == "ping"

    run(main())


def test_an_incompatible_protocol_version_is_named_on_both_sides(caplog):
    async def main():
        async with await _echo_server() as listener:
            stream = await _raw_stream(listener.address)
            reader = FrameReader(stream, FrameLimits.from_config())
            with caplog.at_level(logging.WARNING, logger="graphengine.comm"):
                with pytest.raises(ProtocolError, match="version") as info:
                    await handshake(stream, reader, "client", token=None, codecs=[],
                                    peer=listener.address, version=999)
                await asyncio.sleep(0.05)
            assert "999" in str(info.value)
            assert await _roundtrip(listener.address) == "ping"

    run(main())
    assert any("version" in r.getMessage() for r in caplog.records)


def test_oversized_messages_per_config_are_refused():
    async def main():
        with config.set({"comm.max-message-size": 1 << 20}):
            async with await _echo_server() as listener:
                comm = await connect(listener.address, timeout=5)
                await comm.write({"op": "echo", "x": b"x" * (2 << 20)})
                assert await _closed_by_peer(comm.stream)
                assert await _roundtrip(listener.address) == "ping"

    run(main())


def test_server_rpc_survives_a_bad_peer_between_good_calls():
    async def main():
        server = Server({"add": lambda x, y: x + y})
        await server.listen("tcp://127.0.0.1:0")
        async with rpc(server.address) as remote:
            assert await remote.add(x=1, y=2) == 3
            raw = await _raw_stream(server.address)
            await raw.write(b"\xff" * 100)
            assert await _closed_by_peer(raw)
            assert await remote.add(x=2, y=3) == 5
        await server.close()

    run(main())


def test_msgpack_is_the_wire_format_of_plain_headers():
    frames = dumps({"op": "x", "n": 1})
    assert msgpack.unpackb(frames[0]) == {"op": "x", "n": 1}


def test_the_handshake_agrees_on_compression():
    from graphengine.comm import compression

    if "lz4" not in compression.available_codecs():
        pytest.skip("lz4 not installed")

    async def main():
        async with await _echo_server() as listener:
            comm = await connect(listener.address, timeout=5)
            assert comm.peer_info["compression"] == ["lz4"]
            assert comm.compression == "lz4"
            comm.abort()
            with config.set({"comm.compression": None}):
                plain = await connect(listener.address, timeout=5)
                assert plain.compression is None  # we chose not to compress
                plain.abort()

    run(main())
