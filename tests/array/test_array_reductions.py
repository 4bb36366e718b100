"""Reductions (tree reductions with split_every), scans, topk and order statistics,
checked against NumPy over shapes, chunkings and axes."""
from __future__ import annotations

import math
import warnings

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
    # Blocks sum in another order than NumPy: allow rounding of the order of the dtype's
    # epsilon times the terms' size (a float32 average near zero differs in ~1e-8).
    eps = np.finfo(value.dtype).eps if np.issubdtype(value.dtype, np.inexact) else 0.0
    scale = float(np.max(np.abs(expected), initial=1.0))
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=64 * eps * scale)


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


# --- NumPy parity: initial=, where=, unknown keywords ------------------------------------

def _numpy_outcome(func, *args, **kwargs):
    """NumPy's result, or the exception it raises (warnings silenced)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the exception is the expected outcome
            return exc


def _check_like_numpy(ga_call, np_call):
    """Same value, dtype and result type as NumPy, or the same exception type."""
    expected = _numpy_outcome(np_call)
    if isinstance(expected, Exception):
        with pytest.raises(type(expected)) as info:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run(ga_call())
        assert type(info.value) is type(expected)
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = ga_call()
        got = run(lazy)
    assert type(got) is type(expected)
    assert np.shape(got) == np.shape(expected) == lazy.shape
    assert np.asarray(got).dtype == np.asarray(expected).dtype == lazy.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


B = np.arange(12.0).reshape(3, 4)
MASK = B > 3
SIMPLE_WITH_INITIAL = ["sum", "prod", "nansum", "nanprod", "min", "max", "nanmin", "nanmax"]


@pytest.mark.parametrize("name", SIMPLE_WITH_INITIAL)
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("chunks", [1, 2, 4])
def test_initial_is_applied_once_like_numpy(name, axis, keepdims, chunks):
    x = ga.from_array(B, chunks=chunks)  # 1 to 12 blocks: a per-block initial would show
    _check_like_numpy(lambda: getattr(ga, name)(x, axis=axis, keepdims=keepdims, initial=5),
                      lambda: getattr(np, name)(B, axis=axis, keepdims=keepdims, initial=5))


@pytest.mark.parametrize("name", SIMPLE_WITH_INITIAL + ["any", "all"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("where", [MASK, MASK[0], MASK[:, :1], np.zeros((3, 4), bool)])
def test_where_masks_elements_like_numpy(name, axis, where):
    x = ga.from_array(B, chunks=2)
    kw = {"initial": 99 if "min" in name else -99} if name.endswith(("min", "max")) else {}
    _check_like_numpy(lambda: getattr(ga, name)(x, axis=axis, where=where, **kw),
                      lambda: getattr(np, name)(B, axis=axis, where=where, **kw))


def test_the_examples_of_the_report():
    x = ga.from_array(B, chunks=2)
    assert run(ga.sum(x, initial=5)) == np.sum(B, initial=5) == 71.0
    assert run(ga.min(x, where=MASK, initial=99)) == np.min(B, where=MASK, initial=99) == 4.0
    with pytest.raises(TypeError, match=r"^sum\(\) got an unexpected keyword argument 'foo'$"):
        ga.sum(x, foo=1)
    with pytest.raises(TypeError, match=r"sum\(\) got an unexpected keyword argument"):
        np.sum(B, foo=1)


@pytest.mark.parametrize("name", ["min", "max", "nanmin", "nanmax"])
def test_min_and_max_need_initial_with_where_like_numpy(name):
    x = ga.from_array(B, chunks=2)
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        getattr(np, name)(B, where=MASK)
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        getattr(ga, name)(x, where=MASK)
    # An empty reduction is fine with initial, as in NumPy.
    _check_like_numpy(lambda: getattr(ga, name)(ga.zeros((0, 3), chunks=2), axis=0, initial=7),
                      lambda: getattr(np, name)(np.zeros((0, 3)), axis=0, initial=7))


@pytest.mark.parametrize("call", [
    lambda m, a: m.sum(a, foo=1),
    lambda m, a: m.any(a, initial=1),
    lambda m, a: m.all(a, initial=True),
    lambda m, a: m.min(a, dtype=int),
    lambda m, a: m.nanmax(a, dtype=float),
    lambda m, a: m.sum(a, where=np.ones(4, int)),  # NumPy takes only boolean masks
    lambda m, a: m.mean(a, where=np.ones(4, int)),
    lambda m, a: m.var(a, where=B),
    lambda m, a: m.sum(a, where=np.ones((2, 4), bool)),  # does not broadcast
    lambda m, a: m.nanmean(a, where=np.ones((2, 3, 4), bool)),
    lambda m, a: m.sum(np.arange(3, dtype=np.int8) if m is np else
                       ga.from_array(np.arange(3, dtype=np.int8), chunks=2),
                       dtype=np.int8, initial=1000),
    lambda m, a: m.var(a, foo=1),
], ids=["unknown", "any-initial", "all-initial", "min-dtype", "nanmax-dtype", "int-mask",
        "mean-int-mask", "var-float-mask", "no-broadcast", "too-many-dims", "initial-overflow",
        "var-unknown"])
def test_keyword_errors_match_numpy(call):
    expected = _numpy_outcome(call, np, B)
    assert isinstance(expected, Exception)
    with pytest.raises(type(expected)):
        call(ga, ga.from_array(B, chunks=2))


def test_where_and_initial_through_numpy_dispatch_and_ufunc_reduce():
    x = ga.from_array(B, chunks=2)
    _check_like_numpy(lambda: np.sum(x, initial=5, where=MASK),
                      lambda: np.sum(B, initial=5, where=MASK))
    _check_like_numpy(lambda: np.add.reduce(x, initial=3),
                      lambda: np.add.reduce(B, initial=3))
    _check_like_numpy(lambda: np.minimum.reduce(x, axis=1, where=MASK, initial=50),
                      lambda: np.minimum.reduce(B, axis=1, where=MASK, initial=50))
    _check_like_numpy(lambda: np.mean(x, where=MASK), lambda: np.mean(B, where=MASK))


def test_where_takes_a_graphengine_mask_with_other_chunks():
    x = ga.from_array(B, chunks=2)
    mask = ga.from_array(MASK, chunks=3)
    for name in ("sum", "mean", "var", "any"):
        _check_like_numpy(lambda: getattr(ga, name)(x, axis=0, where=mask),
                          lambda: getattr(np, name)(B, axis=0, where=MASK))
    _check_like_numpy(lambda: ga.max(x, where=ga.from_array(MASK[0], chunks=3), initial=-1),
                      lambda: np.max(B, where=MASK[0], initial=-1))


def test_where_on_unknown_chunk_sizes_needs_an_aligned_mask():
    a = np.array([5.0, 1, 7, 3, 9, 2])
    xb = ga.from_array(a, chunks=2)
    y = xb[xb > 2]
    sel = a[a > 2]
    _check_like_numpy(lambda: ga.sum(y, where=y > 5), lambda: np.sum(sel, where=sel > 5))
    _check_like_numpy(lambda: ga.mean(y, where=y > 5), lambda: np.mean(sel, where=sel > 5))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        ga.sum(y, where=np.array([True, False, True, True]))


@pytest.mark.parametrize("name", ["mean", "var", "std", "nanmean", "nanvar", "nanstd"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_moments_with_where_exclude_masked_elements_like_numpy(name, axis, keepdims):
    a = B.copy()
    a[1, 2] = np.nan
    x = ga.from_array(a, chunks=(2, 3))
    for where in (MASK, MASK[:, :1], [[True], [False], [True]]):
        _check_like_numpy(
            lambda: getattr(ga, name)(x, axis=axis, keepdims=keepdims, where=where),
            lambda: getattr(np, name)(a, axis=axis, keepdims=keepdims, where=where))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_where_and_initial_match_numpy_for_any_chunking(shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    rng = np.random.default_rng(math.prod(shape) + len(chunks))
    a = rng.integers(0, 5, size=shape).astype(float)
    a[rng.random(shape) < 0.2] = np.nan
    mask = rng.random(shape) < 0.7
    x = ga.from_array(a, chunks=chunks)
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    split_every = data.draw(st.integers(2, 4))
    name = data.draw(st.sampled_from(SIMPLE_WITH_INITIAL + ["any", "all", "mean", "var",
                                                            "nanmean", "nanstd"]))
    kw = {"initial": 2.5} if name in SIMPLE_WITH_INITIAL else {}
    _check_like_numpy(
        lambda: getattr(ga, name)(x, axis=axis, keepdims=keepdims, where=mask,
                                  split_every=split_every, **kw),
        lambda: getattr(np, name)(a, axis=axis, keepdims=keepdims, where=mask, **kw))


# --- NumPy parity: ddof beyond the count, dtype= and correction= of the moments ------------

@pytest.mark.parametrize("name", ["var", "std", "nanvar", "nanstd"])
@pytest.mark.parametrize("ddof", [0, 1, 2, 3, 5])
def test_ddof_at_or_beyond_the_count_matches_numpy(name, ddof):
    # nanvar/nanstd give NaN (no degrees of freedom); var/std divide by zero (inf).
    a = np.array([1.0, np.nan, 3.0]) if name.startswith("nan") else np.array([1.0, 2.0, 3.0])
    _check_like_numpy(lambda: getattr(ga, name)(ga.from_array(a, chunks=2), ddof=ddof),
                      lambda: getattr(np, name)(a, ddof=ddof))
    b = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0], [np.nan, np.nan, 2.0]])
    for axis in (0, 1):
        _check_like_numpy(
            lambda: getattr(ga, name)(ga.from_array(b, chunks=2), axis=axis, ddof=ddof),
            lambda: getattr(np, name)(b, axis=axis, ddof=ddof))


def test_nanvar_of_integers_is_numpys_var():
    a = np.arange(3)
    _check_like_numpy(lambda: ga.nanvar(ga.from_array(a, chunks=2), ddof=3),
                      lambda: np.nanvar(a, ddof=3))


F5 = np.arange(5.0)
Q = np.array([0, 0, 0, 2, 2])


@pytest.mark.parametrize("name, data, kw", [
    ("var", F5, {"dtype": complex}),
    ("std", F5, {"dtype": complex}),
    ("var", F5 + 1j, {"dtype": complex}),
    ("var", F5, {"dtype": "f4"}),
    ("nanvar", F5, {"dtype": "f4"}),
    ("nanmean", F5, {"dtype": int}),
    ("nanvar", F5, {"dtype": int}),
    ("nanstd", F5, {"dtype": "i4"}),
    ("std", B, {"axis": 0, "dtype": int}),
    ("std", B, {"dtype": int}),
    ("var", B, {"axis": 0, "dtype": int}),
    ("var", Q, {"dtype": int}),   # NumPy subtracts the mean truncated to the dtype
    ("var", Q, {"dtype": "i1"}),
    ("std", Q, {"dtype": int}),
    ("nanvar", Q, {"dtype": int}),
    ("mean", F5, {"dtype": int}),
    ("mean", Q, {"dtype": "f4"}),
    ("var", F5, {"dtype": bool}),
])
def test_moment_dtypes_and_errors_follow_numpy(name, data, kw):
    _check_like_numpy(lambda: getattr(ga, name)(ga.from_array(data, chunks=2), **kw),
                      lambda: getattr(np, name)(data, **kw))


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(-20, 20), min_size=1, max_size=12), data=st.data())
def test_var_and_std_in_an_integer_dtype_match_numpy_exactly(values, data):
    # NumPy subtracts the mean truncated to the integer dtype, sums the squares in that
    # dtype (int8 wraps around) and truncates the quotient.
    unsigned = data.draw(st.booleans())
    a = np.abs(values).astype("u1") if unsigned else np.array(values)
    x = ga.from_array(a, chunks=data.draw(st.integers(1, len(values))))
    name = data.draw(st.sampled_from(["var", "std", "nanvar"]))
    dtype = data.draw(st.sampled_from([int, "u8", "u1"] if unsigned else [int, "i4", "i1"]))
    ddof = data.draw(st.integers(0, 1))
    _check_like_numpy(lambda: getattr(ga, name)(x, dtype=dtype, ddof=ddof),
                      lambda: getattr(np, name)(a, dtype=dtype, ddof=ddof))


def test_ddof_and_correction_cannot_both_be_given():
    x = ga.from_array(F5, chunks=2)
    for name in ("var", "std", "nanvar", "nanstd"):
        with pytest.raises(ValueError, match="ddof and correction can't be provided"):
            getattr(np, name)(F5, ddof=1, correction=1)
        with pytest.raises(ValueError, match="ddof and correction can't be provided"):
            getattr(ga, name)(x, ddof=1, correction=1)
        _check_like_numpy(lambda: getattr(ga, name)(x, ddof=0, correction=1),
                          lambda: getattr(np, name)(F5, ddof=0, correction=1))


# --- NumPy parity: 0-d results are NumPy scalars, also with keepdims ----------------------

@pytest.mark.parametrize("name", REDUCTIONS + ["argmin", "argmax", "nanargmin",
                                               "nanargmax"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_zero_d_input_gives_a_numpy_scalar_like_numpy(name, keepdims):
    z = np.array(3.0)
    _check_like_numpy(lambda: getattr(ga, name)(ga.from_array(z), keepdims=keepdims),
                      lambda: getattr(np, name)(z, keepdims=keepdims))


def test_zero_d_input_with_initial_and_where():
    z = np.array(3.0)
    x = ga.from_array(z)
    _check_like_numpy(lambda: ga.sum(x, keepdims=True, initial=1),
                      lambda: np.sum(z, keepdims=True, initial=1))
    _check_like_numpy(lambda: ga.min(x, where=False, initial=7),
                      lambda: np.min(z, where=False, initial=7))


# --- NumPy parity: arg reductions on unknown chunk sizes ----------------------------------

def test_argmax_after_boolean_indexing_is_correct():
    a = np.array([5, 1, 7, 3, 9, 2])
    xb = ga.from_array(a, chunks=2)
    for name in ("argmin", "argmax", "nanargmin", "nanargmax"):
        for cut in (0, 2, 6):  # 6 leaves the first block empty
            got = run(getattr(ga, name)(xb[xb > cut]))
            assert got == getattr(np, name)(a[a > cut])
    assert int(run(xb[xb > 2].argmax())) == 3
    with pytest.raises(ValueError, match="empty sequence"):
        run(xb[xb > 100].argmax())
    with pytest.raises(ValueError, match="empty sequence"):
        np.argmax(a[a > 100])


@settings(max_examples=50, deadline=None)
@given(rows=st.integers(1, 8), cols=st.integers(1, 5), data=st.data())
def test_arg_reductions_on_unknown_chunks_match_numpy(rows, cols, data):
    rng = np.random.default_rng(rows * 10 + cols)
    # Few distinct values: many ties, also between infinities and NaNs (which NumPy's
    # nanarg* replace by infinities).
    a = rng.choice([0.0, 1.0, np.inf, -np.inf], size=(rows, cols))
    if data.draw(st.booleans()):
        a[rng.random(a.shape) < 0.3] = np.nan
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)))
    x = ga.from_array(a, chunks=(data.draw(st.integers(1, rows)),
                                 data.draw(st.integers(1, cols))))
    y = x[ga.from_array(keep, chunks=(x.chunks[0],))]  # unknown row-chunk sizes
    name = data.draw(st.sampled_from(["argmin", "argmax", "nanargmin", "nanargmax"]))
    axis = data.draw(st.sampled_from([None, 0, 1]))
    expected = _numpy_outcome(getattr(np, name), a[keep], axis=axis)
    lazy = getattr(ga, name)(y, axis=axis, split_every=data.draw(st.integers(2, 4)))
    if isinstance(expected, Exception):
        with pytest.raises(ValueError):
            run(lazy)
    else:
        np.testing.assert_array_equal(run(lazy), expected)


@pytest.mark.parametrize("name, last", [("nansum", [np.inf, -np.inf]),
                                        ("nanprod", [0.0, np.inf])])
@pytest.mark.parametrize("split_every", [2, 3])
def test_nansum_and_nanprod_keep_a_nan_made_by_the_partials(name, last, split_every):
    # A block's inf - inf (0 * inf) is NaN in NumPy too; a later level of the tree must not
    # drop it as if it were a NaN of the data.
    a = np.array([1.0, np.nan, 1.0, 1.0, 1.0, 1.0] + last)
    _check_like_numpy(
        lambda: getattr(ga, name)(ga.from_array(a, chunks=2), split_every=split_every),
        lambda: getattr(np, name)(a))


@pytest.mark.parametrize("name", ["min", "max", "nanmin", "nanmax"])
@pytest.mark.parametrize("threshold", [6, 0, 8])
def test_min_max_after_a_mask_that_empties_blocks(name, threshold):
    a = np.array([[5, 0], [1, 1], [7, 2], [3, 3], [9, 4], [2, 5]])
    x = ga.from_array(a, chunks=2)
    keep = a[:, 0] > threshold
    kept = x[x[:, 0] > threshold]  # rows of unknown count: some blocks end up empty
    for axis in (None, 0):
        got = run(getattr(ga, name)(kept, axis=axis))
        expected = getattr(np, name)(a[keep], axis=axis)
        assert type(got) is type(expected)
        np.testing.assert_array_equal(got, expected)


def test_min_of_nothing_after_a_mask_raises_numpys_error():
    x = ga.from_array(np.arange(6), chunks=2)
    with pytest.raises(ValueError) as expected:
        np.min(np.arange(6)[np.arange(6) > 10])
    with pytest.raises(ValueError) as got:
        run(ga.min(x[x > 10]))
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("k", [3, -3, 1, -1])
@pytest.mark.parametrize("split_every", [None, 2])
def test_argtopk_after_a_mask_gives_integer_positions_in_the_kept_elements(k, split_every):
    a = np.random.default_rng(8).permutation(60).reshape(3, 20).astype(float)
    x = ga.from_array(a, chunks=(2, 3))
    keep = np.arange(20) % 4 != 1
    kept = x[:, ga.from_array(keep, chunks=3)]  # columns of unknown count per block
    assert math.isnan(kept.chunks[1][0])
    got = run(kept.argtopk(k, axis=1, split_every=split_every))
    order = np.argsort(a[:, keep], axis=1)
    expected = order[:, ::-1][:, :k] if k > 0 else order[:, :-k]
    assert got.dtype == np.intp
    np.testing.assert_array_equal(got, expected)
    ones = ga.from_array(np.arange(12.0), chunks=5)
    np.testing.assert_array_equal(run(ones[ones > 7].argtopk(k)),
                                  np.argsort(np.arange(8.0, 12.0))[::-1][:k] if k > 0
                                  else np.argsort(np.arange(8.0, 12.0))[:-k])
