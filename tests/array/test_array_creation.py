"""Creating arrays: from NumPy and array-like stores, constants, ranges, random, store."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import graphengine.array as ga
from graphengine import delayed

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


class FakeDataset:
    """An h5py/zarr-like store: shape, dtype, chunks and slicing, counting reads."""

    def __init__(self, data):
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.chunks = (2,) * data.ndim
        self.reads = 0

    def __getitem__(self, index):
        self.reads += 1
        return self.data[index].copy()


def test_from_array_reads_array_like_stores_lazily():
    store = FakeDataset(np.arange(36.0).reshape(6, 6))
    x = ga.from_array(store, chunks=(3, 3))
    assert store.reads == 0
    np.testing.assert_array_equal(run(x), store.data)
    assert store.reads == 4


def test_from_array_auto_chunks_align_with_store_chunks():
    store = FakeDataset(np.zeros((10, 10)))
    x = ga.from_array(store, chunks="auto")
    assert all(c % 2 == 0 for c in x.chunks[0][:-1])


def test_from_array_lock_serializes_reads():
    lock = threading.Lock()
    store = FakeDataset(np.arange(16.0).reshape(4, 4))
    x = ga.from_array(store, chunks=1, lock=lock)
    np.testing.assert_array_equal(x.compute(scheduler="threads"), store.data)
    y = ga.from_array(store, chunks=1, lock=True)
    np.testing.assert_array_equal(y.compute(scheduler="threads"), store.data)


def test_from_array_memmap(tmp_path):
    path = tmp_path / "data.bin"
    mm = np.memmap(path, dtype="f4", mode="w+", shape=(5, 4))
    mm[:] = np.arange(20).reshape(5, 4)
    mm.flush()
    ro = np.memmap(path, dtype="f4", mode="r", shape=(5, 4))
    x = ga.from_array(ro, chunks=2)
    out = run(x.sum(axis=0))
    np.testing.assert_array_equal(out, np.arange(20).reshape(5, 4).sum(axis=0))


def test_asarray_and_array_accept_lists_and_arrays():
    x = ga.asarray([[1, 2], [3, 4]])
    np.testing.assert_array_equal(run(x), [[1, 2], [3, 4]])
    assert ga.asarray(x) is x
    assert ga.array([1.0, 2.0], dtype="f4").dtype == np.float32
    np.testing.assert_array_equal(run(ga.asarray([ga.ones(2, chunks=1), ga.zeros(2, chunks=1)])),
                                  [[1, 1], [0, 0]])


@pytest.mark.parametrize("maker, np_maker", [(ga.zeros, np.zeros), (ga.ones, np.ones)])
def test_zeros_ones_match_numpy(maker, np_maker):
    x = maker((5, 7), chunks=3, dtype="i2")
    np.testing.assert_array_equal(run(x), np_maker((5, 7), dtype="i2"))
    assert x.dtype == np.int16


def test_full_empty_and_like_functions():
    np.testing.assert_array_equal(run(ga.full((3, 2), 7.5, chunks=2)), np.full((3, 2), 7.5))
    assert run(ga.empty((3, 2), chunks=2)).shape == (3, 2)
    base = ga.ones((4, 6), chunks=(2, 3), dtype="i4")
    for like, value in [(ga.zeros_like, 0), (ga.ones_like, 1), (ga.full_like, 9)]:
        y = like(base, 9) if like is ga.full_like else like(base)
        assert y.chunks == base.chunks and y.dtype == base.dtype
        np.testing.assert_array_equal(run(y), np.full((4, 6), value))
    assert isinstance(np.zeros_like(base), ga.Array)
    with pytest.raises(ValueError, match="negative dimensions"):
        ga.zeros((2, -1))
    with pytest.raises(ValueError, match="scalar"):
        ga.full((2,), [1, 2])


@pytest.mark.parametrize("args, kwargs", [((10,), {}), ((2, 20, 3), {}), ((5, -5, -2), {}),
                                          ((0.5, 3.0, 0.25), {}), ((0,), {}),
                                          ((10,), {"dtype": "f4"})])
def test_arange_matches_numpy(args, kwargs):
    x = ga.arange(*args, chunks=3, **kwargs)
    expected = np.arange(*args, **kwargs)
    np.testing.assert_allclose(run(x), expected)
    assert x.dtype == expected.dtype and x.shape == expected.shape


@pytest.mark.parametrize("num, endpoint", [(50, True), (11, False), (1, True), (0, True)])
def test_linspace_matches_numpy(num, endpoint):
    x = ga.linspace(-1, 2, num, endpoint=endpoint, chunks=4)
    np.testing.assert_allclose(run(x), np.linspace(-1, 2, num, endpoint=endpoint))
    y, step = ga.linspace(0, 1, 5, retstep=True, chunks=2)
    assert step == np.linspace(0, 1, 5, retstep=True)[1]


@pytest.mark.parametrize("n, m, k", [(5, None, 0), (4, 6, 2), (6, 3, -1)])
def test_eye_matches_numpy(n, m, k):
    np.testing.assert_array_equal(run(ga.eye(n, M=m, k=k, chunks=2)), np.eye(n, m, k=k))


def test_diag_and_fromfunction_match_numpy():
    v = np.arange(1, 5)
    np.testing.assert_array_equal(run(ga.diag(ga.from_array(v, chunks=3))), np.diag(v))
    np.testing.assert_array_equal(run(ga.diag(ga.from_array(v, chunks=3), k=1)), np.diag(v, 1))
    a = np.arange(20).reshape(4, 5)
    np.testing.assert_array_equal(run(ga.diag(ga.from_array(a, chunks=2), k=-1)), np.diag(a, -1))
    f = lambda i, j: i * 10 + j  # noqa: E731
    np.testing.assert_array_equal(run(ga.fromfunction(f, (4, 5), chunks=(3, 2))),
                                  np.fromfunction(f, (4, 5)))


# --- NumPy parity: dtype=None, arange/linspace in the dtype's arithmetic, eye(N, M) --------

@pytest.mark.parametrize("maker, np_maker", [(ga.zeros, np.zeros), (ga.ones, np.ones),
                                             (ga.empty, np.empty)])
def test_constant_makers_with_dtype_none_are_float64_like_numpy(maker, np_maker):
    # np.dtype(None) is float64; zeros/ones used to take the fill value's int64.
    x = maker((2, 3), dtype=None, chunks=2)
    expected = np_maker((2, 3), dtype=None)
    assert x.dtype == expected.dtype == np.float64
    assert run(x).dtype == np.float64
    if maker is not ga.empty:
        np.testing.assert_array_equal(run(x), expected)


@pytest.mark.parametrize("like, np_like", [(ga.zeros_like, np.zeros_like),
                                           (ga.ones_like, np.ones_like),
                                           (ga.empty_like, np.empty_like)])
@pytest.mark.parametrize("a", [np.arange(4, dtype="i2"), np.ones(3, dtype="f4"), [1, 2]])
def test_like_makers_with_dtype_none_keep_the_dtype_like_numpy(like, np_like, a):
    x = like(a, dtype=None)
    assert x.dtype == np_like(a, dtype=None).dtype
    assert run(x).dtype == x.dtype
    assert ga.full_like(a, 3, dtype=None).dtype == np.full_like(a, 3, dtype=None).dtype


@pytest.mark.parametrize("chunks", [1, 2, 3, -1])
def test_arange_float_step_int_dtype_matches_numpy_for_any_chunks(chunks):
    # NumPy stores start and start + step in the dtype (0, 1) and adds that delta.
    x = ga.arange(0, 5, 1.5, dtype=int, chunks=chunks)
    expected = np.arange(0, 5, 1.5, dtype=int)
    assert expected.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(run(x), expected)
    assert x.dtype == expected.dtype


_ARANGE_DTYPES = [None, "int8", "int16", "int64", "uint8", "uint64", "float16", "float32",
                  "float64", "complex64", "complex128", "bool", "object"]
_scalars = st.one_of(st.integers(-300, 300),
                     st.floats(-300, 300, allow_nan=False).map(lambda v: round(v, 3)),
                     st.floats(-40, 40, width=32).map(np.float32),
                     st.integers(-100, 100).map(np.int8))


def _same_outcome(make, expected_make):
    """``make()`` matches ``expected_make()`` (NumPy): values, dtypes, or exception type."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = expected_make()
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            with pytest.raises(type(e)):
                run(make())
            return None
        assume(expected.size <= 2000)
        got = make()
        value = run(got)
    assert got.dtype == value.dtype == expected.dtype
    assert got.shape == value.shape == expected.shape
    if expected.dtype == object:
        assert value.tolist() == expected.tolist()
    else:
        np.testing.assert_array_equal(value, expected)
    return got


