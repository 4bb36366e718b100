"""Benchmark the comm layer over loopback TCP, side by side with Dask's ``distributed.comm``.

Measures, with the receiver in a separate process:

* one-way throughput of a 256 MiB numpy array and a 256 MiB pandas frame (GB/s), against
  a raw-socket ``sendall`` of the same bytes into a fresh buffer (the physical reference);
* small-message RPC: sequential echo round trips (µs) and messages/s;
* batched one-way small messages per second (BatchedStream / Dask's BatchedSend).

Run from the repository root::

    .venv/bin/python benchmarks/bench_comm.py            # full run (~1-2 minutes)
    .venv/bin/python benchmarks/bench_comm.py --quick    # smaller, for a smoke test
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import time

# Running as a script puts benchmarks/ (not the repo root) on sys.path.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

logger = logging.getLogger("bench_comm")

MiB = 2**20
# spawn, not fork: distributed starts threads in the parent, and forking a threaded
# process can deadlock the child.
_ctx = multiprocessing.get_context("spawn")


# --- receivers (run in a child process) -------------------------------------------------

def _raw_receiver(port_queue) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port_queue.put(srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        head = conn.recv(8, socket.MSG_WAITALL)
        if len(head) < 8:
            return
        n = int.from_bytes(head, "little")
        buf = memoryview(np.empty(n, dtype=np.uint8))  # a fresh buffer, as a receiver needs
        got = 0
        while got < n:  # MSG_WAITALL: the kernel fills the buffer in as few wakeups as it can
            got += conn.recv_into(buf[got:], n - got, socket.MSG_WAITALL)
        conn.sendall(b"k")


def _ge_receiver(port_queue, mode: str) -> None:
    from graphengine.comm import BatchedStream, Server, listen  # noqa: F401

    async def main() -> None:
        done = asyncio.Event()

        async def sink(comm) -> None:  # large messages: ack each once deserialized
            count = 0
            while True:
                try:
                    msg = await comm.read()
                except Exception:
                    done.set()
                    return
                if type(msg) is list:  # a batch: ack when the announced total arrived
                    count += len(msg)
                    if msg[-1].get("last"):
                        await comm.write({"count": count})
                        count = 0
                    continue
                await comm.write({"ok": type(msg.get("data")).__name__})

        if mode == "rpc":
            server = Server({"echo": lambda x: x})
            await server.listen("tcp://127.0.0.1:0")
            port_queue.put(server.address)
        else:
            listener = await listen("tcp://127.0.0.1:0", sink)
            port_queue.put(listener.address)
        await done.wait()

    asyncio.run(main())


def _dask_receiver(port_queue, mode: str) -> None:
    from distributed.comm import listen
    from distributed.core import Server

    async def main() -> None:
        done = asyncio.Event()

        async def sink(comm) -> None:
            count = 0
            while True:
                try:
                    msg = await comm.read()
                except Exception:
                    done.set()
                    return
                if type(msg) in (list, tuple):
                    count += len(msg)
                    if msg[-1].get("last"):
                        await comm.write({"count": count})
                        count = 0
                    continue
                await comm.write({"ok": type(msg.get("data")).__name__})

        if mode == "rpc":
            server = Server({"echo": lambda comm=None, x=None: x})
            await server.listen("tcp://127.0.0.1:0")
            port_queue.put(server.address)
        else:
            listener = listen("tcp://127.0.0.1:0", sink)
            await listener.start()
            port_queue.put(listener.contact_address)
        await done.wait()

    asyncio.run(main())


def _spawn(target, *args):
    q = _ctx.Queue()
    p = _ctx.Process(target=target, args=(q, *args), daemon=True)
    p.start()
    return p, q.get(timeout=60)


# --- senders: one measurement each ------------------------------------------------------

def _raw_transfer(sock: socket.socket, data: memoryview) -> float:
    t0 = time.perf_counter()
    sock.sendall(len(data).to_bytes(8, "little"))
    sock.sendall(data)
    sock.recv(1)
    return time.perf_counter() - t0


async def _transfer(comm, payload) -> float:
    t0 = time.perf_counter()
    await comm.write({"op": "put", "data": payload})
    await comm.read()  # the receiver acks once it holds the deserialized object
    return time.perf_counter() - t0


async def _rpc_round(remote, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        await remote.echo(x=i)
    return (time.perf_counter() - t0) / n


async def _batched_round(stream, comm, n: int, burst: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        stream.send({"op": "task-finished", "key": "inc-0123456789", "nbytes": i,
                     "last": i == n - 1})
        if i % burst == burst - 1:
            await asyncio.sleep(0)  # producers yield now and then, as real servers do
    reply = await comm.read()
    assert reply["count"] == n, reply
    return n / (time.perf_counter() - t0)


class _Lib:
    """The connections one implementation needs for every measurement."""

    def __init__(self, name: str):
        self.name = name
        self.procs: list = []

    async def start(self) -> None:
        if self.name == "graphengine":
            from graphengine.comm import BatchedStream, connect, rpc
            receiver, wrap = _ge_receiver, (lambda x: x)
        else:
            from distributed.batched import BatchedSend
            from distributed.comm import connect
            from distributed.core import rpc
            from distributed.protocol import to_serialize as wrap
            receiver = _dask_receiver
        self.wrap = wrap
        sink_proc, sink = _spawn(receiver, "sink")
        rpc_proc, rpc_addr = _spawn(receiver, "rpc")
        self.procs += [sink_proc, rpc_proc]
        self.comm = await connect(sink)
        self.batch_comm = await connect(sink)
        self.remote = rpc(rpc_addr)
        if self.name == "graphengine":
            self.stream = BatchedStream(self.batch_comm, interval_ms=2)
        else:
            self.stream = BatchedSend(interval="2ms")
            self.stream.start(self.batch_comm)
        for _ in range(200):  # warm-up: connections, caches
            await self.remote.echo(x=1)

    async def stop(self) -> None:
        await self.comm.close()
        await self.stream.close()
        if self.name == "graphengine":
            await self.remote.close()
        else:
            await self.batch_comm.close()
            await self.remote.close_rpc()
        for proc in self.procs:
            proc.terminate()
            proc.join(10)


async def run(args) -> dict[str, dict[str, list[float]]]:
    size = (32 if args.quick else 256) * MiB
    rounds = 3 if args.quick else 7
    rpc_n = 1000 if args.quick else 3000
    batch_n = 100_000 if args.quick else 300_000
    rng = np.random.default_rng(0)
    array = rng.random(size // 8)  # random floats: incompressible, like real results
    frame = pd.DataFrame(rng.random((size // 8 // 32, 32)),
                         columns=[f"c{i}" for i in range(32)])

    raw_proc, port = _spawn(_raw_receiver)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    raw_data = memoryview(array).cast("B")
    libs = [_Lib("graphengine")] + ([_Lib("dask")] if args.dask else [])
    for lib in libs:
        await lib.start()

    results: dict[str, dict[str, list[float]]] = {"raw": {"numpy": []}}
    for lib in libs:
        results[lib.name] = {"numpy": [], "pandas": [], "rpc": [], "batched": []}
    # Warm-up (first touches of fresh memory are slow in VMs), then interleaved rounds so
    # that load from other processes hits every implementation alike.
    _raw_transfer(sock, raw_data)
    for lib in libs:
        await _transfer(lib.comm, lib.wrap(array))
        await _transfer(lib.comm, lib.wrap(frame))
    for r in range(rounds):
        results["raw"]["numpy"].append(size / _raw_transfer(sock, raw_data) / 1e9)
        for lib in libs:
            res = results[lib.name]
            res["numpy"].append(size / await _transfer(lib.comm, lib.wrap(array)) / 1e9)
            res["pandas"].append(size / await _transfer(lib.comm, lib.wrap(frame)) / 1e9)
            res["rpc"].append(await _rpc_round(lib.remote, rpc_n) * 1e6)
            res["batched"].append(await _batched_round(lib.stream, lib.batch_comm, batch_n,
                                                       1000))
        logger.info("round %d/%d done", r + 1, rounds)
    sock.close()
    raw_proc.join(10)
    for lib in libs:
        await lib.stop()
    results["meta"] = {"size": [size], "rounds": [rounds]}
    return results


# --- report -----------------------------------------------------------------------------

def _have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _fmt(values: list[float] | None, best) -> str:
    if not values:
        return f"{'-':>22}"
    return f"{statistics.median(values):12,.2f} ({best(values):,.2f})".rjust(22)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and counts")
    parser.add_argument("--no-dask", action="store_true", help="skip distributed.comm")
    args = parser.parse_args(argv)
    args.dask = _have_dask() and not args.no_dask
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.ERROR)

    res = asyncio.run(run(args))
    size, rounds = res["meta"]["size"][0], res["meta"]["rounds"][0]
    ge, dk = res["graphengine"], res.get("dask", {})
    raw = statistics.median(res["raw"]["numpy"])
    rows = [
        ("raw socket sendall", "GB/s", res["raw"]["numpy"], None, max, "physical reference"),
        (f"{size // MiB} MiB numpy array", "GB/s", ge["numpy"], dk.get("numpy"), max,
         f"{statistics.median(ge['numpy']) / raw:.0%} of raw (target >= 70%)"),
        (f"{size // MiB} MiB pandas frame", "GB/s", ge["pandas"], dk.get("pandas"), max,
         f"{statistics.median(ge['pandas']) / raw:.0%} of raw (target >= 70%)"),
        ("echo RPC round trip", "µs", ge["rpc"], dk.get("rpc"), min, "target <= 100 µs"),
        ("echo RPC rate", "msgs/s", [1e6 / v for v in ge["rpc"]],
         [1e6 / v for v in dk["rpc"]] if dk else None, max, ""),
        ("batched one-way", "msgs/s", ge["batched"], dk.get("batched"), max,
         "target >= 200,000"),
    ]
    print(f"\ncomm benchmark: loopback TCP, receivers in other processes; median (best) of "
          f"{rounds} interleaved rounds after a warm-up; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores")
    header = (f"{'measure':<26}{'unit':>7}{'graphengine':>22}{'dask':>22}{'ge/dask':>9}"
              f"  note")
    print(header)
    print("-" * len(header))
    for name, unit, ge_values, dk_values, best, note in rows:
        ratio = (f"{statistics.median(ge_values) / statistics.median(dk_values):9.2f}"
                 if dk_values else f"{'-':>9}")
        print(f"{name:<26}{unit:>7}{_fmt(ge_values, best)}{_fmt(dk_values, best)}{ratio}"
              f"  {note}")


if __name__ == "__main__":
    main()
