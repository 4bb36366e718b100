"""Shape manipulation and rechunking against NumPy."""
from __future__ import annotations

import math
import re

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


# --- NumPy parity: errors, integer types, 0-d pad, astype ------------------------------------

def raises_like_numpy(np_call, ga_call):
    """``ga_call`` raises the same exception type, with the same message, as ``np_call``
    (ga_call may build lazily; it is computed so errors at compute time count too)."""
    with pytest.raises(Exception) as expected:
        np_call()
    with pytest.raises(type(expected.value)) as got:
        r = ga_call()
        if hasattr(r, "compute"):
            run(r)
    assert str(got.value) == str(expected.value)


M = np.arange(6).reshape(2, 3)
MM = ga.from_array(M, chunks=2)


@pytest.mark.parametrize("make", [
    lambda m: [], lambda m: [[], []], lambda m: [[m], []], lambda m: [[], [m]],
    lambda m: (m, m), lambda m: [m, (m, m)], lambda m: [[m, m], (m,)],
    lambda m: [[m], m], lambda m: [m, [m]], lambda m: [[[m]], [m]]],
    ids=["empty", "empty-rows", "empty-second-row", "empty-first-row", "tuple",
         "inner-tuple", "tuple-row", "ragged-2-1", "ragged-1-2", "ragged-3-2"])
def test_block_errors_like_numpy(make):
    # Empty lists are a ValueError naming the list, tuples a TypeError (NumPy will not
    # guess whether a tuple is one block or a row), ragged depths a ValueError.
    raises_like_numpy(lambda: np.block(make(M)), lambda: ga.block(make(MM)))


def test_block_of_bare_arrays_matches_numpy():
    np.testing.assert_array_equal(run(ga.block(MM)), np.block(M))
    np.testing.assert_array_equal(run(ga.block([[MM, MM]])), np.block([[M, M]]))
    np.testing.assert_array_equal(run(ga.block(3)), np.block(3))


@pytest.mark.parametrize("pad_width", [1.5, "a", True, np.uint8(1), [1.0, 2.0], [], -1,
                                       [[1, -2]], [1, 2, 3]])
def test_pad_width_errors_like_numpy(pad_width):
    # Floats must not be truncated, nor strings reported as a ValueError from int().
    raises_like_numpy(lambda: np.pad(M, pad_width), lambda: ga.pad(MM, pad_width))
    raises_like_numpy(lambda: np.pad(M, pad_width, mode="edge"),
                      lambda: ga.pad(MM, pad_width, mode="edge"))


@pytest.mark.parametrize("pad_width", [np.int64(1), np.array([[1, 0], [0, 2]], "i1"),
                                       (np.int32(2),)])
def test_pad_accepts_numpy_integers(pad_width):
    for mode in ("constant", "edge"):
        np.testing.assert_array_equal(run(ga.pad(MM, pad_width, mode=mode)),
                                      np.pad(M, pad_width, mode=mode))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap",
                                  "linear_ramp", "maximum", "minimum", "mean", "median",
                                  "empty"])
def test_pad_of_0d_array_matches_numpy(mode):
    # A 0-d array has nothing to pad: NumPy returns it unchanged for every mode.
    a = np.array(3.5)
    got = run(ga.pad(ga.from_array(a), 1, mode=mode))
    expected = np.pad(a, 1, mode=mode)
    assert got.shape == expected.shape == ()
    assert got.dtype == expected.dtype
    if mode != "empty":
        np.testing.assert_array_equal(got, expected)


def test_pad_of_0d_array_still_checks_mode_like_numpy():
    s = ga.from_array(np.array(3.5))
    raises_like_numpy(lambda: np.pad(np.array(3.5), 1, mode="nope"),
                      lambda: ga.pad(s, 1, mode="nope"))
    raises_like_numpy(lambda: np.pad(np.array(3.5), -1, mode="edge"),
                      lambda: ga.pad(s, -1, mode="edge"))


INT_TYPES = [int, np.int8, np.int32, np.int64, np.uint8, np.uint64]


@settings(max_examples=60, deadline=None)
@given(shift=st.lists(st.integers(-12, 12), min_size=1, max_size=3),
       axes=st.lists(st.integers(-3, 2), min_size=1, max_size=3),
       typ=st.sampled_from(INT_TYPES), scalar=st.booleans())
