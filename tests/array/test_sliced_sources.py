"""Basic indexing of a created array (constants, random draws) makes only the part of each
block it keeps, with exactly the values of slicing the whole array."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga
from graphengine.collections.base import optimize
from graphengine.collections.array.random import _random_block, _random_block_part

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


entries = st.one_of(
    st.builds(slice, st.one_of(st.none(), st.integers(-9, 9)),
              st.one_of(st.none(), st.integers(-9, 9)),
              st.one_of(st.none(), st.integers(-3, 3).filter(bool))),
    st.integers(-6, 5),
    st.none(),
)


def _index(data, shape: tuple) -> tuple:
    """A basic index for ``shape``: per axis a slice or an in-range int, Nones between."""
    out = []
    for n in shape:
        if data.draw(st.booleans()):
            out.append(None)
        v = data.draw(entries.filter(lambda e: e is not None))
        if isinstance(v, int):
            if n == 0:
                v = slice(None)
            else:
                v = max(-n, min(n - 1, v))
        out.append(v)
    return tuple(out)


MAKERS = {
    "random": lambda s, c: ga.random.default_rng(3).random(s, chunks=c),
    "uniform": lambda s, c: ga.random.default_rng(4).uniform(-2, 5, size=s, chunks=c),
    "normal": lambda s, c: ga.random.default_rng(5).normal(1, 2, size=s, chunks=c),
    "integers": lambda s, c: ga.random.default_rng(6).integers(0, 9, size=s, chunks=c),
    "float32": lambda s, c: ga.random.default_rng(7).random(s, dtype=np.float32, chunks=c),
    "full": lambda s, c: ga.full(s, 2.5, chunks=c),
    "zeros": lambda s, c: ga.zeros(s, dtype=np.int16, chunks=c),
}


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(sorted(MAKERS)), shape=st.lists(st.integers(0, 9), min_size=1,
                                                              max_size=3),
       data=st.data())
def test_a_slice_of_a_source_equals_slicing_the_whole(kind, shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    x = MAKERS[kind](shape, chunks)
    index = _index(data, shape)
    whole = run(x)
    got = x[index]
    expect = whole[index]
    assert got.shape == expect.shape
    assert got.dtype == expect.dtype
    np.testing.assert_array_equal(run(got), expect)


def test_the_sliced_array_is_one_source_layer_without_the_original_blocks():
    x = ga.random.default_rng(0).random((40, 30), chunks=(10, 10))
    y = x[5:25:2, ::-4]
    graph = dict(y.__graphengine_graph__())
    # One task per output block; none of x's blocks is made.
    assert len(graph) == y.npartitions
    assert not any(k[0] == x.name for k in graph)
    np.testing.assert_array_equal(run(y), run(x)[5:25:2, ::-4])


def test_a_sliced_source_costs_what_a_source_of_that_shape_costs():
    x = ga.ones((12, 12), chunks=4)
    y = (x[::3] * 2).sum(axis=1)
    np.testing.assert_array_equal(run(y), np.full(4, 24.0))
    same = (ga.ones((4, 12), chunks=((2, 1, 1), 4)) * 2).sum(axis=1)
    assert y.chunks == same.chunks
    for a, b in [(y, same)]:
        ga_keys, same_keys = a.__graphengine_keys__(), b.__graphengine_keys__()
        assert len(optimize(a.__graphengine_graph__(), ga_keys)) == len(
            optimize(b.__graphengine_graph__(), same_keys))


@pytest.mark.parametrize("local", [
    (slice(0, 3),), (slice(2, 50, 7),), (slice(None, None, -1),), (4,), (slice(40, 2, -5),),
    (slice(5, 5),), (None, slice(1, 9, 2)),
])
def test_a_random_part_draws_a_prefix_of_the_same_stream(local):
    full = _random_block((50, 6), 3, 1234, "random", (), {})
    part = _random_block_part((50, 6), 3, 1234, "random", (), {}, local + (slice(None, None, 2),))
    np.testing.assert_array_equal(part, full[local + (slice(None, None, 2),)])


def test_a_persisted_array_is_sliced_as_stored_data():
    x = ga.random.default_rng(1).random((9, 9), chunks=3)
    kept = x.persist(scheduler="sync")
    np.testing.assert_array_equal(run(kept[::2, 1]), run(x)[::2, 1])


class _RecordingStore:
    """An h5py-like store: shape, dtype and reads by tuples of step-1 slices only."""

    def __init__(self, data: np.ndarray):
        self.data, self.shape, self.dtype = data, data.shape, data.dtype
        self.reads: list = []

    def __getitem__(self, index):
        assert isinstance(index, tuple) and len(index) == self.data.ndim, index
        for s in index:
            assert isinstance(s, slice) and s.step in (None, 1), index
        self.reads.append(index)
        return self.data[index].copy()


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 9), min_size=1, max_size=3), data=st.data())
def test_a_slice_of_a_stored_array_reads_only_step_one_boxes(shape, data):
    shape = tuple(shape)
    a = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    store = _RecordingStore(a)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    x = ga.from_array(store, chunks=chunks, lock=data.draw(st.booleans()))
    index = _index(data, shape)
    got = x[index]
    assert got.shape == a[index].shape
    np.testing.assert_array_equal(run(got), a[index])
    np.testing.assert_array_equal(run(ga.from_array(a, chunks=chunks)[index]), a[index])


def test_a_prefix_of_a_stored_array_reads_only_the_prefix():
    store = _RecordingStore(np.arange(20 * 30.0).reshape(20, 30))
    x = ga.from_array(store, chunks=(7, 8))
    np.testing.assert_array_equal(run(x[:3, 5:]), store.data[:3, 5:])
    read = sum(np.prod([s.stop - s.start for s in r]) for r in store.reads)
    assert read == 3 * 25  # not the 7 x 30 of the whole first row of blocks
    store.reads.clear()
    np.testing.assert_array_equal(run(x[2:16:6, 29]), store.data[2:16:6, 29])
    assert sorted((r[0].start, r[0].stop, r[1].start, r[1].stop) for r in store.reads) == [
        (2, 3, 29, 30), (8, 9, 29, 30), (14, 15, 29, 30)]


def test_a_slice_of_a_memmap_copies_only_what_it_keeps(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.arange(100.0).reshape(10, 10))
    mm = np.load(path, mmap_mode="r")
    x = ga.from_array(mm, chunks=5)
    got = run(x[::3, 1])
    np.testing.assert_array_equal(got, mm[::3, 1])
    assert type(got) is np.ndarray and not isinstance(got.base, np.memmap)
    part = run(x[:5:2, :5:2])  # one block's every other row and column
    np.testing.assert_array_equal(part, mm[:5:2, :5:2])
    assert part.base is None  # a copy of the 3 x 3 kept, not a view of a 5 x 5 copy
