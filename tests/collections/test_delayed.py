"""Specification of ``graphengine.delayed``: wrapping, keys, lazy operations, nout."""
from __future__ import annotations

import copy
import operator
import pickle
import threading

import numpy as np
import pytest

import graphengine
from graphengine import Delayed, compute, config, delayed
from graphengine.graph.layers import HighLevelGraph
from graphengine.graph.spec import Ref, Task

pytestmark = pytest.mark.timeout(60)


class CallCounter:
    """Counts calls per argument across threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list = []

    def __call__(self, x):
        with self.lock:
            self.calls.append(x)
        return x * 2


def inc(x):
    return x + 1


def add(x, y=0):
    return x + y


def run(d):
    return d.compute(scheduler="sync")


# --- wrapping functions --------------------------------------------------------------------

def test_decorator_records_a_call_and_computes_it():
    @delayed
    def double(x):
        return 2 * x

    result = double(21)
    assert isinstance(result, Delayed)
    assert run(result) == 42


def test_decorator_with_options_applies_them():
    @delayed(pure=True, nout=2)
    def split(x):
        return x // 10, x % 10

    a, b = split(42)
    assert (run(a), run(b)) == (4, 2)
    assert split(42).key == split(42).key


def test_wrapped_function_keeps_name_and_doc():
    def documented(x):
        """Doc text."""
        return x

    wrapped = delayed(documented)
    assert wrapped.__name__ == "documented"
    assert wrapped.__doc__ == "Doc text."
    assert wrapped.__wrapped__ is documented


def test_calling_does_not_run_the_function():
    counter = CallCounter()
    d = delayed(counter)(3)
    assert counter.calls == []
    assert run(d) == 6
    assert counter.calls == [3]


def test_delayed_arguments_arrive_computed_in_positional_and_keyword_slots():
    x = delayed(inc)(1)
    y = delayed(inc)(2)
    assert run(delayed(add)(x, y=y)) == 5


def test_arguments_inside_containers_are_found_and_rebuilt():
    x = delayed(inc)(1)
    args = ([x, 1], (x,), {"k": x, "plain": [1, 2]}, {x, 10}, slice(x, None))
    result = run(delayed(lambda *a: a)(*args))
    assert result == ([2, 1], (2,), {"k": 2, "plain": [1, 2]}, {2, 10}, slice(2, None))


def test_delayed_dict_keys_are_computed():
    k = delayed(str.upper)("a")
    assert run(delayed(dict)({k: 1})) == {"A": 1}


def test_plain_container_arguments_are_passed_through_unchanged():
    data = [1, [2, 3], {"a": (4,)}]
    seen = []
    run(delayed(lambda v: seen.append(v))(data))
    assert seen == [data]


def test_task_and_ref_objects_as_arguments_are_plain_data():
    odd = [Ref("nope"), Task(None, abs, -1)]
    result = run(delayed(lambda v: v)(odd))
    assert type(result[0]) is Ref and result[0].key == "nope"
    assert type(result[1]) is Task


def test_other_collections_as_arguments_arrive_computed():
    class Parts:
        """A toy two-task collection whose value is the list of its parts."""

        def __graphengine_graph__(self):
            return {("parts", 0): 1, ("parts", 1): Task(("parts", 1), inc, Ref(("parts", 0)))}

        def __graphengine_keys__(self):
            return [("parts", 0), ("parts", 1)]

        def __graphengine_postcompute__(self):
            return list, ()

        def __graphengine_postpersist__(self):
            raise NotImplementedError

    seen = []
    d = delayed(lambda p, q: seen.append((p, q)) or sum(p))(Parts(), q=[Parts()])
    assert run(d) == 3
    assert seen == [([1, 2], [[1, 2]])]


def test_call_time_key_name_sets_the_key_and_is_not_passed_on():
    d = delayed(add)(1, y=2, graphengine_key_name="three")
    assert d.key == "three"
    assert run(d) == 3


def test_name_names_the_wrapped_function_not_its_calls():
    f = delayed(inc, name="my-inc")
    assert f.key == "my-inc"
    assert f(1).key != "my-inc"
    assert run(f(1)) == 2


# --- keys ----------------------------------------------------------------------------------

def test_pure_calls_with_equal_inputs_share_a_key():
    f = delayed(add, pure=True)
    assert f(1, 2).key == f(1, 2).key
    assert f(1, 2).key != f(2, 1).key
    assert f(1, y=2).key != f(1, 2).key


def test_pure_keys_follow_the_inputs_keys():
    f = delayed(add, pure=True)
    x1, x2 = delayed(inc, pure=True)(1), delayed(inc, pure=True)(2)
    assert f(x1).key == f(delayed(inc, pure=True)(1)).key
    assert f(x1).key != f(x2).key


def test_impure_calls_get_fresh_keys_by_default():
    f = delayed(add)
    assert f(1, 2).key != f(1, 2).key


def test_config_delayed_pure_sets_the_default():
    with config.set({"delayed.pure": True}):
        assert delayed(add)(1, 2).key == delayed(add)(1, 2).key


def test_keys_are_funcname_dash_token():
    key = delayed(add, pure=True)(1, 2).key
    prefix, token = key.rsplit("-", 1)
    assert prefix == "add"
    assert len(token) == 32 and int(token, 16) >= 0
    assert delayed(lambda: 1)().key.startswith("lambda-")
    assert delayed(5).key.startswith("int-")


def test_wrapped_value_with_name_has_that_key():
    d = delayed(10, name="ten")
    assert d.key == "ten"
    assert graphengine.compute(d + 1, scheduler="sync") == (11,)


_module_counter = CallCounter()


def counted_double(x):
    # Module level, so tokenize names it by import path and pure keys are stable.
    return _module_counter(x)


def test_pure_key_equal_calls_run_once_when_computed_together():
    _module_counter.calls.clear()
    f = delayed(counted_double, pure=True)
    assert f(5).key == f(5).key
    total = f(5) + f(5)
    assert run(total) == 20
    assert _module_counter.calls == [5]


# --- the Delayed object ---------------------------------------------------------------------

def test_repr_shows_the_key():
    assert repr(delayed(1, name="one")) == "Delayed('one')"


def test_graph_is_a_high_level_graph_holding_all_dependencies():
    x = delayed(inc, pure=True)(1)
    y = delayed(add, pure=True)(x, 2)
    graph = y.__graphengine_graph__()
    assert isinstance(graph, HighLevelGraph)
    assert {x.key, y.key} <= set(graph)
    assert graph[y.key].dependencies == {x.key}
    assert y.__graphengine_keys__() == [y.key]


def test_delayed_can_be_built_from_an_explicit_graph():
    d = Delayed("z", {"a": 4, "z": Task("z", inc, Ref("a"))})
    assert run(d) == 5


def test_long_chain_of_operations_builds_and_computes():
    x = delayed(0)
    for _ in range(3000):
        x = x + 1
    assert len(x.__graphengine_graph__().layers) == 3001
    assert run(x) == 3000


def test_attribute_access_is_lazy():
    d = delayed(1 + 2j)
    assert isinstance(d.imag, Delayed)
    assert run(d.imag) == 2.0
    assert d.imag.key == d.imag.key


def test_method_calls_are_lazy_and_take_arguments():
    s = delayed("a,b,c")
    parts = s.split(",", maxsplit=1)
    assert run(parts) == ["a", "b,c"]
    assert run(delayed(" x ").strip()) == "x"


def test_private_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="_hidden"):
        delayed(1)._hidden


def test_indexing_is_lazy():
    d = delayed({"a": [10, 20, 30]})
    assert run(d["a"][1]) == 20
    assert run(delayed(list(range(10)))[2:8:3]) == [2, 5]


@pytest.mark.parametrize("op", [
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
    operator.mod, operator.pow, operator.lshift, operator.rshift, operator.and_,
    operator.or_, operator.xor, operator.eq, operator.ne, operator.lt, operator.le,
    operator.gt, operator.ge,
])
def test_binary_operators_match_python_both_ways(op):
    a, b = 13, 3
    assert run(op(delayed(a), b)) == op(a, b)
    assert run(op(a, delayed(b))) == op(a, b)
    assert run(op(delayed(a), delayed(b))) == op(a, b)


@pytest.mark.parametrize("op", [operator.neg, operator.pos, operator.abs, operator.invert])
def test_unary_operators_match_python(op):
    assert run(op(delayed(-7))) == op(-7)


def test_matmul_works_with_numpy_on_either_side():
    m = np.arange(4.0).reshape(2, 2)
    v = np.array([1.0, 2.0])
    np.testing.assert_array_equal(run(delayed(m) @ v), m @ v)
    np.testing.assert_array_equal(run(v @ delayed(m)), v @ m)
    np.testing.assert_array_equal(run(v + delayed(m)), v + m)


def test_calling_a_delayed_callable_applies_its_value():
    pick = delayed(lambda: max)()
    assert run(pick(3, 9, 4)) == 9


def test_truth_value_is_a_type_error():
    with pytest.raises(TypeError, match="truth"):
        bool(delayed(1))
    with pytest.raises(TypeError):
        if delayed(1) < 2:
            pass


def test_len_and_iteration_of_unknown_length_raise_type_error():
    d = delayed(inc)(1)
    with pytest.raises(TypeError, match="length"):
        len(d)
    with pytest.raises(TypeError, match="not iterable"):
        iter(d)


def test_wrapped_list_or_tuple_has_its_length_and_iterates():
    d = delayed((1, delayed(inc)(1), 3))
    assert len(d) == 3
    items = list(d)
    assert all(isinstance(i, Delayed) for i in items)
    assert [run(i) for i in items] == [1, 2, 3]
    assert run(d) == (1, 2, 3)
    assert len(delayed([4, 5])) == 2


def test_nout_makes_results_unpackable():
    quotient, remainder = delayed(divmod, nout=2)(17, 5)
    assert (run(quotient), run(remainder)) == (3, 2)
    (only,) = delayed(lambda: (7,), nout=1)()
    assert run(only) == 7
    assert list(delayed(lambda: (), nout=0)()) == []


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_invalid_nout_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match="nout"):
        delayed(divmod, nout=bad)


def test_delayed_objects_are_immutable():
    d = delayed([1])
    with pytest.raises(TypeError, match="immutable"):
        d.x = 1
    with pytest.raises(TypeError, match="immutable"):
        d[0] = 1


def test_delayed_of_a_delayed_is_the_same_object():
    d = delayed(1)
    assert delayed(d) is d


def test_hash_follows_the_key_and_delayed_can_key_a_dict():
    d = delayed(1, name="one")
    assert hash(d) == hash("one")
    assert {d: "x"}[d] == "x"


def test_pickle_and_copy_round_trip():
    d = delayed(add, pure=True)(delayed(inc)(1), 10)
    for clone in (pickle.loads(pickle.dumps(d)), copy.copy(d), copy.deepcopy(d)):
        assert clone.key == d.key
        assert run(clone) == 12
    leaf = pickle.loads(pickle.dumps(delayed(inc, name="f")))
    assert run(leaf(1)) == 2
    attr = pickle.loads(pickle.dumps(delayed("ab").upper))
    assert run(attr()) == "AB"


def test_traverse_false_leaves_containers_alone():
    inner = delayed(1, name="inner")
    d = delayed([inner], traverse=False)
    assert run(d) == [inner]


def test_wrapped_container_of_delayed_depends_on_them():
    x = delayed(inc)(1)
    d = delayed({"x": x, "lit": 5})
    assert run(d) == {"x": 2, "lit": 5}


def test_compute_of_several_delayed_values_and_plain_values():
    assert compute(delayed(1) + 1, 5, [delayed(2)], scheduler="sync") == (2, 5, [2])
