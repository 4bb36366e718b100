"""The Array object, chunk normalisation, lazy blockwise layers and their fusion,
operators, ufuncs, broadcasting and dtype promotion — checked against NumPy."""
from __future__ import annotations

import math
import operator
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphengine
import graphengine.array as ga
from graphengine.collections.array.chunks import common_chunks, normalize_chunks
from graphengine.collections.array.layer import Blockwise
from graphengine.collections.base import optimize
from graphengine.local.get import flatten_keys

pytestmark = pytest.mark.timeout(60)


def run(x):
    return x.compute(scheduler="sync")


def ne(a):
    return np.asarray(a)


# --- chunks ------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks, shape, expected", [
    (2, (5,), ((2, 2, 1),)),
    ((2, -1), (5, 3), ((2, 2, 1), (3,))),
    ((2, None), (5, 3), ((2, 2, 1), (3,))),
    (((1, 4), (3,)), (5, 3), ((1, 4), (3,))),
    ({0: 4}, (10, 2), ((4, 4, 2), (2,))),
    ({-1: 1}, (2, 2), ((2,), (1, 1))),
    (-1, (4, 4), ((4,), (4,))),
    ((3,), (0,), ((0,),)),
    ((), (), ()),
])
def test_normalize_chunks_accepts_every_form(chunks, shape, expected):
    assert normalize_chunks(chunks, shape) == expected


def test_auto_chunks_respect_the_byte_limit():
    chunks = normalize_chunks("auto", (10000, 10000), limit=8 * 10**6, dtype=np.float64)
    assert max(chunks[0]) * max(chunks[1]) * 8 <= 8 * 10**6
    assert sum(chunks[0]) == 10000 and sum(chunks[1]) == 10000
    # Short axes take the whole axis, the rest share the budget.
    assert normalize_chunks("auto", (3, 10**8), limit=2**20, dtype="f8")[0] == (3,)


def test_auto_chunks_default_to_config_size():
    with graphengine.config.set({"array.chunk-size": 8 * 100 * 100}):
        x = ga.ones((1000, 1000), chunks="auto")
    assert x.chunksize == (100, 100)


@pytest.mark.parametrize("chunks, shape, message", [
    (((2, 2),), (5,), "sum to 4, but the axis has length 5"),
    ((2, 2), (5,), "2 entries but the array shape (5,) has 1 dimension"),
    (0, (5,), "must be positive"),
    (-3, (5,), "must be positive"),
    ({3: 1}, (5,), "axis 3"),
    ("big", (5,), "'big' on axis 0 is not understood"),
    (((2, -1),), (1,), "non-negative int"),
])
def test_invalid_chunks_name_what_is_wrong(chunks, shape, message):
    with pytest.raises(ValueError) as info:
        normalize_chunks(chunks, shape, dtype=float)
    assert message in str(info.value)


def test_invalid_chunk_type_is_a_type_error():
    with pytest.raises(TypeError, match="unsupported type float"):
        normalize_chunks((2.5,), (5,))


def test_auto_chunks_without_dtype_is_an_error():
    with pytest.raises(ValueError, match="dtype"):
        normalize_chunks("auto", (5,))


def test_common_chunks_refines_both():
    assert common_chunks((2, 2), (1, 3)) == (1, 1, 2)
    assert common_chunks((4,), (4,)) == (4,)


# --- the Array object ------------------------------------------------------------------------

def test_array_metadata_matches_numpy():
    a = np.arange(24, dtype="i4").reshape(4, 6)
    x = ga.from_array(a, chunks=(3, 4))
    assert x.shape == a.shape and x.ndim == 2 and x.size == 24 and x.dtype == a.dtype
    assert x.nbytes == a.nbytes and x.itemsize == 4
    assert x.chunks == ((3, 1), (4, 2)) and x.numblocks == (2, 2) and x.npartitions == 4
    assert x.chunksize == (3, 4) and len(x) == 4


def test_compute_and_array_protocol_give_the_numpy_array():
    a = np.arange(10.0)
    x = ga.from_array(a, chunks=3)
    np.testing.assert_array_equal(run(x), a)
    np.testing.assert_array_equal(np.asarray(x), a)
    assert np.asarray(x, dtype="f4").dtype == np.float32


