"""A worker's results: in memory while they fit, least-recently-used ones on disk after.

:class:`SpillStore` is the mapping a worker keeps its results in. Storing a value is
always cheap (it goes to memory); :meth:`SpillStore.evict` moves least-recently-used
values to files until the managed bytes in memory are back under ``target``, and
:meth:`SpillStore.spill_one` moves the oldest one regardless (the worker's memory
monitor uses it when the *process* is too large). Reading a spilled key reads it back
transparently, and keeps it in memory if it fits under ``target``; otherwise the file
stays, so streaming through spilled data costs reads, not a write per read. Files hold
the comm layer's serialized form (the same families that go on the wire, frames
compressed when that pays), so a peer asking for a spilled result can be sent the
file's frames without rebuilding the object: :meth:`get_for_transfer`.

Disk writes and reads happen outside the store's lock: a task thread reading one key
is never held up by another key being written. A write that fails (disk full, directory
gone) leaves the value in memory, logs one clear error, and sets :attr:`spill_failing`
until a write succeeds again: nothing is ever lost to a disk fault.

    >>> import numpy as np, tempfile
    >>> store = SpillStore(tempfile.mkdtemp(), target=10_000)
    >>> store["a"], store["b"] = np.zeros(1000), np.ones(1000)   # 8,000 bytes each
    >>> store.evict()            # the oldest goes to disk
    8000
    >>> sorted(store.fast), sorted(store.slow)
    (['b'], ['a'])
    >>> float(store["a"].sum())  # read back transparently; no room, so it stays on disk
    0.0
    >>> del store["b"]
    >>> float(store["a"].sum()), sorted(store.fast)  # now it fits: back in memory
    (0.0, ['a'])
    >>> store.close()
"""
from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Hashable

import msgpack

from graphengine.comm import compression
from graphengine.comm.serialize import Serialized, deserialize, serialize
from graphengine.worker.sizeof import sizeof

__all__ = ["SpillStore", "SpilledFile"]

logger = logging.getLogger(__name__)

_PREFIX = struct.Struct("<Q")  # length of the msgpack header at the start of a file


class SpilledFile:
    """Where a spilled value lives: ``path``, its in-memory size ``nbytes`` and the
    bytes it takes on disk."""

    __slots__ = ("path", "nbytes", "disk_bytes")

    def __init__(self, path: str, nbytes: int, disk_bytes: int):
        self.path = path
        self.nbytes = nbytes
        self.disk_bytes = disk_bytes

    def __repr__(self) -> str:
        return f"<SpilledFile {self.path!r} {self.nbytes} bytes>"


