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
