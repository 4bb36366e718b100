"""Routines (unique, bincount, histogram, ...) and the blockwise toolkit (map_blocks,
blockwise, map_overlap) against NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


RNG = np.random.default_rng(3)
I = RNG.integers(0, 7, size=(6, 8))
XI = ga.from_array(I, chunks=(4, 3))
F = RNG.normal(size=(6, 8))
XF = ga.from_array(F, chunks=(4, 3))


def test_unique_with_and_without_counts():
    u = ga.unique(XI)
    assert math.isnan(u.shape[0])
    np.testing.assert_array_equal(run(u), np.unique(I))
    values, counts = ga.unique(XI, return_counts=True)
    ev, ec = np.unique(I, return_counts=True)
    np.testing.assert_array_equal(run(values), ev)
    np.testing.assert_array_equal(run(counts), ec)


def test_bincount_with_weights_and_minlength():
    v = I.ravel()
    x = ga.from_array(v, chunks=5)
    np.testing.assert_array_equal(run(ga.bincount(x)), np.bincount(v))
    np.testing.assert_array_equal(run(ga.bincount(x, minlength=12)), np.bincount(v, minlength=12))
    w = RNG.normal(size=v.size)
    np.testing.assert_allclose(run(ga.bincount(x, weights=ga.from_array(w, chunks=7))),
                               np.bincount(v, weights=w))
    with pytest.raises(TypeError, match="Cannot cast"):
        ga.bincount(ga.from_array(np.ones(3), chunks=2))


def test_histogram_matches_numpy():
    counts, edges = ga.histogram(XF, bins=6, range=(-3, 3))
    ec, ee = np.histogram(F, bins=6, range=(-3, 3))
    np.testing.assert_array_equal(run(counts), ec)
    np.testing.assert_allclose(edges, ee)
    counts, edges = ga.histogram(XF, bins=5)
    ec, ee = np.histogram(F, bins=5)
    np.testing.assert_array_equal(run(counts), ec)
    np.testing.assert_allclose(edges, ee)
    dens, _ = ga.histogram(XF, bins=[-2, 0, 1, 3], weights=XF * 0 + 2, density=True)
    np.testing.assert_allclose(run(dens), np.histogram(F, bins=[-2, 0, 1, 3], weights=F * 0 + 2,
                                                      density=True)[0])


def test_digitize_isin_searchsorted():
    bins = np.array([-1.0, 0.0, 0.5])
    np.testing.assert_array_equal(run(ga.digitize(XF, bins)), np.digitize(F, bins))
    np.testing.assert_array_equal(run(ga.digitize(XF, bins, right=True)), np.digitize(F, bins, right=True))
    np.testing.assert_array_equal(run(ga.isin(XI, [1, 4])), np.isin(I, [1, 4]))
    np.testing.assert_array_equal(run(ga.isin(XI, ga.from_array(np.array([2, 3]), chunks=1),
                                              invert=True)), np.isin(I, [2, 3], invert=True))
    s = np.sort(RNG.integers(0, 20, 30))
    xs = ga.from_array(s, chunks=7)
    v = np.array([[-1, 0, 5], [19, 20, 7]])
    for side in ("left", "right"):
        np.testing.assert_array_equal(run(ga.searchsorted(xs, v, side=side)),
                                      np.searchsorted(s, v, side=side))


def test_argwhere_nonzero_flatnonzero_in_c_order():
    mask = I > 4
    np.testing.assert_array_equal(run(ga.argwhere(XI > 4)), np.argwhere(mask))
    for ours, theirs in zip(ga.nonzero(XI > 4), np.nonzero(mask)):
        np.testing.assert_array_equal(run(ours), theirs)
    np.testing.assert_array_equal(run(ga.flatnonzero(XI > 4)), np.flatnonzero(mask))
    np.testing.assert_array_equal(run(ga.argwhere(ga.from_array(I[0], chunks=3))), np.argwhere(I[0]))


def test_diff_ediff1d():
    np.testing.assert_array_equal(run(ga.diff(XI)), np.diff(I))
    np.testing.assert_array_equal(run(ga.diff(XI, n=2, axis=0)), np.diff(I, n=2, axis=0))
    np.testing.assert_array_equal(run(ga.diff(XI, prepend=0, axis=1)), np.diff(I, prepend=0, axis=1))
    np.testing.assert_array_equal(run(ga.ediff1d(XI[0])), np.ediff1d(I[0]))


def test_cov_and_corrcoef():
    np.testing.assert_allclose(run(ga.cov(XF)), np.cov(F))
    np.testing.assert_allclose(run(ga.cov(XF, rowvar=False, bias=True)), np.cov(F, rowvar=False, bias=True))
    np.testing.assert_allclose(run(ga.cov(XF[0], XF[1])), np.cov(F[0], F[1]))
    np.testing.assert_allclose(run(ga.cov(XF[0])), np.cov(F[0]))
    np.testing.assert_allclose(run(ga.corrcoef(XF)), np.corrcoef(F))


def test_sort_needs_one_block_along_the_axis():
    np.testing.assert_array_equal(run(ga.sort(XF.rechunk({1: -1}))), np.sort(F))
    np.testing.assert_array_equal(run(ga.sort(XF.rechunk({0: -1}), axis=0)), np.sort(F, axis=0))
    with pytest.raises(ValueError, match=r"sort needs axis 1 in a single block.*rechunk"):
        ga.sort(XF)


def test_tril_triu_diagonal():
    np.testing.assert_array_equal(run(ga.tril(XF, k=1)), np.tril(F, k=1))
    np.testing.assert_array_equal(run(ga.triu(XF, k=-2)), np.triu(F, k=-2))
    np.testing.assert_array_equal(run(ga.diagonal(XF, 2)), np.diagonal(F, 2))


# --- map_blocks / blockwise / map_overlap ---------------------------------------------

def test_map_blocks_applies_per_block_and_infers_dtype():
    y = XI.map_blocks(lambda b: b * 1.5)
    assert y.dtype == np.float64 and y.chunks == XI.chunks
    np.testing.assert_allclose(run(y), I * 1.5)
    z = ga.map_blocks(np.add, XI, XF)
    np.testing.assert_allclose(run(z), I + F)


def test_map_blocks_block_id_and_block_info():
    def tag(block, block_id=None):
        return np.full(block.shape, block_id[0] * 10 + block_id[1])

    out = run(ga.map_blocks(tag, XI, dtype=int))
    assert out[0, 0] == 0 and out[5, 7] == 12 and out[0, 3] == 1

    def where(block, block_info=None):
        (r0, _), (c0, _) = block_info[0]["array-location"]
        assert block_info[None]["chunk-shape"] == block.shape
        return np.full(block.shape, r0 * 100 + c0)

    out = run(XI.map_blocks(where, dtype=int))
    assert out[5, 7] == 4 * 100 + 6


def test_map_blocks_drop_axis_new_axis_and_chunks():
    s = XF.map_blocks(lambda b: b.sum(axis=1), drop_axis=1, dtype=float)
    np.testing.assert_allclose(run(s), F.sum(axis=1))
    e = XF.map_blocks(lambda b: b[None], new_axis=0, dtype=float)
    np.testing.assert_allclose(run(e), F[None])
    h = XF.map_blocks(lambda b: b[:1], chunks=(1, 3), dtype=float)
    assert h.chunks == ((1, 1), (3, 3, 2))
    np.testing.assert_allclose(run(h), np.vstack([F[:1], F[4:5]]))


def test_blockwise_index_notation_with_contraction():
    a = RNG.normal(size=(6, 4))
    b = RNG.normal(size=(4, 5))
    xa = ga.from_array(a, chunks=(2, 2))
    xb = ga.from_array(b, chunks=(2, 5))
    out = ga.blockwise(lambda x, y: x @ y, "ik", xa, "ij", xb, "jk", dtype=float,
                       concatenate=True)
    np.testing.assert_allclose(run(out), a @ b)
    t = ga.blockwise(np.transpose, "ji", xa, "ij", dtype=float)
    np.testing.assert_allclose(run(t), a.T)
    with pytest.raises(ValueError, match="appears in no input"):
        ga.blockwise(np.add, "ijz", xa, "ij", dtype=float)


@pytest.mark.parametrize("boundary, mode", [("reflect", "symmetric"), ("periodic", "wrap"),
                                            ("nearest", "edge"), (0, "constant")])
def test_map_overlap_matches_numpy_filter(boundary, mode):
    a = RNG.normal(size=(10, 9))
    x = ga.from_array(a, chunks=(4, 3))

    def smooth(block):
        out = block.copy()
        out[1:-1, 1:-1] = (block[:-2, 1:-1] + block[2:, 1:-1] + block[1:-1, :-2]
                           + block[1:-1, 2:]) / 4
        return out

    got = run(ga.map_overlap(smooth, x, depth=1, boundary=boundary))
    expected = smooth(np.pad(a, 1, mode=mode))[1:-1, 1:-1]
    np.testing.assert_allclose(got, expected)


def test_map_overlap_without_boundary_keeps_edges_and_trim_false_keeps_margins():
    a = np.arange(12.0)
    x = ga.from_array(a, chunks=4)
    got = run(ga.map_overlap(lambda b: np.convolve(b, [1, 1, 1], mode="same"), x, depth=1,
                             boundary="none"))
    np.testing.assert_allclose(got, np.convolve(a, [1, 1, 1], mode="same"))
    wide = ga.map_overlap(lambda b: b, x, depth=1, trim=False)
    assert wide.chunks == ((5, 6, 5),)
