"""Creating arrays: from NumPy and array-like stores, constants, ranges, random, store."""
from __future__ import annotations

import threading

import numpy as np
import pytest

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
