"""``graphengine.array.linalg``: norms, and TSQR-based ``qr``/``svd``/``lstsq``/``solve``.

TSQR (tall-and-skinny QR): each row block is factored on its own (parallel), the small R
factors are stacked and factored once more, and each block's Q is multiplied by its slice
of the second Q. Columns are joined into one block and row blocks shorter than the matrix
is wide are merged with their neighbours first.

    >>> import numpy as np, graphengine.array as ga
    >>> a = ga.from_array(np.random.default_rng(0).random((40, 3)), chunks=(10, 3))
    >>> q, r = ga.linalg.qr(a)
    >>> bool(np.allclose((q @ r).compute(scheduler="sync"), a.compute(scheduler="sync")))
    True
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from graphengine.collections.array.core import Array, implements, layer_graph
from graphengine.collections.array.creation import asarray
from graphengine.collections.array.elementwise import new_name
from graphengine.graph.layers import MaterializedLayer
from graphengine.graph.spec import Ref, Task

__all__ = ["qr", "svd", "norm", "lstsq", "solve", "tsqr"]


def _qr(block: np.ndarray) -> tuple:
    return np.linalg.qr(block)


def _stack_r(*parts: tuple) -> tuple:
    rs = np.concatenate([p[1] for p in parts], axis=0)
    return np.linalg.qr(rs)


def _q_block(part: tuple, second: tuple, i: int, n: int) -> np.ndarray:
    return part[0] @ second[0][i * n:(i + 1) * n]


def _r(second: tuple) -> np.ndarray:
    return second[1]


def _check_tall_skinny(a: Array, what: str) -> Array:
    if a.ndim != 2:
        raise ValueError(f"{what} needs a 2-d array, got {a.ndim} dimensions")
    m, n = a.shape
    if m < n:
        raise ValueError(f"{what} (TSQR) needs a tall-and-skinny matrix (rows >= columns), "
                         f"got shape {a.shape}")
    if len(a.chunks[1]) != 1:
        a = a.rechunk({1: -1})
    rows = a.chunks[0]
    if any(c < n for c in rows):
        # Every block must be at least as tall as the matrix is wide: merge small ones.
        merged: list = []
        for c in rows:
            if merged and merged[-1] < n:
                merged[-1] += c
            else:
                merged.append(c)
        if len(merged) > 1 and merged[-1] < n:
            last = merged.pop()
            merged[-1] += last
        a = a.rechunk({0: tuple(merged)})
    return a


def tsqr(a: Any) -> tuple[Array, Array, str]:
    """Q and R of a tall-and-skinny matrix, and the name of the second-stage task."""
    a = _check_tall_skinny(asarray(a), "qr")
    m_blocks = a.numblocks[0]
    n = a.shape[1]
    token = new_name("tsqr", a.name).rsplit("-", 1)[-1]
    first, second, qname, rname = (f"qr-block-{token}", f"qr-stack-{token}",
                                   f"q-{token}", f"r-{token}")
    tasks = {}
    for i in range(m_blocks):
        tasks[(first, i)] = Task((first, i), _qr, Ref((a.name, i, 0)))
    tasks[(second,)] = Task((second,), _stack_r, *[Ref((first, i)) for i in range(m_blocks)])
    for i in range(m_blocks):
        tasks[(qname, i, 0)] = Task((qname, i, 0), _q_block, Ref((first, i)), Ref((second,)),
                                    i, n)
    tasks[(rname, 0, 0)] = Task((rname, 0, 0), _r, Ref((second,)))
    graph = layer_graph(qname, MaterializedLayer(tasks), dependencies=[a])
    dtype = np.linalg.qr(np.ones((1, 1), dtype=a.dtype))[0].dtype
    q = Array(graph, qname, (a.chunks[0], (n,)), dtype)
    r = Array(graph, rname, ((n,), (n,)), dtype)
    return q, r, second


class QRResult(NamedTuple):
    """``(Q, R)``, NumPy's field names."""

    Q: Array
    R: Array


