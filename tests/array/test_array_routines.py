"""Routines (unique, bincount, histogram, ...) and the blockwise toolkit (map_blocks,
blockwise, map_overlap) against NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

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


# --- NumPy parity: histogram ------------------------------------------------------------

def _check_histogram(got, expected):
    counts, edges = got
    values = run(counts)
    assert values.dtype == expected[0].dtype == counts.dtype
    np.testing.assert_allclose(values, expected[0], rtol=1e-6)
    assert edges.dtype == expected[1].dtype
    np.testing.assert_array_equal(edges, expected[1])


@pytest.mark.parametrize("weights", [np.array([1j, 2j, 3j]), np.array([1, 2, 3]),
                                     np.array([1, 2, 3], dtype="f4"),
                                     np.array([True, False, True]), None],
                         ids=["complex", "int", "float32", "bool", "unweighted"])
@pytest.mark.parametrize("bins", [2, [0.0, 0.3, 1.0]])
def test_histogram_counts_take_the_weights_dtype(weights, bins):
    a = np.array([0.1, 0.5, 0.9])
    if weights is not None and weights.dtype == bool and not np.isscalar(bins):
        # NumPy itself fails to add bool weights over explicit edges: the same error.
        with pytest.raises(TypeError) as expected:
            np.histogram(a, bins=bins, weights=weights)
        with pytest.raises(type(expected.value), match="Cannot cast ufunc 'add'"):
            counts, _ = ga.histogram(ga.from_array(a, chunks=2), bins=bins, weights=weights)
            run(counts)
        return
    got = ga.histogram(ga.from_array(a, chunks=2), bins=bins, weights=weights)
    _check_histogram(got, np.histogram(a, bins=bins, weights=weights))


def test_histogram_of_complex_weights_is_not_zero():
    counts, _ = ga.histogram(ga.from_array(np.array([0.1, 0.5, 0.9]), chunks=2), bins=2,
                             weights=np.array([1j, 2j, 3j]))
    np.testing.assert_array_equal(run(counts), [1j, 5j])


@pytest.mark.parametrize("dtype", ["f8", "f4", "i8"])
def test_histogram_of_empty_data_bins_zero_to_one(dtype):
    a = np.array([], dtype=dtype)
    x = ga.from_array(a, chunks=2)
    _check_histogram(ga.histogram(x, bins=3), np.histogram(a, bins=3))
    with np.errstate(invalid="ignore"):
        _check_histogram(ga.histogram(x, bins=3, density=True),
                         np.histogram(a, bins=3, density=True))
    _check_histogram(ga.histogram(x, bins="auto"), np.histogram(a, bins="auto"))


@pytest.mark.parametrize("bins", ["auto", "fd", "doane", "scott", "stone", "rice",
                                  "sturges", "sqrt"])
@pytest.mark.parametrize("dtype", ["f8", "f4", "i4"])
def test_histogram_string_bins_use_numpys_estimators(bins, dtype):
    a = (RNG.normal(size=300) * 10).astype(dtype)
    x = ga.from_array(a, chunks=37)
    _check_histogram(ga.histogram(x, bins=bins), np.histogram(a, bins=bins))
    _check_histogram(ga.histogram(x, bins=bins, range=(-5, 12)),
                     np.histogram(a, bins=bins, range=(-5, 12)))


def test_histogram_bins_errors_match_numpy():
    x = ga.from_array(np.arange(5.0), chunks=2)
    for bins in (2.5, 2.0):
        with pytest.raises(TypeError, match="must be an integer, a string, or an array"):
            ga.histogram(x, bins=bins)
        with pytest.raises(TypeError):
            np.histogram(np.arange(5.0), bins=bins)
    with pytest.raises(ValueError, match="not a valid estimator"):
        ga.histogram(x, bins="bogus")
    with pytest.raises(TypeError, match="not supported for weighted data"):
        ga.histogram(x, bins="auto", weights=np.ones(5))
    with pytest.raises(ValueError, match="weights should have the same shape"):
        ga.histogram(x, bins=2, weights=np.ones(4))
    with pytest.raises(ValueError, match="autodetected range"):
        ga.histogram(ga.from_array(np.array([1.0, np.nan]), chunks=1), bins=2)


def test_histogram_float32_edges_are_numpys():
    a = RNG.normal(size=1000).astype("f4")
    x = ga.from_array(a, chunks=77)
    for bins in (7, 10, 33):
        _check_histogram(ga.histogram(x, bins=bins), np.histogram(a, bins=bins))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=1, max_size=3), data=st.data())
def test_histogram_matches_numpy_for_any_chunking(shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    dtype = data.draw(st.sampled_from(["f8", "f4", "i2"]))
    rng = np.random.default_rng(math.prod(shape) + len(shape))
    a = (rng.normal(size=shape) * 5).astype(dtype)
    bins = data.draw(st.one_of(st.integers(1, 12), st.just([-3.0, -1.0, 0.5, 4.0])))
    hist_range = data.draw(st.sampled_from([None, (-2.0, 3.0), (1, 1)]))
    weights = data.draw(st.sampled_from([None, "i8", "f4", "c16"]))
    w = None if weights is None else (rng.integers(0, 4, size=shape) + 0.5 * (weights != "i8")
                                      ).astype(weights)
    density = data.draw(st.booleans())
    got = ga.histogram(ga.from_array(a, chunks=chunks), bins=bins, range=hist_range,
                       weights=None if w is None else ga.from_array(w, chunks=chunks),
                       density=density)
    with np.errstate(all="ignore"):
        expected = np.histogram(a, bins=bins, range=hist_range, weights=w, density=density)
        _check_histogram(got, expected)


# --- NumPy parity: nonzero, unique, bincount, isin, cov, diff --------------------------

def test_nonzero_and_where_of_0d_raise_like_numpy():
    for value in (0.0, 3.0):
        x = ga.from_array(np.array(value))
        for call in (ga.nonzero, ga.where):
            with pytest.raises(ValueError, match="Calling nonzero on 0d arrays is not allowed"):
                call(x)
        with pytest.raises(ValueError, match="Calling nonzero on 0d arrays"):
            np.nonzero(np.array(value))


UNIQUE_CASES = [(np.array(3.5), ()), (np.array([[3.0, 1.0], [1.0, np.nan]]), 1),
                (np.array([[np.nan, 1, np.nan], [1, np.nan, 2]]), (1, 2)),
                (RNG.integers(0, 5, size=(7, 6, 3)), (3, 4, 2)),
                (np.array([1 + 1j, np.nan + 1j, 1 + np.nan * 1j, 2, np.nan, 1 + 1j]), 2),
                (np.array([], dtype="f4"), 2), (np.zeros((2, 0)), 1),
                (np.array(["b", "a", "b", "c"]), 3)]


@pytest.mark.parametrize("a, chunks", UNIQUE_CASES)
@pytest.mark.parametrize("flags", [(False, False, True), (True, True, True), (True, False, False),
                                   (False, True, False)])
def test_unique_index_inverse_counts_match_numpy(a, chunks, flags):
    kw = dict(zip(("return_index", "return_inverse", "return_counts"), flags))
    got = ga.unique(ga.from_array(a, chunks=chunks), **kw)
    expected = np.unique(a, **kw)
    assert isinstance(got, tuple) and len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        value = run(ours)
        assert value.shape == theirs.shape and value.dtype == theirs.dtype
        np.testing.assert_array_equal(value, theirs)


def test_unique_of_0d_with_counts():
    values, counts = ga.unique(ga.from_array(np.array(3.5)), return_counts=True)
    np.testing.assert_array_equal(run(values), [3.5])
    np.testing.assert_array_equal(run(counts), [1])


def test_unique_equal_nan_and_axis():
    a = np.array([np.nan, 1.0, np.nan, 2.0, np.nan])
    x = ga.from_array(a, chunks=2)
    for equal_nan in (True, False):
        for kw in ({}, {"return_index": True, "return_counts": True}):
            got = ga.unique(x, equal_nan=equal_nan, **kw)
            expected = np.unique(a, equal_nan=equal_nan, **kw)
            for ours, theirs in zip(got if kw else (got,), expected if kw else (expected,)):
                np.testing.assert_array_equal(run(ours), theirs)
    with pytest.raises(NotImplementedError, match="equal_nan=False"):
        ga.unique(x, return_inverse=True, equal_nan=False)
    np.testing.assert_array_equal(run(ga.unique(x, axis=0)), np.unique(a, axis=0))
    np.testing.assert_array_equal(run(ga.unique(XI, axis=0)), np.unique(run(XI), axis=0))
    with pytest.raises(np.exceptions.AxisError):
        ga.unique(x, axis=1)


def test_bincount_counts_bools_as_zero_and_one():
    b = np.array([True, False, True, True])
    x = ga.from_array(b, chunks=3)
    np.testing.assert_array_equal(run(ga.bincount(x)), np.bincount(b))
    w = np.array([0.5, 1.0, 2.0, 4.0])
    np.testing.assert_array_equal(run(ga.bincount(x, weights=w)), np.bincount(b, weights=w))


@pytest.mark.parametrize("kind", [None, "sort", "table"])
def test_isin_kind_is_passed_to_numpy(kind):
    for invert in (False, True):
        np.testing.assert_array_equal(run(ga.isin(XI, [1, 4], invert=invert, kind=kind)),
                                      np.isin(I, [1, 4], invert=invert, kind=kind))
    with pytest.raises(ValueError, match="Invalid kind"):
        ga.isin(XI, [1], kind="bogus")
    with pytest.raises(ValueError, match="'table' method is only supported"):
        ga.isin(XF, [1.0], kind="table")


@pytest.mark.parametrize("dtype", [None, "f4", "f8", "c16"])
def test_cov_dtype_matches_numpy(dtype):
    for ours, theirs in ((ga.cov(XF, dtype=dtype), np.cov(F, dtype=dtype)),
                         (ga.cov(XF[0], XF[1], dtype=dtype), np.cov(F[0], F[1], dtype=dtype)),
                         (ga.cov(XF[0], dtype=dtype), np.cov(F[0], dtype=dtype)),
                         (ga.corrcoef(XF, dtype=dtype), np.corrcoef(F, dtype=dtype))):
        value = run(ours)
        assert ours.dtype == value.dtype == theirs.dtype and value.shape == theirs.shape
        np.testing.assert_allclose(value, theirs, rtol=1e-5)


def test_cov_rowvar_false_with_one_row_transposes_like_numpy():
    with pytest.warns(RuntimeWarning):
        expected = np.cov(F[:1], rowvar=False)
    with pytest.warns(RuntimeWarning):
        got = run(ga.cov(XF[:1], rowvar=False))
    assert got.shape == expected.shape == (8, 8)


def test_diff_of_0d_with_n_zero_returns_the_input():
    z = np.array(5.0)
    np.testing.assert_array_equal(run(ga.diff(ga.from_array(z), n=0)), np.diff(z, n=0))
    np.testing.assert_array_equal(run(ga.diff(XI, n=0, prepend=1)), np.diff(I, n=0, prepend=1))
    with pytest.raises(ValueError, match="at least one dimensional"):
        ga.diff(ga.from_array(z), n=1)
