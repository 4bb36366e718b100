"""Run a cluster inside one MPI job: rank 0 the scheduler, the other ranks workers.

Two ways in, both under ``mpirun`` (or ``srun``):

* In a script: ``graphengine.mpi.initialize()`` makes rank 0 the scheduler and ranks 2
  and up workers (neither returns: they exit when the script on rank 1 ends); rank 1
  gets the scheduler address back and goes on running the script as the client::

      from graphengine.distributed import Client
      import graphengine.mpi
      address = graphengine.mpi.initialize()
      with Client(address) as client:
          ...

      $ mpirun -n 4 python script.py

* As a command: ``mpirun -n 4 graphengine-mpi --scheduler-file /shared/s.json`` makes
  rank 0 the scheduler (writing the file) and every other rank a worker; clients find
  it with ``Client(scheduler_file=...)``; :func:`shutdown` (or killing the job) ends it.

Workers can use MPI inside tasks: :data:`worker_comm` is a communicator of the worker
ranks only (collectives over ``COMM_WORLD`` would wait for the scheduler and client
ranks, which never join them).
"""
from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import sys
from typing import Any

from graphengine.cli_options import parse_bytes, setup_logging, write_scheduler_file

__all__ = ["initialize", "shutdown", "main", "worker_comm"]

logger = logging.getLogger(__name__)

_DONE_TAG = 7101  # the client rank's "my script ended" message to rank 0

#: communicator of the worker ranks (``None`` on the scheduler and client ranks)
worker_comm: Any = None


def _world() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("graphengine.mpi needs mpi4py: pip install 'graphengine[mpi]' "
                          f"(and an MPI library such as Debian's openmpi-bin): {e}") from None
    return MPI


def _split(comm: Any, first_worker: int) -> Any:
    """Collective: every rank joins, worker ranks get their own communicator."""
    global worker_comm
    MPI = _world()
    rank = comm.Get_rank()
    worker_comm = comm.Split(0 if rank >= first_worker else MPI.UNDEFINED, rank)
    if worker_comm == MPI.COMM_NULL:
        worker_comm = None
    return worker_comm


async def _run_scheduler(comm: Any, host: str, port: int, scheduler_file: str | None) -> None:
    from graphengine.scheduler.server import Scheduler

    scheduler = Scheduler(f"tcp://{host}:{port}")
    await scheduler.start()
    if scheduler_file:
        write_scheduler_file(scheduler_file, scheduler.address)
    comm.bcast(scheduler.address, root=0)
    logger.info("MPI rank 0: scheduler at %s", scheduler.address)
    watch = asyncio.ensure_future(_close_when_told(comm, scheduler))
    await scheduler.finished()
    watch.cancel()


async def _close_when_told(comm: Any, scheduler: Any) -> None:
    """Stop the cluster when the client rank says its script ended (an MPI message, so
    no network client is needed at interpreter exit, when threads can no longer start)."""
    while not comm.Iprobe(source=1, tag=_DONE_TAG):
        await asyncio.sleep(0.05)  # a polling period: MPI has no awaitable receive
    comm.recv(source=1, tag=_DONE_TAG)
    await _stop_scheduler(scheduler)


async def _run_worker(address: str, rank: int, host: str, nthreads: int,
                      memory_limit: int, local_directory: str | None) -> None:
    import os

    from graphengine.worker.server import Worker

    if local_directory:
        os.makedirs(local_directory, exist_ok=True)
    worker = Worker(address, nthreads=nthreads, name=f"mpi-rank-{rank}",
                    memory_limit=memory_limit, address=f"tcp://{host}:0")
    await worker.start()
    await worker.finished()


def _serve(comm: Any, first_worker: int, host: str, port: int, nthreads: int,
           memory_limit: int, local_directory: str | None,
           scheduler_file: str | None) -> str | None:
    """Run this rank's part; returns the scheduler address on a rank that is neither
    scheduler nor worker (the client rank)."""
    rank = comm.Get_rank()
    _split(comm, first_worker)
    if rank == 0:
        asyncio.run(_run_scheduler(comm, host, port, scheduler_file))
        return None
    address = comm.bcast(None, root=0)
    if rank >= first_worker:
        asyncio.run(_run_worker(address, rank, host, nthreads, memory_limit,
                                local_directory))
        return None
    return address