class SVDResult(NamedTuple):
    """``(U, S, Vh)``, NumPy's field names."""

    U: Array
    S: Array
    Vh: Array


_QR_MODES = ("reduced", "complete", "r", "raw")


@implements(np.linalg.qr)
def qr(a: Any, mode: str = "reduced") -> Any:
    """QR factorisation of a tall-and-skinny matrix by TSQR (``np.linalg.qr``).

    Parameters
    ----------
    a : array_like, shape (m, n) with m >= n
        Read in row blocks holding all columns (columns are joined into one block).
    mode : {'reduced', 'r', 'complete'}
        ``'reduced'`` (default): ``Q`` (m, n) and ``R`` (n, n); ``'r'``: ``R`` only;
        ``'complete'`` only for a square ``a``, where it is the same as ``'reduced'``.

    Returns
    -------
    QRResult or Array
        ``(Q, R)``, or ``R`` alone for ``mode='r'``.

    Raises
    ------
    ValueError
        For an unknown mode, a non-2-d ``a`` or one with fewer rows than columns.
    NotImplementedError
        For ``'raw'``, and ``'complete'`` with m > n (an m x m Q defeats TSQR).
    """
    if mode not in _QR_MODES:
        raise ValueError(f"Unrecognized mode '{mode}'")
    q, r, _ = tsqr(a)
    if mode == "raw" or (mode == "complete" and q.shape[0] != q.shape[1]):
        raise NotImplementedError(f"qr(mode={mode!r}) is not supported for a {q.shape[0]} x "
                                  f"{q.shape[1]} matrix; use mode='reduced' or mode='r'")
    if mode == "r":
        return r
    return QRResult(q, r)


def _svd_small(r: np.ndarray) -> tuple:
    return np.linalg.svd(r, full_matrices=False)


def _pick(t: tuple, i: int) -> Any:
    return t[i]


def svd(a: Any, full_matrices: bool = False, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """Reduced SVD ``u, s, vh`` of a tall-and-skinny matrix (TSQR, then SVD of R).

    Unlike ``np.linalg.svd``, ``full_matrices`` defaults to False (as in Dask): a full
    (m x m) ``U`` is what TSQR avoids building. ``np.linalg.svd`` called on a graphengine
    array keeps NumPy's default (True), so it needs ``full_matrices=False`` unless the
    matrix is square.

    Parameters
    ----------
    a : array_like, shape (m, n) with m >= n
    full_matrices : bool
        Only False, or True for a square matrix (where both are the same).
    compute_uv : bool
        False returns only the singular values, as NumPy.
    hermitian : bool
        Accepted for NumPy compatibility: it only selects NumPy's algorithm, and the
        result here is a valid SVD either way.

    Returns
    -------
    SVDResult or Array
        ``(U (m, n), S (n,), Vh (n, n))``, or ``S`` with ``compute_uv=False``.

    Raises
    ------
    NotImplementedError
        For ``full_matrices=True`` on a matrix with more rows than columns.
    ValueError
        If ``a`` is not 2-d or has fewer rows than columns.
    """
    q, r, _ = tsqr(a)
    m, n = q.shape
    if full_matrices and compute_uv and m != n:
        raise NotImplementedError(
            f"svd(full_matrices=True) would build a {m} x {m} U for a {m} x {n} matrix; "
            "pass full_matrices=False for the reduced SVD (U of shape (m, n))")
    if not compute_uv:
        return svd_values(r)
    from graphengine.collections.array.products import matmul
    token = new_name("svd", r.name).rsplit("-", 1)[-1]
    small = f"svd-small-{token}"
    names = [f"svd-u-{token}", f"svd-s-{token}", f"svd-vh-{token}"]
    tasks = {(small,): Task((small,), _svd_small, Ref((r.name, 0, 0)))}
    tasks[(names[0], 0, 0)] = Task((names[0], 0, 0), _pick, Ref((small,)), 0)
    tasks[(names[1], 0)] = Task((names[1], 0), _pick, Ref((small,)), 1)
    tasks[(names[2], 0, 0)] = Task((names[2], 0, 0), _pick, Ref((small,)), 2)
    graph = layer_graph(names[0], MaterializedLayer(tasks), dependencies=[r])
    real = np.empty(0, dtype=r.dtype).real.dtype
    u_small = Array(graph, names[0], ((n,), (n,)), r.dtype)
    s = Array(graph, names[1], ((n,),), real)
    vh = Array(graph, names[2], ((n,), (n,)), r.dtype)
    return SVDResult(matmul(q, u_small), s, vh)


@implements(np.linalg.svd)
def _numpy_svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
               hermitian: bool = False) -> Any:
    """``np.linalg.svd`` on a graphengine array: :func:`svd` with NumPy's defaults."""
    return svd(a, full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian)