def test_zero_d_empty_single_and_irregular_chunk_arrays_roundtrip():
    for a, chunks in [(np.array(5.0), ()), (np.empty((0, 3)), 2), (np.ones((3, 3)), -1),
                      (np.arange(10), ((1, 5, 4),))]:
        x = ga.from_array(a, chunks=chunks)
        out = run(x + 1)
        np.testing.assert_array_equal(out, a + 1)
        assert np.shape(out) == a.shape


def test_repr_and_html_show_shape_chunks_dtype_and_tasks():
    x = ga.ones((100, 50), chunks=(10, 25), dtype="f4")
    assert "shape=(100, 50)" in repr(x) and "chunksize=(10, 25)" in repr(x)
    assert "float32" in repr(x)
    html = (x + 1)._repr_html_()
    assert "<svg" in html and "19.53 kiB" in html and "(10, 25)" in html
    assert "40 tasks" in html


def test_blocks_view_selects_blocks():
    a = np.arange(20).reshape(4, 5)
    x = ga.from_array(a, chunks=(2, 2))
    np.testing.assert_array_equal(run(x.blocks[1, 2]), a[2:4, 4:5])
    np.testing.assert_array_equal(run(x.blocks[:, ::-1]), np.hstack([a[:, 4:], a[:, 2:4], a[:, :2]]))
    assert x.blocks.shape == (2, 3)
    with pytest.raises(IndexError, match="block index 5"):
        x.blocks[5]


def test_persist_keeps_results_and_the_same_blocks():
    x = ga.from_array(np.arange(6.0), chunks=2) * 2
    p = x.persist(scheduler="sync")
    assert p.chunks == x.chunks and p.name == x.name
    assert all(not hasattr(v, "func") for v in dict(p.__graphengine_graph__()).values())
    np.testing.assert_array_equal(run(p + 1), np.arange(6.0) * 2 + 1)


def test_compute_on_threads_and_processes_agree():
    x = ga.from_array(np.arange(100.0).reshape(10, 10), chunks=3)
    y = (x * 2 + 1).sum(axis=0)
    expected = (np.arange(100.0).reshape(10, 10) * 2 + 1).sum(axis=0)
    np.testing.assert_allclose(y.compute(scheduler="threads"), expected)
    np.testing.assert_allclose(y.compute(scheduler="processes"), expected)


def test_visualize_renders_the_graph_as_dot():
    x = ga.ones((4, 4), chunks=2) + 1
    dot = x.visualize(filename=None, format="dot")
    assert dot.startswith(b"digraph") and b"add" in dot


def test_to_delayed_gives_one_delayed_per_block():
    a = np.arange(12.0).reshape(3, 4)
    x = ga.from_array(a, chunks=2) * 2
    blocks = x.to_delayed()
    assert blocks.shape == (2, 2)
    np.testing.assert_array_equal(blocks[1, 0].compute(scheduler="sync"), a[2:, :2] * 2)


def test_arrays_pickle():
    x = ga.from_array(np.arange(6), chunks=2) + 1
    y = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(run(y), np.arange(6) + 1)


def test_scalar_conversions():
    x = ga.from_array(np.array([3.5]), chunks=1)
    assert float(x) == 3.5 and int(x) == 3 and bool(x)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ga.ones(3, chunks=1))


# --- laziness and fusion -----------------------------------------------------------------

def test_elementwise_expression_is_one_lazy_layer_per_operation():
    x = ga.random.random((20000, 20000), chunks=(20, 20))  # 1,000 x 1,000 blocks
    y = (x + 1) * 2 - x.T
    graph = y._graph
    assert all(type(layer) is Blockwise for layer in graph.layers.values())
    assert all(layer._cache is None for layer in graph.layers.values())  # nothing generated
    assert len(graph.layers) == 5


def test_elementwise_chain_fuses_into_one_task_per_block():
    x = ga.random.default_rng(1).random((8, 8), chunks=4)
    y = ((x + 1) * 2 - 3) / 4
    keys = flatten_keys(y.__graphengine_keys__())
    graph = optimize(y.__graphengine_graph__(), keys)
    assert len(graph) == 4  # random, +, *, -, / in one task per block
    xn = run(x)
    np.testing.assert_allclose(run(y), ((xn + 1) * 2 - 3) / 4)


