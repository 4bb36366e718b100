"""Edge cases against NumPy for every array function: 0-d inputs, empty arrays (a
zero-length axis), single-chunk and irregular-chunk arrays, and the error cases
(broadcast mismatch, out-of-bounds indices, invalid ``chunks=``)."""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine.array as ga

pytestmark = pytest.mark.timeout(60)

IRREG = ((3, 1, 4), (2, 5))          # irregular chunking of an (8, 7) array
RNG = np.random.default_rng(123)
A2 = RNG.uniform(-2, 2, size=(8, 7)).round(2)   # rounded: ties in sort / unique / argmin
A2I = RNG.integers(0, 5, size=(8, 7))

# (name, numpy array, chunks): the four layouts every function is checked on.
LAYOUTS = [
    ("single", A2, -1),
    ("irregular", A2, IRREG),
    ("empty", np.ones((0, 7)), ((0,), (2, 5))),
    ("empty-last", np.ones((8, 0)), ((3, 1, 4), (0,))),
]
LAYOUT_IDS = [name for name, _, _ in LAYOUTS]
NONEMPTY = LAYOUTS[:2]
NONEMPTY_IDS = LAYOUT_IDS[:2]


def run(x):
    return x.compute(scheduler="sync")


def ga_(a, chunks):
    return ga.from_array(a, chunks=chunks)


@contextlib.contextmanager
def quiet():
    """NumPy's empty-slice / divide warnings are expected in these edge cases."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def known(y):
    """``y`` with its unknown (nan) chunk lengths computed."""
    if any(np.isnan(c) for cs in y.chunks for c in cs):
        y = y.compute_chunk_sizes()
        assert not any(np.isnan(c) for cs in y.chunks for c in cs)
    return y


def check(got, expected, exact=False):
    """``got`` (lazy) matches NumPy's ``expected`` in shape, dtype and values."""
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    value = run(got)
    assert np.asarray(value).shape == expected.shape
    assert np.asarray(value).dtype == expected.dtype
    if exact or expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(value, expected)
    else:
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12, equal_nan=True)


# --- creation -------------------------------------------------------------------------------

@pytest.mark.parametrize("a", [np.array(3.5), np.zeros((0, 3)), np.arange(5), A2],
                         ids=["0d", "empty", "1d", "2d"])
@pytest.mark.parametrize("chunks", [-1, "auto", 2])
def test_from_array_asarray_array_edge_shapes(a, chunks):
    check(ga.from_array(a, chunks=chunks), a, exact=True)
    check(ga.asarray(a, chunks=chunks), np.asarray(a), exact=True)
    check(ga.array(a, chunks=chunks), np.array(a), exact=True)


def test_from_array_irregular_chunks_and_getitem_object():
    class Store:
        def __init__(self, data):
            self.data, self.shape, self.dtype = data, data.shape, data.dtype

        def __getitem__(self, index):
            return self.data[index]

    x = ga.from_array(Store(A2), chunks=IRREG, lock=True)
    assert x.chunks == IRREG
    check(x, A2, exact=True)
    e = ga.from_array(Store(np.ones((0, 3))), chunks=2)
    check(e, np.ones((0, 3)), exact=True)


def test_from_array_memmap_irregular(tmp_path):
    m = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype="i4", shape=(8, 7))
    m[:] = A2I
    m.flush()
    x = ga.from_array(np.load(tmp_path / "m.npy", mmap_mode="r"), chunks=IRREG)
    check(x, A2I.astype("i4"), exact=True)


@pytest.mark.parametrize("shape, chunks", [
    ((), ()), ((), -1), ((0,), -1), ((0,), 2), ((0, 3), -1), ((0, 3), 2), ((4, 5), -1),
    ((4, 5), 2), ((8, 7), IRREG)])
@pytest.mark.parametrize("maker", ["zeros", "ones", "empty", "full"])
def test_zeros_ones_empty_full_edge_shapes(shape, chunks, maker):
    if maker == "full":
        got, expected = ga.full(shape, 7, chunks=chunks), np.full(shape, 7)
    else:
        got = getattr(ga, maker)(shape, chunks=chunks)
        expected = getattr(np, maker)(shape)
    if chunks is IRREG:
        assert got.chunks == IRREG
    if maker != "empty":
        check(got, expected, exact=True)
    else:  # values are arbitrary
        assert got.shape == expected.shape and got.dtype == expected.dtype
        value = run(got)
        assert value.shape == expected.shape and value.dtype == expected.dtype


@pytest.mark.parametrize("a", [np.array(2.5), np.zeros((0, 3), dtype="i2"), A2I],
                         ids=["0d", "empty", "2d"])
def test_like_functions_edge_shapes(a):
    x = ga.from_array(a, chunks=-1 if a.ndim else ())
    check(ga.zeros_like(x), np.zeros_like(a), exact=True)
    check(ga.ones_like(x), np.ones_like(a), exact=True)
    check(ga.full_like(x, 3), np.full_like(a, 3), exact=True)
    check(ga.full_like(x, 3, dtype="f4"), np.full_like(a, 3, dtype="f4"), exact=True)
    assert ga.empty_like(x).shape == np.empty_like(a).shape
    assert ga.empty_like(x).dtype == np.empty_like(a).dtype


@pytest.mark.parametrize("args", [(0,), (1,), (3, 3), (5, 1), (0, 10, 3), (8,), (1.5, 4.0, 0.5),
                                  (10, 0, -3)])
@pytest.mark.parametrize("chunks", [-1, 3, 1])
def test_arange_edge_cases(args, chunks):
    check(ga.arange(*args, chunks=chunks), np.arange(*args))


def test_arange_dtype_and_zero_step():
    check(ga.arange(5, dtype="f4", chunks=2), np.arange(5, dtype="f4"))
    with pytest.raises(ZeroDivisionError):
        np.arange(0, 5, 0)
    with pytest.raises(ZeroDivisionError):
        ga.arange(0, 5, 0)


@pytest.mark.parametrize("num", [0, 1, 2, 7])
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("chunks", [-1, 3, 1])
def test_linspace_edge_cases(num, endpoint, chunks):
    check(ga.linspace(2.0, -1.0, num, endpoint=endpoint, chunks=chunks),
          np.linspace(2.0, -1.0, num, endpoint=endpoint))


@pytest.mark.parametrize("n, m, k", [(0, None, 0), (1, None, 0), (3, 5, 4), (5, 3, -6),
                                     (8, 7, 1)])
@pytest.mark.parametrize("chunks", [-1, 3])
def test_eye_edge_cases(n, m, k, chunks):
    check(ga.eye(n, chunks=chunks, M=m, k=k), np.eye(n, m, k), exact=True)


def test_eye_irregular_chunks_and_dtype():
    check(ga.eye(8, M=7, chunks=IRREG, k=-1, dtype="i4"), np.eye(8, 7, -1, dtype="i4"),
          exact=True)


@pytest.mark.parametrize("v", [np.arange(0), np.arange(1), np.arange(8.0), A2, np.ones((0, 3))],
                         ids=["empty1d", "len1", "1d", "2d", "empty2d"])
@pytest.mark.parametrize("k", [0, 2, -3])
def test_diag_edge_cases(v, k):
    chunks = (3, 2) if v.ndim == 2 else 3
    check(ga.diag(ga.from_array(v, chunks=chunks), k), np.diag(v, k), exact=True)


