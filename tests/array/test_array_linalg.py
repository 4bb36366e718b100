"""Products (dot, matmul, tensordot, einsum, outer) and ga.linalg against NumPy."""
from __future__ import annotations

import numpy as np
import pytest

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
