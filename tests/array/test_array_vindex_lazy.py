"""x.vindex[...] with lazy (graphengine) integer index arrays, alone or mixed with NumPy
arrays, lists, ints and slices, against NumPy's pointwise (broadcast) fancy indexing."""
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
X = ga.from_array(A, chunks=((1, 3), (2, 1, 3), (4, 1)))


def lazy(v, chunks=1):
    return ga.from_array(np.asarray(v), chunks=chunks)


def _numpy_index(index):
    return tuple(run(v) if isinstance(v, ga.Array) else v for v in index)


def _check(x, a, index):
    expected = a[_numpy_index(index)]
    got = x.vindex[index]
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    out = run(got)
    assert type(out) is type(expected)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("index", [
    (lazy([0, 3, -1]), lazy([5, -6, 2], 2)),                  # two lazy, different chunks
    (lazy([0, 3, -1]), [5, 0, 2], lazy([-1, 0, 4], 3)),       # lazy, list, lazy
    (lazy([[0], [3]]), lazy([1, 5, 0], 2)),                   # broadcast (2, 1) with (3,)
    (lazy([[1, 2], [0, 3]], (1, 2)),),                        # one 2-d lazy array
    (slice(None), lazy([4, 0, -1, 2], 3), 3),                 # int next to it: in place
    (1, slice(None), lazy([0, 4], 1)),                        # int apart from it: first
    (lazy([1, 0]), slice(None, None, -2), lazy([[4], [1]])),  # a slice between: first
    (Ellipsis, lazy([[0, 1, 4]], (1, 2))),
    (lazy([2, 3]), None, np.array([[1], [5]])),               # None between: first
    (slice(1, 3), lazy([5, 0]), np.array(2)),
    (np.array([True, False, True, True]), lazy([0, 5, 1])),   # NumPy mask and lazy array
    (True, lazy([0, 1]), 2),                                  # boolean scalar
    (lazy(np.zeros(0, int)), slice(None), lazy(np.zeros(0, int))),  # empty
    (lazy(np.zeros((2, 0), int)), lazy([1])),
])
def test_lazy_index_arrays_match_numpy_pointwise_indexing(index):
    _check(X, A, index)


def test_zero_d_lazy_indices_give_a_numpy_scalar_and_empty_arrays_work():
    _check(X, A, (lazy(3, ()), lazy(-1, ()), lazy(2, ())))
    _check(X, A, (lazy([3, 0, -1], 2),))  # one lazy array, the other axes whole
    _check(X, A, (slice(None), lazy([[5, 0]], (1, 1))))
    _check(X, A, (lazy(3, ()), 2, slice(None)))
    z = np.zeros((0, 3))
    _check(ga.from_array(z), z, (lazy(np.zeros(0, int)), lazy(np.zeros(0, int))))
    _check(ga.from_array(z), z, (slice(None), lazy(np.zeros((2, 0), int))))
    e = np.arange(6.0).reshape(2, 3)
    _check(ga.from_array(e, chunks=1), e, (lazy(np.zeros((0, 2), int)), lazy([0, 2])))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "uint64", "int64"])
def test_any_integer_index_dtype_even_narrower_than_the_axis(dtype):
    a = np.arange(300 * 2).reshape(300, 2)
    x = ga.from_array(a, chunks=(128, 1))
    i = np.array([0, 1, 127, 5] if np.dtype(dtype).kind == "u" else [0, -1, 127, -128], dtype)
    got = run(x.vindex[lazy(i, 3), lazy([1, 0, 1, 0])])
    np.testing.assert_array_equal(got, a[i.astype(np.intp), [1, 0, 1, 0]])


def _chunking(data, n):
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    return tuple(b - a for a, b in zip([0, *cuts], [*cuts, n]))


def _broadcastable(shape):
    """Shapes that broadcast to ``shape`` (trailing dims kept, some set to 1)."""
    return st.integers(0, len(shape)).flatmap(lambda k: st.tuples(
        *[st.sampled_from([1, n]) for n in shape[len(shape) - k:]]))