def test_shared_input_is_computed_once_not_fused_twice():
    x = ga.random.default_rng(1).random((8, 8), chunks=4)
    y = (x + 1) * 2 - x.T
    keys = flatten_keys(y.__graphengine_keys__())
    graph = optimize(y.__graphengine_graph__(), keys)
    assert len(graph) == 8  # 4 random blocks (read twice) + 4 fused output blocks
    xn = run(x)
    np.testing.assert_allclose(run(y), (xn + 1) * 2 - xn.T)


def test_culling_generates_only_the_needed_blocks():
    x = ga.ones((1000, 1000), chunks=10) + 1
    layer = x._graph.layers[x.name]
    culled, external = layer.cull({(x.name, 3, 4)})
    assert list(culled) == [(x.name, 3, 4)] and len(external) == 1
    assert float(run(x[35:37, 40:42].sum())) == 8.0


# --- operators, ufuncs, broadcasting, dtypes -----------------------------------------------

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
          operator.mod, operator.pow, operator.lt, operator.le, operator.gt, operator.ge,
          operator.eq, operator.ne]
BITWISE = [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]


@pytest.mark.parametrize("op", BINARY)
def test_binary_operators_match_numpy(op):
    a = np.arange(1, 13, dtype=float).reshape(3, 4)
    b = np.arange(4, dtype=float) + 1
    x = ga.from_array(a, chunks=2)
    y = ga.from_array(b, chunks=3)
    np.testing.assert_allclose(run(op(x, y)), op(a, b))
    np.testing.assert_allclose(run(op(x, 2)), op(a, 2))
    np.testing.assert_allclose(run(op(3, x)), op(3, a))
    np.testing.assert_allclose(run(op(x, b)), op(a, b))


@pytest.mark.parametrize("op", BITWISE)
def test_bitwise_operators_match_numpy(op):
    a = np.arange(12).reshape(3, 4)
    x = ga.from_array(a, chunks=2)
    np.testing.assert_array_equal(run(op(x, 2)), op(a, 2))
    np.testing.assert_array_equal(run(op(x, x)), op(a, a))


def test_unary_operators_match_numpy():
    a = np.arange(-3, 3)
    x = ga.from_array(a, chunks=4)
    for op in (operator.neg, operator.pos, operator.abs, operator.invert):
        np.testing.assert_array_equal(run(op(x)), op(a))


@pytest.mark.parametrize("ufunc", [np.sin, np.exp, np.log1p, np.sqrt, np.isnan, np.floor,
                                   np.signbit, np.arctan2, np.hypot, np.maximum, np.logaddexp,
                                   np.isfinite, np.fmod])
def test_numpy_ufuncs_dispatch_lazily(ufunc):
    a = np.linspace(0.1, 3, 12).reshape(3, 4)
    x = ga.from_array(a, chunks=2)
    args = (x,) * ufunc.nin
    result = ufunc(*args)
    assert isinstance(result, ga.Array)
    np.testing.assert_allclose(run(result), ufunc(*(a,) * ufunc.nin))
    assert run(result).dtype == ufunc(*(a,) * ufunc.nin).dtype


