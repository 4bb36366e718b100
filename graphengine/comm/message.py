"""Messages to frames and back: a msgpack header plus out-of-band payload frames.

Plain data (dicts, lists, str, bytes, numbers, bool, None) is msgpack; tuples and sets
are msgpack extension types so they come back as tuples and sets (keys stay hashable).
Anything else (numpy arrays, pandas objects, functions, exceptions...) is serialized by
its family (:mod:`graphengine.comm.serialize`) and replaced in the header by an
extension-type *placeholder* naming the family and the frames that carry its buffers::

    >>> import numpy as np
    >>> frames = dumps({"op": "put", "key": ("x", 0), "data": np.zeros(3)})
    >>> loads(frames)["key"]
    ('x', 0)

Decoding checks the nesting depth (``comm.max-nesting``) before any placeholder is
deserialized, and frames are decompressed only up to a bounded size.
"""
from __future__ import annotations

from typing import Any

import msgpack

from graphengine import config
from graphengine.comm import compression
from graphengine.comm.serialize import Serialized, deserialize, serialize
from graphengine.errors import ProtocolError

__all__ = ["dumps", "loads", "EXT_TUPLE", "EXT_SET", "EXT_FROZENSET", "EXT_OBJECT"]

EXT_TUPLE = 1
EXT_SET = 2
EXT_FROZENSET = 3
EXT_OBJECT = 4

# A header bigger than this is searched for large bytes objects, which are then moved
# out-of-band; below it, inlining them in msgpack costs less than searching.
_INLINE_SEARCH_TRIGGER = 1 << 20
# Bytes-likes at least this large are moved out-of-band by that search.
_OUT_OF_BAND_BYTES = 64 * 1024
_BYTES_TYPES = (bytes, bytearray, memoryview)


