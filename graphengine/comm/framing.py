"""Length-prefixed frames on a byte stream: how a message's buffers cross a socket.

A message is a list of buffers ("frames"); frame 0 is the msgpack header, the others
carry out-of-band payloads. On the wire::

    uint64 n            number of wire frames (little-endian)
    uint64 body         bytes that follow: 8 * n + sum of the frame lengths
    uint64 length[n]    one per wire frame; bit 63 set = "the next wire frame continues
                        this buffer" (a buffer larger than the split size travels as
                        several wire frames and is reassembled, without copying, into
                        one preallocated buffer on receipt)
    frame bytes         back to back

Every length is checked against the limits *before* anything is allocated, so a peer
claiming a 100 GB frame is refused at once. Example (tests use it to forge messages)::

    >>> wire = b"".join(pack_frames([b"header", b"payload"], split_size=4))
    >>> len(wire) == 16 + 8 * 4 + len(b"headerpayload")
    True
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphengine import config
from graphengine.errors import ProtocolError

__all__ = ["FrameLimits", "FrameReader", "pack_frames", "frame_layout", "write_frames"]

PRELUDE = struct.Struct("<QQ")
CONTINUES = 1 << 63
_LENGTH_MASK = CONTINUES - 1
# Bodies up to this size are read with one read and sliced: one syscall-sized buffer
# beats many tiny reads for the small control messages that dominate traffic.
_SMALL_BODY = 64 * 1024
# Buffers at least this large are allocated uninitialised (numpy) instead of as a
# zero-filled bytearray: the socket overwrites them anyway, and zeroing 1 GiB costs time.
_UNINITIALISED_MIN = 1 << 20
# Small frames are joined into one write with the length table; big ones are handed to
# the stream as memoryviews so they are never copied.
_JOIN_MAX = 64 * 1024


class FrameLimits:
    """What a reader accepts (from ``comm.*`` config) and how a writer splits buffers.

    Captured once per connection so that the hot read path never consults config.
    """

    __slots__ = ("max_frame", "max_message", "max_header", "max_frames", "split_size")

    def __init__(self, max_frame: int, max_message: int, max_header: int,
                 max_frames: int, split_size: int):
        self.max_frame = int(max_frame)
        self.max_message = int(max_message)
        self.max_header = int(max_header)
        self.max_frames = int(max_frames)
        # Never send a wire frame our own limit would refuse: peers share config.
        self.split_size = max(1, min(int(split_size), self.max_frame))

    @classmethod
    def from_config(cls) -> "FrameLimits":
        return cls(config.get("comm.max-frame-size"), config.get("comm.max-message-size"),
                   config.get("comm.max-header-size"), config.get("comm.max-frames"),
                   config.get("comm.frame-split-size"))

    def __repr__(self) -> str:
        return (f"FrameLimits(max_frame={self.max_frame}, max_message={self.max_message}, "
                f"max_header={self.max_header}, max_frames={self.max_frames}, "
                f"split_size={self.split_size})")


def _as_bytes_view(frame: Any) -> memoryview:
    mv = frame if type(frame) is memoryview else memoryview(frame)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    return mv


def frame_layout(nbytes: Sequence[int], split_size: int) -> list[int]:
    """Wire-frame lengths (with continuation bits) for buffers of the given sizes.

    Examples
    --------
    >>> [n & ~CONTINUES for n in frame_layout([10, 3], split_size=4)]
    [4, 4, 2, 3]
    """
    out: list[int] = []
    for n in nbytes:
        while n > split_size:
            out.append(split_size | CONTINUES)
            n -= split_size
        out.append(n)
    return out


def pack_frames(frames: Sequence[Any], split_size: int) -> list[Any]:
    """The buffers to write, in order, for one message made of ``frames``.

    Small pieces are joined into one ``bytes``; large frames are returned as
    memoryviews of the caller's memory (zero copy).
    """
    if len(frames) == 1 and type(frames[0]) is bytes and len(frames[0]) <= min(split_size, _JOIN_MAX):
        # Fast path for the common header-only control message.
        n = len(frames[0])
        return [PRELUDE.pack(1, 8 + n) + n.to_bytes(8, "little") + frames[0]]
    views = [_as_bytes_view(f) for f in frames]
    lengths = frame_layout([v.nbytes for v in views], split_size)
    body = 8 * len(lengths) + sum(v.nbytes for v in views)
    table = struct.pack(f"<QQ{len(lengths)}Q", len(lengths), body, *lengths)
    out: list[Any] = []
    pending: list[Any] = [table]
    pending_size = len(table)
    for v in views:
        if v.nbytes <= _JOIN_MAX and pending_size + v.nbytes <= 4 * _JOIN_MAX:
            pending.append(v)
            pending_size += v.nbytes
            continue
        out.append(b"".join(pending))
        pending, pending_size = [], 0
        if v.nbytes <= _JOIN_MAX:
            pending, pending_size = [v], v.nbytes
        else:
            out.append(v)
    if pending:
        out.append(b"".join(pending))
    return out


async def write_frames(stream: Any, frames: Sequence[Any], split_size: int) -> int:
    """Write one message to a tornado IOStream; return the bytes written.

    All pieces are queued synchronously before the first ``await``, so concurrent
    writers on one stream never interleave their messages.
    """
    pieces = pack_frames(frames, split_size)
    nbytes = 0
    for piece in pieces[:-1]:
        stream.write(piece)  # the stream keeps (not copies) large memoryviews
        nbytes += len(piece) if type(piece) is bytes else piece.nbytes
    last = pieces[-1]
    nbytes += len(last) if type(last) is bytes else last.nbytes
    await stream.write(last)
    return nbytes


def _check_lengths(lengths: Sequence[int], body: int, limits: FrameLimits) -> list[int]:
    """Validate a length table; return the sizes of the reassembled buffers."""
    sizes: list[int] = []
    total = 8 * len(lengths)
    current = 0
    for i, raw in enumerate(lengths):
        n = raw & _LENGTH_MASK
        if n > limits.max_frame:
            raise ProtocolError(f"frame {i} claims {n} bytes, more than "
                                f"comm.max-frame-size={limits.max_frame}")
        total += n
        current += n
        if not raw & CONTINUES:
            sizes.append(current)
            current = 0
        elif i == 0:
            raise ProtocolError("the header frame may not continue into another frame")
    if lengths[-1] & CONTINUES:
        raise ProtocolError("the last frame claims to continue into a frame that is not there")
    if total != body:
        raise ProtocolError(f"frame lengths add up to {total} bytes but the prelude "
                            f"announced {body}")
    if sizes[0] > limits.max_header:
        raise ProtocolError(f"header of {sizes[0]} bytes is larger than "
                            f"comm.max-header-size={limits.max_header}")
    return sizes


def _allocate(n: int) -> Any:
    if n >= _UNINITIALISED_MIN:
        return memoryview(np.empty(n, dtype=np.uint8))
    return bytearray(n)


class FrameReader:
    """Reads messages from one tornado IOStream through a reusable receive buffer.

    Each socket read takes whatever has arrived (up to the buffer size), so one wakeup
    can deliver several small messages and a small message costs one read, not three.
    Large frames bypass the buffer: they are read straight into their own preallocated
    memory. Keep one reader per stream for its whole life: bytes read ahead belong to
    the next message (the handshake hands its reader over to the Comm).
    """

    __slots__ = ("stream", "limits", "_buf", "_view", "_start", "_end")

    def __init__(self, stream: Any, limits: FrameLimits, buffer_size: int = 2 * _SMALL_BODY):
        self.stream = stream
        self.limits = limits
        # Room for the largest "small" message (prelude + body) in one piece.
        self._buf = bytearray(max(buffer_size, _SMALL_BODY + 1024))
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0

    async def _fill(self, n: int) -> None:
        """Make at least ``n`` (<= buffer size) bytes available from ``_start``."""
        if self._end - self._start >= n:
            return
        if len(self._buf) - self._start < n:  # not enough room after _start: compact
            kept = self._end - self._start
            self._buf[:kept] = self._view[self._start:self._end]
            self._start, self._end = 0, kept
        stream = self.stream
        while self._end - self._start < n:
            self._end += await stream.read_into(self._view[self._end:], partial=True)

    def _take(self, n: int) -> memoryview:
        view = self._view[self._start:self._start + n]
        self._start += n
        if self._start == self._end:
            self._start = self._end = 0
        return view

    async def _read_into(self, target: Any, size: int) -> None:
        """Fill ``target`` (``size`` bytes): first from the buffer, then from the socket."""
        available = min(self._end - self._start, size)
        view = target if type(target) is memoryview else memoryview(target)
        if available:
            view[:available] = self._take(available)
        step = max(self.limits.max_frame, 1)
        # Read in pieces of at most one wire frame so the stream's buffer limit (set to
        # the frame limit) holds even when a reassembled buffer is larger than a frame.
        for start in range(available, size, step):
            await self.stream.read_into(view[start:min(start + step, size)])

    async def read(self) -> list[Any]:
        """Read one message; return its reassembled buffers (frame 0 is the header).

        Each buffer is a writable ``bytearray`` or ``memoryview`` of its own, which
        deserializers may keep without copying.

        Raises
        ------
        ProtocolError
            The peer announced more than ``limits`` allow or inconsistent lengths;
            nothing has been allocated for the offending frames.
        tornado.iostream.StreamClosedError
            The stream closed (possibly mid-message).
        """
        limits = self.limits
        await self._fill(16)
        n, body = PRELUDE.unpack(self._take(16))
        if n == 0:
            raise ProtocolError("message with zero frames (a message has at least a header)")
        if n > limits.max_frames:
            raise ProtocolError(f"message claims {n} frames, more than "
                                f"comm.max-frames={limits.max_frames}")
        if body > limits.max_message:
            raise ProtocolError(f"message claims {body} bytes, more than "
                                f"comm.max-message-size={limits.max_message}")
        if body < 8 * n:
            raise ProtocolError(f"message of {body} bytes is too short for its {n} "
                                f"frame lengths")

        if body <= _SMALL_BODY:
            await self._fill(body)
            lengths = struct.unpack_from(f"<{n}Q", self._buf, self._start)
            sizes = _check_lengths(lengths, body, limits)
            # One copy out of the reusable buffer; frames are slices of that copy.
            data = bytearray(self._take(body))
            view = memoryview(data)
            frames: list[Any] = []
            pos = 8 * n
            for size in sizes:
                frames.append(view[pos:pos + size])
                pos += size
            return frames

        table = bytearray(8 * n)
        await self._read_into(table, 8 * n)
        lengths = struct.unpack(f"<{n}Q", table)
        sizes = _check_lengths(lengths, body, limits)
        frames = []
        for size in sizes:
            buf = _allocate(size)
            if size:
                await self._read_into(buf, size)
            frames.append(buf)
        return frames