def test_multi_output_ufuncs_return_tuples():
    a = np.linspace(-3, 3, 7)
    x = ga.from_array(a, chunks=3)
    frac, whole = np.modf(x)
    np.testing.assert_allclose(run(frac), np.modf(a)[0])
    q, r = divmod(x, 2)
    np.testing.assert_allclose(run(q), a // 2)
    np.testing.assert_allclose(run(r), a % 2)


def test_ufunc_methods_reduce_and_outer():
    a = np.arange(12.0).reshape(3, 4)
    x = ga.from_array(a, chunks=2)
    np.testing.assert_allclose(run(np.add.reduce(x, axis=1)), np.add.reduce(a, axis=1))
    np.testing.assert_allclose(run(np.multiply.outer(x[0], x[1])), np.multiply.outer(a[0], a[1]))


def test_ufunc_out_argument_is_rejected_by_numpy():
    x = ga.ones(3, chunks=1)
    with pytest.raises(TypeError):
        np.add(x, 1, out=np.empty(3))


@pytest.mark.parametrize("left, right", [("i1", "i8"), ("u1", "i1"), ("f4", "i8"),
                                         ("f4", "f8"), ("bool", "i2"), ("c8", "f8"),
                                         ("u4", "i4")])
def test_dtype_promotion_follows_numpy(left, right):
    a, b = np.ones(3, dtype=left), np.ones(3, dtype=right)
    x, y = ga.from_array(a, chunks=2), ga.from_array(b, chunks=2)
    assert (x + y).dtype == (a + b).dtype == run(x + y).dtype
    assert (x * 2).dtype == (a * 2).dtype  # Python scalars are weak (NEP 50)
    assert (x / y).dtype == (a / b).dtype
    assert (x > 1.5).dtype == bool


def test_broadcasting_follows_numpy_with_different_chunkings():
    a = np.arange(24.0).reshape(2, 3, 4)
    b = np.arange(4.0)
    c = np.arange(3.0).reshape(3, 1)
    x = ga.from_array(a, chunks=(1, 2, 3))
    y = ga.from_array(b, chunks=1)
    z = ga.from_array(c, chunks=2)
    np.testing.assert_allclose(run(x + y + z), a + b + c)
    np.testing.assert_allclose(run(z * y), c * b)


def test_incompatible_broadcast_raises_valueerror_like_numpy():
    x = ga.ones((3, 4), chunks=2)
    y = ga.ones((3,), chunks=2)
    with pytest.raises(ValueError) as ours:
        x + y
    with pytest.raises(ValueError):
        np.ones((3, 4)) + np.ones(3)
    assert "could not be broadcast" in str(ours.value) and "(3, 4) (3,)" in str(ours.value)


def test_unsupported_dtype_combination_raises_typeerror_like_numpy():
    x = ga.ones(3, chunks=2)
    with pytest.raises(TypeError):
        x & 1.5
    with pytest.raises(TypeError):
        np.ones(3) & 1.5


def test_where_clip_astype_round_isclose_allclose():
    a = np.linspace(-2, 2, 9)
    x = ga.from_array(a, chunks=4)
    np.testing.assert_allclose(run(ga.where(x > 0, x, 0)), np.where(a > 0, a, 0))
    np.testing.assert_allclose(run(np.clip(x, -1, 1)), np.clip(a, -1, 1))
    assert run(x.astype("i4")).dtype == np.int32
    np.testing.assert_allclose(run(np.round(x * 1.234, 2)), np.round(a * 1.234, 2))
    np.testing.assert_array_equal(run(ga.isclose(x, a + 1e-9)), np.isclose(a, a + 1e-9))
    assert bool(run(ga.allclose(x, a))) and not bool(run(ga.allclose(x, a + 1)))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(run(ga.isnan(x / x)), np.isnan(a / a))
    with pytest.raises(TypeError, match="Cannot cast"):
        x.astype("i4", casting="safe")


def test_array_function_dispatch_and_unknown_functions():
    x = ga.from_array(np.arange(6.0), chunks=2)
    assert isinstance(np.sum(x), ga.Array)
    assert isinstance(np.concatenate([x, x]), ga.Array)
    with pytest.raises(TypeError):
        np.fft.fft(x)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=3),
       data=st.data())
def test_elementwise_matches_numpy_for_any_shape_and_chunking(shape, data):
    shape = tuple(shape)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    a = np.arange(math.prod(shape), dtype=float).reshape(shape)
    x = ga.from_array(a, chunks=chunks)
    np.testing.assert_allclose(run(np.sin(x) * 2 + x), np.sin(a) * 2 + a)
    if shape:
        np.testing.assert_allclose(run(x - x[..., :1]), a - a[..., :1])


def test_every_numpy_ufunc_is_available_by_name():
    a = np.linspace(0.5, 2.0, 6)
    x = ga.from_array(a, chunks=4)
    for name in ("sin", "cos", "exp", "log", "sqrt", "absolute", "negative", "arctan"):
        np.testing.assert_allclose(run(getattr(ga, name)(x)), getattr(np, name)(a))
    np.testing.assert_allclose(run(ga.power(x, 2)), a ** 2)
    assert isinstance(ga.sin(a), np.ndarray)  # NumPy input stays eager


