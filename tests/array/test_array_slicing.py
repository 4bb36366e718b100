"""Indexing against NumPy: ints, slices with any step, None, Ellipsis, integer and
boolean arrays (NumPy and lazy), vindex, setitem, and NumPy's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


A = np.arange(4 * 6 * 5).reshape(4, 6, 5)
X = ga.from_array(A, chunks=(3, 4, 2))


@pytest.mark.parametrize("index", [
    0, -1, (1, 2), (1, 2, 3), slice(None), slice(1, 3), (slice(None), slice(None, None, -1)),
    (slice(None, None, 2), slice(5, 0, -2)), (Ellipsis, 1), (None, 1, Ellipsis, None),
    (slice(None), None, slice(2, 4)), (slice(10, 20),), (slice(-2, None), -3, slice(None, None, -3)),
    (slice(3, 1),), ([3, 0, 0],), (slice(None), [5, 1, 2]), (1, [0, 4], slice(None)),
    (slice(None), np.array([True, False, True, True, False, True])),
    (np.array([[0, 1], [3, 2]]),), (Ellipsis, [4, -1]), (0, slice(None), [1, 0]),
])
def test_getitem_matches_numpy(index):
    expected = A[index]
    got = X[index]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)


def test_zero_d_and_empty_indexing():
    z = ga.from_array(np.array(7))
    assert int(run(z[()])) == 7 and run(z[None]).shape == (1,)
    e = ga.from_array(np.empty((0, 4)), chunks=2)
    assert run(e[:, 1:3]).shape == (0, 2)


@pytest.mark.parametrize("index, message", [
    (4, "index 4 is out of bounds for axis 0 with size 4"),
    ((0, -7), "index -7 is out of bounds for axis 1 with size 6"),
    ((0, 0, 0, 0), "too many indices for array: array is 3-dimensional, but 4 were indexed"),
    ((Ellipsis, 0, Ellipsis), "an index can only have a single ellipsis"),
    (([0, 9],), "index 9 is out of bounds for axis 0 with size 4"),
    ((1.5,), "only integers, slices"),
    ((slice(None), np.array([True, False])), "boolean index did not match"),
])
def test_bad_indices_raise_indexerror_like_numpy(index, message):
    with pytest.raises(IndexError) as ours:
        X[index]
    assert message in str(ours.value)
    with pytest.raises(IndexError):
        A[index]


def test_boolean_numpy_mask_over_whole_array():
    a = np.arange(20.0).reshape(4, 5)
    x = ga.from_array(a, chunks=(3, 2))
    np.testing.assert_array_equal(run(x[a % 3 == 0]), a[a % 3 == 0])


def test_lazy_boolean_masks_give_unknown_chunks_until_computed():
    a = np.arange(20.0).reshape(4, 5)
    x = ga.from_array(a, chunks=(3, 2))
    y = x[x > 7]
    assert math.isnan(y.shape[0])
    np.testing.assert_array_equal(run(y), a[a > 7])
    y.compute_chunk_sizes()
    assert sum(y.chunks[0]) == (a > 7).sum() and y.shape == ((a > 7).sum(),)
    np.testing.assert_array_equal(run(y[1:3]), a[a > 7][1:3])
    cols = x[:, x[0] > 1]
    np.testing.assert_array_equal(run(cols), a[:, a[0] > 1])
    with pytest.raises(ValueError, match="unknown"):
        x[x > 7][1:3]


def test_vindex_is_pointwise():
    np.testing.assert_array_equal(run(X.vindex[[0, 3, 2], [1, 5, 0]]), A[[0, 3, 2], [1, 5, 0]])
    np.testing.assert_array_equal(run(X.vindex[[[0], [3]], [1, -1]]), A[[[0], [3]], [1, -1]])
    with pytest.raises(IndexError, match="out of bounds"):
        X.vindex[[0, 4], [0, 0]]


def test_setitem_with_slices_ints_and_masks():
    a = np.arange(30.0).reshape(5, 6)
    cases = [
        ((slice(1, 4), slice(None, None, 2)), -1.0),
        ((slice(None, None, -2), 3), np.arange(3.0)),
        ((2,), np.arange(6.0) * 10),
        ((slice(0, 2), slice(1, 5)), np.ones((2, 4)) * 7),
    ]
    for index, value in cases:
        x = ga.from_array(a, chunks=(2, 4))
        x[index] = value
        b = a.copy()
        b[index] = value
        np.testing.assert_array_equal(run(x), b)
    x = ga.from_array(a, chunks=(2, 4))
    x[x > 20] = 0
    b = a.copy()
    b[b > 20] = 0
    np.testing.assert_array_equal(run(x), b)
    x = ga.from_array(a, chunks=(2, 4))
    x[1:3, 2:5] = ga.from_array(np.full((2, 3), 5.0), chunks=1)
    b = a.copy()
    b[1:3, 2:5] = 5.0
    np.testing.assert_array_equal(run(x), b)


def test_setitem_out_of_bounds_raises_indexerror():
    x = ga.ones((3, 3), chunks=2)
    with pytest.raises(IndexError, match="out of bounds"):
        x[3, 0] = 1


slices = st.builds(slice, st.one_of(st.none(), st.integers(-8, 8)),
                   st.one_of(st.none(), st.integers(-8, 8)),
                   st.one_of(st.none(), st.integers(-3, 3).filter(bool)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 7), data=st.data())
def test_slicing_matches_numpy_for_any_slice_and_chunking(n, data):
    a = np.arange(n * 3).reshape(n, 3)
    chunks = data.draw(st.integers(1, max(n, 1)))
    s = data.draw(slices)
    x = ga.from_array(a, chunks=(chunks, 2))
    got = x[s, ::-1]
    assert got.shape == a[s, ::-1].shape
    np.testing.assert_array_equal(run(got), a[s, ::-1])


def test_lazy_integer_index_arrays():
    a = np.arange(30).reshape(6, 5)
    x = ga.from_array(a, chunks=(4, 2))
    idx = ga.from_array(np.array([5, 0, 3, 3, -1]), chunks=2)
    np.testing.assert_array_equal(run(x[idx]), a[[5, 0, 3, 3, -1]])
    np.testing.assert_array_equal(run(x[1:, idx[:3] % 5]), a[1:, [0, 0, 3]])
    with pytest.raises(IndexError, match="out of bounds"):
        run(x[ga.from_array(np.array([9]), chunks=1)])
