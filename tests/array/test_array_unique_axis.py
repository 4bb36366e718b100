"""``unique(axis=...)`` on n-d arrays against NumPy 2: unique sub-arrays sorted
lexicographically, return_index / return_inverse (1-d, along the axis) / return_counts,
irregular chunkings, empty inputs, NaN rows, and NumPy's errors."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)

FLAGS = [dict(zip(("return_index", "return_inverse", "return_counts"), f))
         for f in itertools.product([False, True], repeat=3)]
FLAG_IDS = ["".join(k[7] for k, v in kw.items() if v) or "values" for kw in FLAGS]


def run(x):
    return x.compute(scheduler="sync")


def check(got, expected):
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        value = run(ours)
        assert value.shape == theirs.shape
        assert value.dtype == theirs.dtype
        np.testing.assert_array_equal(value, theirs)


RNG = np.random.default_rng(0)
ARRAYS = {
    "rows-2d": (RNG.integers(0, 2, size=(9, 3)), [(2, 3), ((4, 1, 4), 3), (1, (1, 2)), -1]),
    "3d": (RNG.integers(0, 2, size=(6, 2, 3)).astype(float), [(2, 1, 2), ((1, 5), 2, (2, 1)), -1]),
    "wide": (RNG.integers(0, 3, size=(2, 11)), [(1, 4), (2, (5, 0, 6)), -1]),
}


@pytest.mark.parametrize("kw", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("name", list(ARRAYS))
def test_unique_axis_matches_numpy(name, kw):
    a, chunkings = ARRAYS[name]
    for chunks in chunkings:
        x = ga.from_array(a, chunks=chunks)
        for axis in range(-a.ndim, a.ndim):
            check(ga.unique(x, axis=axis, **kw), np.unique(a, axis=axis, **kw))


@pytest.mark.parametrize("shape, axis", [((0, 3), 0), ((0, 3), 1), ((3, 0), 0), ((3, 0), 1),
                                         ((2, 0, 2), 1), ((2, 0, 2), 0), ((1, 1), 0),
                                         ((1, 5), 1), ((5, 1), 0)])
@pytest.mark.parametrize("kw", [FLAGS[0], FLAGS[-1]], ids=["values", "all"])
def test_unique_axis_empty_and_single(shape, axis, kw):
    a = np.arange(math.prod(shape), dtype=float).reshape(shape) % 2
    x = ga.from_array(a, chunks=2)
    check(ga.unique(x, axis=axis, **kw), np.unique(a, axis=axis, **kw))


@pytest.mark.parametrize("equal_nan", [True, False])
@pytest.mark.parametrize("chunks", [1, 2, 4, -1])
def test_unique_axis_nan_rows_stay_distinct(chunks, equal_nan):
    # NumPy compares whole sub-arrays: a row holding a NaN equals no other row (equal_nan
    # does not apply), and -0.0 equals 0.0.
    a = np.array([[1, np.nan], [1, np.nan], [0, -0.0], [0, 0], [np.nan, 1], [1, 2], [1, 2]])
    x = ga.from_array(a, chunks=(chunks, 2))
    for kw in ({}, {"return_counts": True},
               {"return_index": True, "return_inverse": True, "return_counts": True}):
        got = ga.unique(x, axis=0, equal_nan=equal_nan, **kw)
        expected = np.unique(a, axis=0, equal_nan=equal_nan, **kw)
        got = got if isinstance(got, tuple) else (got,)
        expected = expected if isinstance(expected, tuple) else (expected,)
        for ours, theirs in zip(got, expected):
            value = run(ours)
            assert value.shape == theirs.shape and value.dtype == theirs.dtype
            np.testing.assert_array_equal(value, theirs)  # NaNs compare equal here


@pytest.mark.parametrize("a", [
    np.array([[b"a", b"b"], [b"a", b"a"], [b"a", b"b"]]),
    np.array([["x", "yy"], ["x", "y"], ["x", "yy"]]),
    np.array([[1 + 1j, 2], [1 + 1j, 2], [0, 1j]]),
    np.array([[True, False], [True, False], [False, False]]),
    np.array([[-1, 3], [-1, -2], [4, 0]], dtype=np.int8),
    np.array([[1, 2], [1, 2]], dtype="datetime64[D]"),
], ids=["bytes", "str", "complex", "bool", "int8", "datetime"])
def test_unique_axis_dtypes(a):
    x = ga.from_array(a, chunks=(2, 1))
    for axis in (0, 1):
        kw = FLAGS[-1]
        check(ga.unique(x, axis=axis, **kw), np.unique(a, axis=axis, **kw))


def test_unique_axis_chunks_and_laziness():
    calls = []

    def block(b):
        calls.append(1)
        return b

    a = np.array([[3, 1], [0, 2], [3, 1], [0, 2], [5, 5]])
    x = ga.from_array(a, chunks=(2, 1)).map_blocks(block, dtype=a.dtype)
    values, index, inverse, counts = ga.unique(x, axis=0, return_index=True,
                                               return_inverse=True, return_counts=True)
    assert calls == []  # nothing computed when the graph is built
    assert values.shape[1] == 2 and math.isnan(values.shape[0])
    assert values.chunks[1] == (2,) and math.isnan(values.chunks[0][0])
    assert math.isnan(index.shape[0]) and math.isnan(counts.shape[0])
    assert inverse.chunks == ((2, 2, 1),) and inverse.dtype == np.intp
    cols = ga.unique(ga.from_array(a, chunks=2), axis=1)
    assert cols.chunks[0] == (5,) and math.isnan(cols.chunks[1][0])
    check((values, index, inverse, counts),
          np.unique(a, axis=0, return_index=True, return_inverse=True, return_counts=True))
    np.testing.assert_array_equal(run(values.compute_chunk_sizes()), np.unique(a, axis=0))


def test_unique_axis_inverse_reconstructs():
    a = RNG.integers(0, 2, size=(4, 10))
    x = ga.from_array(a, chunks=(3, 3))
    values, inverse = ga.unique(x, axis=1, return_inverse=True)
    v, inv = run(values), run(inverse)
    assert inv.shape == (10,)  # NumPy 2.x: 1-d along the axis
    np.testing.assert_array_equal(np.take(v, inv, axis=1), a)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_unique_axis_hypothesis(data):
    shape = data.draw(st.lists(st.integers(0, 5), min_size=2, max_size=3).map(tuple))
    a = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=math.prod(shape),
                                      max_size=math.prod(shape)))).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    kw = data.draw(st.sampled_from(FLAGS))
    check(ga.unique(ga.from_array(a, chunks=chunks), axis=axis, **kw),
          np.unique(a, axis=axis, **kw))


def test_unique_axis_errors_match_numpy():
    for a, axis, error in [(np.zeros((2, 2)), 2, np.exceptions.AxisError),
                           (np.zeros((2, 2)), -3, np.exceptions.AxisError),
                           (np.zeros(()), 0, np.exceptions.AxisError),
                           (np.zeros((2, 2), dtype=object), 0, TypeError)]:
        with pytest.raises(error) as theirs:
            np.unique(a, axis=axis)
        with pytest.raises(error) as ours:
            ga.unique(ga.from_array(a), axis=axis)
        assert str(ours.value) == str(theirs.value)


def test_unique_axis_unknown_chunks_raise():
    a = np.arange(12).reshape(4, 3)
    x = ga.from_array(a, chunks=2)
    y = x[x[:, 0] > 2]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        ga.unique(y, axis=0)
    check(ga.unique(y.compute_chunk_sizes(), axis=0), np.unique(a[a[:, 0] > 2], axis=0))


def test_np_unique_dispatches_with_axis():
    a = np.array([[2, 1], [0, 0], [2, 1]])
    got = np.unique(ga.from_array(a, chunks=1), axis=0, return_counts=True)
    check(got, np.unique(a, axis=0, return_counts=True))
