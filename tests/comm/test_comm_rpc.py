"""The RPC server base, the connection pool and batched streams over loopback."""
from __future__ import annotations

import asyncio

import pytest

from graphengine.comm import BatchedStream, ConnectionPool, Server, connect, listen, rpc
from graphengine.errors import CommClosedError, RemoteTraceback

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(coro)


def test_server_dispatches_by_op_to_sync_and_async_handlers():
    async def slow_double(x):
        await asyncio.sleep(0)
        return 2 * x

    async def main():
        async with Server({"add": lambda x, y: x + y, "double": slow_double}) as server:
            await server.listen("tcp://127.0.0.1:0")
            async with rpc(server.address) as remote:
                assert await remote.add(x=1, y=2) == 3
                assert await remote.double(x=21) == 42
                assert (await remote.identity())["type"] == "Server"

    run(main())


def test_handler_errors_come_back_with_their_type_and_remote_traceback():
    def fail(key):
        raise KeyError(f"no such key {key!r}")

    async def main():
        async with Server({"fail": fail}) as server:
            await server.listen("tcp://127.0.0.1:0")
            async with rpc(server.address) as remote:
                with pytest.raises(KeyError, match="no such key 'k'") as info:
                    await remote.fail(key="k")
                assert isinstance(info.value.__cause__, RemoteTraceback)
                with pytest.raises(ValueError, match="unknown operation 'nope'"):
                    await remote.nope()
                assert await remote.identity()  # the connection survived both errors

    run(main())


def test_the_pool_bounds_and_reuses_connections_per_peer():
    async def main():
        async def hold(t):
            await asyncio.sleep(t)
            return t

        async with Server({"hold": hold}) as server:
            await server.listen("tcp://127.0.0.1:0")
            pool = ConnectionPool(limit_per_peer=2, idle_timeout=60)
            results = await asyncio.gather(*(pool(server.address).hold(t=0.05)
                                             for _ in range(6)))
            assert results == [0.05] * 6
            assert pool.open_count(server.address) == 2  # never more than the limit
            assert pool.idle_count(server.address) == 2  # kept for reuse
            await pool(server.address).hold(t=0)
            assert pool.open_count(server.address) == 2
            await pool.close()

    run(main())


def test_idle_connections_are_closed_after_the_idle_timeout():
    async def main():
        async with Server({"ping": lambda: "pong"}) as server:
            await server.listen("tcp://127.0.0.1:0")
            pool = ConnectionPool(idle_timeout=0.1)
            assert await pool(server.address).ping() == "pong"
            assert pool.open_count(server.address) == 1
            for _ in range(100):
                if pool.open_count(server.address) == 0:
                    break
                await asyncio.sleep(0.02)
            assert pool.open_count(server.address) == 0
            assert await pool(server.address).ping() == "pong"  # reopens on demand
            await pool.close()

    run(main())


def test_batched_stream_coalesces_messages_and_flushes_on_close():
    async def main():
        batches = []
        done = asyncio.get_running_loop().create_future()

        async def reader(comm):
            try:
                while True:
                    batches.append(await comm.read())
            except CommClosedError:
                done.set_result(None)

        async with await listen("tcp://127.0.0.1:0", reader) as listener:
            comm = await connect(listener.address, timeout=5)
            stream = BatchedStream(comm, interval_ms=5)
            for i in range(1000):
                stream.send({"op": "n", "i": i})
            await asyncio.sleep(0.05)
            for i in range(1000, 1010):
                stream.send({"op": "n", "i": i})
            await stream.close()  # the last ten go out before the connection closes
            await asyncio.wait_for(done, 10)
        received = [m["i"] for batch in batches for m in batch]
        assert received == list(range(1010))
        assert len(batches) <= 3 and stream.batch_count == len(batches)

    run(main())


def test_batched_stream_refuses_sends_after_close():
    async def main():
        async def reader(comm):
            try:
                while True:
                    await comm.read()
            except CommClosedError:
                pass

        async with await listen("tcp://127.0.0.1:0", reader) as listener:
            stream = BatchedStream(await connect(listener.address, timeout=5))
            await stream.close()
            with pytest.raises(CommClosedError):
                stream.send({"op": "late"})

    run(main())