def _check_2d(x: Array, dims: tuple = (2,)) -> None:
    if x.ndim not in dims:
        raise np.linalg.LinAlgError(f"{x.ndim}-dimensional array given. Array must be "
                                    f"{'two' if dims == (2,) else 'one or two'}-dimensional")


def _project(a: Array, b: Array) -> tuple[Array, Array, Array]:
    """TSQR ``a = QR`` and ``Q^T b`` (``b`` as a 2-d column block): the small problem in
    R that has the same least-squares solutions as ``a x = b``."""
    from graphengine.collections.array.products import matmul
    q, r, _ = tsqr(a)
    b2 = b if b.ndim == 2 else b[:, None]
    b2 = b2.rechunk({0: q.chunks[0], 1: -1})
    qtb = matmul(q.T, b2).rechunk(-1)
    return r, b2, qtb


def _solve_r(r: np.ndarray, qtb: np.ndarray) -> np.ndarray:
    return np.linalg.solve(r, qtb)


def _lstsq_small(r: np.ndarray, qtb: np.ndarray, rcond: float) -> tuple:
    x, _, rank, s = np.linalg.lstsq(r, qtb, rcond=rcond)
    return x, rank, s


def _residuals(sums: np.ndarray, rank: Any, n: int) -> np.ndarray:
    # NumPy reports residuals only for a full-rank problem (and m > n, checked earlier).
    return sums if rank == n else sums[:0]