class SpillStore(MutableMapping):
    """A mapping of results that spills least-recently-used values to ``directory``.

    Parameters
    ----------
    directory : str
        Where spill files go (created if missing; the caller removes it, or
        :meth:`close` empties it).
    target : int or None
        Managed bytes to keep in memory at most; :meth:`evict` spills down to it, and a
        single value larger than it is spilled as soon as :meth:`evict` runs. None never
        spills by size (only :meth:`spill_one` does).
    compress : bool
        Compress frames when that pays (with the comm layer's default codec).
    on_disk_io : callable, optional
        Called as ``on_disk_io(action, key, nbytes, start, stop)`` after each write
        (``"disk-write"``) or read (``"disk-read"``), with ``time.time()`` stamps.

    Attributes
    ----------
    fast : dict
        Values in memory, least recently used first.
    slow : dict
        ``key -> SpilledFile`` for values on disk.
    fast_nbytes, slow_nbytes : int
        Managed bytes in memory and spilled (in-memory size of what is on disk).
    spill_failing : bool
        The last write failed; values stay in memory until a write succeeds.
    """

    def __init__(self, directory: str, target: int | None = None, compress: bool = True,
                 on_disk_io: Callable[[str, Hashable, int, float, float], None] | None = None):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.target = target
        self.codec = compression.default_codec() if compress else None
        self.min_compress = compression.compression_min_size()
        self.on_disk_io = on_disk_io
        self.fast: dict[Hashable, Any] = {}
        self.slow: dict[Hashable, SpilledFile] = {}
        self._sizes: dict[Hashable, int] = {}
        self.fast_nbytes = 0
        self.slow_nbytes = 0
        #: keys whose values cannot be serialized: they stay in memory
        self._unspillable: set[Hashable] = set()
        #: keys being written by some thread (others pick another)
        self._writing: set[Hashable] = set()
        #: keys in memory larger than ``target`` on their own: spilled before any other
        self._oversized: set[Hashable] = set()
        self.spill_failing = False
        self._last_error: str | None = None
        # Totals, for the worker's metrics and the spill benchmark.
        self.spilled_count = 0
        self.spilled_bytes = 0
        self.spill_seconds = 0.0
        self.read_count = 0
        self.read_bytes = 0
        self.read_seconds = 0.0
        self._lock = threading.RLock()
        self._counter = 0
        self._closed = False

    # --- the mapping --------------------------------------------------------------------

    def __setitem__(self, key: Hashable, value: Any) -> None:
        nbytes = sizeof(value)
        with self._lock:
            self._discard(key)
            self.fast[key] = value
            self._sizes[key] = nbytes
            self.fast_nbytes += nbytes
            if self.target is not None and nbytes > self.target:
                self._oversized.add(key)

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            fast = self.fast
            if key in fast:
                value = fast.pop(key)  # most recently used goes last
                fast[key] = value
                return value
            spilled = self.slow[key]  # KeyError when absent, as a dict would
        in_memory, got = self._read_current(key, spilled)
        if in_memory:
            return got  # another reader brought it back first
        value = deserialize(got)
        with self._lock:
            if self.slow.get(key) is spilled:  # nobody replaced or deleted it meanwhile
                if self.target is not None and self.fast_nbytes + spilled.nbytes > self.target:
                    # Memory is full: keeping this one would only push another out to
                    # disk (a write for each read while a reduction streams through
                    # spilled data). It stays on disk; the caller has its value.
                    return value
                del self.slow[key]
                self.slow_nbytes -= spilled.nbytes
                self.fast[key] = value
                self._sizes[key] = spilled.nbytes
                self.fast_nbytes += spilled.nbytes
                if self.target is not None and spilled.nbytes > self.target:
                    self._oversized.add(key)
                _remove(spilled.path)
            elif key in self.fast:
                return self.fast[key]  # another reader brought it back first
        return value

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            if key not in self.fast and key not in self.slow:
                raise KeyError(key)
            self._discard(key)

    def _discard(self, key: Hashable) -> None:
        if key in self.fast:
            del self.fast[key]
            self.fast_nbytes -= self._sizes.pop(key)
            self._unspillable.discard(key)
            self._oversized.discard(key)
        elif key in self.slow:
            spilled = self.slow.pop(key)
            self._sizes.pop(key, None)
            self.slow_nbytes -= spilled.nbytes
            _remove(spilled.path)

    def __contains__(self, key: object) -> bool:
        return key in self.fast or key in self.slow

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            keys = list(self.fast) + list(self.slow)
        return iter(keys)

    def __len__(self) -> int:
        return len(self.fast) + len(self.slow)

    def nbytes(self, key: Hashable) -> int:
        """Managed size of ``key``, in memory or spilled."""
        with self._lock:
            if key in self.slow:
                return self.slow[key].nbytes
            return self._sizes[key]

    def split_for_transfer(self, keys: Any) -> tuple[dict, list]:
        """``({key: value}`` for the ``keys`` in memory, ``[keys]`` spilled``)``; keys
        held in neither are left out. Read the spilled ones with :meth:`get_for_transfer`
        off the event loop."""
        fast, slow = self.fast, self.slow
        in_memory, spilled = {}, []
        with self._lock:
            for k in keys:
                if k in fast:
                    in_memory[k] = fast[k]
                elif k in slow:
                    spilled.append(k)
        return in_memory, spilled

    def get_for_transfer(self, key: Hashable) -> Any:
        """The value to send a peer: the object when in memory, else the spilled file's
        :class:`Serialized` frames as they are (not rebuilt, not brought back)."""
        with self._lock:
            if key in self.fast:
                return self.fast[key]
            spilled = self.slow[key]
        return self._read_current(key, spilled)[1]

    def _read_current(self, key: Hashable, spilled: SpilledFile) -> tuple[bool, Any]:
        """Read ``key``'s spill file, following it if another thread moved it first.

        The file is read outside the lock, so another reader may have brought the value
        back to memory (removing the file) or a writer may have replaced it between our
        look-up and our ``open``. A missing file is only an error when the store still
        says the value is in it. Returns ``(False, frames)`` with the file's
        :class:`Serialized` frames, or ``(True, value)`` when it is back in memory.
        """
        while True:
            try:
                return False, self._read(key, spilled)
            except FileNotFoundError:
                with self._lock:
                    if key in self.fast:
                        return True, self.fast[key]
                    current = self.slow.get(key)
                    if current is None:
                        raise KeyError(key) from None  # deleted while we read
                    if current is spilled:
                        raise  # the store's own file vanished: a real fault
                    spilled = current

    # --- spilling -----------------------------------------------------------------------

    def evict(self) -> int:
        """Spill least-recently-used values until memory holds at most ``target``;
        the bytes spilled. Stops early when a write fails."""
        if self.target is None:
            return 0
        total = 0
        while True:
            with self._lock:
                big = next(iter(self._oversized - self._unspillable - self._writing), None)
                if big is None and self.fast_nbytes <= self.target:
                    return total
            n = self.spill_one(big)
            if n is None:
                return total
            total += n

    def spill_one(self, key: Hashable = None) -> int | None:
        """Spill ``key``, or by default the least-recently-used value that can be; its
        bytes, or None when nothing could be spilled (memory empty, or the write failed).
        """
        with self._lock:
            if key is None or key not in self.fast or key in self._writing:
                skip = self._unspillable
                if self._writing:
                    skip = skip | self._writing
                key = next((k for k in self.fast if k not in skip), _NOTHING)
            if key is _NOTHING:
                return None
            self._writing.add(key)
            value = self.fast[key]
            nbytes = self._sizes[key]
            self._counter += 1
            path = os.path.join(self.directory, f"{self._counter}.spill")
        try:
            return self._spill(key, value, nbytes, path)
        finally:
            with self._lock:
                self._writing.discard(key)

    def _spill(self, key: Hashable, value: Any, nbytes: int, path: str) -> int | None:
        start = time.time()
        try:
            disk_bytes = self._write(path, value)
        except OSError as e:
            _remove(path)
            self._write_failed(e)
            return None
        except Exception as e:  # noqa: BLE001 - a value that cannot be serialized
            _remove(path)
            logger.warning("cannot spill %r (%s: %s): keeping it in memory", key,
                           type(e).__name__, e)
            with self._lock:
                if self.fast.get(key) is value:
                    self._unspillable.add(key)
                    self._oversized.discard(key)
            return 0
        stop = time.time()
        with self._lock:
            if self.fast.get(key) is not value or self._closed:
                # Deleted or replaced while it was being written: the file is debris.
                _remove(path)
                return 0
            del self.fast[key]
            self._oversized.discard(key)
            self.fast_nbytes -= nbytes
            self.slow[key] = SpilledFile(path, nbytes, disk_bytes)
            self.slow_nbytes += nbytes
            self.spilled_count += 1
            self.spilled_bytes += nbytes
            self.spill_seconds += stop - start
            if self.spill_failing:
                logger.info("spilling to %s works again", self.directory)
            self.spill_failing = False
            self._last_error = None
        if self.on_disk_io is not None:
            self.on_disk_io("disk-write", key, nbytes, start, stop)
        return nbytes

    def _write_failed(self, e: OSError) -> None:
        text = f"{type(e).__name__}: {e}"
        with self._lock:
            self.spill_failing = True
            repeat = text == self._last_error
            self._last_error = text
        if not repeat:  # one line per kind of failure, not one per attempt
            logger.error("cannot spill to %s (%s): results stay in memory until it works "
                         "again", self.directory, text)

    # --- files --------------------------------------------------------------------------

    def _write(self, path: str, value: Any) -> int:
        s = serialize(value)
        frames, codecs = [], []
        for frame in s.frames:
            codec, data = compression.maybe_compress(frame, self.codec, self.min_compress)
            frames.append(data)
            codecs.append(None if codec is None else [codec, memoryview(frame).nbytes])
        lengths = [memoryview(f).nbytes for f in frames]
        meta = msgpack.packb([s.name, s.header, lengths,
                              codecs if any(c is not None for c in codecs) else None],
                             use_bin_type=True)
        with open(path, "wb") as f:
            f.write(_PREFIX.pack(len(meta)))
            f.write(meta)
            for frame in frames:
                f.write(frame)
        return _PREFIX.size + len(meta) + sum(lengths)

    def _read(self, key: Hashable, spilled: SpilledFile) -> Serialized:
        start = time.time()
        with open(spilled.path, "rb") as f:
            buf = bytearray(spilled.disk_bytes)
            view = memoryview(buf)
            got = f.readinto(view)
        if got != spilled.disk_bytes:
            raise OSError(f"spill file {spilled.path} of {key!r} is truncated: read {got} "
                          f"of {spilled.disk_bytes} bytes")
        (meta_len,) = _PREFIX.unpack_from(view)
        name, header, lengths, codecs = msgpack.unpackb(
            view[_PREFIX.size:_PREFIX.size + meta_len], raw=False, use_list=True)
        frames, offset = [], _PREFIX.size + meta_len
        for n in lengths:
            frames.append(view[offset:offset + n])
            offset += n
        stop = time.time()
        with self._lock:
            self.read_count += 1
            self.read_bytes += spilled.nbytes
            self.read_seconds += stop - start
        if self.on_disk_io is not None:
            self.on_disk_io("disk-read", key, spilled.nbytes, start, stop)
        return Serialized(name, header, frames, codecs)

    # --- life -----------------------------------------------------------------------------

    def close(self) -> None:
        """Forget everything and remove every spill file (idempotent)."""
        with self._lock:
            self._closed = True
            for spilled in self.slow.values():
                _remove(spilled.path)
            self.fast.clear()
            self.slow.clear()
            self._sizes.clear()
            self._oversized.clear()
            self._unspillable.clear()
            self.fast_nbytes = self.slow_nbytes = 0

    def __repr__(self) -> str:
        return (f"<SpillStore {len(self.fast)} in memory ({self.fast_nbytes} bytes), "
                f"{len(self.slow)} on disk ({self.slow_nbytes} bytes)>")


_NOTHING = object()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:  # the directory went away or turned read-only: nothing to keep
        logger.warning("could not remove spill file %s: %s", path, e)