def test_roll_accepts_any_integer_type_like_numpy(shift, axes, typ, scalar):
    if typ in (np.uint8, np.uint64):
        shift = [abs(s) for s in shift]
        axes = [a % 3 for a in axes]
    sh = typ(shift[0]) if scalar else [typ(s) for s in shift]
    ax = typ(axes[0]) if scalar else [typ(a) for a in axes]
    try:
        expected = np.roll(A, sh, axis=ax)
    except ValueError:  # lengths that do not broadcast: same error from graphengine
        raises_like_numpy(lambda: np.roll(A, sh, axis=ax), lambda: ga.roll(X, sh, axis=ax))
        return
    np.testing.assert_array_equal(run(ga.roll(X, sh, axis=ax)), expected)
    np.testing.assert_array_equal(run(ga.roll(X, sh)), np.roll(A, sh))


def test_roll_shift_types_like_numpy():
    # NumPy truncates a float shift with int(), sums repeated axes, and takes bools as 0/1.
    for sh, ax in [(1.5, 1), (np.float64(-2.7), 0), ((1, 2), (1, 1)), (True, 0),
                   (np.array(2), np.array(1))]:
        np.testing.assert_array_equal(run(ga.roll(X, sh, axis=ax)), np.roll(A, sh, axis=ax))
    raises_like_numpy(lambda: np.roll(A, [[1]], axis=0), lambda: ga.roll(X, [[1]], axis=0))
    raises_like_numpy(lambda: np.roll(A, 1, axis=3), lambda: ga.roll(X, 1, axis=3))


@pytest.mark.parametrize("typ", INT_TYPES)
def test_tile_expand_dims_broadcast_to_reshape_accept_numpy_integers(typ):
    v = np.arange(5)
    x = ga.from_array(v, chunks=2)
    np.testing.assert_array_equal(run(ga.tile(x, typ(2))), np.tile(v, typ(2)))
    np.testing.assert_array_equal(run(ga.tile(x, (typ(2), typ(1)))),
                                  np.tile(v, (typ(2), typ(1))))
    np.testing.assert_array_equal(run(ga.expand_dims(x, typ(1))), np.expand_dims(v, typ(1)))
    np.testing.assert_array_equal(run(ga.broadcast_to(x, typ(5))), np.broadcast_to(v, typ(5)))
    np.testing.assert_array_equal(run(ga.broadcast_to(x, (typ(2), typ(5)))),
                                  np.broadcast_to(v, (typ(2), typ(5))))
    np.testing.assert_array_equal(run(ga.reshape(X, (typ(24), typ(5)))),
                                  np.reshape(A, (typ(24), typ(5))))
    np.testing.assert_array_equal(run(ga.reshape(x, np.array(5, dtype=typ))),
                                  np.reshape(v, np.array(5, dtype=typ)))


def test_integer_arguments_reject_bools_and_floats_like_numpy():
    v = np.arange(6)
    x = ga.from_array(v, chunks=2)
    # NumPy takes a bool as 0/1 for tile reps and expand_dims axes...
    np.testing.assert_array_equal(run(ga.tile(x, True)), np.tile(v, True))
    np.testing.assert_array_equal(run(ga.expand_dims(x, True)), np.expand_dims(v, True))
    # ...but refuses bools and floats as shape lengths, and floats as counts or axes.
    for np_call, ga_call in [
            (lambda: np.tile(v, 1.5), lambda: ga.tile(x, 1.5)),
            (lambda: np.tile(v, (2, 1.5)), lambda: ga.tile(x, (2, 1.5))),
            (lambda: np.expand_dims(v, 1.0), lambda: ga.expand_dims(x, 1.0)),
            (lambda: np.broadcast_to(v, True), lambda: ga.broadcast_to(x, True)),
            (lambda: np.broadcast_to(v, (2, True)), lambda: ga.broadcast_to(x, (2, True))),
            (lambda: np.broadcast_to(v, 6.0), lambda: ga.broadcast_to(x, 6.0)),
            (lambda: np.broadcast_to(v, (-1,)), lambda: ga.broadcast_to(x, (-1,))),
            (lambda: np.reshape(v, 6.0), lambda: ga.reshape(x, 6.0)),
            (lambda: np.reshape(v, True), lambda: ga.reshape(x, True)),
            (lambda: np.reshape(v, (2.0, 3)), lambda: ga.reshape(x, (2.0, 3))),
            (lambda: np.reshape(v, (True, 6)), lambda: ga.reshape(x, (True, 6)))]:
        raises_like_numpy(np_call, ga_call)


