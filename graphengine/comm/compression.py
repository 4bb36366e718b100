"""Per-frame compression of large payloads, used only when it pays.

A frame is compressed when it is at least ``comm.compression-min-size`` bytes, a sample
of it compresses well, and the whole result is really smaller. The codecs a process can
*decompress* are announced in the connection handshake; a sender only uses a codec its
peer announced::

    >>> codec, data = maybe_compress(b"abc" * 100_000, "lz4", min_size=10_000)
    >>> bytes(decompress(codec, data, 300_000)) == b"abc" * 100_000
    True
"""
from __future__ import annotations

from typing import Any

from graphengine import config

__all__ = ["available_codecs", "default_codec", "choose_codec", "maybe_compress", "decompress"]

try:  # lz4 is optional: without it everything travels uncompressed
    import lz4.block as _lz4
except ImportError:  # pragma: no cover - exercised only where lz4 is absent
    _lz4 = None

# Sampled pieces: a frame whose sample does not shrink below this ratio is sent raw.
_SAMPLE_PIECES = 4
_SAMPLE_PIECE_SIZE = 8 * 1024
_MIN_RATIO = 0.9
# The lz4 block format caps one block just under 2 GiB; larger frames are sent raw (on a
# network fast enough to carry such frames, compression rarely pays anyway).
_LZ4_MAX_INPUT = 2**30


def _lz4_compress(data: Any) -> bytes:
    return _lz4.compress(data, store_size=False)


def _lz4_decompress(data: Any, raw_size: int) -> bytearray:
    # bytearray so that arrays built on the result are writable, like uncompressed ones
    return _lz4.decompress(data, uncompressed_size=raw_size, return_bytearray=True)


_COMPRESS = {"lz4": _lz4_compress} if _lz4 is not None else {}
_DECOMPRESS = {"lz4": _lz4_decompress} if _lz4 is not None else {}


def available_codecs() -> list[str]:
    """Codecs this process can decompress, in order of preference."""
    return list(_DECOMPRESS)


def default_codec() -> str | None:
    """The codec ``comm.compression`` asks for, or None.

    Raises
    ------
    ValueError
        If config names a codec that is unknown or not installed.
    """
    setting = config.get("comm.compression")
    if setting in (None, False, "none", "None"):
        return None
    if setting == "auto":
        return "lz4" if "lz4" in _COMPRESS else None
    if setting not in _COMPRESS:
        raise ValueError(f"comm.compression={setting!r}: codec not available "
                         f"(installed: {available_codecs() or 'none'})")
    return setting


def choose_codec(wanted: str | None, peer_codecs: list[str]) -> str | None:
    """The codec to send with: ours if the peer can decompress it, else none."""
    return wanted if wanted is not None and wanted in peer_codecs else None


def maybe_compress(frame: Any, codec: str | None, min_size: int) -> tuple[str | None, Any]:
    """Compress ``frame`` with ``codec`` if that is worth it.

    Returns ``(codec, compressed)`` or ``(None, frame)`` unchanged.
    """
    if codec is None:
        return None, frame
    mv = frame if type(frame) is memoryview else memoryview(frame)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    n = mv.nbytes
    if n < min_size or n > _LZ4_MAX_INPUT:
        return None, frame
    compress = _COMPRESS[codec]
    if n > _SAMPLE_PIECES * _SAMPLE_PIECE_SIZE * 4:
        # Compress a few spread-out pieces first: incompressible data (random floats,
        # already-compressed images) is detected for a few microseconds.
        step = n // _SAMPLE_PIECES
        sample = b"".join(mv[i * step:i * step + _SAMPLE_PIECE_SIZE]
                          for i in range(_SAMPLE_PIECES))
        if len(compress(sample)) > _MIN_RATIO * len(sample):
            return None, frame
    compressed = compress(mv)
    if len(compressed) > _MIN_RATIO * n:
        return None, frame
    return codec, compressed


def decompress(codec: str, data: Any, raw_size: int) -> Any:
    """Undo :func:`maybe_compress`; ``raw_size`` is the uncompressed length.

    Raises
    ------
    ValueError
        If the codec is unknown here or the data does not decompress to ``raw_size``.
    """
    try:
        fn = _DECOMPRESS[codec]
    except KeyError:
        raise ValueError(f"frame compressed with {codec!r}, which this process cannot "
                         f"decompress (installed: {available_codecs() or 'none'})") from None
    out = fn(data, raw_size)
    if len(out) != raw_size:
        raise ValueError(f"{codec} frame decompressed to {len(out)} bytes, expected {raw_size}")
    return out


def compression_min_size() -> int:
    """``comm.compression-min-size``: frames smaller than this are never compressed."""
    return int(config.get("comm.compression-min-size"))