@implements(np.linalg.lstsq)
def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Array, Array, Array, Array]:
    """Least squares ``x`` minimising ``|a x - b|`` (``np.linalg.lstsq``) for a
    tall-and-skinny ``a`` and a small right side ``b``.

    After TSQR (``a = QR``) the small problem ``R x = Q^T b`` is solved by
    ``np.linalg.lstsq``: it has the same minimisers, and its minimum-norm solution is
    ``a``'s (``Q`` has orthonormal columns), so rank-deficient ``a`` works as in NumPy.

    Parameters
    ----------
    a : array_like, shape (m, n) with m >= n
    b : array_like, shape (m,) or (m, k)
    rcond : float, optional
        Cut-off ratio for small singular values; None is NumPy's default
        (machine precision times ``max(m, n)``).

    Returns
    -------
    x : Array, shape (n,) or (n, k)
        The minimum-norm least-squares solution.
    residuals : Array
        Squared residual norm per column of ``b`` when ``rank == n`` and ``m > n``,
        else empty (NumPy's rule). For ``m > n`` the length (``k`` or 0) depends on the
        rank, so it is unknown (``nan``) until computed; for ``m == n`` it is 0.
    rank : Array, 0-d
        Computes to a NumPy ``int32``, as NumPy returns it.
    s : Array, shape (n,)
        Singular values of ``a``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not 2-d, ``b`` not 1-d or 2-d, or their row counts differ.
    ValueError
        If ``a`` has fewer rows than columns (TSQR needs tall-and-skinny input).
    """
    a, b = asarray(a), asarray(b)
    _check_2d(a)
    _check_2d(b, (1, 2))
    m, n = a.shape
    if b.shape[0] != m:
        raise np.linalg.LinAlgError("Incompatible dimensions")
    # NumPy's result dtypes (and its casting of both inputs to the common one).
    kinds = np.linalg.lstsq(np.zeros((1, 1), a.dtype), np.zeros((1,) * b.ndim, b.dtype))
    dtype, real = kinds[0].dtype, kinds[3].dtype
    a, b = a.astype(dtype), b.astype(dtype)
    if rcond is None:
        # NumPy's default for a: the small problem is n x n, so pass it explicitly.
        rcond = np.finfo(real).eps * max(m, n)
    r, b2, qtb = _project(a, b)
    k = b2.shape[1]
    token = new_name("lstsq", a.name, b.name, rcond).rsplit("-", 1)[-1]
    small, xname, rname, sname = (f"lstsq-small-{token}", f"lstsq-x-{token}",
                                  f"lstsq-rank-{token}", f"lstsq-s-{token}")
    tasks = {(small,): Task((small,), _lstsq_small, Ref((r.name, 0, 0)),
                            Ref((qtb.name, 0, 0)), rcond),
             (xname, 0, 0): Task((xname, 0, 0), _pick, Ref((small,)), 0),
             (rname,): Task((rname,), _pick, Ref((small,)), 1),
             (sname, 0): Task((sname, 0), _pick, Ref((small,)), 2)}
    graph = layer_graph(xname, MaterializedLayer(tasks), dependencies=[r, qtb])
    x = Array(graph, xname, ((n,), (k,)), dtype)
    rank = Array(graph, rname, (), np.int32)
    s = Array(graph, sname, ((n,),), real)
    if m > n:
        from graphengine.collections.array.products import matmul
        sums = (abs(b2 - matmul(a, x)) ** 2).sum(axis=0).rechunk(-1)
        name = f"lstsq-residuals-{token}"
        layer = {(name, 0): Task((name, 0), _residuals, Ref((sums.name, 0)),
                                 Ref((rname,)), n)}
        resid = Array(layer_graph(name, MaterializedLayer(layer), dependencies=[sums, rank]),
                      name, ((math.nan,),), real)
    else:
        from graphengine.collections.array.creation import empty
        resid = empty((0,), dtype=real)
    if b.ndim == 1:
        x = x[:, 0]
    return x, resid, rank, s


def svd_values(r: Array) -> Array:
    """The singular values of a small square ``r`` (one block)."""
    return r.map_blocks(_singular_values, dtype=np.empty(0, r.dtype).real.dtype,
                        chunks=((r.shape[1],),), drop_axis=(1,))


def _singular_values(r: np.ndarray) -> np.ndarray:
    return np.linalg.svd(r, compute_uv=False)


@implements(np.linalg.solve)
def solve(a: Any, b: Any) -> Array:
    """Solve ``a x = b`` for square ``a`` (``np.linalg.solve``), factored by TSQR (so
    ``a`` is read in row blocks with all columns), and a small right side ``b``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not square 2-d, or (when computed) singular.
    ValueError
        If ``b``'s rows do not match ``a``.
    """
    a = asarray(a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        # LinAlgError, like NumPy (a ValueError subclass)
        raise np.linalg.LinAlgError(f"solve: a must be square 2-d, got shape {a.shape}")
    b = asarray(b)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"solve: b has shape {b.shape}, expected ({a.shape[0]},) or "
                         f"({a.shape[0]}, k)")
    dtype = np.linalg.solve(np.ones((1, 1), a.dtype), np.ones((1,) * b.ndim, b.dtype)).dtype
    a, b = a.astype(dtype), b.astype(dtype)
    a = a.rechunk({0: max(a.shape[1], max(a.chunks[0])), 1: -1})
    r, b2, qtb = _project(a, b)
    name = "solve-x-" + new_name("solve", a.name, b.name).rsplit("-", 1)[-1]
    tasks = {(name, 0, 0): Task((name, 0, 0), _solve_r, Ref((r.name, 0, 0)),
                                Ref((qtb.name, 0, 0)))}
    graph = layer_graph(name, MaterializedLayer(tasks), dependencies=[r, qtb])
    x = Array(graph, name, ((a.shape[1],), (b2.shape[1],)), dtype)
    return x[:, 0] if b.ndim == 1 else x


