"""ga.linalg.norm over a pair of axes of 3-d and 4-d arrays against NumPy: the 2/-2/'nuc'
matrix norms (per matrix, by SVD), the other matrix orders, result dtypes and errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)

ORDS = (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
SVD_ORDS = (2, -2, "nuc")
RNG = np.random.default_rng(42)


def run(x):
    return x.compute(scheduler="sync")


def _data(shape, dtype):
    if np.dtype(dtype).kind == "c":
        return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)
    if np.dtype(dtype) == bool:
        return RNG.random(shape) < 0.5
    return (RNG.normal(size=shape) * 10).astype(dtype)


def _check(a, chunks, ord, axis, keepdims, rtol=1e-7):
    exp = np.linalg.norm(a, ord, axis, keepdims)
    lazy = ga.linalg.norm(ga.from_array(a, chunks=chunks), ord, axis, keepdims)
    assert lazy.shape == exp.shape, (ord, axis, keepdims)
    got = run(lazy)
    assert lazy.dtype == got.dtype == exp.dtype, (ord, axis, keepdims)
    np.testing.assert_allclose(got, exp, rtol=rtol, atol=1e-12, err_msg=f"{ord} {axis}")


def _pairs(ndim):
    """Every ordered pair of distinct axes, each as given positive and negative."""
    for r, c in itertools.permutations(range(ndim), 2):
        yield from {(r, c), (r - ndim, c), (r, c - ndim), (r - ndim, c - ndim)}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, chunks", [
    ((3, 4, 5), (2, (1, 3), (4, 1))),
    ((2, 3, 4, 5), ((1, 1), 2, (3, 1), (2, 2, 1))),
    ((4, 2, 6), 1),
])
def test_svd_norms_over_every_axis_pair_match_numpy(shape, chunks, keepdims):
    a = _data(shape, "f8")
    for axis in _pairs(len(shape)):
        for ord in SVD_ORDS:
            _check(a, chunks, ord, axis, keepdims)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_every_matrix_order_over_random_axis_pairs_and_chunks_matches_numpy(data):
    ndim = data.draw(st.integers(3, 4))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    chunks = []
    for n in shape:  # regular or irregular chunks along every axis
        cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
        chunks.append(tuple(b - a for a, b in zip([0, *cuts], [*cuts, n])))
    dtype = data.draw(st.sampled_from(["f8", "f4", "i4", "i1", "bool", "c8", "c16"]))
    axis = data.draw(st.sampled_from(list(_pairs(ndim))))
    keepdims = data.draw(st.booleans())
    a = _data(shape, dtype)
    rtol = 1e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-7
    for ord in ORDS:
        _check(a, tuple(chunks), ord, axis, keepdims, rtol)


@pytest.mark.parametrize("dtype, expected", [
    ("i8", np.float64), ("u1", np.float64), ("bool", np.float64), ("f4", np.float32),
    ("f8", np.float64), ("c8", np.float32), ("c16", np.float64),
])
def test_result_dtypes_follow_numpy(dtype, expected):
    a = _data((2, 3, 4), dtype)
    for ord in ORDS:
        lazy = ga.linalg.norm(ga.from_array(a, chunks=2), ord, (2, 0))
        assert lazy.dtype == np.linalg.norm(a, ord, (2, 0)).dtype == expected, ord
        assert run(lazy).dtype == expected


def test_each_matrix_is_one_block_and_other_axes_keep_their_chunks():
    a = _data((5, 3, 4, 2), "f8")
    x = ga.from_array(a, chunks=(2, 1, 3, 1))
    y = ga.linalg.norm(x, "nuc", axis=(2, 1))
    assert y.chunks == ((2, 2, 1), (1, 1))
    k = ga.linalg.norm(x, -2, axis=(-3, 2), keepdims=True)
    assert k.chunks == ((2, 2, 1), (1,), (1,), (1, 1))
    np.testing.assert_allclose(run(y), np.linalg.norm(a, "nuc", axis=(2, 1)))
    np.testing.assert_allclose(run(k), np.linalg.norm(a, -2, axis=(-3, 2), keepdims=True))


@pytest.mark.parametrize("shape", [(2, 0, 3), (0, 3, 3), (2, 3, 0), (0, 0, 0), (0, 2, 1, 3)])
def test_empty_matrices_and_stacks_match_numpy_or_raise_like_it(shape):
    a = np.zeros(shape)
    for ord, keepdims in itertools.product(ORDS, (False, True)):
        try:
            exp = np.linalg.norm(a, ord, (1, 2), keepdims)
        except ValueError:  # minimum of no singular values / an empty axis: no identity
            with pytest.raises(ValueError):
                run(ga.linalg.norm(ga.from_array(a), ord, (1, 2), keepdims))
            continue
        got = ga.linalg.norm(ga.from_array(a), ord, (1, 2), keepdims)
        assert got.shape == exp.shape and got.dtype == exp.dtype
        np.testing.assert_array_equal(run(got), exp)


def test_svd_norm_errors_match_numpy_when_the_graph_is_built():
    t = np.ones((2, 3, 4))
    x = ga.from_array(t, chunks=2)
    # float16: np.linalg.svd rejects it (TypeError), the other orders keep float16.
    h = t.astype("f2")
    for ord in SVD_ORDS:
        with pytest.raises(TypeError, match="float16 is unsupported in linalg"):
            np.linalg.norm(h, ord, (1, 2))
        with pytest.raises(TypeError, match="float16 is unsupported in linalg"):
            ga.linalg.norm(ga.from_array(h, chunks=2), ord, (1, 2))
    got = ga.linalg.norm(ga.from_array(h, chunks=2), "fro", (1, 2))
    assert got.dtype == np.float16
    np.testing.assert_allclose(run(got), np.linalg.norm(h, "fro", (1, 2)), rtol=1e-3)
    # ord=-2 of empty matrices: ValueError before anything is computed, as NumPy.
    with pytest.raises(ValueError, match="zero-size array"):
        np.linalg.norm(np.zeros((2, 0, 3)), -2, (1, 2))
    with pytest.raises(ValueError, match="zero-size array"):
        ga.linalg.norm(ga.zeros((2, 0, 3), chunks=1), -2, (1, 2))
    # Axis errors keep NumPy's types for these orders too.
    for ord in SVD_ORDS:
        with pytest.raises(np.exceptions.AxisError):
            ga.linalg.norm(x, ord, (0, 3))
        with pytest.raises(ValueError, match="Duplicate axes given"):
            ga.linalg.norm(x, ord, (1, -2))
        np.testing.assert_allclose(run(ga.linalg.norm(x, ord, (0, 2))),
                                   np.linalg.norm(t, ord, (0, 2)), atol=1e-12)


def test_batched_svd_norm_with_the_threads_scheduler():
    a = _data((6, 8, 5, 3), "f8")
    x = ga.from_array(a, chunks=(2, 3, 5, 2))
    for ord in SVD_ORDS:
        got = ga.linalg.norm(x, ord, axis=(1, 2)).compute()  # default: threads
        np.testing.assert_allclose(got, np.linalg.norm(a, ord, axis=(1, 2)))