@settings(max_examples=300, deadline=None)
@given(start=_scalars, stop=_scalars, step=_scalars, dtype=st.sampled_from(_ARANGE_DTYPES),
       chunks=st.integers(1, 7))
def test_arange_matches_numpy_value_for_value(start, stop, step, dtype, chunks):
    assume(step != 0)
    # At most ~2000 values (NumPy would otherwise try to allocate petabytes).
    assume(abs(float(stop) - float(start)) <= 2000 * abs(float(step)))
    _same_outcome(lambda: ga.arange(start, stop, step, dtype=dtype, chunks=chunks),
                  lambda: np.arange(start, stop, step, dtype=dtype))


def test_arange_errors_and_special_dtypes_like_numpy():
    with pytest.raises(OverflowError):  # 200 does not fit int8 (NumPy's setitem)
        ga.arange(100, 400, 100, dtype=np.int8)
    with pytest.raises(OverflowError):
        ga.arange(-1, 3, dtype=np.uint8)
    with pytest.raises(TypeError, match="booleans"):
        ga.arange(0, 3, dtype=bool)
    with pytest.raises(TypeError):
        ga.arange(0, 3, dtype="U3")
    with pytest.raises(ValueError, match="cannot compute length"):
        ga.arange(0, np.nan)
    with pytest.raises(ValueError, match="Maximum allowed size"):
        ga.arange(0, np.inf)
    with pytest.raises(ZeroDivisionError):
        ga.arange(0, 5, 0)
    for args, kw in [((0, 2), {"dtype": bool}), ((0, 5j, 1 + 1j), {}),
                     ((0, 7, 2), {"dtype": "m8[s]"}), ((0.1, 1, 0.1), {"dtype": object}),
                     ((0, 2, 0.1), {"dtype": "f2"}), ((3, 0, -0.7), {"dtype": "i1"})]:
        _same_outcome(lambda: ga.arange(*args, chunks=2, **kw), lambda: np.arange(*args, **kw))


