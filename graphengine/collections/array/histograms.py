"""Histograms (``np.histogram``): per-block counts summed over the blocks.

Every block is counted by ``np.histogram`` itself, with the same bins and range that NumPy
would use for the whole array, so the counts (and the edges) are NumPy's. Choosing the
bins may need the data first: an int ``bins`` without ``range`` computes the data's min
and max, and a string ``bins`` (``"auto"``, ``"fd"``, ...) computes the whole array to run
NumPy's estimator on it.

    >>> import numpy as np, graphengine.array as ga
    >>> counts, edges = ga.histogram(ga.from_array(np.array([0.1, 0.5, 0.9]), chunks=2), bins=2)
    >>> counts.compute(scheduler="sync").tolist(), edges.tolist()
    ([1, 2], [0.1, 0.5, 0.9])
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.creation import asarray
from graphengine.collections.array.elementwise import blockwise, map_blocks, new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["histogram"]


def _block_extent(block: np.ndarray) -> np.ndarray:
    """``[min, max]`` of a block in its own dtype (empty for an empty block)."""
    flat = block.reshape(-1)
    if not flat.size:
        return flat[:0]
    return np.array([flat.min(), flat.max()], dtype=flat.dtype)


def _total_extent(parts: list, dtype: np.dtype) -> np.ndarray:
    values = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
    return _block_extent(values)


def _data_range(a: Array) -> tuple:
    """The range NumPy's ``_get_outer_edges`` uses without ``range=``: the data's min and
    max as NumPy scalars of the data's dtype, or ``(0, 1)`` for empty data."""
    per = map_blocks(_block_extent, a, dtype=a.dtype, chunks=((math.nan,) * a.numblocks[0],),
                     name=new_name("histogram-extent-block", a.name))
    name = new_name("histogram-extent", per.name)
    deps = [Ref((per.name, i)) for i in range(per.numblocks[0])]
    layer = {(name, 0): Task((name, 0), _total_extent, deps, a.dtype)}
    graph = layer_graph(name, MaterializedLayer(layer), dependencies=[per])
    extent = Array(graph, name, ((math.nan,),), a.dtype).compute()
    if extent.size == 0:
        return 0, 1
    lo, hi = extent[0], extent[1]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"autodetected range of [{lo}, {hi}] is not finite")
    return lo, hi


def _hist_block(block: np.ndarray, weights: Any, bins: Any, range: Any) -> np.ndarray:
    return np.histogram(block, bins=bins, range=range, weights=weights)[0][None, :]


def _as_histogram_input(a: Any) -> Array:
    a = asarray(a)
    if a.dtype == bool:  # NumPy's conversion (and warning) for a "subtractable" dtype
        warnings.warn(f"Converting input from {a.dtype} to {np.uint8} for compatibility.",
                      RuntimeWarning, stacklevel=3)
        a = a.astype(np.uint8)
    return a


def _block_bins(a: Array, bins: Any, range: Any, weighted: bool) -> tuple:
    """``(edges, bins, range)``: NumPy's bin edges, and the ``bins``/``range`` that make
    ``np.histogram`` of any block use exactly those edges."""
    empty = np.empty(0, dtype=a.dtype)
    if isinstance(bins, str):
        # Validates the estimator's name and the range without touching the data.
        np.histogram_bin_edges(empty, bins=bins, range=range)
        if weighted:
            raise TypeError("Automated estimation of the number of bins is not supported "
                            "for weighted data")
        data = a.compute()
        edges = np.histogram_bin_edges(data, bins=bins, range=range)
        if range is None:
            range = (data.min(), data.max()) if data.size else (0, 1)
        return edges, len(edges) - 1, range
    if np.ndim(bins) == 0:
        # NumPy's checks: an integer (operator.index: 2.5 is a TypeError), at least 1.
        np.histogram_bin_edges(empty, bins=bins, range=range)
        n = operator.index(bins)
        if range is None:
            range = _data_range(a)
        return np.histogram_bin_edges(empty, bins=n, range=range), n, range
    edges = np.histogram_bin_edges(empty, bins=bins)  # 1-d and increasing
    return edges, edges, None


@implements(np.histogram)
def histogram(a: Any, bins: Any = 10, range: Any = None, weights: Any = None,
              density: bool = False) -> tuple[Array, np.ndarray]:
    """Counts per bin and the bin edges (``np.histogram``).

    Parameters
    ----------
    a : array_like
        Input data, flattened.
    bins : int, str or sequence of scalars
        Number of equal-width bins, the name of one of NumPy's bin estimators, or the
        bin edges.
    range : (float, float), optional
        Lower and upper range of the bins (default: the data's min and max).
    weights : array_like, optional
        One weight per value of ``a`` (same shape); the counts take its dtype.
    density : bool
        Return the probability density instead of counts.

    Returns
    -------
    counts : Array
        Lazy counts (``intp``; the weights' dtype when weighted; float for a density).
    edges : numpy.ndarray
        The ``len(counts) + 1`` bin edges.

    Notes
    -----
    An int ``bins`` without ``range`` computes the data's min and max first; a string
    ``bins`` computes the whole array (NumPy's estimators need all the values).
    """
    a = _as_histogram_input(a)
    shape = a.shape
    a = a if a.ndim == 1 else a.reshape(-1)  # 1-d keeps unknown chunk lengths working
    w = None
    if weights is not None:
        w = asarray(weights)
        known = not any(math.isnan(n) for n in shape + w.shape)
        if known and w.shape != shape:
            raise ValueError("weights should have the same shape as a.")
        w = w.reshape(-1).rechunk(a.chunks)
    edges, block_bins, block_range = _block_bins(a, bins, range, w is not None)
    nb = len(edges) - 1
    ntype = np.dtype(np.intp) if w is None else w.dtype
    per = blockwise(_hist_block, "ij", a, "i", w, None if w is None else "i", block_bins,
                    None, block_range, None, dtype=ntype, new_axes={"j": nb},
                    adjust_chunks={"i": 1})
    counts = per.sum(axis=0, dtype=ntype)
    if density:
        widths = np.array(np.diff(edges), float)
        counts = counts / widths / counts.sum()
    return counts, edges
