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


# --- NumPy parity: lstsq (rank deficiency, residual rules), svd/qr options, dispatch -------

def _rank_deficient(m=4):
    a = RNG.normal(size=(m, 3))
    a[:, 2] = a[:, 0] + a[:, 1]  # rank 2
    return a


@pytest.mark.parametrize("chunks", [((2, 2), (3,)), -1])
@pytest.mark.parametrize("bshape", [(4,), (4, 2)])
def test_lstsq_of_rank_deficient_matrix_is_numpys_minimum_norm_solution(chunks, bshape):
    a = _rank_deficient()
    b = RNG.normal(size=bshape)
    x, resid, rank, s = ga.linalg.lstsq(ga.from_array(a, chunks=chunks), b)
    ex, eresid, erank, es = np.linalg.lstsq(a, b)
    assert np.abs(ex).max() < 10  # not the ~1e14 of solving R x = Q^T b directly
    np.testing.assert_allclose(run(x), ex, atol=1e-10)
    assert x.shape == ex.shape and x.dtype == ex.dtype
    got = run(resid)
    assert got.shape == eresid.shape == (0,) and got.dtype == eresid.dtype
    assert type(run(rank)) is type(erank) is np.int32 and run(rank) == erank == 2
    np.testing.assert_allclose(run(s), es, atol=1e-10)


@pytest.mark.parametrize("bshape", [(6,), (6, 3)])
def test_lstsq_residuals_of_full_rank_tall_matrix_like_numpy(bshape):
    a = RNG.normal(size=(6, 3))
    b = RNG.normal(size=bshape)
    x, resid, rank, s = ga.linalg.lstsq(ga.from_array(a, chunks=3), ga.from_array(b, chunks=3))
    ex, eresid, erank, es = np.linalg.lstsq(a, b)
    got = run(resid)
    assert got.shape == eresid.shape and got.dtype == eresid.dtype
    np.testing.assert_allclose(got, eresid)
    np.testing.assert_allclose(run(x), ex)
    assert run(rank) == erank and type(run(rank)) is np.int32
    assert rank.shape == () and rank.dtype == np.int32


def test_lstsq_of_square_matrix_has_empty_residuals_like_numpy():
    a = RNG.normal(size=(4, 4)) + 4 * np.eye(4)
    b = RNG.normal(size=4)
    x, resid, rank, s = ga.linalg.lstsq(ga.from_array(a, chunks=2), b)
    ex, eresid, erank, _ = np.linalg.lstsq(a, b)
    assert resid.shape == eresid.shape == (0,)
    assert run(resid).shape == (0,)
    np.testing.assert_allclose(run(x), ex)
    assert run(rank) == erank


def test_lstsq_dtypes_rcond_and_errors_like_numpy():
    a = np.arange(12, dtype="i4").reshape(6, 2) % 5
    b = np.arange(6, dtype="i4")
    got = ga.linalg.lstsq(ga.from_array(a, chunks=3), b)
    exp = np.linalg.lstsq(a, b)
    for g, e in zip(got, exp):
        assert g.dtype == e.dtype
        np.testing.assert_allclose(run(g), e, atol=1e-10)
    f4 = RNG.normal(size=(6, 2)).astype("f4")
    got = ga.linalg.lstsq(ga.from_array(f4, chunks=3), f4[:, 0])
    exp = np.linalg.lstsq(f4, f4[:, 0])
    assert [g.dtype for g in got] == [np.asarray(e).dtype for e in exp]
    # A large rcond cuts the small singular value, as in NumPy.
    a = RNG.normal(size=(8, 3)) * [1, 1, 1e-3]
    got = ga.linalg.lstsq(ga.from_array(a, chunks=4), a[:, 0], rcond=1e-2)
    exp = np.linalg.lstsq(a, a[:, 0], rcond=1e-2)
    assert run(got[2]) == exp[2] == 2
    np.testing.assert_allclose(run(got[0]), exp[0], atol=1e-10)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.lstsq(a, np.ones(5))
    with pytest.raises(np.linalg.LinAlgError, match="Incompatible"):
        ga.linalg.lstsq(ga.from_array(a), np.ones(5))
    with pytest.raises(np.linalg.LinAlgError):
        ga.linalg.lstsq(ga.from_array(a), np.ones((8, 2, 2)))