@pytest.mark.parametrize("chunks", [1, 3, -1])
def test_linspace_integer_dtype_floors_like_numpy_2(chunks):
    x = ga.linspace(-5, 0, 4, dtype=int, chunks=chunks)
    assert np.linspace(-5, 0, 4, dtype=int).tolist() == [-5, -4, -2, 0]
    np.testing.assert_array_equal(run(x), np.linspace(-5, 0, 4, dtype=int))
    assert x.dtype == np.dtype(int)


def test_linspace_retstep_num_and_axis_like_numpy():
    _, step = ga.linspace(0, 1, 5, retstep=True)
    expected = np.linspace(0, 1, 5, retstep=True)[1]
    assert type(step) is type(expected) is np.float64 and step == expected
    _, step32 = ga.linspace(np.float32(0), 1, 5, retstep=True)
    assert type(step32) is np.float32
    _, nan_step = ga.linspace(0, 1, 1, retstep=True)  # undefined step: NumPy's float nan
    assert type(nan_step) is type(np.linspace(0, 1, 1, retstep=True)[1])
    assert np.isnan(nan_step)
    with pytest.raises(TypeError):
        np.linspace(0, 1, 2.5)
    with pytest.raises(TypeError):
        ga.linspace(0, 1, 2.5)
    with pytest.raises(ValueError, match="non-negative"):
        ga.linspace(0, 1, -1)
    np.testing.assert_array_equal(run(ga.linspace(0, 1, np.int64(5), axis=-1)),
                                  np.linspace(0, 1, np.int64(5), axis=-1))
    np.testing.assert_array_equal(run(ga.linspace(0, 1, 4, axis=0)), np.linspace(0, 1, 4))
    with pytest.raises(np.exceptions.AxisError):
        np.linspace(0, 1, 5, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        ga.linspace(0, 1, 5, axis=1)
    with pytest.raises(NotImplementedError):
        ga.linspace([0, 1], 2, 3)
    # chunks is keyword-only: NumPy's sixth positional argument is dtype
    assert ga.linspace(0, 10, 5, True, False, "f4").dtype == np.float32


_linspace_ends = st.one_of(st.integers(-1000, 1000),
                           st.floats(-1e6, 1e6, allow_nan=False),
                           st.floats(-1e3, 1e3, width=32).map(np.float32))


@settings(max_examples=300, deadline=None)
@given(start=_linspace_ends, stop=_linspace_ends, num=st.integers(0, 60),
       endpoint=st.booleans(), dtype=st.sampled_from([None, int, "i4", "f2", "f4", "f8",
                                                      "c8"]),
       chunks=st.integers(1, 9))
def test_linspace_matches_numpy_value_for_value(start, stop, num, endpoint, dtype, chunks):
    _same_outcome(lambda: ga.linspace(start, stop, num, endpoint=endpoint, dtype=dtype,
                                      chunks=chunks),
                  lambda: np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype))