def _max_from_zero(ax: Array, axis: Any, keepdims: bool) -> Array:
    """``ax.max(axis, initial=0)``: NumPy's norms take the maximum from 0, so the
    inf-norm of an empty vector (or ``ord=1``/``inf`` of an empty matrix) is 0.0 rather
    than the "zero-size array to reduction" error a plain max raises."""
    from graphengine.collections.array import reductions as red
    kw = {"initial": 0}
    return red.reduction(ax, np.max, np.max, axis=axis, keepdims=keepdims, dtype=ax.dtype,
                         chunk_kwargs=kw, aggregate_kwargs=kw)


def _svd_norm_block(block: np.ndarray, ord: Any, axis: tuple, keepdims: bool) -> np.ndarray:
    """NumPy's ``_multi_svd_norm`` on one block holding whole matrices over ``axis``: the
    singular values of each, reduced to the largest (from 0, so an empty matrix gives
    0.0), the smallest (no identity: ValueError on empty matrices) or their sum."""
    s = np.linalg.svd(np.moveaxis(block, axis, (-2, -1)), compute_uv=False)
    if ord == 2:
        out = np.amax(s, axis=-1, initial=0)
    elif ord == -2:
        out = np.amin(s, axis=-1)
    else:
        out = np.sum(s, axis=-1)
    return np.expand_dims(out, axis) if keepdims else out


def _stacked_svd_norm(x: Array, ord: Any, axis: tuple, keepdims: bool) -> Array:
    """The 2/-2/'nuc' norms of the matrices over the (normalized) axis pair of ``x``
    (more than 2-d): those two axes are joined into one block, then each block is
    reduced by :func:`_svd_norm_block`."""
    # NumPy's result dtype, and its eager errors (float16's TypeError, ord=-2's ValueError
    # for empty matrices), from a probe of at most one element per axis.
    probe = np.zeros(tuple(min(n, 1) for n in x.shape), dtype=x.dtype)
    dtype = _svd_norm_block(probe, ord, axis, keepdims).dtype
    x = x.rechunk({axis[0]: -1, axis[1]: -1})
    if keepdims:
        chunks = tuple((1,) if i in axis else c for i, c in enumerate(x.chunks))
        return x.map_blocks(_svd_norm_block, ord, axis, True, dtype=dtype, chunks=chunks)
    return x.map_blocks(_svd_norm_block, ord, axis, False, dtype=dtype, drop_axis=axis)


