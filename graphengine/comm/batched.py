"""Coalesce many small one-way messages into one write every few milliseconds.

``send`` only appends to a list; a timer writes the whole list as one message (so the
reader receives a *list* of messages per read). Thousands of task updates cost one
syscall and one msgpack call instead of thousands::

    stream = BatchedStream(comm, interval_ms=2)
    for key in keys:
        stream.send({"op": "task-finished", "key": key})
    await stream.close()        # flushes what is left, then closes the comm
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from graphengine import config
from graphengine.comm.message import dumps
from graphengine.comm.tcp import Comm
from graphengine.errors import CommClosedError

__all__ = ["BatchedStream"]

logger = logging.getLogger(__name__)


class BatchedStream:
    """Send messages on ``comm`` in batches written at most every ``interval_ms``.

    Must be created inside a running event loop. While a write is in flight, new
    messages accumulate and go out in the next batch as soon as it completes.

    Parameters
    ----------
    comm : Comm
        An open connection; the stream owns it from now on.
    interval_ms : float, optional
        Coalescing delay (default ``comm.batched-interval``).

    Attributes
    ----------
    message_count, batch_count : int
        Messages handed to :meth:`send`, and batches written, so far.

    Examples
    --------
    >>> async def main(comm):
    ...     stream = BatchedStream(comm)
    ...     stream.send({"op": "hello"}); stream.send({"op": "again"})
    ...     await stream.close()   # the peer reads [{"op": "hello"}, {"op": "again"}]
    """

    __slots__ = ("comm", "interval", "message_count", "batch_count", "_buffer", "_loop",
                 "_timer", "_writer", "_closing", "_error")

    def __init__(self, comm: Comm, interval_ms: float | None = None):
        if interval_ms is None:
            interval_ms = config.get("comm.batched-interval")
        self.comm = comm
        self.interval = float(interval_ms) / 1000
        self.message_count = 0
        self.batch_count = 0
        self._buffer: list[Any] = []
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task | None = None
        self._closing = False
        self._error: BaseException | None = None

    def send(self, msg: Any) -> None:
        """Queue ``msg``; it is written within ``interval_ms`` (cheap, never blocks).

        Raises
        ------
        CommClosedError
            The stream or its connection is closed.
        """
        if self._closing or self._error is not None:
            raise CommClosedError(f"batched stream to {self.comm.peer_address} is closed"
                                  + (f": {self._error}" if self._error else ""))
        self._buffer.append(msg)
        self.message_count += 1
        if self._timer is None and self._writer is None:
            self._timer = self._loop.call_later(self.interval, self._start_writer)

    def _start_writer(self) -> None:
        self._timer = None
        if self._writer is None and self._buffer:
            self._writer = self._loop.create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._buffer:
                batch, self._buffer = self._buffer, []
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[Any]) -> None:
        try:
            await self.comm.write(batch)
            self.batch_count += 1
        except CommClosedError as e:
            self._fail(e, len(batch))
        except TypeError:
            # One bad message must not sink its neighbours: send the others, log the rest.
            good = []
            for msg in batch:
                try:
                    dumps(msg)
                    good.append(msg)
                except TypeError as e:
                    logger.error("dropping a message to %s that cannot be serialized: %s",
                                 self.comm.peer_address, e)
            if good:
                try:
                    await self.comm.write(good)
                    self.batch_count += 1
                except CommClosedError as e:
                    self._fail(e, len(good))

    def _fail(self, error: BaseException, lost: int) -> None:
        self._error = error
        self._buffer.clear()
        logger.info("batched stream to %s closed; %d unsent message(s) dropped: %s",
                    self.comm.peer_address, lost, error)

    async def flush(self) -> None:
        """Write everything queued so far now, and wait until it is written."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._writer is not None:
            await asyncio.shield(self._writer)
        if self._buffer:
            self._writer = self._loop.create_task(self._write_all())
            await asyncio.shield(self._writer)

    async def close(self) -> None:
        """Flush what is queued, then close the connection."""
        if self._closing:
            return
        self._closing = True
        try:
            if not self.comm.closed():
                await self.flush()
        finally:
            await self.comm.close()

    def abort(self) -> None:
        """Drop whatever is queued and close the connection at once."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._buffer.clear()
        self.comm.abort()

    def closed(self) -> bool:
        return self._closing or self._error is not None or self.comm.closed()

    def __repr__(self) -> str:
        return (f"<BatchedStream to {self.comm.peer_address}: {self.message_count} messages "
                f"in {self.batch_count} batches>")