def test_diag_irregular_and_bad_ndim():
    check(ga.diag(ga_(A2, IRREG), 1), np.diag(A2, 1), exact=True)
    check(ga.diag(ga.from_array(np.arange(8), chunks=((3, 1, 4),))), np.diag(np.arange(8)),
          exact=True)
    with pytest.raises(ValueError):
        np.diag(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="must be 1- or 2-d"):
        ga.diag(ga.ones((2, 2, 2), chunks=1))


@pytest.mark.parametrize("shape, chunks", [((0, 3), 2), ((8, 7), IRREG), ((8, 7), -1), ((4,), 3)])
def test_fromfunction_edge_shapes(shape, chunks):
    f = lambda *idx: sum((i + 1) * x for i, x in enumerate(idx))  # noqa: E731
    check(ga.fromfunction(f, shape, chunks=chunks), np.fromfunction(f, shape))


# --- random ---------------------------------------------------------------------------------

RANDOM_CALLS = [
    ("random", (), {}),
    ("normal", (1.0, 2.0), {}),
    ("uniform", (-1.0, 1.0), {}),
    ("randint", (2, 9), {}),
    ("choice", ([4, 5, 6],), {}),
]


@pytest.mark.parametrize("method, args, kwargs", RANDOM_CALLS, ids=[c[0] for c in RANDOM_CALLS])
@pytest.mark.parametrize("factory", ["RandomState", "default_rng"])
@pytest.mark.parametrize("size, chunks", [((0, 3), 2), ((8, 7), IRREG), ((8, 7), -1), (5, 1)])
def test_random_edge_shapes_are_reproducible(method, args, kwargs, factory, size, chunks):
    make = getattr(ga.random, factory)
    if factory == "default_rng" and method == "randint":
        method = "integers"
    x = getattr(make(5), method)(*args, size=size, chunks=chunks, **kwargs)
    y = getattr(make(5), method)(*args, size=size, chunks=chunks, **kwargs)
    shape = (size,) if isinstance(size, int) else size
    npgen = getattr(np.random, factory)(0)
    expected = getattr(npgen, method)(*args, size=shape, **kwargs)
    assert x.shape == expected.shape and x.dtype == expected.dtype
    a = run(x)
    assert a.shape == expected.shape and a.dtype == expected.dtype
    np.testing.assert_array_equal(a, run(y))
    np.testing.assert_array_equal(a, y.compute(scheduler="threads"))
    if a.size > 1 and method != "choice":
        assert len(np.unique(a)) > 1  # blocks are not copies of one draw


def test_random_scalar_size_matches_numpy_shape():
    expected = np.random.default_rng(0).random()
    got = ga.random.default_rng(0).random()
    assert got.shape == np.shape(expected)
    assert np.asarray(run(got)).dtype == np.asarray(expected).dtype


# --- from_delayed, npy stacks, store --------------------------------------------------------

@pytest.mark.parametrize("a", [np.array(1.5), np.ones((0, 2)), A2], ids=["0d", "empty", "2d"])
def test_from_delayed_edge_shapes(a):
    import graphengine
    d = graphengine.delayed(lambda: a.copy())()
    check(ga.from_delayed(d, shape=a.shape, dtype=a.dtype), a, exact=True)


@pytest.mark.parametrize("a, chunks", [(A2, IRREG), (A2, -1), (np.ones((0, 3)), 2)],
                         ids=["irregular", "single", "empty"])
def test_npy_stack_roundtrip_edge(tmp_path, a, chunks):
    ga.to_npy_stack(str(tmp_path), ga_(a, chunks))
    y = ga.from_npy_stack(str(tmp_path))
    check(y, a, exact=True)


@pytest.mark.parametrize("a, chunks", [(A2, IRREG), (A2, -1), (np.ones((0, 3)), 2),
                                       (np.array(4.0), ())], ids=["irregular", "single",
                                                                   "empty", "0d"])
def test_store_edge(a, chunks):
    target = np.zeros_like(a)
    ga.store(ga_(a, chunks), target)
    np.testing.assert_array_equal(target, a)


# --- elementwise ----------------------------------------------------------------------------

OPS = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lt", "eq", "ne"]


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("op", OPS)
def test_binary_operators_edge_layouts(name, a, chunks, op):
    import operator
    f = getattr(operator, op)
    b = np.abs(a) + 1
    x, y = ga_(a, chunks), ga_(b, chunks)
    with np.errstate(all="ignore"):
        check(f(x, y), f(a, b))
        check(f(x, 2), f(a, 2))
        check(f(3, y), f(3, b))
        # broadcasting against a row with different chunks
        row = b[:1]
        check(f(x, ga.from_array(row, chunks=-1)), f(a, row))


@pytest.mark.parametrize("op", ["add", "mul", "lt", "truediv"])
def test_zero_d_operands(op):
    import operator
    f = getattr(operator, op)
    z = np.array(2.5)
    x = ga.from_array(z)
    check(f(x, x), f(z, z))
    check(f(x, ga_(A2, IRREG)), f(z, A2))
    check(f(ga_(A2, IRREG), x), f(A2, z))
    check(f(x, np.arange(3)), f(z, np.arange(3)))


def test_unary_and_dtype_promotion_edge_layouts():
    for _, a, chunks in LAYOUTS:
        x = ga_(a, chunks)
        check(-x, -a)
        check(abs(x), abs(a))
        check(x.astype("i4") + np.int8(1), a.astype("i4") + np.int8(1))
        check(x.astype("f4") + 1.0, a.astype("f4") + 1.0)
        check(~(x > 0), ~(a > 0))
    z = np.array(3, dtype="u1")
    check(ga.from_array(z) + np.int8(-1), z + np.int8(-1))


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((8, 7), (8,)), ((2, 3), (3, 2)),
                                    ((0, 3), (2, 3)), ((5, 1, 3), (4, 2))])
def test_broadcast_mismatch_raises_valueerror_like_numpy(shapes):
    s1, s2 = shapes
    with pytest.raises(ValueError):
        np.ones(s1) + np.ones(s2)
    x, y = ga.ones(s1, chunks=2), ga.ones(s2, chunks=2)
    with pytest.raises(ValueError, match="broadcast"):
        x + y
    with pytest.raises(ValueError, match="broadcast"):
        np.add(x, y)
    with pytest.raises(ValueError, match="broadcast"):
        ga.where(x > 0, x, y)


def test_broadcast_to_mismatch_raises_valueerror():
    with pytest.raises(ValueError):
        np.broadcast_to(np.ones(3), (4,))
    with pytest.raises(ValueError, match="broadcast"):
        ga.broadcast_to(ga.ones(3, chunks=2), (4,))


UFUNCS = [np.sin, np.exp, np.sqrt, np.isnan, np.isfinite, np.floor, np.negative, np.sign]


@pytest.mark.parametrize("name, a, chunks", LAYOUTS + [("0d", np.array(0.5), ())],
                         ids=LAYOUT_IDS + ["0d"])
@pytest.mark.parametrize("ufunc", UFUNCS, ids=lambda u: u.__name__)
def test_ufuncs_edge_layouts(name, a, chunks, ufunc):
    with np.errstate(all="ignore"):
        check(ufunc(ga_(a, chunks)), ufunc(a))


@pytest.mark.parametrize("name, a, chunks", LAYOUTS + [("0d", np.array(0.5), ())],
                         ids=LAYOUT_IDS + ["0d"])
