"""Reductions (tree reductions with split_every), scans, topk and order statistics,
checked against NumPy over shapes, chunkings and axes."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga
from graphengine.collections.array import reductions as red

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


A = np.random.default_rng(0).normal(size=(7, 9, 5))
X = ga.from_array(A, chunks=(3, 2, 4))

REDUCTIONS = ["sum", "prod", "mean", "std", "var", "min", "max", "any", "all", "nansum",
              "nanmean", "nanstd", "nanvar", "nanmin", "nanmax", "nanprod"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    ours = getattr(ga, name)(X, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(A, axis=axis, keepdims=keepdims)
    got = run(ours)
    assert ours.shape == np.shape(expected) == np.shape(got)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert np.asarray(got).dtype == np.asarray(expected).dtype


@pytest.mark.parametrize("split_every", [2, 3, 4, {0: 2, 1: 5}, 100])
def test_split_every_changes_the_tree_not_the_result(split_every):
    a = np.arange(400.0).reshape(20, 20)
    x = ga.from_array(a, chunks=2)
    y = x.sum(axis=(0, 1), split_every=split_every)
    np.testing.assert_allclose(run(y), a.sum())
    np.testing.assert_allclose(run(x.var(axis=0, split_every=split_every)), a.var(axis=0))
    n_layers = len(y._graph.layers)
    assert n_layers >= 2


def test_smaller_split_every_builds_a_deeper_tree():
    x = ga.ones((64,), chunks=1)
    deep = x.sum(split_every=2)
    shallow = x.sum(split_every=64)
    assert len(deep._graph.layers) > len(shallow._graph.layers)
    assert float(run(deep)) == float(run(shallow)) == 64


@pytest.mark.parametrize("dtype_in, dtype_arg", [("i1", None), ("i4", "f4"), ("u2", None),
                                                 ("bool", None), ("f4", "f8")])
def test_sum_prod_mean_dtypes_follow_numpy(dtype_in, dtype_arg):
    a = (np.arange(12) % 3).astype(dtype_in)
    x = ga.from_array(a, chunks=5)
    for name in ("sum", "prod", "mean"):
        ours = getattr(x, name)(dtype=dtype_arg)
        expected = getattr(a, name)(dtype=dtype_arg)
        assert ours.dtype == expected.dtype
        np.testing.assert_allclose(run(ours), expected)


def test_var_and_std_with_ddof_and_complex_values():
    a = np.arange(10.0) + 1j * np.arange(10.0)[::-1]
    x = ga.from_array(a, chunks=3)
    np.testing.assert_allclose(run(x.var(ddof=1)), a.var(ddof=1))
    np.testing.assert_allclose(run(x.std()), a.std())
    assert x.var().dtype == a.var().dtype


def test_nan_reductions_ignore_nans():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 6.0]])
    x = ga.from_array(a, chunks=1)
    for name in ("nansum", "nanmean", "nanmax", "nanmin", "nanvar", "nanprod"):
        np.testing.assert_allclose(run(getattr(ga, name)(x, axis=1)), getattr(np, name)(a, axis=1))
    np.testing.assert_array_equal(run(ga.nanargmax(x, axis=1)), np.nanargmax(a, axis=1))


@pytest.mark.parametrize("name", ["argmin", "argmax"])
@pytest.mark.parametrize("axis", [None, 0, 1, 2])
def test_arg_reductions_match_numpy(name, axis):
    np.testing.assert_array_equal(run(getattr(ga, name)(X, axis=axis)),
                                  getattr(np, name)(A, axis=axis))


def test_argmin_ties_and_nans_pick_the_first_like_numpy():
    a = np.array([[3, 1, 1], [1, 0, 0], [0, 5, 0]], dtype=float)
    x = ga.from_array(a, chunks=2)
    assert int(run(x.argmin())) == a.argmin()
    np.testing.assert_array_equal(run(x.argmax(axis=0)), a.argmax(axis=0))
    b = np.array([1.0, np.nan, 0.0, np.nan])
    assert int(run(ga.from_array(b, chunks=1).argmax())) == b.argmax()


def test_empty_reductions_raise_like_numpy():
    x = ga.ones((0, 3), chunks=2)
    with pytest.raises(ValueError, match="zero-size array"):
        x.max()
    with pytest.raises(ValueError):
        np.ones((0, 3)).max()
    np.testing.assert_array_equal(run(x.sum(axis=0)), np.zeros(3))
    np.testing.assert_array_equal(run(x.max(axis=1)), np.ones((0, 3)).max(axis=1))


def test_invalid_axis_raises_numpy_axis_error():
    with pytest.raises(np.exceptions.AxisError, match="axis 3 is out of bounds"):
        X.sum(axis=3)
    with pytest.raises(np.exceptions.AxisError):
        A.sum(axis=3)


def test_zero_d_and_single_chunk_reductions():
    x = ga.from_array(np.array(4.0))
    assert float(run(x.sum())) == 4.0 and int(run(x.argmax())) == 0
    y = ga.from_array(np.arange(5.0), chunks=-1)
    assert float(run(y.mean())) == 2.0


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_scans_match_numpy(name, axis):
    a = np.random.default_rng(1).uniform(0.5, 1.5, size=(6, 7))
    a[2, 3] = np.nan if name.startswith("nan") else a[2, 3]
    x = ga.from_array(a, chunks=(2, 3))
    np.testing.assert_allclose(run(getattr(ga, name)(x, axis=axis)), getattr(np, name)(a, axis=axis))


def test_cumsum_dtype_follows_numpy():
    a = np.arange(10, dtype="i1")
    x = ga.from_array(a, chunks=3)
    assert x.cumsum().dtype == a.cumsum().dtype
    np.testing.assert_array_equal(run(x.cumsum(dtype="f4")), a.cumsum(dtype="f4"))


@pytest.mark.parametrize("k", [3, -2, 1])
def test_topk_and_argtopk(k):
    a = np.random.default_rng(5).permutation(40).reshape(4, 10)
    x = ga.from_array(a, chunks=(2, 3))
    top = run(ga.topk(x, k, axis=1))
    expected = np.sort(a, axis=1)[:, ::-1][:, :k] if k > 0 else np.sort(a, axis=1)[:, :-k]
    np.testing.assert_array_equal(top, expected)
    idx = run(ga.argtopk(x, k, axis=1))
    np.testing.assert_array_equal(np.take_along_axis(a, idx, axis=1), expected)
    with pytest.raises(ValueError, match="k=0"):
        ga.topk(x, 0)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_median_and_percentile_are_exact(axis):
    a = np.random.default_rng(2).normal(size=(9, 8))
    x = ga.from_array(a, chunks=(4, 3))
    np.testing.assert_allclose(run(ga.median(x, axis=axis)), np.median(a, axis=axis))
    np.testing.assert_allclose(run(ga.percentile(x, 30, axis=axis)), np.percentile(a, 30, axis=axis))
    np.testing.assert_allclose(run(ga.percentile(x, [10, 50, 90], axis=axis)),
                               np.percentile(a, [10, 50, 90], axis=axis))
    np.testing.assert_allclose(run(ga.quantile(x, 0.25, axis=axis, keepdims=True)),
                               np.quantile(a, 0.25, axis=axis, keepdims=True))
    b = a.copy()
    b[0, 0] = np.nan
    y = ga.from_array(b, chunks=(4, 3))
    np.testing.assert_allclose(run(ga.nanmedian(y, axis=axis)), np.nanmedian(b, axis=axis))


def test_average_count_nonzero_ptp():
    a = np.arange(12.0).reshape(3, 4)
    w = np.array([1.0, 2.0, 3.0])
    x = ga.from_array(a, chunks=2)
    np.testing.assert_allclose(run(ga.average(x, axis=0, weights=w)), np.average(a, axis=0, weights=w))
    np.testing.assert_allclose(run(ga.average(x)), np.average(a))
    np.testing.assert_array_equal(run(ga.count_nonzero(x % 3, axis=1)), np.count_nonzero(a % 3, axis=1))
    np.testing.assert_allclose(run(ga.ptp(x, axis=1)), np.ptp(a, axis=1))


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data())
def test_reductions_match_numpy_for_any_chunking(shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    split_every = data.draw(st.integers(2, 5))
    a = np.random.default_rng(math.prod(shape)).normal(size=shape)
    x = ga.from_array(a, chunks=chunks)
    for name in ("sum", "mean", "var", "max", "argmin"):
        kw = {} if name == "argmin" else {"keepdims": data.draw(st.booleans())}
        got = run(getattr(red, name)(x, axis=axis, split_every=split_every, **kw))
        np.testing.assert_allclose(got, getattr(np, name)(a, axis=axis, **kw), rtol=1e-9,
                                   atol=1e-12)


# --- NumPy parity: average(returned=...), percentile weights and q shapes ---------------

def _check_same(got, expected):
    value = run(got)
    assert value.shape == np.shape(expected) and value.dtype == np.asarray(expected).dtype
    assert got.dtype == value.dtype
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_average_returned_sum_of_weights_is_float_for_int_data():
    x = ga.from_array(np.arange(6), chunks=4)
    avg, scl = ga.average(x, weights=np.arange(6) + 1, returned=True)
    expected = np.average(np.arange(6), weights=np.arange(6) + 1, returned=True)
    _check_same(avg, expected[0])
    _check_same(scl, expected[1])
    assert float(run(scl)) == 21.0


def test_average_returned_count_of_empty_data_is_zero():
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.average(np.array([]), returned=True)
    with np.errstate(all="ignore"):
        avg, count = ga.average(ga.from_array(np.array([]), chunks=2), returned=True)
        assert math.isnan(float(run(avg)))
        _check_same(count, expected[1])
    assert float(run(count)) == 0.0
    with pytest.raises(ZeroDivisionError):
        ga.average(ga.from_array(np.zeros((3, 0))), axis=0, returned=True)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_average_matches_numpy_for_any_chunking(shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    dtype = data.draw(st.sampled_from(["f8", "f4", "i4", "bool"]))
    rng = np.random.default_rng(math.prod(shape))
    a = (rng.normal(size=shape) * 4).astype(dtype)
    x = ga.from_array(a, chunks=chunks)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                               st.permutations(range(len(shape))).map(tuple)))
    kind = data.draw(st.sampled_from(["none", "full", "axis"]))
    wdtype = data.draw(st.sampled_from(["f8", "f4", "i8"]))
    if kind == "none":
        weights = None
    elif kind == "full" or axis is None:
        weights = rng.integers(1, 4, size=shape).astype(wdtype)
    else:
        axes = (axis,) if isinstance(axis, int) else axis
        weights = rng.integers(1, 4, size=tuple(shape[i] for i in axes)).astype(wdtype)
    keepdims = data.draw(st.booleans())
    got = ga.average(x, axis=axis, weights=weights, returned=True, keepdims=keepdims)
    expected = np.average(a, axis=axis, weights=weights, returned=True, keepdims=keepdims)
    _check_same(got[0], expected[0])
    _check_same(got[1], expected[1])


def test_average_weights_shape_errors_match_numpy():
    x = ga.from_array(A, chunks=(3, 2, 4))
    with pytest.raises(TypeError, match="Axis must be specified"):
        ga.average(x, weights=np.ones(9))
    with pytest.raises(ValueError, match="Shape of weights must be consistent"):
        ga.average(x, axis=1, weights=np.ones(7))


@pytest.mark.parametrize("name", ["percentile", "nanpercentile", "quantile"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_percentile_with_weights_matches_numpy(name, axis):
    a = np.random.default_rng(4).normal(size=(9, 8))
    w = np.random.default_rng(5).uniform(size=(9, 8))
    x = ga.from_array(a, chunks=(4, 3))
    q = [0.1, 0.5, 0.9] if name == "quantile" else [10, 50, 90]
    got = getattr(ga, name)(x, q, axis=axis, weights=w, method="inverted_cdf")
    expected = getattr(np, name)(a, q, axis=axis, weights=w, method="inverted_cdf")
    _check_same(got, expected)
    if isinstance(axis, int) and name != "nanpercentile":  # weights along the axis only
        # (NumPy's nanpercentile fails with an IndexError on such weights.)
        wa = w[:, 0] if axis == 0 else w[0]
        got = getattr(ga, name)(x, q, axis=axis, weights=wa, method="inverted_cdf")
        _check_same(got, getattr(np, name)(a, q, axis=axis, weights=wa, method="inverted_cdf"))
    with pytest.raises(ValueError, match="Only method 'inverted_cdf' supports weights"):
        getattr(ga, name)(x, q, axis=axis, weights=w)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_percentile_accepts_q_of_any_shape(axis, keepdims):
    a = np.random.default_rng(6).normal(size=(9, 8))
    x = ga.from_array(a, chunks=(4, 3))
    for q in ([[10, 20], [30, 95]], np.full((1, 3), 40.0)):
        got = ga.percentile(x, q, axis=axis, keepdims=keepdims)
        expected = np.percentile(a, q, axis=axis, keepdims=keepdims)
        assert got.shape == expected.shape
        _check_same(got, expected)
    with pytest.raises(ValueError, match="q must be a scalar or 1d"):  # NumPy: at most 2-d
        ga.percentile(x, np.full((2, 1, 3), 40.0), axis=axis)
    with pytest.raises(ValueError, match="q must be a scalar or 1d"):
        np.percentile(a, np.full((2, 1, 3), 40.0), axis=axis)
    got = ga.quantile(x, [[0.25], [0.75]], axis=axis, keepdims=keepdims)
    _check_same(got, np.quantile(a, [[0.25], [0.75]], axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "std", "var", "min", "max",
                                  "argmin", "argmax", "any", "all", "nansum", "nanmean"])
@pytest.mark.parametrize("chunks", [4, 2, 1])
def test_a_full_reduction_gives_a_numpy_scalar_as_numpy_does(name, chunks):
    a = np.arange(16.0).reshape(4, 4)
    got = run(getattr(ga, name)(ga.from_array(a, chunks=chunks)))
    expected = getattr(np, name)(a)
    assert type(got) is type(expected)
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "max", "argmax", "nanmean"])
def test_out_rebinds_a_graphengine_array_to_the_result(name):
    a = np.arange(12.0).reshape(3, 4)
    x = ga.from_array(a, chunks=2)
    out = ga.zeros(4, chunks=2, dtype=np.float64 if name != "argmax" else np.intp)
    returned = getattr(ga, name)(x, axis=0, out=out)
    assert returned is out
    np.testing.assert_allclose(run(out), getattr(np, name)(a, axis=0))
    with pytest.raises(ValueError, match=r"out has shape \(3,\)"):
        getattr(ga, name)(x, axis=0, out=ga.zeros(3, chunks=2))
    with pytest.raises(TypeError, match="graphengine Array"):
        getattr(ga, name)(x, axis=0, out=np.zeros(4))


def test_out_takes_the_result_in_its_own_dtype_as_numpy_writes_into_it():
    a = np.arange(6).reshape(2, 3)
    out = ga.zeros(3, dtype=np.float32, chunks=3)
    ga.sum(ga.from_array(a, chunks=1), axis=0, out=out)
    expected = np.zeros(3, dtype=np.float32)
    np.sum(a, axis=0, out=expected)
    got = run(out)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
