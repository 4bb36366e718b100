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


# --- vindex and several index arrays follow NumPy's fancy indexing ----------------------

A3 = np.arange(24).reshape(2, 3, 4)
X3 = ga.from_array(A3, chunks=2)


@pytest.mark.parametrize("index", [
    ([0, 1], slice(None), [1, 2]),       # separated by a slice: broadcast dims go first
    (slice(None), [0, 1]),               # a leading slice: the array's dims stay in place
    (slice(None), 0, [1, 2]),            # int and array adjacent: in place
    (0, slice(None), [1, 2]),            # int and array separated: first
    (Ellipsis, [0, 1]),
    ([[0], [1]], slice(None, None, -1), [2, 0, 3]),
    (slice(1, None), [2, 0], [[3], [1]]),
    ([0, 1], None, [1, 2]),              # None separates too
    ([1, 0], [2, 2]),
])
def test_vindex_matches_numpy_fancy_indexing(index):
    expected = A3[index]
    got = X3.vindex[index]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)
    assert X3[index].shape == expected.shape  # x[...] with several arrays is the same
    np.testing.assert_array_equal(run(X3[index]), expected)


def test_vindex_of_ints_only_computes_to_a_numpy_scalar():
    got = run(X3.vindex[1, 2, 3])
    assert type(got) is type(A3[1, 2, 3]) and got == A3[1, 2, 3]
    assert run(X3.vindex[1, 2]).tolist() == A3[1, 2].tolist()


def _broadcastable(shape):
    """Shapes that broadcast to ``shape`` (trailing dims kept, some set to 1)."""
    return st.integers(0, len(shape)).flatmap(lambda k: st.tuples(
        *[st.sampled_from([1, n]) for n in shape[len(shape) - k:]]))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_pointwise_indexing_matches_numpy_for_random_indices(data):
    shape = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
    a = np.arange(math.prod(shape)).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    x = ga.from_array(a, chunks=chunks)
    bshape = data.draw(st.lists(st.integers(0, 3), max_size=2).map(tuple))
    index = []
    for n in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "array", "none"]))
        if kind == "int":
            index.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            index.append(data.draw(slices))
        elif kind == "array":
            s = data.draw(_broadcastable(bshape))
            index.append(np.asarray(data.draw(st.lists(st.integers(-n, n - 1), min_size=math.prod(s),
                                                       max_size=math.prod(s)))).reshape(s)
                         .astype(np.intp))
        else:
            index.extend([None, slice(None)])
    index = tuple(index)
    expected = a[index]
    got = x.vindex[index]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)
    got = x[index]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)


# --- boolean masks NumPy accepts --------------------------------------------------------

@pytest.mark.parametrize("index", [
    np.ones((2, 3), bool),
    np.array([[True, False, True], [False, False, True]]),
    (slice(None), A3[0] % 3 == 0),                 # a 2-d mask over the trailing axes
    (np.array([[True, False, True], [False, True, True]]), [0, 1, 2, 3]),
    (A3 % 5 == 0).tolist(),                        # full shape, as nested Python lists
    (A3[:, :, 0] > 4).tolist(),
    (Ellipsis, A3[0] > 5),
])
def test_numpy_boolean_masks_over_several_axes(index):
    expected = A3[index]
    got = X3[index]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)


def test_lazy_boolean_mask_over_the_leading_axes():
    m = X3[:, :, 0] > 4
    got = X3[m]
    assert math.isnan(got.shape[0]) and got.shape[1:] == (4,)
    np.testing.assert_array_equal(run(got), A3[A3[:, :, 0] > 4])
    np.testing.assert_array_equal(run(X3[1:][m[1:]]), A3[1:][A3[1:, :, 0] > 4])
    m2 = X3[0] > 5  # over the trailing axes
    np.testing.assert_array_equal(run(X3[:, m2]), A3[:, A3[0] > 5])
    with pytest.raises(IndexError, match="boolean index did not match"):
        X3[ga.from_array(np.ones((3, 3), bool), chunks=2)]
    with pytest.raises(IndexError, match="boolean index did not match indexed array along axis 0"):
        X3[np.ones((3, 3), bool)]
    with pytest.raises(IndexError):
        A3[np.ones((3, 3), bool)]


@pytest.mark.parametrize("index", [
    True, False, (True, True), (True, False), (slice(None), True), (0, True),
    (True, [0, 1]), (slice(None), True, [0, 1]), ([0, 1], slice(None), True),
    np.True_, np.array(False),
])
def test_boolean_scalars_add_an_axis_like_numpy(index):
    for a in (A3, np.array(7.5)):
        try:
            expected = a[index]
        except IndexError:
            continue
        got = ga.from_array(a, chunks=2)[index]
        assert got.shape == expected.shape
        np.testing.assert_array_equal(run(got), expected)


def test_zero_d_array_with_boolean_scalar():
    z = ga.from_array(np.array(7))
    assert run(z[True]).tolist() == [7] and z[True].shape == (1,)
    assert z[False].shape == (0,) and run(z[False]).shape == (0,)


# --- setitem: NumPy's casting errors and broadcasting rule ------------------------------

