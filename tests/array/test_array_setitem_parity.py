"""``x[index] = value`` against NumPy for boolean scalars, None and one integer array:
region shapes (NumPy's placement of the advanced dimension), values (scalars, NumPy and
lazy arrays, broadcasting), irregular chunkings, 0-d and empty arrays, and NumPy's errors
(the array unchanged after them)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


A = np.arange(60.0).reshape(3, 4, 5)
CHUNKINGS = [(2, 3, 2), (1, (1, 3), (4, 1)), (3, (0, 4), (2, 0, 3)), -1]
CHUNK_IDS = ["regular", "irregular", "with-empty-blocks", "single"]

INDICES = [
    True, False, None, (Ellipsis, None), (None, Ellipsis), (None, None), (True, None),
    (0, slice(None), True), (slice(None), True, [1, 2]), (True, slice(None), [1, 2]),
    (0, None, [1, 2]), ([1, 2], None, 0), [0, 2], (slice(None), [3, 1]),
    (slice(None), [3, 1, 3]), ([-1, 0, -1],), (slice(None, None, -1), [0, 0, 3], slice(1, None, -1)),
    (slice(None), [0, 1], Ellipsis, 0), (1, [3, 0], 2), (np.array([True, False, True]),),
    (slice(None), np.array([True, False, True, True])), (True, True), (None, 0, None, [2], None),
    ([],), (True, [0]), (False, [0]), ([2, 0], slice(None, None, 2), slice(4, 0, -3)),
    (Ellipsis, [4, 4, 1]), (np.array(1), slice(None)), (np.int64(2), [np.int64(-2)]),
    (slice(None), slice(None), np.array([4, 0, 2, 0])), (1, True, slice(1, 3)),
    ([2, 1, 0, 1], Ellipsis), (0, 3, [4, 4]), (np.True_, 1), (np.array(True), 0, [1]),
]


def _numpy_set(a, index, value):
    out = a.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out[index] = np.asarray(value) if isinstance(value, ga.Array) else value
    return out


def _values(region, rng):
    full = rng.integers(-50, 50, size=region).astype(float)
    # A broadcast form: every other dimension of length one, plus a leading length-1 axis.
    bcast = full[tuple(slice(0, 1) if i % 2 else slice(None) for i in range(len(region)))]
    out = [("scalar", 7.5), ("numpy", full), ("numpy-broadcast", bcast[None]),
           ("lazy", ga.from_array(full, chunks=2)),
           ("lazy-broadcast", ga.from_array(bcast, chunks=1))]
    if full.size:  # an empty nested list loses its shape
        out.append(("list", full.tolist()))
    return out


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_setitem_matches_numpy(index, chunks):
    rng = np.random.default_rng(0)
    region = A[index].shape
    for label, value in _values(region, rng):
        expected = _numpy_set(A, index, value)
        x = ga.from_array(A, chunks=chunks)
        x[index] = value
        got = run(x)
        assert got.dtype == expected.dtype, label
        np.testing.assert_array_equal(got, expected, err_msg=label)


def test_setitem_keeps_earlier_references_and_copies():
    x = ga.from_array(A, chunks=2)
    y = x
    z = x.copy()
    old = x[:, [1]]
    x[:, [1, 3]] = -1.0
    assert y is x
    expected = A.copy()
    expected[:, [1, 3]] = -1.0
    np.testing.assert_array_equal(run(x), expected)
    np.testing.assert_array_equal(run(z), A)
    np.testing.assert_array_equal(run(old), A[:, [1]])


def test_setitem_value_copied_at_assignment():
    a = np.zeros(6)
    v = np.array([1.0, 2.0])
    x = ga.from_array(a, chunks=4)
    x[[5, 0]] = v
    v[:] = 99  # NumPy would have copied the values already
    a[[5, 0]] = [1.0, 2.0]
    np.testing.assert_array_equal(run(x), a)


def test_repeated_indices_last_write_wins():
    a = np.zeros(7)
    x = ga.from_array(a, chunks=3)
    index = [0, 4, 0, 6, 4, 4]
    values = np.arange(1.0, 7.0)
    a[index] = values
    x[index] = values
    np.testing.assert_array_equal(run(x), a)
    b = np.zeros((4, 3))
    y = ga.from_array(b, chunks=(1, 2))
    b[[3, 1, 3], 1:] = [[1, 2], [3, 4], [5, 6]]
    y[[3, 1, 3], 1:] = ga.from_array(np.array([[1, 2], [3, 4], [5, 6]]), chunks=1)
    np.testing.assert_array_equal(run(y), b)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_integer_array_setitem_hypothesis(data):
    shape = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
    a = np.arange(float(np.prod(shape))).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    axis = data.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    positions = data.draw(st.lists(st.integers(-n, n - 1), min_size=0, max_size=6))
    index = []
    for ax, m in enumerate(shape):
        if ax == axis:
            index.append(positions)
        else:
            index.append(data.draw(st.one_of(
                st.integers(-m, m - 1),
                st.builds(slice, st.none() | st.integers(-m, m), st.none() | st.integers(-m, m),
                          st.none() | st.sampled_from([1, 2, -1, -2])))))
    extra = data.draw(st.sampled_from([(), (None,), (True,), (Ellipsis,)]))
    where = data.draw(st.integers(0, len(index)))
    index = tuple(index[:where]) + extra + tuple(index[where:])
    region = a[index].shape
    lazy = data.draw(st.booleans())
    value = np.arange(100.0, 100.0 + np.prod(region)).reshape(region)
    expected = _numpy_set(a, index, value)
    x = ga.from_array(a, chunks=chunks)
    x[index] = ga.from_array(value, chunks=2) if lazy and value.ndim else value
    np.testing.assert_array_equal(run(x), expected)


def _check_like_numpy(a, chunks, index, value):
    """``x[index] = value`` gives NumPy's result, or NumPy's error type with ``x``
    unchanged."""
    try:
        expected = _numpy_set(a, index, value)
    except Exception as err:
        x = ga.from_array(a, chunks=chunks)
        name = x.name
        with pytest.raises(type(err)):
            x[index] = value
        assert x.name == name
        np.testing.assert_array_equal(run(x), a)
        return
    x = ga.from_array(a, chunks=chunks)
    x[index] = value
    got = run(x)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("index", [Ellipsis, True, False, None, (None, None), (True, None),
                                   (Ellipsis, None), np.array(True), (np.True_,)], ids=repr)
def test_setitem_zero_d(index):
    z = np.array(1.0)
    for value in [5, np.array(5.0), np.array([5.0]), np.array([[5.0]]), np.array([5.0, 6.0]),
                  ga.from_array(np.array([3.0])), ga.from_array(np.array(2.0))]:
        _check_like_numpy(z, (), index, value)


@pytest.mark.parametrize("index", [True, False, None, [], (slice(None), [0, 2]),
                                   (Ellipsis, None), (slice(None), None, [1])], ids=repr)
def test_setitem_empty(index):
    e = np.ones((0, 3))
    for value in [5, np.ones(3), np.ones(2), np.ones((0, 2)), np.ones((1, 3)),
                  ga.from_array(np.ones(3))]:
        _check_like_numpy(e, 2, index, value)


def test_false_selects_nothing_and_keeps_the_graph():
    x = ga.from_array(A, chunks=2)
    name = x.name
    x[False] = 3.0
    x[..., [], :] = np.ones((3, 0, 5))
    assert x.name == name  # nothing selected: the same graph
    np.testing.assert_array_equal(run(x), A)


def test_one_d_mask_with_array_value():
    a = np.arange(6.0)
    m = a % 2 == 0
    x = ga.from_array(a, chunks=4)
    x[m] = ga.from_array(np.array([10.0, 20.0, 30.0]), chunks=2)
    b = a.copy()
    b[m] = [10.0, 20.0, 30.0]
    np.testing.assert_array_equal(run(x), b)
    y = ga.from_array(a, chunks=4)
    y[m] = np.array([-1.0])  # a length-1 value broadcasts, as NumPy's
    b = a.copy()
    b[m] = -1.0
    np.testing.assert_array_equal(run(y), b)


@pytest.mark.parametrize("dtype, index, value", [
    (np.int8, [0, 3], 300), (np.int8, (True, [1]), -129), (np.int8, [1], np.nan),
    (np.int8, [1], 1j), (np.int8, False, 300), (np.int8, [0, 1], np.ones(3)),
    (np.int8, [0], np.ones((2, 1))), (np.int8, [0, 1], [1, 2, 3]), (np.int8, [9], np.ones(2)),
    (np.int8, (True, [9]), [1, 2]), (np.int8, [9], 300),
    (np.int8, (False, [0, 1]), 1), (np.int8, (False, [0, 1]), 300), (np.int8, [0, 1], "a"),
    (np.int8, np.array([True, False] * 3 + [True]), [[1, 2, 3]]),
    (np.int8, [True, False] * 3 + [True], np.ones(3)), (np.int8, (0, None), np.ones(2)),
    (np.int8, (None, [3]), np.ones((2, 1))),
])
def test_errors_match_numpy_and_leave_x_unchanged(dtype, index, value):
    a = np.arange(7).astype(dtype)
    b = a.copy()
    with pytest.raises(Exception) as theirs:
        b[index] = value
    x = ga.from_array(a, chunks=3)
    name = x.name
    with pytest.raises(type(theirs.value)):
        x[index] = value
    assert x.name == name
    np.testing.assert_array_equal(run(x), a)


def test_value_broadcast_error_names_the_shapes():
    x = ga.from_array(np.zeros((3, 4)), chunks=2)
    with pytest.raises(ValueError, match=r"\(3,\).*\(3,2\)"):
        x[:, [0, 1]] = np.ones(3)
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 4"):
        x[:, [0, 4]] = 1


def test_lazy_and_untouched_blocks_are_passed_through():
    calls = []

    def block(b):
        calls.append(b.shape)
        return b

    x = ga.from_array(np.zeros((6, 6)), chunks=3).map_blocks(block, dtype=float)
    x[[4, 5], 1:2] = ga.from_array(np.ones((2, 1)), chunks=1)
    x[None, True, 0] = 2.0
    assert calls == []  # nothing computed at assignment time
    tasks = dict(x._graph.layers[x.name])
    funcs = sorted(t.func.__name__ for t in tasks.values())
    # The last assignment writes row 0: only the two blocks holding it are copied.
    assert funcs.count("_assign") == 2 and funcs.count("_identity") == 2
    expected = np.zeros((6, 6))
    expected[[4, 5], 1:2] = 1.0
    expected[None, True, 0] = 2.0
    np.testing.assert_array_equal(run(x), expected)


def test_supported_index_bounds_and_unsupported_forms():
    a = np.zeros((3, 4))
    x = ga.from_array(a, chunks=2)
    x[[2, -3]] = 1.0  # one integer array: supported
    a[[2, -3]] = 1.0
    np.testing.assert_array_equal(run(x), a)
    for index in ([3], [-4], (True, [3]), (slice(None), [0, 4]), [0.5], [[True] * 3]):
        with pytest.raises(IndexError):  # NumPy's bounds and index-type errors
            a.copy()[index] = 1.0
        with pytest.raises(IndexError):
            x[index] = 1.0
    for index in ((np.array([[0, 1]]),), ([0, 1], [1, 2]), (ga.from_array(np.array([0, 1])),),
                  (ga.from_array(np.ones(3, bool)),)):
        with pytest.raises(NotImplementedError):
            x[index] = 1.0
    np.testing.assert_array_equal(run(x), a)


def test_every_mix_of_entries_around_an_ellipsis_writes_where_numpy_writes():
    """ints, slices (a negative step too), None, True, False, one list and an Ellipsis
    anywhere, on a 3-d array, with a value of the region's shape: NumPy's result."""
    import itertools
    a0 = np.arange(60).reshape(3, 4, 5)
    entries = [slice(None), 0, [1, 0], True, None, slice(3, 0, -2), False]
    checked = 0
    for k in (1, 2, 3):
        for combo in itertools.product(entries, repeat=k):
            for pos in range(k + 1):
                index = combo[:pos] + (Ellipsis,) + combo[pos:]
                if sum(isinstance(v, list) for v in index) > 1:
                    continue  # several index arrays: not supported
                try:
                    region = a0[index].shape
                except IndexError:
                    continue
                value = -np.arange(1, 1 + int(np.prod(region))).reshape(region)
                expected = a0.copy()
                expected[index] = value
                x = ga.from_array(a0, chunks=2)
                x[index] = value
                np.testing.assert_array_equal(x.compute(scheduler="sync"), expected,
                                              err_msg=str(index))
                checked += 1
    assert checked > 1000