def initialize(nthreads: int = 1, memory_limit: int | str = 0, host: str = "127.0.0.1",
               port: int = 0, local_directory: str | None = None,
               scheduler_file: str | None = None, comm: Any = None,
               exit: bool = True) -> str:
    """Turn this MPI job into a cluster: rank 0 scheduler, rank 1 client, ranks >= 2
    workers.

    Parameters
    ----------
    nthreads : int
        Threads per worker rank.
    memory_limit : int or str
        Bytes per worker ("4GiB"); 0 means no limit.
    host : str
        Interface the scheduler and workers listen on (127.0.0.1 for one node; the
        node's address when ranks span nodes).
    port : int
        Scheduler port; 0 is any free port.
    local_directory : str, optional
        Worker scratch directory.
    scheduler_file : str, optional
        Also write the scheduler address here (for other clients).
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``; needs at least 3 ranks.
    exit : bool
        Scheduler and worker ranks call ``sys.exit(0)`` when the cluster ends (so they
        never run the rest of the script). False returns ``""`` there instead.

    Returns
    -------
    str
        On rank 1, the scheduler address; at exit of the script, rank 1 retires the
        workers and stops the scheduler so every rank ends.

    Raises
    ------
    ValueError
        With fewer than 3 ranks (naming the size).
    """
    comm = comm if comm is not None else _world().COMM_WORLD
    if comm.Get_size() < 3:
        raise ValueError(f"graphengine.mpi.initialize needs at least 3 MPI ranks "
                         f"(scheduler, client, workers), got {comm.Get_size()}")
    memory = parse_bytes(memory_limit) if isinstance(memory_limit, str) else int(memory_limit)
    address = _serve(comm, 2, host, port, nthreads, memory, local_directory, scheduler_file)
    if address is None:
        if exit:
            sys.exit(0)
        return ""
    atexit.register(comm.send, True, dest=0, tag=_DONE_TAG)
    return address


async def _stop_scheduler(scheduler: Any) -> None:
    await scheduler.retire_workers(list(scheduler.state.workers))
    # Close after this reply has been sent to the client.
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(scheduler.close()))


def shutdown(client: Any) -> None:
    """Retire every worker (their ranks exit) and stop the scheduler (rank 0 exits).

    Parameters
    ----------
    client : Client
        Connected to the MPI cluster.
    """
    client.run_on_scheduler(_stop_scheduler)


def main(argv: list[str] | None = None) -> int:
    """``graphengine-mpi``: rank 0 scheduler (writes ``--scheduler-file``), every other
    rank a worker."""
    p = argparse.ArgumentParser(prog="graphengine-mpi",
                                description="Run a graphengine cluster in an MPI job.")
    p.add_argument("--scheduler-file", required=True,
                   help="rank 0 writes the scheduler address here (shared filesystem)")
    p.add_argument("--nthreads", type=int, default=1, help="threads per worker rank")
    p.add_argument("--memory-limit", default="0", help="bytes per worker, e.g. 4GiB")
    p.add_argument("--local-directory", default=None)
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=0, help="scheduler port (0: any)")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    setup_logging(args.log_level)
    try:
        memory = parse_bytes(args.memory_limit)
    except ValueError as e:
        p.error(f"--memory-limit: {e}")
    comm = _world().COMM_WORLD
    if comm.Get_size() < 2:
        p.error(f"needs at least 2 MPI ranks (scheduler and a worker), got {comm.Get_size()}")
    _serve(comm, 1, args.host, args.port, args.nthreads, memory, args.local_directory,
           args.scheduler_file)
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy's: tasks read
    # graphengine.mpi.worker_comm, which must be the one that was set.
    from graphengine.mpi import main as _main

    sys.exit(_main())