@pytest.mark.parametrize("dtype, value, error, message", [
    (np.int8, 300, OverflowError, "Python integer 300 out of bounds for int8"),
    (np.int64, np.nan, ValueError, "cannot convert float NaN to integer"),
    (np.float64, 1 + 2j, TypeError, "complex"),
])
@pytest.mark.parametrize("where", ["numpy mask", "lazy mask", "slice", "int"])
def test_setitem_casting_errors_match_numpy_and_change_nothing(dtype, value, error, message,
                                                               where):
    a = np.arange(4).astype(dtype)
    y = ga.from_array(a, chunks=2)
    index = {"numpy mask": a > 1, "lazy mask": y > 1, "slice": slice(1, 3), "int": 2}[where]
    with pytest.raises(error, match=message):
        a.copy()[a > 1 if where == "lazy mask" else index] = value
    with pytest.raises(error, match=message):
        y[index] = value
    np.testing.assert_array_equal(run(y), a)  # the failed assignment left y as it was
    assert y.dtype == a.dtype


def test_setitem_mask_casts_like_numpy():
    a = np.arange(6)
    for value in (3.7, np.float32(-2.5), True, "5"):
        y = ga.from_array(a, chunks=4)
        y[y > 2] = value
        b = a.copy()
        b[b > 2] = value
        np.testing.assert_array_equal(run(y), b)


@pytest.mark.parametrize("index, shape", [
    ((1, slice(None)), (1, 4)), ((1, slice(None)), (1, 1, 4)), ((1, slice(None)), (1, 1, 1)),
    ((slice(1, 3), slice(None)), (1, 2, 1)), ((slice(None), 2), (1, 3)),
])
@pytest.mark.parametrize("lazy", [False, True])
def test_setitem_value_with_leading_length_one_dims(index, shape, lazy):
    a = np.zeros((3, 4))
    value = np.arange(1.0, math.prod(shape) + 1).reshape(shape)
    w = ga.from_array(a, chunks=2)
    w[index] = ga.from_array(value, chunks=1) if lazy else value
    a[index] = value
    np.testing.assert_array_equal(run(w), a)


@pytest.mark.parametrize("index, shape", [
    ((1, slice(None)), (2, 4)), ((slice(1, 3), slice(None)), (3, 1, 4)),
    ((1, slice(None)), (3,)), ((0, 1), (1,)), ((0, 1), (1, 1)),
])
def test_setitem_value_that_does_not_fit_raises_numpys_valueerror(index, shape):
    a = np.zeros((3, 4))
    with pytest.raises(ValueError) as theirs:
        a[index] = np.ones(shape)
    w = ga.from_array(a, chunks=2)
    with pytest.raises(ValueError) as ours:
        w[index] = np.ones(shape)
    assert str(ours.value) == str(theirs.value)
    np.testing.assert_array_equal(run(w), a)


@pytest.mark.parametrize("index", [
    lambda i: (0, slice(None), i),          # an int and the lazy array apart: theirs first
    lambda i: (slice(None), 1, i),          # adjacent: in place
    lambda i: (1, slice(0, 4), i),
    lambda i: (i % 4, slice(None), i),      # two lazy arrays: broadcast pointwise
    lambda i: (np.array([3, 0, 1, 2]), slice(None), i),  # lazy with a NumPy array
    lambda i: (Ellipsis, (i % 4)[:, None] * 0 + i % 4),   # a 2-d lazy index alone
])
def test_lazy_integer_indices_follow_numpys_advanced_indexing_rules(index):
    ni = np.array([4, 0, -1, 2])
    i = ga.from_array(ni, chunks=3)
    got, expected = X[index(i)], A[index(ni)]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(run(got), expected)


def test_a_lazy_index_of_unknown_length_next_to_an_int_moves_first():
    k = X[0, 0][X[0, 0] > 1]  # values 2, 3, 4: a 1-d lazy index of unknown length
    nk = A[0, 0][A[0, 0] > 1]
    got = X[1, 1:6, k]
    assert math.isnan(got.chunks[0][0]) and got.chunks[1] == (3, 2)
    np.testing.assert_array_equal(run(got), A[1, 1:6, nk])


def test_narrow_integer_index_arrays_wrap_negatives_without_overflow():
    b = np.arange(300)
    idx = np.array([-1, 2, -128], np.int8)
    np.testing.assert_array_equal(run(ga.from_array(b, chunks=100)[idx]), b[idx])


@pytest.mark.parametrize("index", [0, -1, np.array([0, 1]), [2]])
def test_ints_and_arrays_on_an_axis_of_unknown_length_ask_for_its_size(index):
    x = ga.arange(10, chunks=3)
    kept = x[x > 2]
    with pytest.raises(ValueError, match="axis 0 of unknown length.*compute_chunk_sizes"):
        kept[index]
    np.testing.assert_array_equal(run(kept.compute_chunk_sizes()[index]),
                                  np.arange(3, 10)[index])


def test_every_mix_of_basic_and_advanced_entries_around_an_ellipsis_matches_numpy():
    """ints, slices, None, True, a list and an Ellipsis anywhere, on a 3-d array: NumPy's
    shape and values, for x[...] and x.vindex[...] (an Ellipsis between advanced indices
    puts their dimensions first even when it covers no axis)."""
    import itertools
    a = np.arange(3 * 4 * 5).reshape(3, 4, 5)
    x = ga.from_array(a, chunks=2)
    entries = [slice(None), 0, [1, 0], True, None, slice(0, 2)]
    checked = 0
    for k in (2, 3):
        for combo in itertools.product(entries, repeat=k):
            for pos in range(k + 1):
                index = combo[:pos] + (Ellipsis,) + combo[pos:]
                try:
                    expected = a[index]
                except IndexError:
                    continue
                for got in (x[index], x.vindex[index]):
                    assert got.shape == expected.shape, index
                    np.testing.assert_array_equal(run(got), expected, err_msg=str(index))
                checked += 1
    assert checked > 800