def test_custom_tree_reduction():
    a = np.arange(30.0).reshape(5, 6)
    x = ga.from_array(a, chunks=2)
    sumsq = ga.reduction(x, lambda b, axis, keepdims: np.sum(b * b, axis=axis, keepdims=True),
                         np.sum, combine=np.sum, axis=1, split_every=2)
    np.testing.assert_allclose(run(sumsq), (a * a).sum(axis=1))


def test_threads_scheduler_consumes_blocks_before_starting_all_of_them():
    # Long-running block tasks must not all start before their consumers, or every block
    # of a large array would be held in memory at once.
    import time

    from graphengine.local.callbacks import Callback

    def slow(block):
        time.sleep(0.004)
        return block

    x = ga.ones((40, 40), chunks=(1, 40)).map_blocks(slow)  # 40 slow row blocks
    y = x.rechunk((2, 40)).sum(axis=1)  # each merged block needs two of them
    events = []
    cb = Callback(pretask=lambda key, graph, state: events.append(key[0]))
    y.compute(scheduler="threads", callbacks=[cb])
    first_consumer = next(i for i, k in enumerate(events) if not k.startswith("slow"))
    assert first_consumer <= 6, events[:10]
    np.testing.assert_array_equal(y.compute(scheduler="sync"), np.full(40, 40.0))


# --- in-place operators: NumPy's out=x, casting="same_kind" ------------------------------

def _numpy_outcome(func):
    """``func()``'s result, or the exception NumPy raised."""
    try:
        return func(), None
    except Exception as exc:  # noqa: BLE001 - compared with ours below
        return None, exc


@pytest.mark.parametrize("dtype, op, other", [
    ("i8", operator.itruediv, 2),           # float64 cannot go back into int64
    ("i1", operator.iadd, 1.5),             # nor into int8
    ("f4", operator.iadd, 1),               # a Python int is weak: stays float32
    ("f4", operator.iadd, np.float64(1.5)),  # float64 result cast back (same kind)
    ("i4", operator.iadd, np.arange(4)),    # int64 result cast back into int32
    ("i4", operator.imul, 2 ** 40),         # OverflowError, as NumPy
    ("u1", operator.iadd, -1),              # OverflowError, as NumPy
    ("bool", operator.iadd, 1),             # int64 cannot go back into bool
    ("i8", operator.ipow, 0.5),
    ("i8", operator.ipow, -1),              # NumPy's ValueError
    ("i8", operator.isub, 1), ("i8", operator.imul, 3), ("i8", operator.ifloordiv, 3),
    ("i8", operator.imod, 3), ("i8", operator.ipow, 2), ("i8", operator.iand, 6),
    ("i8", operator.ior, [1, 2, 4, 8]), ("i8", operator.ixor, 5),
    ("i8", operator.ilshift, 2), ("i8", operator.irshift, 1),
    ("f8", operator.itruediv, 4), ("f8", operator.iand, 1),  # no float bitwise loop
    ("f8", operator.iadd, None),            # object result cannot go back into float64
    ("f8", operator.iadd, "a"),
])
def test_inplace_operators_follow_numpy_casting(dtype, op, other):
    a = np.arange(4).astype(dtype)
    x = ga.from_array(a.copy(), chunks=2)
    alias, before = x, (x.name, x.dtype, x.chunks)
    expected, error = _numpy_outcome(lambda: op(a.copy(), other))
    if error is not None:
        with pytest.raises(type(error)) as ours:
            op(x, other)
        assert type(ours.value) is type(error) and str(ours.value) == str(error)
        assert (x.name, x.dtype, x.chunks) == before  # a failed operation changes nothing
        return
    result = op(x, other)
    assert result is alias and x.dtype == expected.dtype and x.shape == expected.shape
    assert run(x).dtype == expected.dtype
    np.testing.assert_array_equal(run(alias), expected)


def test_inplace_operator_cannot_change_the_shape():
    x = ga.zeros(3, chunks=2)
    before = x.name
    for theirs_other, ours_other in [(np.ones((2, 3)), ga.ones((2, 3), chunks=2)),
                                     (np.ones((1, 3)), np.ones((1, 3))),
                                     (np.ones(4), ga.ones(4, chunks=3))]:
        z = np.zeros(3)
        with pytest.raises(ValueError) as theirs:
            z += theirs_other
        with pytest.raises(ValueError) as ours:
            x += ours_other
        assert str(ours.value).strip() == str(theirs.value).strip()
    assert x.name == before and x.shape == (3,)
    i, xi = np.zeros(3, int), ga.zeros(3, dtype=int, chunks=2)
    with pytest.raises(TypeError) as theirs:  # NumPy checks the cast before the shapes
        i /= np.ones((2, 3))
    with pytest.raises(type(theirs.value)):
        xi /= ga.ones((2, 3))
    x += ga.ones(1)  # broadcasting into x's shape is fine
    x *= np.arange(3.0)
    np.testing.assert_array_equal(run(x), np.arange(3.0))


