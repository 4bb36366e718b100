"""Rechunking: change block boundaries, bounding task count and peak memory.

A direct rechunk makes one task per new block that joins the pieces of old blocks it
overlaps (pieces are views taken inside that task, so they cost no tasks). When every new
block overlaps many old blocks and vice versa (a "transpose" of the chunking, e.g. rows to
columns), the direct graph would hold most of the array in memory at once, so
:func:`plan_rechunk` goes through an intermediate chunking whose blocks sit between the
old and new sizes (their geometric mean), bounded by ``array.chunk-size``.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.from_array(np.arange(12).reshape(3, 4), chunks=(1, 4))
    >>> x.rechunk((3, 2)).chunks
    ((3,), (2, 2))
"""
from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine import config
from graphengine.collections.array.chunks import (blockdims_from_blockshape, chunk_offsets,
                                                  is_unknown, normalize_chunks)
from graphengine.collections.array.core import Array, layer_graph
from graphengine.collections.array.elementwise import new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["rechunk", "plan_rechunk", "pieces_1d"]


def pieces_1d(old: tuple, new: tuple) -> list[list[tuple[int, slice]]]:
    """For each new block along one axis: the ``(old_block, slice_in_old_block)`` pieces."""
    old_off = chunk_offsets(old)
    new_off = chunk_offsets(new)
    out = []
    for j in range(len(new)):
        lo, hi = new_off[j], new_off[j + 1]
        pieces = []
        if hi == lo:
            i = min(bisect_right(old_off, lo) - 1, len(old) - 1)
            pieces.append((max(i, 0), slice(0, 0)))
        else:
            i = bisect_right(old_off, lo) - 1
            while i < len(old) and old_off[i] < hi:
                s = max(lo, old_off[i]) - old_off[i]
                e = min(hi, old_off[i + 1]) - old_off[i]
                if e > s:
                    pieces.append((i, slice(s, e)))
                i += 1
        out.append(pieces)
    return out


def _join(nested: Any, ndim: int) -> np.ndarray:
    def go(n: Any, axis: int) -> np.ndarray:
        if axis == ndim - 1:
            return n[0] if len(n) == 1 else np.concatenate(n, axis=axis)
        parts = [go(p, axis + 1) for p in n]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)
    return go(nested, 0)


def _slice(block: np.ndarray, index: tuple) -> np.ndarray:
    return block[index]


def _rechunk_direct(x: Array, new: tuple) -> Array:
    ndim = x.ndim
    per_axis = [pieces_1d(o, n) for o, n in zip(x.chunks, new)]
    name = new_name("rechunk-merge", x.name, new)
    tasks = {}
    for coords in itertools.product(*(range(len(c)) for c in new)):
        key = (name, *coords)
        lists = [per_axis[a][j] for a, j in enumerate(coords)]

        def build(axis: int, prefix: tuple, slices: tuple) -> Any:
            if axis == ndim:
                old_key = (x.name, *prefix)
                full = all(s == slice(0, x.chunks[a][prefix[a]]) for a, s in enumerate(slices))
                return Ref(old_key) if full else Task(None, _slice, Ref(old_key), slices)
            return [build(axis + 1, prefix + (i,), slices + (s,)) for i, s in lists[axis]]

        nested = build(0, (), ())
        single = all(len(p) == 1 for p in lists)
        if single:
            leaf = nested
            for _ in range(ndim):
                leaf = leaf[0]
            tasks[key] = Task(key, _identity, leaf) if type(leaf) is Ref else leaf.with_key(key)
        else:
            tasks[key] = Task(key, _join, nested, ndim)
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[x])
    return Array(graph, name, new, x.dtype)


def _identity(x: Any) -> Any:
    return x


def _count_pieces(old: tuple, new: tuple) -> int:
    total = 1
    for o, n in zip(old, new):
        total *= sum(len(p) for p in pieces_1d(o, n))
    return total


def plan_rechunk(old: tuple, new: tuple, itemsize: int, limit: int | None = None,
                 factor: float | None = None) -> list[tuple]:
    """The chunkings to go through, ending with ``new`` (one or two steps).

    ``factor`` (default: config ``array.rechunk.max-fan``) bounds the product of the
    average fan-in and fan-out of a direct rechunk before an intermediate step is used.
    """
    if limit is None:
        limit = config.get("array.chunk-size")
    if factor is None:
        factor = config.get("array.rechunk.max-fan")
    n_old = math.prod(len(c) for c in old)
    n_new = math.prod(len(c) for c in new)
    pieces = _count_pieces(old, new)
    if len(old) < 2 or (pieces / max(n_new, 1)) * (pieces / max(n_old, 1)) <= factor:
        return [new]

    def block_bytes(chunks: tuple) -> int:
        return math.prod(max(c) if c else 0 for c in chunks) * itemsize

    inter = []
    for o, n in zip(old, new):
        if o == n:
            inter.append(o)
            continue
        size = max(int(round(math.sqrt(max(max(o), 1) * max(max(n), 1)))), 1)
        inter.append(blockdims_from_blockshape((sum(o),), (size,))[0])
    inter = tuple(inter)
    bound = max(limit, block_bytes(old), block_bytes(new))
    if block_bytes(inter) > bound or inter in (old, new):
        return [new]
    return [inter, new]


def rechunk(x: Array, chunks: Any = "auto", threshold: Any = None,
            block_size_limit: int | None = None, balance: bool = False,
            method: str | None = None) -> Array:
    """The same array with new block boundaries.

    Parameters
    ----------
    chunks : int, tuple, dict, "auto" or -1
        New chunks (see :func:`normalize_chunks`); a dict changes only the axes it names.
    block_size_limit : int, optional
        Bytes per block for ``"auto"`` axes and for intermediate steps.

    Raises
    ------
    ValueError
        If the new chunks do not fit the shape, or an axis of unknown length would change.
    """
    if isinstance(chunks, Mapping):
        bad = [k for k in chunks if not -x.ndim <= k < x.ndim]
        if bad:
            raise ValueError(f"chunks dict has axis {bad[0]} but the array has {x.ndim} "
                             "dimension(s)")
        chunks = {k % max(x.ndim, 1): v for k, v in chunks.items()}
        chunks = tuple(chunks.get(i, x.chunks[i]) for i in range(x.ndim))
    if isinstance(chunks, tuple):
        chunks = tuple(x.chunks[i] if c is None and i < x.ndim else c
                       for i, c in enumerate(chunks))
    unknown = [i for i, c in enumerate(x.chunks) if any(is_unknown(n) for n in c)]
    if unknown:
        if isinstance(chunks, tuple) and all(chunks[i] == x.chunks[i] for i in unknown):
            new = tuple(x.chunks[i] if i in unknown else normalize_chunks(
                (chunks[i],), (x.shape[i],), dtype=x.dtype)[0] for i in range(x.ndim))
        else:
            raise ValueError(f"cannot rechunk axes {unknown} of unknown length; call "
                             "compute_chunk_sizes() first")
    else:
        new = normalize_chunks(chunks, x.shape, limit=block_size_limit, dtype=x.dtype,
                               previous_chunks=x.chunks)
    if new == x.chunks:
        return x
    if x.ndim == 0:
        return x
    for step in plan_rechunk(x.chunks, new, x.dtype.itemsize, block_size_limit):
        x = _rechunk_direct(x, step)
    return x
