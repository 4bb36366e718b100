"""``graphengine-worker``: start a worker (under a nanny by default) from the command line.

    graphengine-worker tcp://10.0.0.5:8786 --nthreads 4 --memory-limit 8GiB
    graphengine-worker --scheduler-file /shared/scheduler.json --nworkers 2

SIGINT/SIGTERM retire the worker gracefully: the scheduler copies results only it holds
to other workers first.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from graphengine.cli_options import (add_security_flags, read_scheduler_file,
                                     run_until_signal, security_from_args, setup_logging)
from graphengine.worker.memory import parse_memory_limit

__all__ = ["main"]

logger = logging.getLogger("graphengine.worker")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphengine-worker",
                                description="Start a graphengine worker.")
    p.add_argument("scheduler", nargs="?", help="scheduler address, e.g. tcp://host:8786")
    p.add_argument("--scheduler-file", help="read the scheduler address from this JSON file "
                                            "(waits up to --timeout s for it to appear)")
    p.add_argument("--nthreads", type=int, default=None,
                   help="threads per worker (default: cores / nworkers)")
    p.add_argument("--nworkers", type=int, default=1, help="worker processes to start")
    p.add_argument("--memory-limit", default="auto",
                   help="bytes per worker: 4GiB, 8e9, 'auto' (system memory / nworkers) "
                        "or 0 (no limit)")
    p.add_argument("--local-directory", default=None,
                   help="where the worker's scratch directory (spill files) goes "
                        "(default: the system temp dir)")
    for name, default in (("target", "worker.memory.target"), ("spill", "worker.memory.spill"),
                          ("pause", "worker.memory.pause"),
                          ("terminate", "worker.memory.terminate")):
        p.add_argument(f"--memory-{name}-fraction", type=_fraction_arg, default=None,
                       metavar="F",
                       help=f"fraction of --memory-limit for the {name} threshold, or "
                            f"'false' to turn it off (default: config {default})")
    p.add_argument("--name", default=None, help="unique name (for workers= restrictions)")
    p.add_argument("--resources", action="append", default=[],
                   help='abstract resources, e.g. "GPU=1" (repeat or space-separate)')
    p.add_argument("--no-nanny", action="store_true",
                   help="run the worker in this process, without a supervisor that "
                        "restarts it")
    p.add_argument("--lifetime", type=float, default=None,
                   help="retire gracefully after this many seconds")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on for peers")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to keep trying to reach the scheduler")
    p.add_argument("--log-level", default="INFO")
    add_security_flags(p)
    return p


def _fraction_arg(text: str) -> float | bool:
    if text.strip().lower() in ("false", "off", "none", "no"):
        return False
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.7 or 'false', "
                                         f"got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a fraction must be in (0, 1], got {text!r}")
    return value


def _resources(items: list[str]) -> dict[str, float]:
    out = {}
    for item in " ".join(items).split():
        name, _, amount = item.partition("=")
        try:
            out[name] = float(amount)
        except ValueError:
            raise SystemExit(f"graphengine-worker: bad --resources entry {item!r} "
                             "(expected NAME=NUMBER, e.g. GPU=1)") from None
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``graphengine-worker``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if not args.scheduler and not args.scheduler_file:
        print("graphengine-worker: give a scheduler address or --scheduler-file",
              file=sys.stderr)
        return 2
    if args.nworkers < 1:
        print("graphengine-worker: --nworkers must be at least 1", file=sys.stderr)
        return 2
    try:
        memory_limit = parse_memory_limit(args.memory_limit, args.nworkers)
    except ValueError as e:
        print(f"graphengine-worker: --memory-limit: {e}", file=sys.stderr)
        return 2
    if args.nworkers > 1:
        from graphengine.worker.nanny import run_workers

        rest = _without(argv, "--nworkers", "--name")
        rest += ["--memory-limit", str(memory_limit)]
        if args.nthreads is None:
            rest += ["--nthreads", str(max(1, (os.cpu_count() or 1) // args.nworkers))]
        return run_workers(rest, args.nworkers, args.name)
    if not args.no_nanny:
        from graphengine.worker.nanny import Nanny

        rest = _without(argv, "--memory-limit") + ["--memory-limit", str(memory_limit)]
        return Nanny(rest, memory_limit=memory_limit,
                     terminate_fraction=args.memory_terminate_fraction).run()
    return _run_worker(args, memory_limit)


def _without(argv: list[str], *flags: str) -> list[str]:
    """``argv`` minus the given flags and their values (``--f v`` and ``--f=v``)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in flags:
            skip = True
            continue
        if any(a.startswith(f + "=") for f in flags):
            continue
        out.append(a)
    return out


def _run_worker(args: argparse.Namespace, memory_limit: int) -> int:
    from graphengine.comm import connect
    from graphengine.errors import CommClosedError
    from graphengine.worker.server import Worker

    address = args.scheduler or read_scheduler_file(args.scheduler_file, args.timeout)
    security = security_from_args(args)
    if args.local_directory:
        os.makedirs(args.local_directory, exist_ok=True)

    async def start() -> Worker:
        try:
            comm = await connect(address, args.timeout, security=security)
            comm.abort()
        except (OSError, CommClosedError, asyncio.TimeoutError) as e:
            raise SystemExit(f"graphengine-worker: cannot reach the scheduler at {address} "
                             f"within {args.timeout} s: {e}") from None
        worker = Worker(address, nthreads=args.nthreads, name=args.name,
                        memory_limit=memory_limit, resources=_resources(args.resources),
                        local_directory=args.local_directory,
                        memory_target_fraction=args.memory_target_fraction,
                        memory_spill_fraction=args.memory_spill_fraction,
                        memory_pause_fraction=args.memory_pause_fraction,
                        address=f"tcp://{args.host}:0", security=security)
        await worker.start()
        if args.lifetime:
            asyncio.get_running_loop().call_later(
                args.lifetime, lambda: asyncio.ensure_future(worker.retire()))
        return worker

    async def stop(worker: Worker) -> None:
        await worker.retire()

    async def finished(worker: Worker) -> None:
        await worker.finished()

    return run_until_signal(start, stop, finished)


if __name__ == "__main__":
    sys.exit(main())
