"""Products (dot, matmul, tensordot, einsum, outer) and ga.linalg against NumPy."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


RNG = np.random.default_rng(0)
A = RNG.normal(size=(7, 5))
B = RNG.normal(size=(5, 6))
XA = ga.from_array(A, chunks=(3, 2))
XB = ga.from_array(B, chunks=(3, 4))


def test_matmul_matches_numpy_with_mismatched_chunks():
    np.testing.assert_allclose(run(XA @ XB), A @ B)
    np.testing.assert_allclose(run(XA @ B), A @ B)
    np.testing.assert_allclose(run(A @ XB), A @ B)
    np.testing.assert_allclose(run(np.matmul(XA, XB)), np.matmul(A, B))


def test_matmul_with_vectors_and_batches():
    v = RNG.normal(size=5)
    xv = ga.from_array(v, chunks=2)
    np.testing.assert_allclose(run(XA @ xv), A @ v)
    np.testing.assert_allclose(run(xv @ XB), v @ B)
    assert float(run(xv @ xv)) == pytest.approx(v @ v)
    batch = RNG.normal(size=(3, 1, 4, 5))
    other = RNG.normal(size=(2, 5, 3))
    xb = ga.from_array(batch, chunks=(2, 1, 3, 2))
    xo = ga.from_array(other, chunks=(1, 2, 2))
    np.testing.assert_allclose(run(xb @ xo), batch @ other)


def test_matmul_shape_mismatch_raises_valueerror_like_numpy():
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        XA @ XA
    with pytest.raises(ValueError):
        A @ A
    with pytest.raises(ValueError, match="enough dimensions"):
        ga.matmul(XA, ga.from_array(np.array(2.0)))


def test_dot_tensordot_einsum_outer_vdot():
    np.testing.assert_allclose(run(ga.dot(XA, XB)), np.dot(A, B))
    np.testing.assert_allclose(run(XA.dot(XB)), A.dot(B))
    np.testing.assert_allclose(run(ga.dot(XA, 2.0)), A * 2)
    t = RNG.normal(size=(4, 5, 3))
    xt = ga.from_array(t, chunks=(2, 2, 2))
    np.testing.assert_allclose(run(ga.tensordot(xt, XA, axes=([1], [1]))),
                               np.tensordot(t, A, axes=([1], [1])))
    np.testing.assert_allclose(run(ga.tensordot(XA, XA, axes=2)), np.tensordot(A, A, axes=2))
    t2 = RNG.normal(size=(4, 3, 5))
    np.testing.assert_allclose(run(ga.dot(ga.from_array(t2, chunks=2), XB)), np.dot(t2, B))
    np.testing.assert_allclose(run(ga.einsum("ij,jk->ik", XA, XB)), np.einsum("ij,jk->ik", A, B))
    np.testing.assert_allclose(run(ga.einsum("ij,ij->i", XA, XA)), np.einsum("ij,ij->i", A, A))
    np.testing.assert_allclose(run(ga.einsum("ij->", XA)), np.einsum("ij->", A))
    np.testing.assert_allclose(run(ga.einsum("ij,kj", XA, XA)), np.einsum("ij,kj", A, A))
    np.testing.assert_allclose(run(ga.outer(XA[0], XB[1])), np.outer(A[0], B[1]))
    np.testing.assert_allclose(run(ga.vdot(XA, XA)), np.vdot(A, A))
    with pytest.raises(ValueError, match="shape-mismatch"):
        ga.tensordot(XA, XB, axes=([0], [0]))


def test_product_of_many_blocks_runs_block_pairs_in_parallel_and_sums_a_tree():
    a = RNG.normal(size=(4, 64))
    x = ga.from_array(a, chunks=(4, 4))
    y = x @ x.T
    assert len(y._graph.layers) > 3  # partial products, then tree levels
    np.testing.assert_allclose(y.compute(scheduler="threads"), a @ a.T)


def test_norms_match_numpy():
    v = RNG.normal(size=9)
    xv = ga.from_array(v, chunks=4)
    for ord in (None, 1, 2, np.inf, -np.inf, 0, 3):
        np.testing.assert_allclose(run(ga.linalg.norm(xv, ord=ord)), np.linalg.norm(v, ord=ord))
    for ord in (None, "fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"):
        np.testing.assert_allclose(run(ga.linalg.norm(XA, ord=ord)), np.linalg.norm(A, ord=ord))
    np.testing.assert_allclose(run(ga.linalg.norm(XA, axis=1)), np.linalg.norm(A, axis=1))
    np.testing.assert_allclose(run(ga.linalg.norm(XA, axis=0, keepdims=True)),
                               np.linalg.norm(A, axis=0, keepdims=True))


def test_tsqr_qr_and_svd_of_tall_skinny_matrices():
    m = RNG.normal(size=(60, 4))
    x = ga.from_array(m, chunks=(15, 2))
    q, r = ga.linalg.qr(x)
    qq, rr = run(q), run(r)
    np.testing.assert_allclose(qq @ rr, m, atol=1e-10)
    np.testing.assert_allclose(qq.T @ qq, np.eye(4), atol=1e-10)
    assert np.allclose(rr, np.triu(rr))
    u, s, vh = ga.linalg.svd(x)
    np.testing.assert_allclose(run(s), np.linalg.svd(m, compute_uv=False))
    np.testing.assert_allclose(run(u) * run(s) @ run(vh), m, atol=1e-10)
    q2, r2 = ga.linalg.qr(ga.from_array(m, chunks=(3, 4)))  # short row blocks are merged
    np.testing.assert_allclose(run(q2) @ run(r2), m, atol=1e-10)
    with pytest.raises(ValueError, match="tall-and-skinny"):
        ga.linalg.qr(ga.from_array(m.T, chunks=2))


def test_lstsq_and_solve_with_a_small_right_side():
    m = RNG.normal(size=(50, 3))
    b = RNG.normal(size=50)
    x = ga.from_array(m, chunks=(10, 3))
    sol, resid, rank, s = ga.linalg.lstsq(x, ga.from_array(b, chunks=10))
    exp = np.linalg.lstsq(m, b, rcond=None)
    np.testing.assert_allclose(run(sol), exp[0])
    np.testing.assert_allclose(run(resid), exp[1])
    assert int(run(rank)) == exp[2]
    np.testing.assert_allclose(run(s), exp[3])
    sq = RNG.normal(size=(8, 8)) + 8 * np.eye(8)
    rhs = RNG.normal(size=(8, 2))
    np.testing.assert_allclose(run(ga.linalg.solve(ga.from_array(sq, chunks=3), rhs)),
                               np.linalg.solve(sq, rhs))


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(["int8", "uint8", "int64", "bool"]),
       ord=st.sampled_from([None, 1, -1, 2, 3, -3, 0.5, 0, np.inf, -np.inf]),
       data=st.data())
def test_norm_of_integer_and_bool_vectors_is_computed_in_float_like_numpy(dtype, ord, data):
    # NumPy casts non-inexact input to float64 first: no int8 overflow in abs(x) ** 2, no
    # "negative integer powers" error, float64 results for ord=1/inf too.
    n = data.draw(st.integers(1, 9))
    lo, hi = (0, 1) if dtype == "bool" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    v = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype)
    x = ga.from_array(v, chunks=data.draw(st.integers(1, n)))
    with np.errstate(divide="ignore"):  # 0 ** negative: inf in both
        got, exp = run(ga.linalg.norm(x, ord)), np.linalg.norm(v, ord)
    assert got.dtype == exp.dtype == np.float64
    np.testing.assert_allclose(got, exp)


def test_norm_of_integer_input_examples_and_matrices():
    x8 = ga.from_array(np.full(4, 100, np.int8), chunks=2)
    assert float(run(ga.linalg.norm(x8))) == 200.0
    got = run(ga.linalg.norm(ga.from_array(np.array([1, 2, 4]), chunks=2), -1))
    assert got == pytest.approx(np.linalg.norm([1, 2, 4], -1))  # 0.5714...
    m = np.arange(12, dtype=np.int8).reshape(3, 4) * 10
    xm = ga.from_array(m, chunks=2)
    for ord in (None, "fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"):
        got, exp = run(ga.linalg.norm(xm, ord)), np.linalg.norm(m, ord)
        assert got.dtype == exp.dtype
        np.testing.assert_allclose(got, exp, atol=1e-12)
    # ord=0 counts keep the float precision of float32 input, as NumPy.
    f4 = np.arange(5, dtype="f4")
    got = run(ga.linalg.norm(ga.from_array(f4, chunks=2), 0))
    assert got.dtype == np.linalg.norm(f4, 0).dtype == np.float32


def _raises_like_numpy(a, *args, same_message=True, **kwargs):
    """The NumPy and graphengine calls raise the same exception type (and message)."""
    with pytest.raises(Exception) as exp:
        np.linalg.norm(a, *args, **kwargs)
    match = f"^{re.escape(str(exp.value))}$" if same_message else None
    with pytest.raises(exp.type, match=match):
        run(ga.linalg.norm(ga.from_array(a, chunks=2), *args, **kwargs))
    return exp.type


def test_norm_axis_and_ndim_errors_match_numpy():
    m, t, s = np.ones((3, 4)), np.ones((2, 3, 4)), np.array(3.0)
    for axis in (2, -3, (2,), (0, 2), (-3, 1)):
        assert _raises_like_numpy(m, axis=axis) is np.exceptions.AxisError
    for axis in ((0, 0), (0, -2), (1, -1)):
        assert _raises_like_numpy(m, axis=axis) is ValueError  # Duplicate axes given.
    for ord in (1, 2, -1, np.inf, "fro", "nuc"):
        _raises_like_numpy(t, ord)  # Improper number of dimensions to norm.
    for ord in (1, 2, np.inf, 0, "fro"):
        _raises_like_numpy(s, ord)
    _raises_like_numpy(m, axis=(0, 1, 0))
    _raises_like_numpy(m, axis=[0])  # TypeError: 'axis' must be None, an integer or ...
    _raises_like_numpy(m, "abc")
    _raises_like_numpy(m[0], "fro")
    # What NumPy does accept still works: 3-d with ord=None, 0-d with ord=None, int(axis).
    assert float(run(ga.linalg.norm(ga.from_array(t, chunks=2)))) == pytest.approx(
        np.linalg.norm(t))
    assert float(run(ga.linalg.norm(ga.from_array(s)))) == 3.0
    np.testing.assert_allclose(run(ga.linalg.norm(ga.from_array(m, chunks=2), axis=1.0)),
                               np.linalg.norm(m, axis=1.0))
    np.testing.assert_allclose(run(ga.linalg.norm(ga.from_array(t, chunks=2), 1, (0, -1))),
                               np.linalg.norm(t, 1, (0, -1)))


def test_norm_of_empty_input_takes_max_from_zero_like_numpy():
    z = np.zeros(0)
    for ord in (None, 1, 2, np.inf, 0, 3):
        got, exp = run(ga.linalg.norm(ga.from_array(z), ord)), np.linalg.norm(z, ord)
        assert got.dtype == exp.dtype and float(got) == float(exp) == 0.0
    for a in (np.zeros((0, 3)), np.zeros((3, 0))):
        for ord in (None, 1, np.inf, 2):
            np.testing.assert_array_equal(run(ga.linalg.norm(ga.from_array(a), ord)),
                                          np.linalg.norm(a, ord))
    # NumPy's minimum has no identity: both raise ValueError ("min" vs "minimum").
    _raises_like_numpy(z, -np.inf, same_message=False)


@pytest.mark.parametrize("chunks", [(4, 6), (2, 3), 1])
def test_einsum_dtype_is_the_computed_dtype_and_casting_is_checked_like_numpy(chunks):
    ai = RNG.integers(-50, 50, size=(4, 6))
    af = RNG.normal(size=(4, 6))
    xi, xf = ga.from_array(ai, chunks=chunks), ga.from_array(af, chunks=chunks)
    cases = [("ij->i", xi, ai, "f8", "safe"), ("ij->i", xi, ai, "f4", "unsafe"),
             ("ij->j", xf, af, "f4", "same_kind"), ("ij->", xi, ai, "i4", "same_kind"),
             ("ij,ij->i", xi, ai, "f4", "unsafe"), ("ij,kj->ik", xf, af, "f4", "unsafe"),
             ("ij->ji", xf, af, "i8", "unsafe")]
    for sub, x, a, dtype, casting in cases:
        ops = (x, x) if "," in sub else (x,)
        nops = (a, a) if "," in sub else (a,)
        y = ga.einsum(sub, *ops, dtype=dtype, casting=casting)
        exp = np.einsum(sub, *nops, dtype=dtype, casting=casting)
        got = run(y)
        assert y.dtype == got.dtype == exp.dtype, (sub, dtype, casting)
        np.testing.assert_allclose(got, exp, rtol=1e-5)
    # casting='safe' (NumPy's default) forbids int64/float64 -> float32: TypeError while
    # building the graph, like NumPy.
    for x, a in ((xi, ai), (xf, af)):
        with pytest.raises(TypeError):
            np.einsum("ij->i", a, dtype="f4")
        with pytest.raises(TypeError, match="could not be cast"):
            ga.einsum("ij->i", x, dtype="f4")
    with pytest.raises(ValueError, match="casting must be one of"):
        ga.einsum("ij->i", xi, casting="bogus")
    # No dtype: NumPy's (int8 stays int8, wrapping like NumPy; bool stays bool).
    a8 = np.full((4, 6), 100, np.int8)
    got = run(ga.einsum("ij->i", ga.from_array(a8, chunks=chunks)))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, np.einsum("ij->i", a8))


def test_tensordot_out_of_range_axes_raise_indexerror_like_numpy():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    xa, xb = ga.from_array(a, chunks=2), ga.from_array(b, chunks=2)
    for axes in (([3], [0]), ([1], [2]), ([-3], [0]), ([-1], [-3]), 3):
        with pytest.raises(IndexError):
            np.tensordot(a, b, axes=axes)
        with pytest.raises(IndexError, match="out of bounds"):
            ga.tensordot(xa, xb, axes=axes)
    # NumPy's other checks and their order: duplicates, then lengths, then shapes.
    for axes in (([1, 1], [0, 1]), ([1], [0, 1]), ([0, 5], [1, 0]), ([0], [0])):
        with pytest.raises(ValueError) as exp:
            np.tensordot(a, b, axes=axes)
        with pytest.raises(ValueError, match=str(exp.value)):
            ga.tensordot(xa, xb, axes=axes)
    # Negative axes in range keep working.
    for axes in (([-1], [0]), ([1], [-2]), ([-1], [-2]), 1, 0, -1,
                 (np.array([1]), np.array([0]))):
        np.testing.assert_allclose(run(ga.tensordot(xa, xb, axes=axes)),
                                   np.tensordot(a, b, axes=axes))


def test_einsum_out_and_unknown_keywords():
    a = np.arange(6.0).reshape(2, 3)
    x = ga.from_array(a, chunks=2)
    out = ga.zeros(2, chunks=1)
    assert ga.einsum("ij->i", x, out=out, optimize=True) is out
    np.testing.assert_array_equal(out.compute(scheduler="sync"), np.einsum("ij->i", a))
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        ga.einsum("ij->i", x, bogus=1)
