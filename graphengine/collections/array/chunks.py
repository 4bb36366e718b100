"""Chunk specifications: turn what users write for ``chunks=`` into a tuple of tuples.

Every array keeps its chunking as one tuple per axis listing the block lengths along that
axis (``nan`` for lengths unknown until computed, e.g. after boolean indexing). This module
normalises the forms users write (int, -1, None, "auto", per-axis tuples, dicts by axis) and
finds a common chunking for arrays that must line up block by block.

    >>> normalize_chunks((2, -1), shape=(5, 3))
    ((2, 2, 1), (3,))
    >>> normalize_chunks({0: 4}, shape=(10, 2))
    ((4, 4, 2), (2,))
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np

from graphengine import config

__all__ = ["normalize_chunks", "blockdims_from_blockshape", "common_chunks", "auto_chunks",
           "chunk_offsets", "is_unknown", "shape_text"]

Chunks = tuple  # tuple[tuple[int | float, ...], ...]


def is_unknown(n: Any) -> bool:
    """True for an unknown length (``nan``)."""
    return isinstance(n, float) and math.isnan(n)


def blockdims_from_blockshape(shape: Sequence[int], blockshape: Sequence[int]) -> Chunks:
    """Regular chunks of ``blockshape`` covering ``shape``, the last block on each axis shorter.

    >>> blockdims_from_blockshape((10, 4), (4, 4))
    ((4, 4, 2), (4,))
    """
    out = []
    for d, c in zip(shape, blockshape):
        if d == 0:
            out.append((0,))
            continue
        full, rest = divmod(int(d), int(c))
        out.append((int(c),) * full + ((rest,) if rest else ()))
    return tuple(out)


def _is_int(x: Any) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def normalize_chunks(chunks: Any, shape: Sequence[int] | None = None, limit: int | None = None,
                     dtype: Any = None, previous_chunks: Chunks | None = None) -> Chunks:
    """Normalise a ``chunks=`` argument to a tuple of per-axis block-length tuples.

    Parameters
    ----------
    chunks : int, tuple, dict, "auto", -1 or None
        An int gives that block length on every axis; a tuple gives one entry per axis,
        each an int block length, a tuple of explicit block lengths, ``-1``/``None`` (the
        whole axis) or ``"auto"``; a dict maps axis numbers to such entries (missing axes
        are whole); ``"auto"`` picks lengths so a block holds about ``array.chunk-size``
        bytes.
    shape : tuple of int
        The array shape (may be omitted when ``chunks`` is already explicit).
    limit : int, optional
        Target bytes per block for ``"auto"`` (default: ``array.chunk-size`` config).
    dtype : dtype, optional
        Needed for ``"auto"``.
    previous_chunks : tuple of tuples, optional
        Chunks an ``"auto"`` axis should prefer to align with (rechunk, from_array).

    Raises
    ------
    ValueError
        Naming the axis and entry that are wrong: a length <= 0, explicit lengths that do
        not sum to the axis length, or a number of entries different from the number of axes.
    TypeError
        For an entry of an unsupported type.
    """
    if shape is not None:
        shape = tuple(shape)
    if isinstance(chunks, np.ndarray):
        chunks = chunks.tolist()
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if shape is None:
        if not isinstance(chunks, tuple) or not all(isinstance(c, (tuple, list)) for c in chunks):
            raise ValueError(f"chunks {chunks!r} need a shape to be normalised")
        return tuple(tuple(_check_len(c, i) for c in axis) for i, axis in enumerate(chunks))
    ndim = len(shape)
    if isinstance(chunks, Mapping):
        spec = {}
        for axis, value in chunks.items():
            if not _is_int(axis) or not -ndim <= axis < ndim:
                raise ValueError(f"chunks dict has axis {axis!r} but the array has {ndim} "
                                 f"dimension(s)")
            spec[axis % ndim] = value
        chunks = tuple(spec.get(i, -1) for i in range(ndim))
    elif chunks is None or isinstance(chunks, str) or _is_int(chunks):
        chunks = (chunks,) * ndim
    if not isinstance(chunks, tuple):
        raise TypeError(f"chunks must be an int, tuple, dict or 'auto', not "
                        f"{type(chunks).__name__} {chunks!r}")
    if len(chunks) != ndim:
        raise ValueError(f"chunks {chunks!r} have {len(chunks)} entries but the array shape "
                         f"{shape} has {ndim} dimension(s)")
    out: list = [None] * ndim
    auto_axes = []
    for i, (c, d) in enumerate(zip(chunks, shape)):
        if isinstance(c, list):
            c = tuple(c)
        if c is None or (_is_int(c) and c == -1):
            out[i] = (d,)
        elif isinstance(c, str):
            if c != "auto":
                raise ValueError(f"chunks entry {c!r} on axis {i} is not understood; use an "
                                 "int, a tuple of ints, -1, None or 'auto'")
            auto_axes.append(i)
        elif _is_int(c):
            if c <= 0:
                raise ValueError(f"chunks entry {c} on axis {i} must be positive (or -1 for "
                                 "the whole axis)")
            if is_unknown(d):
                raise ValueError(f"cannot chunk axis {i} of unknown length by {c}")
            out[i] = blockdims_from_blockshape((d,), (c,))[0]
        elif isinstance(c, tuple):
            lens = tuple(_check_len(n, i) for n in c)
            if not any(is_unknown(n) for n in lens) and not is_unknown(d):
                total = sum(lens)
                if total != d:
                    raise ValueError(f"chunks {c!r} on axis {i} sum to {total}, but the axis "
                                     f"has length {d}")
            if not lens:
                raise ValueError(f"chunks on axis {i} are empty; an axis needs at least one "
                                 "block (use (0,) for a zero-length axis)")
            out[i] = lens
        else:
            raise TypeError(f"chunks entry {c!r} on axis {i} has unsupported type "
                            f"{type(c).__name__}")
    if auto_axes:
        out = list(auto_chunks(out, shape, auto_axes, limit, dtype, previous_chunks))
    return tuple(out)


def _check_len(n: Any, axis: int) -> int | float:
    if is_unknown(n):
        return n
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not _is_int(n) or n < 0:
        raise ValueError(f"chunk length {n!r} on axis {axis} must be a non-negative int")
    return int(n)


def auto_chunks(chunks: list, shape: tuple, auto_axes: list, limit: int | None, dtype: Any,
                previous_chunks: Chunks | None = None) -> tuple:
    """Fill the ``"auto"`` axes of ``chunks`` so a block holds about ``limit`` bytes.

    Auto axes get equal block lengths (a cube in those axes), rounded to a multiple of
    ``previous_chunks`` on that axis when given, so an auto rechunk does not split blocks.
    """
    if dtype is None:
        raise ValueError("chunks='auto' needs the dtype to size blocks")
    if limit is None:
        limit = config.get("array.chunk-size")
    itemsize = max(np.dtype(dtype).itemsize, 1)
    fixed = 1
    for i, c in enumerate(chunks):
        if i not in auto_axes:
            fixed *= max(max(c), 1) if c else 1
    target_elems = max(limit // itemsize // max(fixed, 1), 1)
    result = list(chunks)
    remaining = list(auto_axes)
    # Axes shorter than their share take the whole axis; the rest share what is left.
    while remaining:
        share = target_elems ** (1 / len(remaining))
        small = [i for i in remaining if shape[i] <= share]
        if not small:
            break
        for i in small:
            result[i] = (shape[i],) if shape[i] else (0,)
            target_elems = max(target_elems // max(shape[i], 1), 1)
            remaining.remove(i)
    for i in remaining:
        size = max(int(target_elems ** (1 / len(remaining))), 1)
        if previous_chunks is not None and previous_chunks[i]:
            prev = max(int(max(previous_chunks[i])), 1)
            if size >= prev:
                size = size // prev * prev
        # Balance the blocks: n equal blocks rather than many full ones and a sliver.
        n = math.ceil(shape[i] / size)
        size = math.ceil(shape[i] / n)
        result[i] = blockdims_from_blockshape((shape[i],), (size,))[0]
    return tuple(result)


def chunk_offsets(chunks_1d: Sequence[int]) -> list[int]:
    """Start offset of each block along one axis, plus the axis length at the end."""
    out = [0]
    for n in chunks_1d:
        out.append(out[-1] + n)
    return out


def common_chunks(*chunks_1d: tuple) -> tuple:
    """The coarsest chunking of one axis that refines every given chunking of it.

    >>> common_chunks((2, 2), (1, 3))
    (1, 1, 2)
    """
    if all(c == chunks_1d[0] for c in chunks_1d):
        return chunks_1d[0]
    if any(is_unknown(n) for c in chunks_1d for n in c):
        raise ValueError(f"cannot align chunks of unknown length {chunks_1d}; call "
                         "compute_chunk_sizes() first")
    cuts = set()
    for c in chunks_1d:
        cuts.update(chunk_offsets(c))
    cuts = sorted(cuts)
    return tuple(b - a for a, b in zip(cuts, cuts[1:])) or (0,)


def shape_text(shape: tuple) -> str:
    """A shape as NumPy's broadcasting and assignment messages print it: ``(2,3)``,
    ``(3,)``, ``()`` (no spaces; NumPy integers print as plain numbers)."""
    inner = ",".join(str(int(n)) if n == n else "nan" for n in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