def test_inplace_operator_rebinds_every_name_but_not_earlier_results():
    a = np.arange(6).reshape(2, 3)
    x = ga.from_array(a, chunks=(1, 2))
    y, doubled = x, x * 2
    x += x
    x -= 1
    assert y is x
    np.testing.assert_array_equal(run(y), a + a - 1)
    np.testing.assert_array_equal(run(doubled), a * 2)


@pytest.mark.parametrize("shape, other", [
    ((2, 2), np.eye(2) * 2), ((3,), np.ones((3, 3))), ((5, 2, 2), np.ones((2, 2))),
    ((2, 2), [[1, 0], [1, 1]]), ((2, 3), np.ones((3, 4))), ((3,), np.ones((3, 4))),
    ((2, 3), np.ones((4, 4))), ((2, 3), np.ones(3)), ((2, 2), 2.0), ((), np.ones((2, 2))),
    ((2, 2), np.ones((5, 2, 2))),
])
@pytest.mark.parametrize("dtype", ["f8", "i8"])
def test_inplace_matmul_follows_numpy(shape, other, dtype):
    a = np.arange(math.prod(shape)).astype(dtype).reshape(shape)
    x = ga.from_array(a.copy(), chunks=2)
    before = (x.name, x.dtype, x.chunks)
    expected, error = _numpy_outcome(lambda: operator.imatmul(a.copy(), other))
    ga_other = ga.from_array(other, chunks=2) if isinstance(other, np.ndarray) else other
    if error is not None:
        with pytest.raises(type(error)) as ours:
            x @= ga_other
        assert type(ours.value) is type(error)
        if "reduction" not in str(error):  # NumPy's batch-axis message is an internal one
            assert str(ours.value) == str(error)
        assert (x.name, x.dtype, x.chunks) == before
        return
    x @= ga_other
    assert x.dtype == expected.dtype and x.shape == expected.shape
    np.testing.assert_array_equal(run(x), expected)


def test_inplace_operator_leaves_graphengine_collections_their_reflected_operator():
    from graphengine import delayed
    from graphengine.collections.delayed import Delayed
    x = ga.ones(3, chunks=2)
    assert x.__iadd__(delayed(1)) is NotImplemented
    x += delayed(1)  # Python falls back to x = x + d: the Delayed's __radd__
    assert isinstance(x, Delayed)


# --- == and != with None, str and other objects -----------------------------------------

class _Plain:
    pass


@pytest.mark.parametrize("other", [None, "a", b"x", _Plain(), {1: 2}, {1}, 1j, range(6)])
def test_eq_ne_with_objects_compare_elementwise_like_numpy(other):
    a = np.arange(6)
    x = ga.from_array(a, chunks=4)
    for ours, theirs in [(x == other, a == other), (x != other, a != other),
                         (other == x, other == a), (other != x, other != a)]:
        assert isinstance(ours, ga.Array) and ours.dtype == theirs.dtype == bool
        np.testing.assert_array_equal(run(ours), theirs)
    b = a.reshape(2, 3)
    np.testing.assert_array_equal(run(ga.from_array(b, chunks=2) == None), b == None)  # noqa: E711


def test_eq_ne_leave_objects_with_their_own_operators_to_them():
    class NoUfunc:
        __array_ufunc__ = None

        def __eq__(self, other):
            return "theirs"

        __ne__ = __eq__

    class HighPriority:
        __array_priority__ = 100

    from graphengine import delayed
    from graphengine.collections.delayed import Delayed
    x = ga.arange(3, chunks=2)
    assert (x == NoUfunc()) == (np.arange(3) == NoUfunc()) == "theirs"
    assert (x != NoUfunc()) == "theirs"
    assert x.__eq__(HighPriority()) is NotImplemented
    assert np.arange(3).__eq__(HighPriority()) is NotImplemented
    assert isinstance(x == delayed(1), Delayed)
    pd = pytest.importorskip("pandas")
    import graphengine.dataframe as gd
    s = gd.from_pandas(pd.Series([0, 1, 2]), npartitions=1)
    assert x.__eq__(s) is NotImplemented and x.__ne__(s) is NotImplemented


