"""``var``/``std``/``nanvar``/``nanstd`` with NumPy 2's ``mean=`` (and ``correction=``)
against NumPy: shapes, dtypes, ``where``, ``ddof``, irregular chunkings, NumPy and lazy
means, 0-d and empty inputs, ``np.var(x, ...)`` dispatch, and NumPy's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)

NAMES = ["var", "std", "nanvar", "nanstd"]


def run(x):
    return x.compute(scheduler="sync")


def numpy_call(name, a, **kw):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return getattr(np, name)(a, **kw)


def ours_call(name, x, **kw):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return run(getattr(ga, name)(x, **kw))


def assert_matches(got, expected, dtype):
    assert np.shape(got) == np.shape(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    rtol = 2e-3 if np.dtype(dtype) == np.float16 else 1e-6
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12, equal_nan=True)


def the_mean(name, a, axis, where=True):
    f = np.nanmean if name.startswith("nan") else np.mean
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return f(a, axis=axis, keepdims=True, where=where)


def data(dtype, shape=(5, 6), nans=True):
    rng = np.random.default_rng(3)
    if np.dtype(dtype).kind == "c":
        a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    else:
        a = (rng.standard_normal(shape) * 4).astype(dtype)
    if nans and a.dtype.kind in "fc" and a.size > 4:
        a.flat[[1, 4]] = np.nan
        a[..., -1] = np.nan
    return a


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i8", "c16", "bool"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)], ids=repr)
@pytest.mark.parametrize("mean_kind", ["numpy", "lazy"])
def test_mean_keyword_matches_numpy(name, dtype, axis, mean_kind):
    a = data(dtype, nans=name.startswith("nan"))
    for chunks in [(2, 4), ((1, 4), (3, 0, 3)), -1]:
        x = ga.from_array(a, chunks=chunks)
        for kw in ({}, {"ddof": 1}, {"keepdims": True}, {"correction": 2}, {"ddof": 9},
                   {"dtype": "f8"}):
            m = the_mean(name, a, axis)
            mean = ga.from_array(m, chunks=1) if mean_kind == "lazy" else m
            expected = numpy_call(name, a, axis=axis, mean=m, **kw)
            got = ours_call(name, x, axis=axis, mean=mean, **kw)
            assert_matches(got, expected, a.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_mean_keyword_with_where(name):
    a = data("f8", nans=name.startswith("nan"))
    where = (np.arange(a.size).reshape(a.shape) % 3) != 1
    x = ga.from_array(a, chunks=(3, 2))
    for axis in (None, 0, 1):
        m = the_mean(name, a, axis, where)
        for w in (where, ga.from_array(where, chunks=(3, 2)), where[0]):
            expected = numpy_call(name, a, axis=axis, mean=m, where=np.asarray(w) if
                                  not isinstance(w, ga.Array) else where)
            assert_matches(ours_call(name, x, axis=axis, mean=m, where=w), expected, a.dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mean", [0.5, 2, np.float32(1.5), np.zeros(6), np.zeros((5, 6)),
                                  np.zeros((1, 1), np.float32), [[0.25] * 6]],
                         ids=["py-float", "py-int", "f4-scalar", "row", "full", "f4", "list"])
def test_other_mean_shapes_and_dtypes(name, mean):
    # NumPy takes any mean that broadcasts against the array (deviations from it), and
    # promotes with its dtype (a Python float stays weak; a float32 mean keeps float32).
    for dtype in ("f4", "f8", "i4"):
        a = data(dtype, nans=False)
        x = ga.from_array(a, chunks=(2, 5))
        for axis in (None, 0, 1):
            expected = numpy_call(name, a, axis=axis, mean=mean)
            assert_matches(ours_call(name, x, axis=axis, mean=mean), expected, dtype)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_mean_keyword_hypothesis(data_):
    name = data_.draw(st.sampled_from(NAMES))
    shape = data_.draw(st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple))
    a = np.asarray(data_.draw(st.lists(
        st.floats(-1e3, 1e3) | st.just(np.nan) if name.startswith("nan")
        else st.floats(-1e3, 1e3),
        min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), dtype=float).reshape(shape)
    chunks = tuple(data_.draw(st.integers(1, max(n, 1))) for n in shape)
    axis = data_.draw(st.none() | st.integers(-len(shape), len(shape) - 1)) if shape \
        else None
    ddof = data_.draw(st.integers(0, 2))
    keepdims = data_.draw(st.booleans())
    m = the_mean(name, a, axis)
    expected = numpy_call(name, a, axis=axis, mean=m, ddof=ddof, keepdims=keepdims)
    x = ga.from_array(a, chunks=chunks)
    lazy = data_.draw(st.booleans())
    got = ours_call(name, x, axis=axis, ddof=ddof, keepdims=keepdims,
                    mean=ga.from_array(m, chunks=1) if lazy else m)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("a", [np.array(3.0), np.ones((0, 3)), np.ones((3, 0)),
                               np.array([np.nan, 1.0])], ids=["0d", "0x3", "3x0", "nan"])
def test_mean_keyword_zero_d_and_empty(name, a):
    x = ga.from_array(a, chunks=2)
    for axis in ([None, ()] if a.ndim == 0 else [None, 0, -1]):
        for kw in ({}, {"ddof": 1}, {"keepdims": True}):
            m = the_mean(name, a, axis)
            expected = numpy_call(name, a, axis=axis, mean=m, **kw)
            assert_matches(ours_call(name, x, axis=axis, mean=m, **kw), expected, a.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_np_functions_dispatch_with_mean(name):
    a = data("f8", nans=False)
    x = ga.from_array(a, chunks=(2, 3))
    m = a.mean(axis=0, keepdims=True)
    f = getattr(np, name)
    got = f(x, axis=0, mean=m, ddof=1)
    assert isinstance(got, ga.Array)
    assert_matches(run(got), f(a, axis=0, mean=m, ddof=1), a.dtype)
    if not name.startswith("nan"):
        # np.var/np.std dispatch on mean= too (np.nanvar/np.nanstd only on a and out).
        got = f(a, axis=0, mean=ga.from_array(m, chunks=2))
        assert isinstance(got, ga.Array)
        assert_matches(run(got), f(a, axis=0, mean=m), a.dtype)
    # NumPy's positional order: a, axis, dtype, out, ddof, keepdims.
    assert_matches(run(f(x, 1, None, None, 1, True)), f(a, 1, None, None, 1, True), a.dtype)
    assert_matches(run(f(x, 0, correction=1)), f(a, 0, correction=1), a.dtype)


def test_method_takes_mean():
    a = data("f8", nans=False)
    x = ga.from_array(a, chunks=2)
    m = x.mean(axis=1, keepdims=True)
    assert_matches(run(x.var(axis=1, mean=m)), a.var(axis=1, mean=np.asarray(run(m))), a.dtype)
    assert_matches(run(x.std(axis=1, ddof=1, mean=m)),
                   a.std(axis=1, ddof=1, mean=np.asarray(run(m))), a.dtype)


def test_mean_keyword_is_lazy_and_used():
    calls = []

    def block(b):
        calls.append(1)
        return b

    a = data("f8", nans=False)
    x = ga.from_array(a, chunks=2).map_blocks(block, dtype=a.dtype)
    m = np.full((1, 6), 100.0)  # a deliberately wrong mean: NumPy uses it as given
    out = ga.var(x, axis=0, mean=m)
    assert calls == []
    np.testing.assert_allclose(run(out), np.var(a, axis=0, mean=m))


@pytest.mark.parametrize("name", NAMES)
def test_ddof_and_correction_together_raise(name):
    a = data("f8", nans=False)
    x = ga.from_array(a, chunks=2)
    with pytest.raises(ValueError) as theirs:
        getattr(np, name)(a, ddof=1, correction=1, mean=a.mean(keepdims=True))
    with pytest.raises(ValueError) as ours:
        getattr(ga, name)(x, ddof=1, correction=1, mean=a.mean(keepdims=True))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError):
        getattr(np, name)(x, ddof=1, correction=1, mean=a.mean(keepdims=True))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mean", [np.zeros(5), np.zeros((2, 1)), np.zeros((6, 5))],
                         ids=["5", "2x1", "6x5"])
def test_mean_that_does_not_broadcast_raises_valueerror(name, mean):
    a = data("f8", nans=False)
    with pytest.raises(ValueError):
        numpy_call(name, a, axis=1, mean=mean)
    x = ga.from_array(a, chunks=2)
    with pytest.raises(ValueError, match="mean with shape"):
        getattr(ga, name)(x, axis=1, mean=mean)


@pytest.mark.parametrize("name", ["var", "std", "nanvar"])
def test_numpy_dtype_errors_with_mean(name):
    b = np.array([True, False, True])
    with pytest.raises(TypeError, match="boolean subtract"):  # NumPy's own error
        getattr(np, name)(b, mean=np.array([True]))
    with pytest.raises(TypeError, match="boolean subtract"):
        getattr(ga, name)(ga.from_array(b), mean=np.array([True]))
    f = np.array([1.0, np.nan, 2.0])
    if name == "nanvar":
        with pytest.raises(TypeError, match="dtype must be inexact"):
            np.nanvar(f, dtype=int, mean=np.zeros(1))
        with pytest.raises(TypeError, match="dtype must be inexact"):
            ga.nanvar(ga.from_array(f), dtype=int, mean=np.zeros(1))