class _OutOfBand:
    """Marks a large bytes object that must travel as a frame, not inside msgpack."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class _Encoder:
    """Collects the frames of one message while msgpack calls :meth:`default`."""

    __slots__ = ("frames", "codec", "min_size")

    def __init__(self, codec: str | None, min_size: int):
        self.frames: list[Any] = []
        self.codec = codec
        self.min_size = min_size

    def pack(self, obj: Any) -> bytes:
        return msgpack.packb(obj, default=self.default, strict_types=True, use_bin_type=True)

    def default(self, obj: Any) -> msgpack.ExtType:
        t = type(obj)
        if t is tuple:
            return msgpack.ExtType(EXT_TUPLE, self.pack(list(obj)))
        if t is set:
            return msgpack.ExtType(EXT_SET, self.pack(list(obj)))
        if t is frozenset:
            return msgpack.ExtType(EXT_FROZENSET, self.pack(list(obj)))
        if t is _OutOfBand:
            obj = obj.value
        s = serialize(obj)
        start = len(self.frames)
        codecs: list[Any] | None = None
        if s.codecs is not None:  # forwarded, possibly still compressed
            frames, codecs = self._recode(s)
        elif self.codec is None:
            frames = s.frames
        else:
            frames = []
            for i, frame in enumerate(s.frames):
                codec, data = compression.maybe_compress(frame, self.codec, self.min_size)
                if codec is not None:
                    if codecs is None:
                        codecs = [None] * len(s.frames)
                    codecs[i] = [codec, memoryview(frame).nbytes]
                frames.append(data)
        self.frames.extend(frames)
        return msgpack.ExtType(EXT_OBJECT,
                               self.pack([s.name, s.header, start, len(frames), codecs]))

    def _recode(self, s: Serialized) -> tuple[list[Any], list[Any] | None]:
        # Keep frames compressed with our codec; decompress the others (the peer may lack
        # that codec).
        frames, codecs = [], []
        for frame, c in zip(s.frames, s.codecs):
            if c is not None and c[0] != self.codec:
                frame, c = compression.decompress(c[0], frame, c[1]), None
            frames.append(frame)
            codecs.append(c)
        return frames, (codecs if any(c is not None for c in codecs) else None)


def dumps(msg: Any, codec: str | None = None, min_size: int | None = None) -> list[Any]:
    """Encode ``msg`` as ``[header, *frames]`` (see the module docstring).

    Parameters
    ----------
    msg : object
        Usually a dict with an ``"op"``; any serializable object works.
    codec : str, optional
        Compress large compressible frames with this codec (e.g. ``"lz4"``).
    min_size : int, optional
        Frames below this many bytes are never compressed
        (default ``comm.compression-min-size``).

    Raises
    ------
    TypeError
        If part of the message cannot be serialized; nothing has been written.
    """
    if min_size is None and codec is not None:
        min_size = compression.compression_min_size()
    enc = _Encoder(codec, min_size or 0)
    header = enc.pack(msg)
    if len(header) > _INLINE_SEARCH_TRIGGER:
        moved = _move_large_bytes(msg)
        if moved is not msg:
            enc = _Encoder(codec, min_size or 0)
            header = enc.pack(moved)
    return [header, *enc.frames]


def _move_large_bytes(obj: Any) -> Any:
    """A copy of ``obj`` with large bytes-likes wrapped in :class:`_OutOfBand`.

    Containers are copied only along paths that change; the caller's message is intact.
    """
    t = type(obj)
    if t in _BYTES_TYPES:
        return _OutOfBand(obj) if memoryview(obj).nbytes >= _OUT_OF_BAND_BYTES else obj
    if t is dict:
        out = None
        for k, v in obj.items():
            new = _move_large_bytes(v)
            if new is not v:
                if out is None:
                    out = dict(obj)
                out[k] = new
        return obj if out is None else out
    if t is list or t is tuple:
        items = [_move_large_bytes(v) for v in obj]
        if any(a is not b for a, b in zip(items, obj)):
            return items if t is list else tuple(items)
        return obj
    return obj


class _Pending:
    """A placeholder read from the header, materialized once the depth check passed."""

    __slots__ = ("name", "header", "frames", "codecs")

    def __init__(self, name: str, header: Any, frames: list[Any], codecs: list[Any] | None):
        self.name, self.header, self.frames, self.codecs = name, header, frames, codecs


_WALKED = frozenset({list, dict, tuple, set, frozenset, _Pending})


class _Decoder:
    __slots__ = ("frames", "deserialize", "max_nesting", "max_raw", "ext_depth", "pending")

    def __init__(self, frames: list[Any], deserialize: bool, max_nesting: int, max_raw: int):
        self.frames = frames
        self.deserialize = deserialize
        self.max_nesting = max_nesting
        self.max_raw = max_raw
        self.ext_depth = 0
        self.pending = False

    def unpack(self, data: Any) -> Any:
        return msgpack.unpackb(data, ext_hook=self.ext_hook, raw=False,
                               strict_map_key=False, use_list=True)

    def ext_hook(self, code: int, data: bytes) -> Any:
        self.ext_depth += 1
        if self.ext_depth > self.max_nesting:
            raise ProtocolError(f"header nests deeper than comm.max-nesting={self.max_nesting}")
        try:
            items = self.unpack(data)
        finally:
            self.ext_depth -= 1
        if type(items) is not list:
            raise ProtocolError(f"msgpack extension {code} does not hold a list")
        if code == EXT_TUPLE:
            return tuple(items)
        if code == EXT_SET or code == EXT_FROZENSET:
            self.pending = True  # elements may be placeholders: let the walk rebuild it
            return (set if code == EXT_SET else frozenset)(items)
        if code == EXT_OBJECT:
            return self._placeholder(items)
        raise ProtocolError(f"unknown msgpack extension type {code}")

    def _placeholder(self, items: list[Any]) -> _Pending:
        if len(items) != 5:
            raise ProtocolError("malformed object placeholder in header")
        name, header, start, count, codecs = items
        if (type(name) is not str or type(start) is not int or type(count) is not int
                or start < 0 or count < 0 or start + count > len(self.frames)):
            raise ProtocolError(f"object placeholder refers to frames {start!r}+{count!r} "
                                f"of {len(self.frames)}")
        if codecs is not None:
            if type(codecs) is not list or len(codecs) != count:
                raise ProtocolError("object placeholder has a malformed codec list")
            for c in codecs:
                if c is not None and (type(c) is not list or len(c) != 2
                                      or type(c[1]) is not int or not 0 <= c[1] <= self.max_raw):
                    raise ProtocolError(f"compressed frame claims {c!r}; uncompressed frames "
                                        f"are limited to comm.max-message-size={self.max_raw}")
        self.pending = True
        return _Pending(name, header, self.frames[start:start + count], codecs)

    def finish(self, obj: Any, depth: int) -> Any:
        """Check nesting depth and materialize placeholders, rebuilding along the way."""
        t = type(obj)
        if t is _Pending:
            return self._materialize(obj, depth)
        if depth > self.max_nesting:
            raise ProtocolError(f"header nests deeper than comm.max-nesting={self.max_nesting}")
        depth += 1
        if t is list:
            for i, x in enumerate(obj):
                if type(x) in _WALKED:
                    obj[i] = self.finish(x, depth)
            return obj
        if t is dict:
            renamed = None
            for k, v in obj.items():
                if type(v) in _WALKED:
                    obj[k] = self.finish(v, depth)  # same keys: safe while iterating
                if type(k) in _WALKED:
                    new = self.finish(k, depth)
                    if new is not k:
                        renamed = renamed or {}
                        renamed[k] = new
            if renamed:
                return {renamed.get(k, k): v for k, v in obj.items()}
            return obj
        items = [self.finish(x, depth) if type(x) in _WALKED else x for x in obj]
        if any(a is not b for a, b in zip(items, obj)) or t is not tuple:
            return t(items)
        return obj

    def _materialize(self, p: _Pending, depth: int) -> Any:
        header = self.finish(p.header, depth) if type(p.header) in _WALKED else p.header
        kept = Serialized(p.name, header, p.frames, p.codecs)
        # deserialize() decompresses what is still compressed.
        return deserialize(kept) if self.deserialize else kept


def loads(frames: list[Any], deserialize: bool = True, max_nesting: int | None = None,
          max_raw: int | None = None) -> Any:
    """Decode ``[header, *frames]`` produced by :func:`dumps`.

    Parameters
    ----------
    deserialize : bool
        If False, serialized objects stay :class:`Serialized` (nothing is unpickled);
        forwarding them later costs no re-serialization.
    max_nesting : int, optional
        Deepest container nesting accepted (default ``comm.max-nesting``).
    max_raw : int, optional
        Largest uncompressed size a compressed frame may claim
        (default ``comm.max-message-size``).

    Raises
    ------
    ProtocolError
        If the header is malformed or nests too deeply.
    Exception
        Whatever a serializer family raises for a payload it cannot rebuild.
    """
    if max_nesting is None:
        max_nesting = config.get("comm.max-nesting")
    if max_raw is None:
        max_raw = config.get("comm.max-message-size")
    dec = _Decoder(frames[1:], deserialize, max_nesting, max_raw)
    header = frames[0]
    try:
        msg = dec.unpack(header)
    except ProtocolError:
        raise
    except Exception as e:
        raise ProtocolError(f"malformed msgpack header ({type(e).__name__}: {e})") from e
    # A header shorter than the depth limit cannot nest deeper than it (one byte per level).
    if type(msg) in _WALKED and (dec.pending or len(header) > max_nesting):
        msg = dec.finish(msg, 1)
    return msg