slices = st.builds(slice, st.one_of(st.none(), st.integers(-6, 6)),
                   st.one_of(st.none(), st.integers(-6, 6)),
                   st.one_of(st.none(), st.integers(-3, 3).filter(bool)))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_random_mixed_indices_with_lazy_arrays_match_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=2, max_size=3)))
    a = np.arange(math.prod(shape)).reshape(shape)
    x = ga.from_array(a, chunks=tuple(_chunking(data, n) for n in shape))
    bshape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    # The first two axes take an array (the first a lazy one), the rest anything.
    kinds = ["lazy", data.draw(st.sampled_from(["lazy", "numpy", "list", "int"]))]
    kinds += [data.draw(st.sampled_from(["lazy", "numpy", "int", "slice", "none"]))
              for _ in shape[2:]]
    index = []
    for n, kind in zip(shape, kinds):
        if kind == "int":
            index.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            index.append(data.draw(slices))
        elif kind == "none":
            index.extend([None, slice(None)])
        else:
            s = data.draw(_broadcastable(bshape))
            v = np.asarray(data.draw(st.lists(st.integers(-n, n - 1), min_size=math.prod(s),
                                              max_size=math.prod(s))), dtype=np.intp)
            v = v.reshape(s)
            if kind == "lazy":
                v = ga.from_array(v, chunks=tuple(_chunking(data, m) if m else 1 for m in s))
            index.append(v.tolist() if kind == "list" else v)
    index = tuple(index)
    _check(x, a, index)


def test_out_of_bounds_lazy_indices_raise_numpys_indexerror_when_computed():
    for index in [(lazy([0, 4]), lazy([0, 0])),
                  (lazy([0, 1]), slice(None), lazy([1, -6])),
                  (None, slice(None), lazy([[6]]), 0),
                  (lazy([-5]), [0])]:
        with pytest.raises(IndexError) as exp:
            A[_numpy_index(index)]
        got = X.vindex[index]  # the values are unknown until computed
        with pytest.raises(IndexError, match=f"^{exp.value}$"):
            run(got)
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 0"):
        run(ga.zeros((0, 2)).vindex[lazy([0]), lazy([1])])
    # A NumPy index next to a lazy one is still checked at once.
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 1 with size 6"):
        X.vindex[lazy([0]), [7]]


def test_eager_errors_and_unknown_chunk_sizes():
    with pytest.raises(IndexError, match="shape mismatch: indexing arrays could not be "
                                         r"broadcast together with shapes \(2,\) \(3,\)"):
        X.vindex[lazy([0, 1]), lazy([0, 1, 2])]
    with pytest.raises(IndexError, match="arrays used as indices must be of integer"):
        X.vindex[lazy([0.5]), lazy([1])]
    with pytest.raises(IndexError, match="too many indices"):
        X.vindex[lazy([0]), lazy([0]), lazy([0]), lazy([0])]
    v = lazy([3, -1, 0, 2, 1], 2)
    picked = v[v >= 0]  # chunk sizes unknown until computed
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        X.vindex[picked, lazy([0, 1, 2, 3])]
    alone = X.vindex[:, :, picked]  # one 1-d lazy array alone: taken as by X[:, :, picked]
    assert alone.shape[:2] == (4, 6) and math.isnan(alone.shape[2])
    np.testing.assert_array_equal(run(alone), A[:, :, run(picked)])
    picked.compute_chunk_sizes()
    _check(X, A, (picked, lazy([0, 1, 2, 3])))
    mask = lazy([True, False, True, False])
    with pytest.raises(NotImplementedError, match="lazy boolean index"):
        X.vindex[mask, lazy([0, 1])]


def test_lazy_index_built_from_other_arrays_with_the_threads_scheduler():
    a = np.arange(40 * 30, dtype=float).reshape(40, 30)
    x = ga.from_array(a, chunks=(7, 8))
    i = (ga.arange(200, chunks=30) * 7) % 40 - 40          # negative, lazy arithmetic
    j = (ga.arange(200, chunks=45) * 11) % 30
    got = x.vindex[i, j]
    assert got.chunks == ((30, 15, 15, 30, 30, 15, 15, 30, 20),)
    expected = a[(np.arange(200) * 7) % 40 - 40, (np.arange(200) * 11) % 30]
    np.testing.assert_array_equal(got.compute(), expected)  # default: threads
    rows = x.vindex[i[:, None], j[:3]]  # (200, 1) with (3,): a (200, 3) grid
    np.testing.assert_array_equal(rows.compute(), a[((np.arange(200) * 7) % 40 - 40)[:, None],
                                                    (np.arange(3) * 11) % 30])
