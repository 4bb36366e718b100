"""An asyncio event loop on a background thread, for synchronous users of async servers.

A notebook calls ``client.submit(...)`` from its own thread; the client's connections
live on this loop, and blocking calls wait for coroutines run on it.

    >>> runner = LoopRunner()
    >>> async def add(a, b): return a + b
    >>> runner.run_sync(add, 1, 2)
    3
    >>> runner.stop()
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["LoopRunner"]


class LoopRunner:
    """Owns one event loop running forever on a daemon thread until :meth:`stop`."""

    def __init__(self, name: str = "graphengine-loop"):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(started.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, name=name, daemon=True)
        self.thread.start()
        started.wait()

    def run_sync(self, func: Callable[..., Awaitable[Any]], *args: Any,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``func(*args, **kwargs)`` on the loop and wait for its result.

        Raises
        ------
        TimeoutError
            If it takes longer than ``timeout`` seconds (the coroutine is cancelled).
        RuntimeError
            If called from the loop's own thread (it would deadlock).
        """
        if threading.current_thread() is self.thread:
            raise RuntimeError("run_sync called from the event loop's own thread "
                               "(use the asynchronous API there)")
        future = asyncio.run_coroutine_threadsafe(func(*args, **kwargs), self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call_soon(self, func: Callable[..., Any], *args: Any) -> None:
        """Schedule a plain callback on the loop from any thread."""
        self.loop.call_soon_threadsafe(func, *args)

    def stop(self) -> None:
        """Stop the loop and join its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()