def test_where_clip_astype_round_isnan_isclose_edge(name, a, chunks):
    x = ga_(a, chunks)
    check(ga.where(x > 0, x, -1), np.where(a > 0, a, -1))
    check(ga.where(x > 0, 1, 0), np.where(a > 0, 1, 0))
    check(ga.clip(x, -1, 0.5), np.clip(a, -1, 0.5))
    check(x.clip(min=0), a.clip(min=0))
    check(np.clip(x, None, 0), np.clip(a, None, 0))
    check(x.astype("i2"), a.astype("i2"))
    check(x.astype(bool), a.astype(bool))
    check(x.round(1), a.round(1))
    check(ga.round(x * 10, -1), np.round(a * 10, -1))
    with np.errstate(all="ignore"):
        check(ga.isnan(x / x), np.isnan(a / a))
    check(ga.isclose(x, x + 1e-9), np.isclose(a, a + 1e-9))
    assert bool(run(ga.allclose(x, x + 1e-9))) == np.allclose(a, a + 1e-9)
    assert bool(run(ga.allclose(x, x + 1))) == np.allclose(a, a + 1)


def test_where_single_argument_and_0d_condition():
    c = np.array(True)
    check(ga.where(ga.from_array(c), ga_(A2, IRREG), 0.0), np.where(c, A2, 0.0))


# --- map_blocks, blockwise, map_overlap -----------------------------------------------------

@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_map_blocks_edge_layouts(name, a, chunks):
    x = ga_(a, chunks)
    check(x.map_blocks(lambda b: b * 2 + 1), a * 2 + 1)
    check(ga.map_blocks(lambda b: b.astype("i8"), x, dtype="i8"), a.astype("i8"))
    check(ga.map_blocks(lambda b: b.sum(axis=1), x, drop_axis=1, dtype=a.dtype), a.sum(axis=1))
    check(ga.map_blocks(lambda b: b[:, :, None], x, new_axis=2, dtype=a.dtype), a[:, :, None])


def test_map_blocks_chunks_and_block_info_irregular():
    x = ga_(A2, IRREG)

    def first_rows(b):
        return b[:1]

    got = ga.map_blocks(first_rows, x, chunks=((1, 1, 1), (2, 5)), dtype=A2.dtype)
    check(got, A2[[0, 3, 4]])

    def where_am_i(b, block_info=None):
        loc = block_info[0]["array-location"]
        return np.full(b.shape, loc[0][0] * 100 + loc[1][0])

    rows = np.repeat([0, 3, 4], [3, 1, 4])[:, None]
    cols = np.repeat([0, 2], [2, 5])[None, :]
    check(ga.map_blocks(where_am_i, x, dtype=int), rows * 100 + cols)


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_blockwise_edge_layouts(name, a, chunks):
    x = ga_(a, chunks)
    got = ga.blockwise(np.add, "ij", x, "ij", x, "ij", dtype=a.dtype)
    check(got, a + a)
    row = a[0] if len(a) else np.ones(a.shape[1])
    r = ga.from_array(row, chunks=((chunks[1],) if isinstance(chunks, tuple) else -1))
    check(ga.blockwise(np.multiply, "ij", x, "ij", r, "j", dtype=a.dtype), a * row)


@pytest.mark.parametrize("boundary, mode, kwargs", [
    ("reflect", "symmetric", {}), ("periodic", "wrap", {}), ("nearest", "edge", {}),
    (0, "constant", {"constant_values": 0})])
@pytest.mark.parametrize("chunks", [IRREG, -1, ((4, 4), (3, 4))])
def test_map_overlap_irregular_and_single(boundary, mode, kwargs, chunks):
    a = A2

    def smooth(b):
        return b[:-2, :] + b[1:-1, :] + b[2:, :]

    def blockfunc(b):
        out = np.zeros_like(b)
        out[1:-1] = smooth(b)
        return out

    x = ga_(a, chunks)
    got = ga.map_overlap(blockfunc, x, depth={0: 1, 1: 0}, boundary=boundary, dtype=a.dtype)
    padded = np.pad(a, ((1, 1), (0, 0)), mode=mode, **kwargs)
    check(got, smooth(padded))


# --- reductions -----------------------------------------------------------------------------

REDUCTIONS = ["sum", "prod", "mean", "std", "var", "min", "max", "any", "all",
              "nansum", "nanprod", "nanmean", "nanstd", "nanvar", "nanmin", "nanmax"]
EMPTY_OK = {"sum", "prod", "any", "all", "nansum", "nanprod"}