def test_eye_takes_numpys_positional_arguments():
    x = ga.eye(3, 4)
    assert x.shape == (3, 4)
    np.testing.assert_array_equal(run(x), np.eye(3, 4))
    y = ga.eye(5, 3, -1, "i4", chunks=2)
    np.testing.assert_array_equal(run(y), np.eye(5, 3, -1, "i4"))
    assert y.dtype == np.int32 and y.chunks == ((2, 2, 1), (2, 1))
    with pytest.raises(TypeError):  # chunks is keyword-only
        ga.eye(3, 4, 0, float, 2)
    for args in [(3, 2.5), (2.0,)]:
        with pytest.raises(TypeError):
            np.eye(*args)
        with pytest.raises(TypeError):
            ga.eye(*args)


# --- random ---------------------------------------------------------------------------------

def test_random_is_reproducible_for_a_seed_on_every_scheduler():
    expected = ga.random.default_rng(42).random((20, 30), chunks=(7, 8)).compute(scheduler="sync")
    for scheduler in ("threads", "processes"):
        got = ga.random.default_rng(42).random((20, 30), chunks=(7, 8)).compute(
            scheduler=scheduler)
        np.testing.assert_array_equal(got, expected)
    assert 0 <= expected.min() and expected.max() < 1
    other = run(ga.random.default_rng(43).random((20, 30), chunks=(7, 8)))
    assert not np.array_equal(other, expected)


def test_random_successive_calls_differ_and_blocks_differ():
    rng = ga.random.default_rng(0)
    a, b = run(rng.random(100, chunks=10)), run(rng.random(100, chunks=10))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[:10], a[10:20])
    x = rng.random(10, chunks=5)
    np.testing.assert_array_equal(run(x), run(x))  # the same array computes the same values


def test_random_distributions_have_the_right_shape_dtype_and_range():
    rng = ga.random.RandomState(7)
    n = rng.normal(10, 2, size=(2000,), chunks=500)
    assert abs(float(run(n.mean())) - 10) < 0.3 and n.dtype == np.float64
    u = rng.uniform(-1, 1, size=(100, 10), chunks=30)
    uu = run(u)
    assert uu.shape == (100, 10) and uu.min() >= -1 and uu.max() < 1
    r = rng.randint(3, 9, size=500, chunks=100)
    rr = run(r)
    assert rr.dtype == np.int64 and rr.min() >= 3 and rr.max() < 9
    c = rng.choice([5, 6, 7], size=300, chunks=100, p=[0.5, 0.5, 0.0])
    assert set(np.unique(run(c))) <= {5, 6}
    assert rng.random(5, dtype="f4", chunks=2).dtype == np.float32
    assert run(ga.random.standard_normal((3, 3), chunks=2)).shape == (3, 3)
    with pytest.raises(ValueError, match="low >= high"):
        rng.randint(5, 5, size=3)
    with pytest.raises(ValueError, match="sum to 1"):
        rng.choice(3, size=3, p=[0.5, 0.1, 0.1])