# --- dtype= of multi-output ufuncs, ufunc.outer keywords --------------------------------

def test_multi_output_ufuncs_take_dtype_like_numpy():
    a = np.linspace(-2, 2, 7)
    x = ga.from_array(a, chunks=3)
    for ufunc, args in [(np.modf, (a,)), (np.divmod, (np.arange(7), 3))]:
        theirs = ufunc(*args, dtype=np.float32)
        ours = ufunc(*[ga.from_array(v, chunks=3) if isinstance(v, np.ndarray) else v
                       for v in args], dtype=np.float32)
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert o.dtype == t.dtype == run(o).dtype == np.float32
            np.testing.assert_array_equal(run(o), t)
    with pytest.raises(TypeError) as theirs:
        np.frexp(a, dtype=np.float32)
    with pytest.raises(type(theirs.value)):
        np.frexp(x, dtype=np.float32)


def test_ufunc_outer_passes_keywords_and_returns_a_tuple_for_two_outputs():
    ai = np.arange(5)
    xi = ga.from_array(ai, chunks=2)
    ours, theirs = np.add.outer(xi, xi, dtype=np.float32), np.add.outer(ai, ai, dtype=np.float32)
    assert ours.dtype == run(ours).dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(run(ours), theirs)
    ours, theirs = np.divmod.outer(xi, xi[1:]), np.divmod.outer(ai, ai[1:])
    assert isinstance(ours, tuple) and len(ours) == 2
    for o, t in zip(ours, theirs):
        assert o.shape == t.shape and o.dtype == t.dtype
        np.testing.assert_array_equal(run(o), t)
    q, r = np.divmod.outer(xi, xi[1:], dtype=np.float32)
    np.testing.assert_array_equal(run(r), np.divmod.outer(ai, ai[1:], dtype=np.float32)[1])
    assert run(q).dtype == np.float32


# --- vdot computes to a NumPy scalar ------------------------------------------------------

@pytest.mark.parametrize("a, b", [(np.array(2), np.array(3)),
                                  (np.array(2 + 1j), np.array(3 - 1j)),
                                  (np.arange(3), np.arange(3)),
                                  (np.arange(6.0).reshape(2, 3), np.ones((3, 2))),
                                  (np.arange(4, dtype="i1"), np.arange(4, dtype="i1"))])
@pytest.mark.parametrize("chunks", [-1, 2])
def test_vdot_computes_to_the_numpy_scalar_np_vdot_gives(a, b, chunks):
    ours = run(ga.vdot(ga.from_array(a, chunks=chunks), ga.from_array(b, chunks=chunks)))
    theirs = np.vdot(a, b)
    assert type(ours) is type(theirs) and ours == theirs


# --- map_blocks block_info describes the block actually passed ---------------------------

def test_map_blocks_block_info_with_drop_axis_describes_the_joined_input():
    a = np.arange(42).reshape(7, 6)
    x = ga.from_array(a, chunks=((2, 3, 2), (4, 2)))
    seen = {}

    def row_sums(block, block_info=None):
        info = block_info[0]
        (r0, r1), (c0, c1) = info["array-location"]
        np.testing.assert_array_equal(block, a[r0:r1, c0:c1])  # the location is the block's
        seen[info["chunk-location"]] = (info["array-location"], info["num-chunks"])
        return block.sum(axis=1)

    out = x.map_blocks(row_sums, drop_axis=1, dtype=a.dtype)
    np.testing.assert_array_equal(run(out), a.sum(axis=1))
    # As Dask: a dropped (joined) axis is one chunk spanning it, at chunk-location 0.
    assert seen == {(0, 0): ([(0, 2), (0, 6)], (3, 1)),
                    (1, 0): ([(2, 5), (0, 6)], (3, 1)),
                    (2, 0): ([(5, 7), (0, 6)], (3, 1))}