@implements(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:
    """Vector or matrix norm (``np.linalg.norm``).

    Parameters
    ----------
    x : array_like
        Input; integer and boolean input is cast to float64 first, as NumPy does.
    ord : {None, int, float, inf, -inf, 'fro', 'f', 'nuc'}, optional
        Order of the norm (see ``np.linalg.norm``). The 2/-2/'nuc' matrix norms (largest
        or smallest singular value, or their sum) of a 2-d array use TSQR, which reads it
        in row blocks (a wide matrix is transposed first). On more than two dimensions
        they are computed per matrix (one per position of the other axes) by
        ``np.linalg.svd``: the two matrix axes are joined into one block, so each whole
        matrix, times the other axes' block lengths, must fit in one block's memory.
    axis : None, int or 2-tuple of ints, optional
        Axis of vector norms, or pair of axes (any order, negative allowed) of matrix
        norms over every other position. ``None`` means the whole array for ``ord=None``
        (and 'fro' on 2-d, 2 on 1-d), else a vector norm of 1-d or a matrix norm of 2-d
        input.
    keepdims : bool, optional
        Keep the normed axes with length one.

    Returns
    -------
    Array
        The norm, floating point (float64 unless the input was already inexact).

    Raises
    ------
    numpy.exceptions.AxisError
        If an axis is out of range.
    TypeError
        If ``axis`` is not None, an integer or a tuple of integers.
    TypeError
        For 2/-2/'nuc' on a dtype ``np.linalg.svd`` rejects (float16), as NumPy.
    ValueError
        For duplicate matrix axes, an order invalid for vectors/matrices, input whose
        number of dimensions does not fit ``ord`` with ``axis=None``, or ``ord=-2`` (and
        ``-1``/``-inf`` over an empty axis) where the minimum has no identity, as NumPy.

    Examples
    --------
    >>> import numpy as np, graphengine.array as ga
    >>> a = np.arange(24.0).reshape(2, 3, 4)
    >>> got = ga.linalg.norm(ga.from_array(a, chunks=2), 2, axis=(2, 0), keepdims=True)
    >>> got.shape, bool(np.allclose(got.compute(scheduler="sync"),
    ...                             np.linalg.norm(a, 2, axis=(2, 0), keepdims=True)))
    ((1, 3, 1), True)
    """
    from numpy.lib.array_utils import normalize_axis_index

    from graphengine.collections.array import reductions as red
    x = asarray(x)
    # Like numpy.linalg.norm: abs(x) ** 2 (or ** ord) on integers overflows (int8 100**2)
    # or rejects negative powers, and ord=1/inf norms must be float as well.
    if not np.issubdtype(x.dtype, np.inexact) and x.dtype != object:
        x = x.astype(float)
    nd = x.ndim
    if axis is None:
        # NumPy's fast path: the 2-norm of the flattened array, whatever ndim is.
        if ord is None or (isinstance(ord, str) and ord in ("f", "fro") and nd == 2) or (
                not isinstance(ord, str) and ord == 2 and nd == 1):
            return red.sum(abs(x) ** 2, axis=None, keepdims=keepdims) ** 0.5
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = int(axis)
        except Exception as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
        axis = (axis,)
    ax = abs(x)
    if len(axis) == 1:
        # AxisError (IndexError and ValueError), as NumPy's reductions raise it.
        axis = (normalize_axis_index(axis[0], nd),)
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order '{ord}' for vectors")
        if ord is None or ord == 2:
            return red.sum(ax ** 2, axis=axis, keepdims=keepdims) ** 0.5
        if ord == np.inf:
            return _max_from_zero(ax, axis, keepdims)
        if ord == -np.inf:
            return red.min(ax, axis=axis, keepdims=keepdims)
        if ord == 0:
            # The count keeps the input's (real) float precision, as NumPy.
            real = np.empty(0, x.dtype).real.dtype
            return red.sum(x != 0, axis=axis, keepdims=keepdims, dtype=real)
        if ord == 1:
            return red.sum(ax, axis=axis, keepdims=keepdims)
        # A Python float exponent is "weak" (NEP 50), so float32 input stays float32 like
        # NumPy's in-place ``absx **= ord``.
        p = float(ord)
        return red.sum(ax ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)
    if len(axis) != 2:
        raise ValueError("Improper number of dimensions to norm.")
    r0, c0 = (normalize_axis_index(a, nd) for a in axis)
    if r0 == c0:
        raise ValueError("Duplicate axes given.")
    axis = (r0, c0)
    if ord in (None, "fro", "f"):
        return red.sum(ax ** 2, axis=axis, keepdims=keepdims) ** 0.5
    if ord == 1:
        out = _max_from_zero(red.sum(ax, axis=r0, keepdims=True), c0, True)
    elif ord == -1:
        out = red.min(red.sum(ax, axis=r0, keepdims=True), axis=c0, keepdims=True)
    elif ord == np.inf:
        out = _max_from_zero(red.sum(ax, axis=c0, keepdims=True), r0, True)
    elif ord == -np.inf:
        out = red.min(red.sum(ax, axis=c0, keepdims=True), axis=r0, keepdims=True)
    elif ord in (2, -2, "nuc"):
        if x.ndim != 2:
            return _stacked_svd_norm(x, ord, axis, keepdims)
        s = svd(x if x.shape[0] >= x.shape[1] else x.T, compute_uv=False)
        # The largest singular value from 0, like NumPy's amax(..., initial=0) (empty).
        out = (_max_from_zero(s, 0, False) if ord == 2 else
               (s.min() if ord == -2 else s.sum()))
        if keepdims:
            out = out.reshape((1, 1))
        return out
    else:
        raise ValueError("Invalid norm order for matrices.")
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axis))
    return out
