"""Shape manipulation and rechunking against NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine
import graphengine.array as ga
from graphengine.collections.array.rechunk import plan_rechunk

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


A = np.arange(4 * 6 * 5).reshape(4, 6, 5)
X = ga.from_array(A, chunks=(3, 4, 2))


@pytest.mark.parametrize("shape", [(120,), (24, 5), (4, 30), (2, 2, 6, 5), (5, 4, 6),
                                   (-1, 10), (1, 4, 1, 30, 1), (8, 15)])
def test_reshape_matches_numpy(shape):
    np.testing.assert_array_equal(run(X.reshape(shape)), A.reshape(shape))


def test_reshape_errors_like_numpy():
    with pytest.raises(ValueError, match="cannot reshape array of size 120 into shape"):
        X.reshape(7, 3)
    with pytest.raises(ValueError, match="one unknown dimension"):
        X.reshape(-1, -1)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_reshape_matches_numpy_for_any_chunking(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    a = np.arange(math.prod(shape)).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    x = ga.from_array(a, chunks=chunks)
    n = a.size
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = data.draw(st.sampled_from(divisors))
    np.testing.assert_array_equal(run(x.reshape(d, n // d)), a.reshape(d, n // d))
    np.testing.assert_array_equal(run(x.ravel()), a.ravel())


def test_transpose_swapaxes_moveaxis_match_numpy():
    np.testing.assert_array_equal(run(X.T), A.T)
    np.testing.assert_array_equal(run(X.transpose(1, 0, 2)), A.transpose(1, 0, 2))
    np.testing.assert_array_equal(run(np.transpose(X, (2, 0, 1))), np.transpose(A, (2, 0, 1)))
    np.testing.assert_array_equal(run(X.swapaxes(0, 2)), A.swapaxes(0, 2))
    np.testing.assert_array_equal(run(ga.moveaxis(X, 0, -1)), np.moveaxis(A, 0, -1))
    np.testing.assert_array_equal(run(ga.moveaxis(X, [0, 1], [2, 0])), np.moveaxis(A, [0, 1], [2, 0]))
    with pytest.raises(ValueError, match="axes don't match"):
        X.transpose(0, 0, 1)


def test_squeeze_expand_dims_flip_roll():
    a = A[:, :1, :]
    x = X[:, :1, :]
    np.testing.assert_array_equal(run(x.squeeze()), a.squeeze())
    np.testing.assert_array_equal(run(ga.squeeze(x, axis=1)), np.squeeze(a, axis=1))
    with pytest.raises(ValueError, match="size not equal to one"):
        ga.squeeze(X, axis=0)
    np.testing.assert_array_equal(run(ga.expand_dims(X, (0, 3))), np.expand_dims(A, (0, 3)))
    np.testing.assert_array_equal(run(ga.flip(X, 1)), np.flip(A, 1))
    np.testing.assert_array_equal(run(ga.flip(X)), np.flip(A))
    np.testing.assert_array_equal(run(ga.roll(X, 4, axis=1)), np.roll(A, 4, axis=1))
    np.testing.assert_array_equal(run(ga.roll(X, -7)), np.roll(A, -7))
    np.testing.assert_array_equal(run(ga.roll(X, (1, 2), axis=(0, 2))), np.roll(A, (1, 2), axis=(0, 2)))


def test_concatenate_stack_block_match_numpy():
    b = np.ones((4, 2, 5), dtype="f4")
    y = ga.from_array(b, chunks=1)
    np.testing.assert_array_equal(run(ga.concatenate([X, y], axis=1)), np.concatenate([A, b], axis=1))
    assert ga.concatenate([X, y], axis=1).dtype == np.result_type(A, b)
    np.testing.assert_array_equal(run(ga.concatenate([X, X], axis=None)), np.concatenate([A, A], axis=None))
    np.testing.assert_array_equal(run(ga.stack([X, X + 1], axis=2)), np.stack([A, A + 1], axis=2))
    m = np.arange(6).reshape(2, 3)
    mm = ga.from_array(m, chunks=2)
    np.testing.assert_array_equal(run(ga.block([[mm, mm], [mm, mm]])), np.block([[m, m], [m, m]]))
    np.testing.assert_array_equal(run(ga.hstack([mm, mm])), np.hstack([m, m]))
    np.testing.assert_array_equal(run(ga.vstack([mm, mm])), np.vstack([m, m]))


def test_concatenate_errors_like_numpy():
    with pytest.raises(ValueError, match="along dimension 1, the array at index 0 has size 6"):
        ga.concatenate([X, X[:, :2]], axis=0)
    with pytest.raises(ValueError, match="same number of dimensions"):
        ga.concatenate([X, X[0]])
    with pytest.raises(ValueError, match="same shape"):
        ga.stack([X, X[:1]])


def test_broadcast_to_pad_tile_repeat():
    v = np.arange(5)
    x = ga.from_array(v, chunks=2)
    np.testing.assert_array_equal(run(ga.broadcast_to(x, (3, 5))), np.broadcast_to(v, (3, 5)))
    with pytest.raises(ValueError, match="could not be broadcast"):
        ga.broadcast_to(x, (3, 4))
    for kw in ({"pad_width": 2}, {"pad_width": ((1, 0), (0, 3), (2, 2)), "constant_values": 9},
               {"pad_width": 1, "mode": "edge"}, {"pad_width": 2, "mode": "reflect"},
               {"pad_width": ((0, 1), (2, 0), (1, 1)), "mode": "wrap"}):
        np.testing.assert_array_equal(run(ga.pad(X, **kw)), np.pad(A, **kw))
    np.testing.assert_array_equal(run(ga.tile(x, (2, 3))), np.tile(v, (2, 3)))
    np.testing.assert_array_equal(run(ga.repeat(X, 3, axis=1)), np.repeat(A, 3, axis=1))
    np.testing.assert_array_equal(run(ga.repeat(x, 2)), np.repeat(v, 2))


# --- rechunk ------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", [(1, 6, 5), 2, {1: 1}, (-1, (1, 5), None), "auto",
                                    ((2, 2), (3, 3), (1, 1, 3))])
def test_rechunk_keeps_values(chunks):
    y = X.rechunk(chunks)
    np.testing.assert_array_equal(run(y), A)
    if chunks == {1: 1}:
        assert y.chunks == (X.chunks[0], (1,) * 6, X.chunks[2])


def test_rechunk_to_same_chunks_is_a_no_op():
    assert X.rechunk(X.chunks) is X


def test_rechunk_errors_name_the_problem():
    with pytest.raises(ValueError, match="sum to 5, but the axis has length 4"):
        X.rechunk(((2, 3), 2, 2))
    y = X[X > 3]
    with pytest.raises(ValueError, match="unknown length"):
        y.rechunk(5)


def test_rows_to_columns_rechunk_goes_through_intermediate_chunks():
    old = ((10,) * 100, (1000,))
    new = ((1000,), (10,) * 100)
    plan = plan_rechunk(old, new, itemsize=8, limit=10**8)
    assert len(plan) == 2 and plan[-1] == new
    assert max(plan[0][0]) == 100 and max(plan[0][1]) == 100  # geometric mean of sizes
    a = np.arange(200 * 150.0).reshape(200, 150)
    x = ga.from_array(a, chunks=(2, 150))
    with graphengine.config.set({"array.chunk-size": 10**6}):
        y = x.rechunk((200, 3))
    np.testing.assert_array_equal(run(y), a)
    assert y.chunks == ((200,), (3,) * 50)


def test_simple_rechunk_is_direct():
    plan = plan_rechunk(((2000,) * 10, (2000,) * 10), ((20000,), (200,) * 100), itemsize=8)
    assert len(plan) == 1


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rechunk_matches_for_any_chunkings(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    a = np.arange(math.prod(shape)).reshape(shape)
    c1 = tuple(data.draw(st.integers(1, n)) for n in shape)
    c2 = tuple(data.draw(st.integers(1, n)) for n in shape)
    y = ga.from_array(a, chunks=c1).rechunk(c2)
    np.testing.assert_array_equal(run(y), a)


def test_rollaxis_dstack_atleast_and_flips_match_numpy():
    np.testing.assert_array_equal(run(ga.rollaxis(X, 2)), np.rollaxis(A, 2))
    np.testing.assert_array_equal(run(ga.rollaxis(X, 0, 2)), np.rollaxis(A, 0, 2))
    m = np.arange(6).reshape(2, 3)
    mm = ga.from_array(m, chunks=2)
    np.testing.assert_array_equal(run(ga.dstack([mm, mm])), np.dstack([m, m]))
    np.testing.assert_array_equal(run(ga.flipud(mm)), np.flipud(m))
    np.testing.assert_array_equal(run(ga.fliplr(mm)), np.fliplr(m))
    s = ga.from_array(np.array(3))
    assert ga.atleast_1d(s).shape == np.atleast_1d(3).shape
    assert ga.atleast_2d(mm[0]).shape == np.atleast_2d(m[0]).shape
    assert ga.atleast_3d(mm).shape == np.atleast_3d(m).shape
    assert ga.atleast_3d(mm[0]).shape == np.atleast_3d(m[0]).shape
    b1, b2 = ga.broadcast_arrays(mm, mm[:1])
    e1, e2 = np.broadcast_arrays(m, m[:1])
    np.testing.assert_array_equal(run(b2), e2)
    assert b1.shape == e1.shape