def test_module_level_seed_makes_module_functions_reproducible():
    ga.random.seed(3)
    a = run(ga.random.random((4, 4), chunks=2))
    ga.random.seed(3)
    b = run(ga.random.random((4, 4), chunks=2))
    np.testing.assert_array_equal(a, b)


# --- from_delayed, store, npy stacks -------------------------------------------------------

def test_from_delayed_makes_a_one_block_array():
    d = delayed(np.arange)(6)
    x = ga.from_delayed(d, shape=(6,), dtype=np.int64)
    np.testing.assert_array_equal(run(x * 2), np.arange(6) * 2)


def test_store_writes_every_block_into_a_setitem_target():
    a = np.arange(30.0).reshape(5, 6)
    x = ga.from_array(a, chunks=(2, 4))
    target = np.zeros((5, 6))
    assert ga.store(x, target, scheduler="sync") is None
    np.testing.assert_array_equal(target, a)
    t1, t2 = np.zeros((5, 6)), np.zeros((8, 6))
    lazy = ga.store([x, x + 1], [t1, t2], regions=[None, (slice(3, 8),)], compute=False)
    assert not t1.any()
    lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(t1, a)
    np.testing.assert_array_equal(t2[3:], a + 1)
    with pytest.raises(ValueError, match="does not match target shape"):
        ga.store(x, np.zeros((2, 2)))


def test_npy_stack_roundtrip(tmp_path):
    a = np.arange(40.0).reshape(8, 5)
    x = ga.from_array(a, chunks=(3, 2))
    ga.to_npy_stack(str(tmp_path / "stack"), x, axis=0)
    y = ga.from_npy_stack(str(tmp_path / "stack"))
    assert y.chunks == ((3, 3, 2), (5,))
    np.testing.assert_array_equal(run(y), a)


def test_more_random_methods_and_empty_like():
    rng = ga.random.default_rng(11)
    assert run(rng.poisson(3.0, size=100, chunks=30)).min() >= 0
    assert run(rng.exponential(2.0, size=(4, 4), chunks=2)).min() >= 0
    b = run(rng.binomial(10, 0.5, size=50, chunks=20))
    assert b.min() >= 0 and b.max() <= 10
    i = run(rng.integers(0, 3, size=40, endpoint=True, chunks=7))
    assert set(np.unique(i)) <= {0, 1, 2, 3}
    p = run(rng.permutation(10))
    np.testing.assert_array_equal(np.sort(p), np.arange(10))
    e = ga.empty_like(ga.ones((3, 4), chunks=2, dtype="i2"))
    assert e.dtype == np.int16 and run(e).shape == (3, 4)
    with pytest.raises(NotImplementedError, match="array-valued"):
        rng.normal(np.zeros(3), 1, size=3)


@pytest.mark.parametrize("like, np_like, extra", [(ga.zeros_like, np.zeros_like, ()),
                                                  (ga.ones_like, np.ones_like, ()),
                                                  (ga.full_like, np.full_like, (7,))])
def test_like_makers_take_numpys_positional_parameters(like, np_like, extra):
    a = np.arange(6, dtype="i4").reshape(2, 3)
    x = ga.from_array(a, chunks=(1, 2))
    # NumPy's order: (a, [fill_value,] dtype, order, subok, shape); chunks is keyword-only.
    got = like(x, *extra, "f4", "C", True, (3, 4))
    expected = np_like(a, *extra, "f4", "C", True, (3, 4))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(run(got), expected)
    assert like(x, *extra).chunks == x.chunks  # a's chunks when the shape is a's
    assert like(x, *extra, chunks=3).chunks == ((2,), (3,))
    with pytest.raises(ValueError, match="order must be one of .* \\(got 'q'\\)"):
        like(x, *extra, order="q")
    with pytest.raises(ValueError):
        np_like(a, *extra, order="q")
