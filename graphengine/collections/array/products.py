"""Linear algebra: tensordot/matmul/dot/einsum as blockwise products plus a tree sum, and
TSQR-based ``qr``/``svd``/``lstsq``/``solve`` for tall-and-skinny matrices.

A product over a contracted axis split into several blocks makes one task per pair of
blocks (independent, so they run in parallel) and sums them with a tree reduction.

    >>> import numpy as np, graphengine.array as ga
    >>> a = ga.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    >>> (a @ a.T).compute(scheduler="sync").tolist()
    [[5.0, 14.0], [14.0, 50.0]]
"""
from __future__ import annotations

import string
from typing import Any

import numpy as np

from graphengine.collections.array.core import Array, handle_out, implements
from graphengine.collections.array.creation import asarray
from graphengine.collections.array.elementwise import blockwise, elemwise, new_name

__all__ = ["tensordot", "matmul", "dot", "vdot", "einsum", "outer", "ufunc_outer"]


class _Contract:
    """One block product, with a length-1 axis kept per contracted symbol for the sum."""

    __slots__ = ("func", "kwargs", "positions")

    def __init__(self, func: Any, kwargs: dict, positions: tuple):
        self.func, self.kwargs, self.positions = func, kwargs, positions

    def __call__(self, *blocks: Any) -> np.ndarray:
        out = self.func(*blocks, **self.kwargs)
        if self.positions:
            return np.expand_dims(out, self.positions)
        # np.tensordot of two vectors gives a 0-d array; np.dot gives a NumPy scalar.
        return out[()] if type(out) is np.ndarray and out.ndim == 0 else out

    def __reduce__(self):
        return (_Contract, (self.func, self.kwargs, self.positions))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "contract")


def _one(n: Any) -> int:
    return 1


def _contract(func: Any, kwargs: dict, out_ind: tuple, pairs: list, contracted: tuple,
              dtype: Any, name: str) -> Array:
    """``func`` over blocks, summed over the ``contracted`` symbols (a tree if needed)."""
    from graphengine.collections.array.reductions import sum as reduce_sum
    arrays = [a for a, _ in pairs]
    nblocks = {}
    for a, ind in pairs:
        for s, n in zip(ind, a.numblocks):
            nblocks[s] = max(nblocks.get(s, 1), n)
    args = [v for a, ind in pairs for v in (a, ind)]
    multi = [s for s in contracted if nblocks.get(s, 1) > 1]
    if not multi:
        call = _Contract(func, kwargs, ())
        return blockwise(call, out_ind, *args, dtype=dtype, concatenate=True,
                         name=name)
    full_ind = out_ind + tuple(multi)
    positions = tuple(range(len(out_ind), len(full_ind)))
    # Single-block contracted symbols are summed inside the block product.
    call = _Contract(func, kwargs, positions)
    partial = blockwise(call, full_ind, *args, dtype=dtype, concatenate=True,
                        adjust_chunks={s: _one for s in multi},
                        name=new_name("partial-" + name.rsplit("-", 1)[0], name))
    del arrays
    return reduce_sum(partial, axis=positions, dtype=dtype)


def _tensordot_block(a: np.ndarray, b: np.ndarray, axes: tuple) -> np.ndarray:
    return np.tensordot(a, b, axes=axes)


def _tensordot_axes(axes: Any, a_shape: tuple, b_shape: tuple) -> tuple[list, list]:
    """``np.tensordot``'s ``axes`` as two lists of non-negative axes, checked as NumPy does.

    Raises
    ------
    ValueError
        For duplicate axes or a length/shape mismatch ("shape-mismatch for sum").
    IndexError
        For an axis out of range (NumPy indexes ``a.shape`` with it, so a plain
        IndexError), checked pair by pair in NumPy's order. ``%`` would silently wrap it.
    """
    if isinstance(axes, (int, np.integer)):
        # NumPy's form: with ``axes`` > ndim the negative axes are out of range.
        a_axes, b_axes = list(range(-int(axes), 0)), list(range(int(axes)))
    else:
        a_axes, b_axes = axes
        a_axes = list(a_axes) if np.ndim(a_axes) else [a_axes]
        b_axes = list(b_axes) if np.ndim(b_axes) else [b_axes]
    for which in (a_axes, b_axes):
        if len(set(which)) != len(which):
            raise ValueError("duplicate axes are not allowed in tensordot")
    if len(a_axes) != len(b_axes):
        raise ValueError("shape-mismatch for sum")
    out_a, out_b = [], []
    for i, j in zip(a_axes, b_axes):
        for name, ax, shape in (("a", i, a_shape), ("b", j, b_shape)):
            if not -len(shape) <= ax < len(shape):
                raise IndexError(f"tensordot: axis {ax} is out of bounds for operand {name} "
                                 f"of dimension {len(shape)}")
        if a_shape[i] != b_shape[j]:
            raise ValueError("shape-mismatch for sum")
        out_a.append(int(i) % len(a_shape))
        out_b.append(int(j) % len(b_shape))
    # Distinct raw axes can still name one axis (1 and -1 of a 2-d operand).
    if len(set(out_a)) != len(out_a) or len(set(out_b)) != len(out_b):
        raise ValueError("duplicate axes are not allowed in tensordot")
    return out_a, out_b