def test_numpy_linalg_functions_dispatch_to_graphengine():
    a = RNG.normal(size=(6, 3))
    sq = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    x, xs = ga.from_array(a, chunks=3), ga.from_array(sq, chunks=2)
    q, r = np.linalg.qr(x)
    assert isinstance(q, ga.Array) and isinstance(r, ga.Array)
    np.testing.assert_allclose(run(q) @ run(r), a, atol=1e-10)
    sol = np.linalg.lstsq(x, a[:, 0])
    assert all(isinstance(v, ga.Array) for v in sol)
    np.testing.assert_allclose(run(sol[0]), np.linalg.lstsq(a, a[:, 0])[0], atol=1e-10)
    got = np.linalg.solve(xs, sq[:, 0])
    assert isinstance(got, ga.Array)
    np.testing.assert_allclose(run(got), np.linalg.solve(sq, sq[:, 0]), atol=1e-12)
    s = np.linalg.svd(x, compute_uv=False)
    assert isinstance(s, ga.Array)
    np.testing.assert_allclose(run(s), np.linalg.svd(a, compute_uv=False))
    u, s, vh = np.linalg.svd(xs)  # square: full and reduced are the same
    assert u.shape == (3, 3)
    np.testing.assert_allclose((run(u) * run(s)) @ run(vh), sq, atol=1e-10)
    # NumPy's default full_matrices=True would need a 6 x 6 U: refused, not silently reduced
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        np.linalg.svd(x)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    assert u.shape == (6, 3)


def test_svd_options():
    a = RNG.normal(size=(8, 3))
    x = ga.from_array(a, chunks=4)
    res = ga.linalg.svd(x)  # reduced by default (Dask's choice)
    assert res.U.shape == (8, 3) and res.S.shape == (3,) and res.Vh.shape == (3, 3)
    u, s, vh = ga.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose((run(u) * run(s)) @ run(vh), a, atol=1e-10)
    s_only = ga.linalg.svd(x, compute_uv=False)
    assert isinstance(s_only, ga.Array) and s_only.shape == (3,)
    np.testing.assert_allclose(run(s_only), np.linalg.svd(a, compute_uv=False))
    with pytest.raises(NotImplementedError, match="full_matrices"):
        ga.linalg.svd(x, full_matrices=True)
    np.testing.assert_allclose(run(ga.linalg.svd(x, full_matrices=True, compute_uv=False)),
                               np.linalg.svd(a, compute_uv=False))


def test_qr_modes():
    a = RNG.normal(size=(8, 3))
    x = ga.from_array(a, chunks=4)
    res = ga.linalg.qr(x, mode="reduced")
    assert res.Q.shape == (8, 3) and res.R.shape == (3, 3)
    r = ga.linalg.qr(x, mode="r")
    assert isinstance(r, ga.Array) and r.shape == (3, 3)
    np.testing.assert_allclose(np.abs(run(r)), np.abs(np.linalg.qr(a, mode="r")), atol=1e-10)
    for mode in ("complete", "raw"):
        with pytest.raises(NotImplementedError, match=mode):
            ga.linalg.qr(x, mode=mode)
    sq = RNG.normal(size=(3, 3))
    q, r = ga.linalg.qr(ga.from_array(sq), mode="complete")  # square: same as reduced
    np.testing.assert_allclose(run(q) @ run(r), sq, atol=1e-10)
    with pytest.raises(ValueError, match="Unrecognized mode"):
        np.linalg.qr(a, mode="bogus")
    with pytest.raises(ValueError, match="Unrecognized mode"):
        ga.linalg.qr(x, mode="bogus")


def test_solve_of_singular_matrix_raises_linalgerror_like_numpy():
    sing = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(sing, np.ones(3))
    with pytest.raises(np.linalg.LinAlgError):
        run(ga.linalg.solve(ga.from_array(sing), np.ones(3)))


@pytest.mark.parametrize("chunks", [3, 1])
def test_dot_of_two_vectors_is_a_numpy_scalar(chunks):
    a = np.arange(3.0)
    x = ga.from_array(a, chunks=chunks)
    got = ga.dot(x, x).compute(scheduler="sync")
    assert type(got) is type(np.dot(a, a)) and got == np.dot(a, a)
