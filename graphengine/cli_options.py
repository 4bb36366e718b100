"""Command-line pieces shared by ``graphengine-scheduler`` and ``graphengine-worker``:
security flags, byte sizes, the scheduler file, and running a server until a signal.

    >>> parse_bytes("4GiB"), parse_bytes("1.5 GB"), parse_bytes("1000")
    (4294967296, 1500000000, 1000)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from graphengine.comm import Security

__all__ = ["add_security_flags", "security_from_args", "parse_bytes", "write_scheduler_file",
           "read_scheduler_file", "run_until_signal", "setup_logging"]

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str | int) -> int:
    """``"4GiB"``, ``"1.5 GB"``, ``"1000"`` → bytes.

    Raises
    ------
    ValueError
        Naming the text when it is not a size.
    """
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size in bytes (e.g. 1000, 512MiB, 4GB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def add_security_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("security")
    group.add_argument("--tls-ca-file", help="CA certificate for mutual TLS (tls:// addresses)")
    group.add_argument("--tls-cert", help="this server's certificate")
    group.add_argument("--tls-key", help="this server's private key")
    group.add_argument("--auth-token-file",
                       help="file holding a shared secret; peers must prove they know it "
                            "(HMAC challenge, never sent in clear); also GRAPHENGINE_COMM__AUTH_TOKEN")


def security_from_args(args: argparse.Namespace) -> Security | None:
    token = None
    if args.auth_token_file:
        with open(args.auth_token_file, "rb") as f:
            token = f.read().strip()
    if token is None and not (args.tls_ca_file or args.tls_cert or args.tls_key):
        sec = Security.from_config()
        return sec if (sec.token or sec.tls_configured) else None
    return Security(ca_file=args.tls_ca_file, cert=args.tls_cert, key=args.tls_key, token=token)


def write_scheduler_file(path: str, address: str) -> None:
    """Write ``{"address": ...}`` atomically, so a reader never sees half a file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump({"address": address}, f)
    os.replace(tmp, path)


def read_scheduler_file(path: str, timeout: float = 0) -> str:
    """The scheduler address in ``path``, waiting up to ``timeout`` s for it to appear."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                return json.load(f)["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            if time.monotonic() >= deadline:
                raise FileNotFoundError(f"no scheduler address in {path!r}") from None
            time.sleep(0.1)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def run_until_signal(start: Callable[[], Awaitable[Any]],
                     stop: Callable[[Any], Awaitable[None]],
                     finished: Callable[[Any], Awaitable[None]]) -> int:
    """Start a server, run until SIGINT/SIGTERM or until it finishes, then stop it."""
    async def main() -> int:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        server = await start()
        done = asyncio.ensure_future(finished(server))
        stop_wait = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([done, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            await stop(server)
        done.cancel()
        stop_wait.cancel()
        return 0

    return asyncio.run(main())