@implements(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """Sum products over the given axes (``np.tensordot``).

    Raises
    ------
    IndexError
        If an axis is out of range for its operand (as NumPy).
    ValueError
        For duplicate axes or mismatched lengths ("shape-mismatch for sum").
    """
    a, b = asarray(a), asarray(b)
    a_axes, b_axes = _tensordot_axes(axes, a.shape, b.shape)
    dtype = np.result_type(a.dtype, b.dtype)
    letters = iter(string.ascii_letters)
    a_ind = [next(letters) for _ in range(a.ndim)]
    b_ind = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(a_axes, b_axes):
        b_ind[j] = a_ind[i]
    contracted = tuple(a_ind[i] for i in a_axes)
    out_ind = tuple(s for i, s in enumerate(a_ind) if i not in a_axes) + tuple(
        s for j, s in enumerate(b_ind) if j not in b_axes)
    name = new_name("tensordot", a.name, b.name, a_axes, b_axes)
    # Inside a block, the contraction runs over the axes that remain (all single-block
    # contractions, and per-block ones whose partial sums are added by the tree).
    return _contract(_tensordot_block, {"axes": (tuple(a_axes), tuple(b_axes))}, out_ind,
                     [(a, tuple(a_ind)), (b, tuple(b_ind))], contracted, dtype, name)


def _matmul_block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a, b)


@implements(np.matmul)
def matmul(a: Any, b: Any) -> Array:
    """Matrix product with NumPy's broadcasting of leading (batch) axes.

    Raises
    ------
    ValueError
        If the core dimensions do not match (as NumPy's message), or for 0-d operands.
    """
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    squeeze_a = a.ndim == 1
    squeeze_b = b.ndim == 1
    if squeeze_a:
        a = a[None, :]
    if squeeze_b:
        b = b[:, None]
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {b.shape[-2]} "
                         f"is different from {a.shape[-1]})")
    from graphengine.collections.array.elementwise import broadcast_shapes
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nb = len(batch)
    letters = string.ascii_letters
    batch_ind = tuple(letters[i] for i in range(nb))
    a_ind = batch_ind[nb - (a.ndim - 2):] + ("I", "J")
    b_ind = batch_ind[nb - (b.ndim - 2):] + ("J", "K")
    dtype = np.result_type(a.dtype, b.dtype)
    name = new_name("matmul", a.name, b.name)
    out = _contract(_matmul_block, {}, batch_ind + ("I", "K"), [(a, a_ind), (b, b_ind)],
                    ("J",), dtype, name)
    if squeeze_a:
        out = out[..., 0, :]
    if squeeze_b:
        out = out[..., 0]
    return out


