"""``graphengine-scheduler``: start a scheduler from the command line.

    graphengine-scheduler --port 8786 --scheduler-file /shared/scheduler.json

It runs until SIGINT/SIGTERM, then tells its workers and clients and closes.
"""
from __future__ import annotations

import argparse
import logging
import sys

from graphengine.cli_options import (add_security_flags, run_until_signal, security_from_args,
                                     setup_logging, write_scheduler_file)

__all__ = ["main"]

logger = logging.getLogger("graphengine.scheduler")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphengine-scheduler",
        description="Start a graphengine scheduler; workers and clients connect to it.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; anything else exposes "
                        "the cluster: use TLS or --auth-token-file)")
    p.add_argument("--port", type=int, default=8786, help="TCP port (0: any free port)")
    p.add_argument("--protocol", choices=["tcp", "tls"], default=None,
                   help="default: tls when TLS files are given, else tcp")
    p.add_argument("--scheduler-file",
                   help="write the scheduler's address to this JSON file (for workers and "
                        "clients on a shared filesystem)")
    p.add_argument("--worker-ttl", type=float, default=None,
                   help="seconds without a heartbeat before a worker is declared dead")
    p.add_argument("--dashboard-address", default=None,
                   help="where to serve the Bokeh dashboard: ':8787' (the default, config "
                        "scheduler.dashboard.address) is port 8787 on --host; 'HOST:PORT' "
                        "another interface; a port in use falls back to a free one")
    p.add_argument("--no-dashboard", action="store_true", help="serve no dashboard")
    p.add_argument("--log-level", default="INFO")
    add_security_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``graphengine-scheduler``."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    security = security_from_args(args)
    protocol = args.protocol or ("tls" if security and security.tls_configured else "tcp")
    host = f"[{args.host}]" if ":" in args.host else args.host

    import gc

    from graphengine import config
    from graphengine.scheduler.server import Scheduler

    gc.set_threshold(*config.get("scheduler.gc-threshold"))

    dashboard = None if args.no_dashboard else (
        args.dashboard_address or config.get("scheduler.dashboard.address"))

    async def start() -> Scheduler:
        scheduler = Scheduler(f"{protocol}://{host}:{args.port}", security=security,
                              heartbeat_timeout=args.worker_ttl, dashboard_address=dashboard)
        await scheduler.start()
        if args.scheduler_file:
            write_scheduler_file(args.scheduler_file, scheduler.address)
        print(f"graphengine-scheduler at {scheduler.address}", file=sys.stderr, flush=True)
        if scheduler.dashboard_link:
            print(f"dashboard at {scheduler.dashboard_link}", file=sys.stderr, flush=True)
        return scheduler

    async def stop(scheduler: Scheduler) -> None:
        logger.info("scheduler %s closing", scheduler.address)
        await scheduler.close()

    async def finished(scheduler: Scheduler) -> None:
        await scheduler.finished()

    return run_until_signal(start, stop, finished)


if __name__ == "__main__":
    sys.exit(main())