@pytest.mark.parametrize("func", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name, a, chunks", NONEMPTY, ids=NONEMPTY_IDS)
def test_reductions_single_and_irregular(func, axis, keepdims, name, a, chunks):
    b = a.copy()
    b[1, 2] = np.nan if func.startswith("nan") else b[1, 2]
    check(getattr(ga, func)(ga_(b, chunks), axis=axis, keepdims=keepdims),
          getattr(np, func)(b, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("func", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reductions_on_empty_arrays(func, axis):
    a = np.ones((0, 7))
    x = ga_(a, ((0,), (2, 5)))
    with quiet():
        try:
            expected = getattr(np, func)(a, axis=axis)
        except ValueError:
            with pytest.raises(ValueError, match="zero-size|empty"):
                run(getattr(ga, func)(x, axis=axis))
            return
        got = getattr(ga, func)(x, axis=axis)
        check(got, expected)


@pytest.mark.parametrize("func", REDUCTIONS + ["argmin", "argmax", "nanargmin", "nanargmax"])
def test_reductions_on_zero_d(func):
    z = np.array(2.5)
    check(getattr(ga, func)(ga.from_array(z)), getattr(np, func)(z))
    if not func.endswith(("argmin", "argmax")):
        check(getattr(ga, func)(ga.from_array(z), keepdims=True),
              getattr(np, func)(z, keepdims=True))


@pytest.mark.parametrize("func", ["sum", "prod", "mean", "cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["f4", "i8", "u4"])
def test_reduction_dtype_argument_irregular(func, dtype):
    a = A2I.astype("i2")
    check(getattr(ga, func)(ga_(a, IRREG), axis=0, dtype=dtype),
          getattr(np, func)(a, axis=0, dtype=dtype))


@pytest.mark.parametrize("split_every", [2, 3, {0: 2, 1: 2}])
@pytest.mark.parametrize("func", ["sum", "std", "argmax", "nanmean", "min"])
def test_split_every_with_irregular_chunks(split_every, func):
    chunks = ((1, 2, 1, 3, 1), (2, 1, 3, 1))
    x = ga_(A2, chunks)
    for axis in (None, 0, 1):
        check(getattr(ga, func)(x, axis=axis, split_every=split_every),
              getattr(np, func)(A2, axis=axis))


@pytest.mark.parametrize("func", ["argmin", "argmax", "nanargmin", "nanargmax"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name, a, chunks", NONEMPTY, ids=NONEMPTY_IDS)
def test_arg_reductions_single_and_irregular(func, axis, name, a, chunks):
    check(getattr(ga, func)(ga_(a, chunks), axis=axis), getattr(np, func)(a, axis=axis))


@pytest.mark.parametrize("func", ["argmin", "argmax"])
def test_arg_reductions_on_empty(func):
    a = np.ones((0, 7))
    x = ga_(a, ((0,), (2, 5)))
    check(getattr(ga, func)(x, axis=1), getattr(np, func)(a, axis=1))
    with pytest.raises(ValueError):
        getattr(np, func)(a, axis=0)
    with pytest.raises(ValueError, match="empty|zero-size"):
        run(getattr(ga, func)(x, axis=0))


@pytest.mark.parametrize("func", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_scans_edge_layouts(func, axis, name, a, chunks):
    b = a / 2
    check(getattr(ga, func)(ga_(b, chunks), axis=axis), getattr(np, func)(b, axis=axis))


@pytest.mark.parametrize("func", ["cumsum", "cumprod"])
def test_scans_zero_d(func):
    z = np.array(3)
    check(getattr(ga, func)(ga.from_array(z)), getattr(np, func)(z))


@pytest.mark.parametrize("k", [1, 3, -2, 7])
@pytest.mark.parametrize("name, a, chunks", NONEMPTY, ids=NONEMPTY_IDS)
def test_topk_single_and_irregular(k, name, a, chunks):
    x = ga_(a, chunks)
    expected = np.sort(a, axis=1)
    expected = expected[:, ::-1][:, :k] if k > 0 else expected[:, :-k]
    check(ga.topk(x, k, axis=1), expected)
    flat = np.sort(a[:, 0])
    exp0 = flat[::-1][:k] if k > 0 else flat[:-k]
    check(ga.topk(x[:, 0], k), exp0)


@pytest.mark.parametrize("func, q", [("median", None), ("percentile", 30),
                                     ("percentile", [0, 50, 100]),
                                     ("nanmedian", None), ("nanpercentile", 75),
                                     ("quantile", 0.25)])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("name, a, chunks", NONEMPTY, ids=NONEMPTY_IDS)
def test_median_percentile_single_and_irregular(func, q, axis, name, a, chunks):
    x = ga_(a, chunks)
    args = () if q is None else (q,)
    check(getattr(ga, func)(x, *args, axis=axis), getattr(np, func)(a, *args, axis=axis))


@pytest.mark.parametrize("func, args", [("median", ()), ("percentile", (50,)),
                                         ("nanmedian", ())])
def test_median_percentile_on_empty(func, args):
    a = np.ones((0, 7))
    x = ga_(a, ((0,), (2, 5)))
    for axis in (0, 1, None):
        with quiet():
            try:
                expected = getattr(np, func)(a, *args, axis=axis)
            except Exception as e:  # NumPy's percentile of an empty axis is an IndexError
                with pytest.raises(type(e)):
                    run(getattr(ga, func)(x, *args, axis=axis))
                continue
            check(getattr(ga, func)(x, *args, axis=axis), expected)


def test_median_zero_d():
    z = np.array(3.0)
    check(ga.median(ga.from_array(z)), np.median(z))
    check(ga.percentile(ga.from_array(z), 40), np.percentile(z, 40))


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_count_nonzero_and_average_edge(name, a, chunks):
    b = np.where(a > 0, a, 0)
    x = ga_(b, chunks)
    for axis in (None, 0, 1):
        check(ga.count_nonzero(x, axis=axis), np.count_nonzero(b, axis=axis))
    if b.size:
        w = np.arange(1.0, b.shape[1] + 1)
        check(ga.average(x, axis=1, weights=w), np.average(b, axis=1, weights=w))
        check(ga.average(x), np.average(b))


# --- hypothesis: elementwise + reductions over shapes and chunkings -------------------------

def _chunking(draw, n):
    if n == 0:
        return (0,)
    sizes = []
    left = n
    while left:
        c = draw(st.integers(1, left))
        sizes.append(c)
        left -= c
    return tuple(sizes)


@st.composite
def arrays_and_chunks(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.integers(0, 5)) for _ in range(ndim))
    chunks = tuple(_chunking(draw, n) for n in shape)
    seed = draw(st.integers(0, 1000))
    a = np.random.default_rng(seed).uniform(-3, 3, size=shape).round(1)
    return a, chunks


@settings(max_examples=30, deadline=None)
@given(arrays_and_chunks())
def test_elementwise_for_any_shape_and_chunking(ac):
    a, chunks = ac
    x = ga.from_array(a, chunks=chunks)
    check(x * 2 - np.float32(1), a * 2 - np.float32(1))
    check(np.maximum(x, 0) + x.astype("i4"), np.maximum(a, 0) + a.astype("i4"))
    check(ga.where(x > 0, x, 0), np.where(a > 0, a, 0))


@settings(max_examples=30, deadline=None)
@given(arrays_and_chunks(), st.sampled_from(["sum", "prod", "max", "mean", "any", "argmax",
                                             "cumsum", "nansum", "std"]), st.data())
def test_reductions_for_any_shape_and_chunking(ac, func, data):
    a, chunks = ac
    x = ga.from_array(a, chunks=chunks)
    axis = data.draw(st.sampled_from([None] + list(range(a.ndim))))
    try:
        with quiet():
            expected = getattr(np, func)(a, axis=axis)
    except ValueError:
        with pytest.raises(ValueError):
            run(getattr(ga, func)(x, axis=axis))
        return
    with quiet():
        check(getattr(ga, func)(x, axis=axis), expected)


# --- indexing -------------------------------------------------------------------------------

INDICES = [
    0, -1, 7, (slice(None), 6), (slice(None, None, -1),), (slice(None, None, -3), slice(5, 0, -2)),
    (slice(6, 2, -1), -1), (None, Ellipsis, None), (Ellipsis, 0), (3, None), ([0, 7, 3, 3],),
    (slice(None), [6, 0, 1]), (np.array([[1, 2], [7, 0]]),),
    (A2[:, 0] > 0,), (slice(None), A2[0] > 0), (A2 > 0,), (slice(0, 0),), (slice(10, 20),),
    (slice(3, 4), slice(2, 3)), ([],), (slice(None), np.array([], dtype=int)),
]


@pytest.mark.parametrize("index", INDICES, ids=lambda i: repr(i)[:40])
@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_getitem_irregular_and_single(index, chunks):
    x = ga_(A2, chunks)
    expected = A2[index]
    got = x[index]
    check(known(got), expected, exact=True)


@pytest.mark.parametrize("index", [(), Ellipsis, None, (None, Ellipsis), (Ellipsis, None)],
                         ids=repr)
def test_getitem_zero_d(index):
    z = np.array(4.5)
    check(ga.from_array(z)[index], z[index], exact=True)


@pytest.mark.parametrize("index", [slice(None), (slice(None), 0), (slice(None, None, -1),),
                                   (None, slice(None)), ([],), (slice(None), [1, 2])],
                         ids=repr)
def test_getitem_on_empty(index):
    a = np.ones((0, 3))
    check(ga.from_array(a, chunks=2)[index], a[index], exact=True)


@pytest.mark.parametrize("index", [8, -9, (0, 7), (0, -8), ([0, 8],), (slice(None), [7]),
                                   (0, 0, 0)], ids=repr)
@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_out_of_bounds_indices_raise_indexerror(index, chunks):
    x = ga_(A2, chunks)
    with pytest.raises(IndexError):
        A2[index]
    with pytest.raises(IndexError, match="out of bounds|too many indices"):
        x[index]


def test_out_of_bounds_on_zero_d_and_empty():
    with pytest.raises(IndexError):
        np.array(1.0)[0]
    with pytest.raises(IndexError, match="too many indices|0-dimensional|out of bounds"):
        ga.from_array(np.array(1.0))[0]
    with pytest.raises(IndexError):
        np.ones((0, 3))[0]
    with pytest.raises(IndexError, match="out of bounds"):
        ga.ones((0, 3), chunks=2)[0]


def test_boolean_mask_wrong_shape_raises_indexerror():
    with pytest.raises(IndexError):
        A2[np.ones(5, dtype=bool)]
    with pytest.raises(IndexError, match="boolean"):
        ga_(A2, IRREG)[np.ones(5, dtype=bool)]


@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_lazy_boolean_masks_and_compute_chunk_sizes(chunks):
    x = ga_(A2, chunks)
    m = x > 0
    y = x[m]
    assert np.isnan(y.shape[0])
    y = y.compute_chunk_sizes()
    check(y, A2[A2 > 0], exact=True)
    rows = x[x[:, 0] > 0]
    check(rows.compute_chunk_sizes(), A2[A2[:, 0] > 0], exact=True)
    none = x[x > 100]
    check(none.compute_chunk_sizes(), A2[A2 > 100], exact=True)


@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_vindex_irregular_and_single(chunks):
    x = ga_(A2, chunks)
    i, j = [7, 0, 3, 3, -1], [6, 0, 2, 1, 0]
    check(x.vindex[i, j], A2[i, j], exact=True)
    check(x.vindex[np.array([[0, 4], [3, 7]]), np.array([[1, 1], [6, 0]])],
          A2[np.array([[0, 4], [3, 7]]), np.array([[1, 1], [6, 0]])], exact=True)
    with pytest.raises(IndexError):
        x.vindex[[8], [0]]


@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
@pytest.mark.parametrize("index, value", [
    ((slice(None), slice(1, 6)), 9.0), ((slice(None, None, -2),), -1.0), ((3,), 5.0),
    ("mask", 0.0), ("lazymask", 2.0), ((slice(2, 5), 4), np.arange(3.0)),
    ((slice(0, 0),), 1.0)], ids=repr)
def test_setitem_irregular_and_single(chunks, index, value):
    a = A2.copy()
    x = ga_(A2, chunks)
    if index == "mask":
        a[A2 > 0] = value
        x[A2 > 0] = value
    elif index == "lazymask":
        a[A2 < 0] = value
        x[x < 0] = value
    else:
        a[index] = value
        x[index] = value
    check(x, a, exact=True)


def test_setitem_zero_d_and_empty():
    z = np.array(1.0)
    x = ga.from_array(z)
    x[()] = 5.0
    z[()] = 5.0
    check(x, z, exact=True)
    e = np.ones((0, 3))
    y = ga.from_array(e, chunks=2)
    y[:] = 3.0
    check(y, e, exact=True)


# --- shape ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_shape_functions_edge_layouts(name, a, chunks):
    x = ga_(a, chunks)
    check(x.T, a.T, exact=True)
    check(ga.transpose(x, (1, 0)), np.transpose(a, (1, 0)), exact=True)
    check(ga.swapaxes(x, 0, 1), np.swapaxes(a, 0, 1), exact=True)
    check(ga.moveaxis(x, 0, -1), np.moveaxis(a, 0, -1), exact=True)
    check(ga.expand_dims(x, (0, 3)), np.expand_dims(a, (0, 3)), exact=True)
    check(ga.squeeze(ga.expand_dims(x, 1)), np.squeeze(np.expand_dims(a, 1)), exact=True)
    check(ga.ravel(x), np.ravel(a), exact=True)
    check(ga.flip(x), np.flip(a), exact=True)
    check(ga.flip(x, 1), np.flip(a, 1), exact=True)
    check(ga.roll(x, 3), np.roll(a, 3), exact=True)
    check(ga.roll(x, (-2, 9), axis=(0, 1)), np.roll(a, (-2, 9), axis=(0, 1)), exact=True)
    check(ga.reshape(x, (a.shape[1], a.shape[0])), np.reshape(a, (a.shape[1], a.shape[0])),
          exact=True)
    check(x.reshape(-1), a.reshape(-1), exact=True)


@pytest.mark.parametrize("func, args", [
    ("transpose", ()), ("ravel", ()), ("squeeze", ()), ("expand_dims", (0,)), ("flip", ()),
    ("roll", (2,)), ("reshape", ((1, 1),)), ("reshape", (-1,)), ("broadcast_to", ((2, 3),)),
    ("tile", (3,)), ("repeat", (2,)), ("atleast_1d", ()), ("atleast_2d", ()),
])
def test_shape_functions_on_zero_d(func, args):
    z = np.array(1.5)
    check(getattr(ga, func)(ga.from_array(z), *args), getattr(np, func)(z, *args), exact=True)


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("axis", [0, 1, None])
def test_concatenate_stack_block_edge(name, a, chunks, axis):
    x = ga_(a, chunks)
    y = ga.from_array(a * 2, chunks=-1)
    check(ga.concatenate([x, y], axis=axis), np.concatenate([a, a * 2], axis=axis), exact=True)
    if axis is not None:
        check(ga.stack([x, y], axis=axis), np.stack([a, a * 2], axis=axis), exact=True)
    check(ga.block([[x, y], [y, x]]), np.block([[a, a * 2], [a * 2, a]]), exact=True)


def test_concatenate_and_stack_zero_d_errors_and_dtype_promotion():
    z = np.array(1.0)
    check(ga.stack([ga.from_array(z), ga.from_array(z)]), np.stack([z, z]), exact=True)
    with pytest.raises(ValueError):
        np.concatenate([z, z])
    with pytest.raises(ValueError, match="zero-dimensional|0-d|dimension"):
        ga.concatenate([ga.from_array(z), ga.from_array(z)])
    i = ga.from_array(A2I, chunks=IRREG)
    check(ga.concatenate([i, ga_(A2, -1)]), np.concatenate([A2I, A2]))
    check(ga.stack([i, ga_(A2, (4, 4))], axis=2), np.stack([A2I, A2], axis=2))
    with pytest.raises(ValueError):
        np.stack([A2, A2[:3]])
    with pytest.raises(ValueError, match="same shape"):
        ga.stack([ga_(A2, IRREG), ga_(A2[:3], -1)])


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_broadcast_to_pad_tile_repeat_edge(name, a, chunks):
    x = ga_(a, chunks)
    check(ga.broadcast_to(x, (2,) + a.shape), np.broadcast_to(a, (2,) + a.shape), exact=True)
    check(ga.broadcast_to(x[:1], (3, a.shape[1])) if a.shape[0] else x[:0],
          np.broadcast_to(a[:1], (3, a.shape[1])) if a.shape[0] else a[:0], exact=True)
    check(ga.pad(x, ((1, 2), (0, 3))), np.pad(a, ((1, 2), (0, 3))), exact=True)
    check(ga.pad(x, 1, mode="constant", constant_values=7), np.pad(a, 1, constant_values=7),
          exact=True)
    if a.size:
        for mode in ("edge", "reflect", "wrap", "symmetric"):
            check(ga.pad(x, 2, mode=mode), np.pad(a, 2, mode=mode), exact=True)
    check(ga.tile(x, (2, 1)), np.tile(a, (2, 1)), exact=True)
    check(ga.tile(x, 2), np.tile(a, 2), exact=True)
    check(ga.tile(x, 0), np.tile(a, 0), exact=True)
    check(ga.repeat(x, 2, axis=0), np.repeat(a, 2, axis=0), exact=True)
    check(ga.repeat(x, 3, axis=1), np.repeat(a, 3, axis=1), exact=True)
    check(ga.repeat(x, 2), np.repeat(a, 2), exact=True)


def test_shape_errors_like_numpy():
    x = ga_(A2, IRREG)
    for bad in [lambda m: m.reshape(5, 5), lambda m: m.transpose(0, 0),
                lambda m: m.squeeze(axis=0), lambda m: np.moveaxis(m, 0, 5)]:
        with pytest.raises((ValueError, np.exceptions.AxisError)) as expected:
            bad(A2)
        with pytest.raises(expected.type):
            bad(x)


# --- linalg ---------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_products_irregular_and_single(chunks):
    x = ga_(A2, chunks)
    b = A2.T.copy()
    y = ga.from_array(b, chunks=((2, 5), (3, 5)))
    check(ga.dot(x, y), np.dot(A2, b))
    check(x @ y, A2 @ b)
    check(ga.matmul(x, ga.from_array(A2[0], chunks=3)), np.matmul(A2, A2[0]))
    check(ga.tensordot(x, y, axes=1), np.tensordot(A2, b, axes=1))
    check(ga.tensordot(x, x, axes=([0, 1], [0, 1])), np.tensordot(A2, A2, axes=([0, 1], [0, 1])))
    check(ga.einsum("ij,jk->ik", x, y), np.einsum("ij,jk->ik", A2, b))
    check(ga.einsum("ij->j", x), np.einsum("ij->j", A2))
    check(ga.einsum("ij,ij->", x, x), np.einsum("ij,ij->", A2, A2))
    check(ga.outer(x[:, 0], x[0]), np.outer(A2[:, 0], A2[0]))
    check(ga.outer(x, x[0]), np.outer(A2, A2[0]))


def test_products_empty_and_zero_d():
    e = np.ones((0, 3))
    x = ga.from_array(e, chunks=2)
    y = ga.from_array(np.ones((3, 4)), chunks=2)
    check(x @ y, e @ np.ones((3, 4)))
    check(ga.dot(x.T, x), np.dot(e.T, e))
    check(ga.tensordot(x.T, x, axes=1), np.tensordot(e.T, e, axes=1))
    check(ga.einsum("ij,jk->ik", x, y), np.einsum("ij,jk->ik", e, np.ones((3, 4))))
    z = np.array(3.0)
    check(ga.dot(ga.from_array(z), ga_(A2, IRREG)), np.dot(z, A2))
    check(ga.outer(ga.from_array(z), ga.from_array(np.arange(3.0))), np.outer(z, np.arange(3.0)))
    with pytest.raises(ValueError):
        np.matmul(z, z)
    with pytest.raises(ValueError, match="0-d|scalar|dimension"):
        ga.matmul(ga.from_array(z), ga.from_array(z))


def test_dot_tensordot_shape_mismatch_raise_valueerror():
    x = ga_(A2, IRREG)
    with pytest.raises(ValueError):
        np.dot(A2, A2)
    with pytest.raises(ValueError, match="shape|align|mismatch"):
        ga.dot(x, x)
    with pytest.raises(ValueError):
        np.tensordot(A2, A2, axes=1)
    with pytest.raises(ValueError, match="shape|align|mismatch"):
        ga.tensordot(x, x, axes=1)


@pytest.mark.parametrize("ord, axis", [(None, None), (1, 0), (2, 1), (np.inf, 1), (-np.inf, 0),
                                       ("fro", None), (1, None), (np.inf, None), (0, 1)])
@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
def test_norm_irregular_and_single(ord, axis, chunks):
    check(ga.linalg.norm(ga_(A2, chunks), ord=ord, axis=axis),
          np.linalg.norm(A2, ord=ord, axis=axis))


def test_norm_vector_zero_d_and_empty():
    v = np.arange(-3.0, 4.0)
    for ord in (None, 1, 2, 3, np.inf, -np.inf, 0):
        check(ga.linalg.norm(ga.from_array(v, chunks=((3, 1, 3),)), ord=ord),
              np.linalg.norm(v, ord=ord))
    e = np.ones((0,))
    check(ga.linalg.norm(ga.from_array(e, chunks=2)), np.linalg.norm(e))


@pytest.mark.parametrize("chunks", [((3, 1, 4), (3,)), ((8,), (3,))], ids=["irregular", "single"])
def test_qr_svd_lstsq_irregular_and_single(chunks):
    a = RNG.normal(size=(8, 3))
    x = ga.from_array(a, chunks=chunks)
    q, r = ga.linalg.qr(x)
    assert q.shape == (8, 3) and r.shape == (3, 3)
    qq, rr = run(q), run(r)
    np.testing.assert_allclose(qq @ rr, a, atol=1e-10)
    np.testing.assert_allclose(qq.T @ qq, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(np.abs(rr), np.abs(np.linalg.qr(a)[1]), atol=1e-10)
    u, s, vt = ga.linalg.svd(x)
    np.testing.assert_allclose(run(s), np.linalg.svd(a, compute_uv=False), atol=1e-10)
    np.testing.assert_allclose((run(u) * run(s)) @ run(vt), a, atol=1e-10)
    b = RNG.normal(size=8)
    sol = ga.linalg.lstsq(x, ga.from_array(b, chunks=(chunks[0],)))
    exp = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(run(sol[0]), exp[0], atol=1e-10)
    np.testing.assert_allclose(run(sol[1]), exp[1], atol=1e-10)


@pytest.mark.parametrize("chunks", [((2, 1, 2), (3, 2)), -1], ids=["irregular", "single"])
def test_solve_irregular_and_single(chunks):
    a = RNG.normal(size=(5, 5)) + 5 * np.eye(5)
    b = RNG.normal(size=(5, 2))
    check(ga.linalg.solve(ga.from_array(a, chunks=chunks), ga.from_array(b, chunks=2)),
          np.linalg.solve(a, b))
    check(ga.linalg.solve(ga.from_array(a, chunks=chunks), ga.from_array(b[:, 0], chunks=3)),
          np.linalg.solve(a, b[:, 0]))


# --- routines -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_unique_edge(name, a, chunks):
    b = np.round(a)
    x = ga_(b, chunks)
    check(known(ga.unique(x)), np.unique(b), exact=True)
    u, c = ga.unique(x, return_counts=True)
    eu, ec = np.unique(b, return_counts=True)
    check(known(u), eu, exact=True)
    check(known(c), ec, exact=True)


@pytest.mark.parametrize("chunks", [((3, 1, 4),), -1, ((0,),)],
                         ids=["irregular", "single", "empty"])
def test_bincount_edge(chunks):
    a = np.array([0, 3, 3, 1, 7, 2, 2, 2]) if chunks != ((0,),) else np.array([], dtype=int)
    w = np.linspace(0, 1, len(a))
    x = ga.from_array(a, chunks=chunks)
    check(known(ga.bincount(x)), np.bincount(a))
    check(known(ga.bincount(x, minlength=10)), np.bincount(a, minlength=10))
    check(known(ga.bincount(x, weights=ga.from_array(w, chunks=chunks))),
          np.bincount(a, weights=w))


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_histogram_digitize_isin_searchsorted_edge(name, a, chunks):
    x = ga_(a, chunks)
    h, e = ga.histogram(x, bins=5, range=(-2, 2))
    eh, ee = np.histogram(a, bins=5, range=(-2, 2))
    check(h, eh, exact=True)
    np.testing.assert_allclose(np.asarray(e), ee)
    bins = np.array([-1.0, 0.0, 0.5, 1.5])
    h2, _ = ga.histogram(x, bins=bins)
    check(h2, np.histogram(a, bins=bins)[0], exact=True)
    check(ga.digitize(x, bins), np.digitize(a, bins), exact=True)
    check(ga.digitize(x, bins, right=True), np.digitize(a, bins, right=True), exact=True)
    check(ga.isin(x, [a.flat[0] if a.size else 0, 1.0]),
          np.isin(a, [a.flat[0] if a.size else 0, 1.0]), exact=True)
    check(ga.isin(x, [0.5], invert=True), np.isin(a, [0.5], invert=True), exact=True)
    s = np.sort(a.ravel())
    v = np.array([-5.0, 0.0, 0.13, 5.0])
    sx = ga.from_array(s, chunks=3 if s.size else 1)
    for side in ("left", "right"):
        check(ga.searchsorted(sx, v, side=side), np.searchsorted(s, v, side=side), exact=True)


def test_digitize_isin_zero_d():
    z = np.array(0.3)
    check(ga.digitize(ga.from_array(z), [0.0, 1.0]), np.digitize(z, [0.0, 1.0]), exact=True)
    check(ga.isin(ga.from_array(z), [0.3]), np.isin(z, [0.3]), exact=True)


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_argwhere_nonzero_edge(name, a, chunks):
    b = np.where(a > 0.5, a, 0)
    x = ga_(b, chunks)

    check(known(ga.argwhere(x)), np.argwhere(b), exact=True)
    for got, expected in zip(ga.nonzero(x), np.nonzero(b)):
        check(known(got), expected, exact=True)
    check(known(ga.flatnonzero(x)), np.flatnonzero(b), exact=True)


def test_argwhere_zero_d():
    for value in (0.0, 2.0):
        z = np.array(value)
        check(known(ga.argwhere(ga.from_array(z))), np.argwhere(z), exact=True)
        with pytest.raises(ValueError, match="nonzero on 0d arrays") as expected:
            np.nonzero(z)
        with pytest.raises(ValueError, match="nonzero on 0d arrays") as got:
            ga.nonzero(ga.from_array(z))
        assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("n, axis", [(1, -1), (2, 0), (0, 1), (3, 1)])
def test_diff_edge(name, a, chunks, n, axis):
    check(ga.diff(ga_(a, chunks), n=n, axis=axis), np.diff(a, n=n, axis=axis))


def test_diff_prepend_append_and_errors():
    x = ga_(A2, IRREG)
    check(ga.diff(x, axis=0, prepend=0), np.diff(A2, axis=0, prepend=0))
    check(ga.diff(x, append=A2[:, :1]), np.diff(A2, append=A2[:, :1]))
    with pytest.raises(ValueError):
        np.diff(np.array(1.0))
    with pytest.raises(ValueError, match="0-d|at least one dimension|zero-dimensional"):
        ga.diff(ga.from_array(np.array(1.0)))
    with pytest.raises(ValueError):
        np.diff(A2, n=-1)
    with pytest.raises(ValueError, match="order must be non-negative|negative"):
        ga.diff(x, n=-1)


@pytest.mark.parametrize("chunks", [IRREG, -1], ids=["irregular", "single"])
@pytest.mark.parametrize("rowvar", [True, False])
def test_cov_corrcoef_irregular_and_single(chunks, rowvar):
    x = ga_(A2, chunks)
    check(ga.cov(x, rowvar=rowvar), np.cov(A2, rowvar=rowvar))
    check(ga.cov(x, rowvar=rowvar, bias=True), np.cov(A2, rowvar=rowvar, bias=True))
    check(ga.cov(x, rowvar=rowvar, ddof=2), np.cov(A2, rowvar=rowvar, ddof=2))
    check(ga.corrcoef(x, rowvar=rowvar), np.corrcoef(A2, rowvar=rowvar))
    v = A2[0]
    check(ga.cov(ga.from_array(v, chunks=((2, 5),))), np.cov(v))
    check(ga.cov(x[0], x[1]), np.cov(A2[0], A2[1]))


@pytest.mark.parametrize("name, a, chunks", LAYOUTS, ids=LAYOUT_IDS)
def test_sort_edge(name, a, chunks):
    x = ga_(a, chunks)
    if isinstance(chunks, tuple) and len(chunks[1]) > 1:
        with pytest.raises(ValueError, match="sort needs axis 1 in a single block"):
            ga.sort(x)
        x = x.rechunk({1: -1})
    check(ga.sort(x), np.sort(a), exact=True)
    check(ga.sort(x.rechunk({0: -1}), axis=0), np.sort(a, axis=0), exact=True)


def test_sort_zero_d_like_numpy():
    z = np.array(1.0)
    with pytest.raises(np.exceptions.AxisError):
        np.sort(z)
    with pytest.raises(np.exceptions.AxisError):
        ga.sort(ga.from_array(z))
    check(ga.sort(ga.from_array(z), axis=None), np.sort(z, axis=None), exact=True)


# --- chunks normalisation and rechunk -------------------------------------------------------

@pytest.mark.parametrize("chunks, expected, rechunked", [
    (3, ((3, 3, 2), (3, 3, 1)), None), ((3, 7), ((3, 3, 2), (7,)), None), (IRREG, IRREG, None),
    ({0: 4}, ((4, 4), (7,)), ((4, 4), (2, 5))), ({1: -1, 0: 8}, ((8,), (7,)), None),
    (-1, ((8,), (7,)), None), ((-1, (2, 5)), ((8,), (2, 5)), None),
    ({-1: 3}, ((8,), (3, 3, 1)), ((3, 1, 4), (3, 3, 1))), ((None, 3), None, ((3, 1, 4), (3, 3, 1))),
])
def test_chunk_forms_on_arrays(chunks, expected, rechunked):
    # from_array: axes a dict leaves out take the whole axis; rechunk keeps them as they are.
    if expected is not None:
        x = ga_(A2, chunks)
        assert x.chunks == expected
        check(x, A2, exact=True)
    y = ga_(A2, IRREG).rechunk(chunks)
    assert y.chunks == (rechunked or expected)
    check(y, A2, exact=True)


def test_auto_chunks_and_rechunk_edge_shapes():
    for a in (np.array(1.0), np.ones((0, 4)), A2):
        x = ga.from_array(a, chunks="auto")
        check(x.rechunk("auto"), a, exact=True)
        check(x.rechunk(-1), a, exact=True)
    e = ga.ones((0, 7), chunks=((0,), (2, 5)))
    check(e.rechunk((3, 3)), np.ones((0, 7)), exact=True)
    check(ga_(A2, IRREG).rechunk(((1, 7), (7,))), A2, exact=True)


@pytest.mark.parametrize("chunks, message", [
    (((3, 1, 3), (2, 5)), "sum to 7, but the axis has length 8"),
    ((3, 3, 3), "3 entries but the array shape (8, 7) has 2 dimension"),
    ((0, 3), "must be positive"),
    ({5: 2}, "axis 5"),
    ((3, "x"), "'x' on axis 1 is not understood"),
    (((3, -1, 6), (7,)), "non-negative int"),
])
def test_invalid_chunks_on_from_array_and_rechunk(chunks, message):
    with pytest.raises(ValueError) as info:
        ga.from_array(A2, chunks=chunks)
    assert message in str(info.value)
    with pytest.raises(ValueError) as info:
        ga_(A2, IRREG).rechunk(chunks)
    assert message in str(info.value)
    with pytest.raises(ValueError) as info:
        ga.ones((8, 7), chunks=chunks)
    assert message in str(info.value)


def test_invalid_chunks_on_zero_d_and_empty():
    with pytest.raises(ValueError, match="entries but the array shape"):
        ga.from_array(np.array(1.0), chunks=(2,))
    with pytest.raises(ValueError, match="sum to 1, but the axis has length 0"):
        ga.ones((0,), chunks=((1,),))


# --- NumPy corner cases that once differed -------------------------------------------------

def test_vindex_shape_mismatch_is_an_indexerror_like_numpy():
    x = ga_(A2, IRREG)
    with pytest.raises(IndexError):
        A2[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="shape mismatch: indexing arrays could not be broadcast"):
        x.vindex[[0, 1], [0, 1, 2]]


def test_cov_of_zero_d_like_numpy():
    z = np.array(3.0)
    with quiet():
        check(ga.cov(ga.from_array(z)), np.cov(z))
        check(ga.cov(ga.from_array(np.arange(3.0), chunks=2)), np.cov(np.arange(3.0)))


@pytest.mark.parametrize("func", ["nanargmin", "nanargmax"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nanarg_all_nan_slice_raises_like_numpy(func, axis):
    a = A2.copy()
    a[:, 3] = np.nan
    a[2, :] = np.nan
    x = ga_(a, IRREG)
    if axis is None:
        check(getattr(ga, func)(x), getattr(np, func)(a))
        a = np.full_like(a, np.nan)
        x = ga_(a, IRREG)
    with pytest.raises(ValueError):
        getattr(np, func)(a, axis=axis)
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        run(getattr(ga, func)(x, axis=axis))
    b = np.where(np.isnan(a), 1.0, a)
    b[0, 0] = np.nan
    check(getattr(ga, func)(ga_(b, IRREG), axis=axis), getattr(np, func)(b, axis=axis))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_float16_mean_accumulates_like_numpy(axis):
    a = (A2 * 1000).astype("f2")
    check(ga.mean(ga_(a, IRREG), axis=axis), np.mean(a, axis=axis), exact=True)
    # dtype="f2" sums in float16, so the blocks' summation order shows in the last bits
    got = ga.mean(ga_(a, IRREG), axis=axis, dtype="f2")
    expected = np.mean(a, axis=axis, dtype="f2")
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(run(got), expected, rtol=3e-3)


def test_average_with_weights_summing_to_zero_raises_on_compute():
    with pytest.raises(ZeroDivisionError):
        np.average(A2, axis=0, weights=np.zeros(8))
    got = ga.average(ga_(A2, IRREG), axis=0, weights=np.zeros(8))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        run(got)
    w = np.zeros(8)
    w[3] = 2.0
    check(ga.average(ga_(A2, IRREG), axis=0, weights=w), np.average(A2, axis=0, weights=w))


def test_bincount_of_empty_input_with_weights_is_intp_like_numpy():
    e = np.array([], dtype=int)
    got = ga.bincount(ga.from_array(e, chunks=((0,),)), weights=ga.from_array(np.ones(0)),
                      minlength=3)
    check(known(got), np.bincount(e, weights=np.ones(0), minlength=3))


def test_scan_and_sort_axis_errors_like_numpy():
    x = ga_(A2, IRREG)
    for func in (np.cumsum, np.sort, np.diff):
        with pytest.raises(np.exceptions.AxisError):
            func(A2, axis=2)
        with pytest.raises(np.exceptions.AxisError):
            func(x, axis=2)


def test_diff_of_booleans_and_ediff1d_padding_like_numpy():
    m = A2 > 0
    for axis in (0, 1):
        check(ga.diff(ga_(m, IRREG), axis=axis), np.diff(m, axis=axis), exact=True)
    x = ga_(A2, IRREG)
    check(ga.ediff1d(x, to_begin=[0, 0]), np.ediff1d(A2, to_begin=[0, 0]))
    check(ga.ediff1d(x, to_end=5, to_begin=-1.5), np.ediff1d(A2, to_end=5, to_begin=-1.5))
    check(ga.ediff1d(ga.from_array(np.arange(4), chunks=3), to_end=[9]),
          np.ediff1d(np.arange(4), to_end=[9]))


@pytest.mark.parametrize("dtype", ["f4", "f8", "i2"])
def test_histogram_edges_dtype_like_numpy(dtype):
    a = (A2 * 3).astype(dtype)
    h, e = ga.histogram(ga_(a, IRREG), bins=4, range=(-3, 3))
    eh, ee = np.histogram(a, bins=4, range=(-3, 3))
    check(h, eh, exact=True)
    assert e.dtype == ee.dtype
    np.testing.assert_array_equal(e, ee)


def test_roll_shift_axis_length_mismatch_raises_like_numpy():
    with pytest.raises(ValueError):
        np.roll(A2, (1, 2), axis=(0, 1, 1))
    with pytest.raises(ValueError, match="broadcast"):
        ga.roll(ga_(A2, IRREG), (1, 2), axis=(0, 1, 1))
    check(ga.roll(ga_(A2, IRREG), (1, 2), axis=(1, 1)), np.roll(A2, (1, 2), axis=(1, 1)),
          exact=True)


def test_solve_non_square_raises_linalgerror_like_numpy():
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(A2, A2[:, 0])
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        ga.linalg.solve(ga_(A2, IRREG), ga_(A2, IRREG)[:, 0])


def test_lstsq_rank_dtype_like_numpy():
    x = ga.from_array(A2, chunks=((3, 1, 4), (7,)))
    got = ga.linalg.lstsq(x, x[:, 0])
    expected = np.linalg.lstsq(A2, A2[:, 0], rcond=None)
    check(got[2], expected[2])
    np.testing.assert_allclose(run(got[3]), expected[3], atol=1e-10)


def test_block_with_mismatched_depths_raises_like_numpy():
    x = ga_(A2, IRREG)
    with pytest.raises(ValueError):
        np.block([[A2], A2])
    with pytest.raises(ValueError, match="List depths are mismatched"):
        ga.block([[x], x])


@pytest.mark.parametrize("dtype", ["f4", "i8", "f8"])
def test_ufunc_dtype_argument_reaches_numpy(dtype):
    a = A2I.astype("i2") if dtype == "i8" else A2
    x = ga_(a, IRREG)
    check(np.add(x, 1, dtype=dtype), np.add(a, 1, dtype=dtype))
    check(np.multiply(x, x, dtype=dtype), np.multiply(a, a, dtype=dtype))
    check(np.sqrt(abs(x), dtype="f4"), np.sqrt(abs(a), dtype="f4"))
    with pytest.raises(TypeError):
        np.add(A2, 1, dtype="i8")  # same_kind casting refuses float -> int
    with pytest.raises(TypeError):
        np.add(ga_(A2, IRREG), 1, dtype="i8")


def test_ufunc_where_without_out_is_a_clear_error():
    x = ga_(A2, IRREG)
    with pytest.raises(NotImplementedError, match="where=.*use ga.where"):
        np.add(x, 1, where=x > 0)
    check(np.add(x, 1, where=True), np.add(A2, 1, where=True))