@implements(np.dot)
def dot(a: Any, b: Any) -> Array:
    """``np.dot``: scalar product for 0-d, matrix product, or sum over a's last axis and
    b's second-to-last."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return tensordot(a, b, axes=((a.ndim - 1,), (0,)))
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))


def _as_scalar(block: Any) -> Any:
    return block[()]


@implements(np.vdot)
def vdot(a: Any, b: Any) -> Array:
    """Dot product of ``a`` and ``b`` flattened, ``a`` conjugated (``np.vdot``).

    Parameters
    ----------
    a, b : array_like
        Of the same number of elements.

    Returns
    -------
    Array
        0-d; it computes to a NumPy scalar, as ``np.vdot`` returns.

    Raises
    ------
    ValueError
        If the sizes differ.
    """
    a, b = asarray(a), asarray(b)
    out = dot(a.conj().reshape(-1), b.reshape(-1))
    # A single-block product leaves np.tensordot's 0-d array as the block; [()] makes it
    # the NumPy scalar np.vdot gives (a multi-block tree sum already gives one).
    return elemwise(_as_scalar, out, dtype=out.dtype)


@implements(np.outer)
def outer(a: Any, b: Any) -> Array:
    a, b = asarray(a).reshape(-1), asarray(b).reshape(-1)
    return a[:, None] * b[None, :]


def ufunc_outer(ufunc: np.ufunc, a: Any, b: Any, **kwargs: Any) -> Array | tuple:
    """``ufunc.outer(a, b)``: ``ufunc`` over every pair, of shape ``a.shape + b.shape``.

    Parameters
    ----------
    ufunc : numpy.ufunc
        A binary ufunc.
    a, b : array_like
    **kwargs
        The ufunc's keywords (``dtype=``, ``casting=``...), given to every block call.

    Returns
    -------
    Array, or a tuple of Arrays for a multi-output ufunc (``np.divmod``), as NumPy.

    Raises
    ------
    NotImplementedError
        For ``where=`` other than True (NumPy leaves the rest uninitialised without out=).
    """
    from graphengine.collections.array.elementwise import multi_output
    if kwargs.pop("where", True) is not True:
        raise NotImplementedError(f"np.{ufunc.__name__}.outer(..., where=) needs out=, "
                                  "which graphengine arrays do not take")
    a, b = asarray(a), asarray(b)
    func: Any = ufunc
    if kwargs.get("dtype") is not None:
        # elemwise keeps dtype= as the result's metadata only; the blocks must get it.
        import functools
        func = functools.partial(ufunc, dtype=kwargs.pop("dtype"))
    args = (a[(Ellipsis,) + (None,) * b.ndim], b)
    if ufunc.nout > 1:
        return multi_output(func, *args, nout=ufunc.nout, **kwargs)
    return elemwise(func, *args, **kwargs)


def _einsum_block(*blocks: Any, subscripts: str, dtype: Any = None,
                  casting: str = "safe") -> np.ndarray:
    return np.einsum(subscripts, *blocks, dtype=dtype, casting=casting)


@implements(np.einsum)
def einsum(subscripts: str, *operands: Any, dtype: Any = None, casting: str = "safe",
           out: Any = None, **kwargs: Any) -> Array:
    """Einstein summation over blocks (``np.einsum``; no ``...`` broadcasting).

    Parameters
    ----------
    subscripts : str
        The subscripts, as ``np.einsum`` (explicit ``->`` or implicit output).
    *operands : array_like
        The operands.
    dtype : dtype, optional
        Type the products and sums are computed in (and of the result), as NumPy.
    casting : {'no', 'equiv', 'safe', 'same_kind', 'unsafe'}, optional
        Allowed casting of the operands to ``dtype`` ('safe', NumPy's default).
    out : Array, optional
        A graphengine Array of the result's shape to rebind to the result.
    **kwargs
        ``optimize`` and ``order`` are accepted and ignored (blocks are contracted one
        product at a time; the result's layout is NumPy's default).

    Raises
    ------
    TypeError
        If ``casting`` does not allow casting an operand to ``dtype`` (NumPy's error,
        raised while building the graph).
    ValueError
        For subscripts not matching the operands, or an invalid ``casting``.
    """
    unknown = sorted(set(kwargs) - {"optimize", "order"})
    if unknown:
        raise TypeError(f"einsum() got an unexpected keyword argument {unknown[0]!r}")
    if "." in subscripts:
        raise NotImplementedError("einsum with '...' is not supported")
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs = subscripts
        counts: dict = {}
        for ch in inputs.replace(",", ""):
            counts[ch] = counts.get(ch, 0) + 1
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
    in_subs = inputs.split(",")
    arrays = [asarray(o) for o in operands]
    if len(in_subs) != len(arrays):
        raise ValueError(f"einsum: {len(in_subs)} subscripts for {len(arrays)} operands")
    for s, a in zip(in_subs, arrays):
        if len(s) != a.ndim:
            raise ValueError(f"einsum(): operand has {a.ndim} dimensions but subscripts "
                             f"{s!r} give {len(s)}")
    all_syms = dict.fromkeys("".join(in_subs))
    contracted = tuple(s for s in all_syms if s not in output)
    block_sub = ",".join(in_subs) + "->" + output
    # NumPy on one-element stand-ins: raises its own error for a forbidden cast (or a
    # bad ``casting``) now rather than in a task, and gives the exact result dtype.
    probe = np.einsum(block_sub, *[np.ones((1,) * a.ndim, a.dtype) for a in arrays],
                      dtype=dtype, casting=casting)
    out_dtype = probe.dtype
    # Every block computes einsum onto the output symbols (in ``dtype``, so the computed
    # dtype is the declared one); per-block partial sums over contracted symbols split
    # into several blocks are added by the tree reduction, which sums in ``out_dtype``.
    name = new_name("einsum", subscripts, [a.name for a in arrays], dtype, casting)
    kw = {"subscripts": block_sub, "dtype": dtype, "casting": casting}
    return handle_out("einsum", out, _contract(
        _einsum_block, kw, tuple(output), [(a, tuple(s)) for a, s in zip(arrays, in_subs)],
        contracted, out_dtype, name))


# qr, svd, norm, solve and lstsq (ga.linalg) are in linalg.py.