@pytest.mark.parametrize("dtype", ["f4", "i2", "u1", "c16", "bool", np.float64, "i8"])
def test_astype_function_matches_numpy(dtype):
    a = np.linspace(-3, 3, 12).reshape(3, 4)
    x = ga.from_array(a, chunks=2).astype("i8")
    expected = np.astype(a.astype("i8"), dtype)
    for y in (ga.astype(x, dtype), np.astype(x, dtype), ga.astype(x, dtype, copy=False)):
        assert isinstance(y, ga.Array)
        assert y.dtype == expected.dtype and y.chunks == x.chunks
        np.testing.assert_array_equal(run(y), expected)


def test_astype_function_copy_device_and_errors():
    x = ga.from_array(np.arange(5), chunks=2)
    assert np.astype(x, x.dtype, copy=False) is x
    y = ga.astype(x, x.dtype)  # copy=True: a distinct Array, so setitem leaves x alone
    assert y is not x
    y[0] = 9
    np.testing.assert_array_equal(run(x), np.arange(5))
    np.testing.assert_array_equal(run(ga.astype(x, "f4", device="cpu")),
                                  np.astype(np.arange(5), "f4", device="cpu"))
    raises_like_numpy(lambda: np.astype(np.arange(5), "f4", device="gpu"),
                      lambda: ga.astype(x, "f4", device="gpu"))
    with pytest.raises(TypeError, match="list"):
        ga.astype([1, 2], "f4")
    with pytest.raises(TypeError):
        ga.astype(x, "f4", False)  # copy is keyword-only, as in NumPy
    np.testing.assert_array_equal(run(ga.astype(np.arange(3), "f2")),
                                  np.astype(np.arange(3), "f2"))


# --- NumPy parity: order=, dtype=/casting= when joining, atleast_* tuples, sort order=,
# --- map_overlap wider than the axis ---------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_reshape_and_ravel_order_f_match_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    a = np.arange(math.prod(shape)).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    x = ga.from_array(a, chunks=chunks)
    size = a.size
    new = data.draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1)] +
                                    [(d, size // d) for d in range(2, size) if size % d == 0]))
    for order in ("F", "f", "C", None):
        np.testing.assert_array_equal(run(ga.reshape(x, new, order=order)),
                                      np.reshape(a, new, order=order))
    np.testing.assert_array_equal(run(np.reshape(x, new, order="F")),
                                  np.reshape(a, new, order="F"))
    np.testing.assert_array_equal(run(x.reshape(new, order="F")), a.reshape(new, order="F"))
    np.testing.assert_array_equal(run(ga.ravel(x, order="F")), np.ravel(a, order="F"))
    np.testing.assert_array_equal(run(np.ravel(x, "F")), np.ravel(a, "F"))


def test_reshape_and_ravel_order_errors():
    with pytest.raises(ValueError, match="not permitted"):
        np.reshape(A, (-1,), order="K")
    with pytest.raises(ValueError, match="not permitted"):
        ga.reshape(X, (-1,), order="K")
    for f, npf in [(lambda o: ga.reshape(X, (-1,), order=o), lambda o: np.reshape(A, -1, order=o)),
                   (lambda o: ga.ravel(X, order=o), lambda o: np.ravel(A, order=o))]:
        with pytest.raises(ValueError, match="order must be one of"):
            npf("X")
        with pytest.raises(ValueError, match="order must be one of"):
            f("X")
        with pytest.raises(NotImplementedError, match="memory layout"):
            f("A")
    with pytest.raises(NotImplementedError, match="memory layout"):
        ga.ravel(X, order="K")


F64 = np.array([1.5, -2.5])
I64 = np.array([3, 4])


@pytest.mark.parametrize("dtype, casting", [(None, "same_kind"), (int, "unsafe"),
                                            ("f4", "same_kind"), ("U", "same_kind"),
                                            (complex, "safe"), (None, "unsafe")])
def test_concatenate_stack_hstack_vstack_dtype_and_casting_like_numpy(dtype, casting):
    xs = [ga.from_array(F64, chunks=1), ga.from_array(I64, chunks=1)]
    kw = {"dtype": dtype, "casting": casting}
    for f, npf in [(ga.concatenate, np.concatenate), (ga.stack, np.stack),
                   (ga.hstack, np.hstack), (ga.vstack, np.vstack)]:
        expected = npf([F64, I64], **kw)
        got = f(xs, **kw)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(run(got), expected)
        dispatched = npf(xs, **kw)
        assert isinstance(dispatched, ga.Array)
        np.testing.assert_array_equal(run(dispatched), expected)


@pytest.mark.parametrize("dtype, casting, error", [
    (int, "same_kind", TypeError), ("i4", "safe", TypeError), (None, "no", TypeError),
    (None, "equiv", TypeError), (float, "bogus", ValueError)])
def test_concatenate_and_stack_refuse_casts_like_numpy(dtype, casting, error):
    xs = [ga.from_array(F64, chunks=1), ga.from_array(I64, chunks=1)]
    for f, npf in [(ga.concatenate, np.concatenate), (ga.stack, np.stack),
                   (ga.hstack, np.hstack), (ga.vstack, np.vstack)]:
        with pytest.raises(error) as np_err:
            npf([F64, I64], dtype=dtype, casting=casting)
        with pytest.raises(error, match=re.escape(str(np_err.value))):
            f(xs, dtype=dtype, casting=casting)


def test_concatenate_out_argument_like_numpy():
    xs = [ga.from_array(I64, chunks=1)] * 2
    out = ga.zeros(4, dtype="f4")
    assert ga.concatenate(xs, out=out) is out
    assert out.dtype == np.float32
    np.testing.assert_array_equal(run(out), np.concatenate([I64, I64]).astype("f4"))
    with pytest.raises(TypeError, match="only takes `out` or `dtype`"):
        np.concatenate([I64, I64], out=np.zeros(4), dtype=float)
    with pytest.raises(TypeError, match="only takes `out` or `dtype`"):
        ga.concatenate(xs, out=ga.zeros(4), dtype=float)
    with pytest.raises(TypeError, match="same_kind"):  # float into an int out
        ga.concatenate([ga.from_array(F64)] * 2, out=ga.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="need at least one array"):
        ga.hstack([])


def test_atleast_nd_of_several_arrays_return_tuples_like_numpy():
    for f, npf in [(ga.atleast_1d, np.atleast_1d), (ga.atleast_2d, np.atleast_2d),
                   (ga.atleast_3d, np.atleast_3d)]:
        got, expected = f(1, [2, 3]), npf(1, [2, 3])
        assert type(got) is type(expected) is tuple and len(got) == 2
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(run(g), e)
        dispatched = npf(ga.from_array(np.arange(2)), ga.from_array(np.arange(3)))
        assert type(dispatched) is tuple
        assert f() == npf() == ()
        assert isinstance(f(ga.from_array(np.arange(2))), ga.Array)


STRUCT = np.array([(1, 3.0, b"c"), (2, 1.0, b"a"), (0, 2.0, b"b"), (1, 1.0, b"d")],
                  dtype=[("a", "i4"), ("b", "f8"), ("c", "S1")])


@pytest.mark.parametrize("order", ["b", ["a", "b"], "c", ["b", "a"]])
def test_sort_structured_array_by_order_like_numpy(order):
    x = ga.from_array(STRUCT, chunks=-1)
    np.testing.assert_array_equal(run(ga.sort(x, order=order)), np.sort(STRUCT, order=order))
    np.testing.assert_array_equal(run(np.sort(x, order=order)), np.sort(STRUCT, order=order))


def test_sort_stable_and_errors_like_numpy():
    a = np.array([[3, 1, 2, 1], [0, 5, 5, -1]])
    x = ga.from_array(a, chunks=(1, -1))
    for kw in [{"stable": True}, {"stable": False}, {"kind": "stable"}]:
        np.testing.assert_array_equal(run(ga.sort(x, **kw)), np.sort(a, **kw))
    with pytest.raises(ValueError, match="can't be provided at the same time"):
        np.sort(a, kind="stable", stable=True)
    with pytest.raises(ValueError, match="can't be provided at the same time"):
        ga.sort(x, kind="stable", stable=True)
    with pytest.raises(ValueError, match="field"):
        ga.sort(ga.from_array(STRUCT, chunks=-1), order="zz")
    with pytest.raises(ValueError, match="single block"):
        ga.sort(ga.from_array(STRUCT, chunks=2), order="b")


@pytest.mark.parametrize("boundary, mode", [("reflect", "symmetric"), ("periodic", "wrap")])
@pytest.mark.parametrize("n, depth, chunks", [(3, 5, -1), (2, 7, -1), (1, 3, -1),
                                              (5, 7, 3), (3, 4, 2)])
def test_map_overlap_depth_beyond_the_axis_pads_like_numpy(boundary, mode, n, depth, chunks):
    a = np.arange(n * 2.0).reshape(n, 2)
    x = ga.from_array(a, chunks=(chunks, 2))
    window = 2 * depth + 1

    def smooth(b):  # mean over the full depth on each side, so the pad values matter
        out = np.zeros_like(b)
        for i in range(depth, b.shape[0] - depth):
            out[i] = b[i - depth:i + depth + 1].sum(axis=0) / window
        return out

    got = ga.map_overlap(smooth, x, depth={0: depth, 1: 0}, boundary=boundary)
    padded = np.pad(a, ((depth, depth), (0, 0)), mode=mode)
    expected = smooth(padded)[depth:-depth]
    np.testing.assert_allclose(run(got), expected)
    wide = ga.map_overlap(lambda b: b, ga.from_array(a, chunks=-1), depth={0: depth, 1: 0},
                          boundary=boundary, trim=False)
    np.testing.assert_array_equal(run(wide), padded)


def test_map_overlap_on_an_empty_axis_raises_a_clear_error():
    x = ga.from_array(np.zeros((0, 3)), chunks=-1)
    with pytest.raises(ValueError, match="length 0"):
        ga.map_overlap(lambda b: b, x, depth=1, boundary="reflect")


def test_the_ravel_method_takes_an_order():
    a = np.arange(6.0).reshape(2, 3)
    x = ga.from_array(a, chunks=1)
    np.testing.assert_array_equal(x.ravel("F").compute(scheduler="sync"), a.ravel("F"))
    np.testing.assert_array_equal(x.flatten().compute(scheduler="sync"), a.flatten())


@pytest.mark.parametrize("make, kwargs", [
    (lambda: np.arange(6.0).reshape(2, 3), {"mode": "bogus"}),
    (lambda: np.zeros((0, 3)), {"mode": "reflect"}),
    (lambda: np.arange(6.0).reshape(2, 3), {"mode": "maximum", "stat_length": 0}),
    (lambda: np.arange(6, dtype="i1"), {"constant_values": 300}),
    (lambda: np.arange(6.0), {"mode": "edge", "constant_values": 3}),
    (lambda: np.array(3.0), {"mode": "bogus"}),
])
def test_pad_raises_numpys_errors_when_the_graph_is_built(make, kwargs):
    a = make()
    with pytest.raises(Exception) as expected:
        np.pad(a, 1 if a.ndim else 0, **kwargs)
    with pytest.raises(type(expected.value)) as got:
        ga.pad(ga.from_array(a, chunks=2), 1 if a.ndim else 0, **kwargs)  # no compute
    assert str(got.value) == str(expected.value)


def test_np_pad_on_an_array_dispatches_to_pad():
    a = np.arange(6.0).reshape(2, 3)
    got = np.pad(ga.from_array(a, chunks=2), ((1, 0), (0, 2)), mode="edge")
    assert isinstance(got, ga.Array)
    np.testing.assert_array_equal(got.compute(scheduler="sync"),
                                  np.pad(a, ((1, 0), (0, 2)), mode="edge"))
