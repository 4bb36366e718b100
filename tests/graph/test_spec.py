"""Specification of keys, references and tasks (graphengine.graph.spec)."""
from __future__ import annotations

import pickle
from operator import add

import cloudpickle
import pytest

from graphengine.errors import InvalidKeyError
from graphengine.graph.spec import (Ref, Task, iskey, key_name, key_sort_key, literal,
                                    validate_key)

pytestmark = pytest.mark.timeout(60)


def _echo(*args, **kwargs):
    return args, kwargs


def _scale(x, factor=1, offset=0):
    return x * factor + offset


@pytest.mark.parametrize("key", ["x", "", "sum-9f86d081", ("x", 0), ("x", 1, 2, 3),
                                 (("x", 1), 2), ("x",)])
def test_str_and_tuple_keys_are_valid(key):
    assert iskey(key)
    validate_key(key)
    assert Task(key, abs, -1).key == key
    assert Ref(key).key == key


@pytest.mark.parametrize("key", [1, 1.5, b"x", ["x", 0], (), (1, 2), ("x", "a"),
                                 ("x", 1.0), ("x", True), ("x", None), frozenset({"x"})])
def test_invalid_keys_raise_invalid_key_error_naming_the_key(key):
    assert not iskey(key)
    with pytest.raises(InvalidKeyError, match="invalid key") as info:
        validate_key(key)
    assert repr(key) in str(info.value)
    with pytest.raises(InvalidKeyError) as info:
        Task(key, abs, 1)
    assert repr(key) in str(info.value)
    with pytest.raises(InvalidKeyError):
        Ref(key)


def test_none_is_the_key_of_an_inline_task_but_never_a_ref_or_graph_key():
    assert Task(None, abs, -1).key is None
    assert not iskey(None)
    with pytest.raises(InvalidKeyError, match="None"):
        Ref(None)


def test_invalid_key_error_is_a_type_error():
    with pytest.raises(TypeError):
        Task(3.5, abs, 1)


def test_non_callable_function_raises_type_error_naming_the_task():
    with pytest.raises(TypeError, match="'t'.*not callable"):
        Task("t", 42, 1)


def test_key_name_is_the_name_part_of_any_key():
    assert key_name("x") == "x"
    assert key_name(("x", 1, 2)) == "x"
    assert key_name((("x", 1), 2)) == "x"


def test_key_sort_key_orders_mixed_str_and_tuple_keys():
    keys = [("b", 2), "b", ("a", 10), ("a", 2), "a"]
    assert sorted(keys, key=key_sort_key) == ["a", ("a", 2), ("a", 10), "b", ("b", 2)]


def test_dependencies_are_found_in_nested_lists_tuples_and_dicts():
    t = Task("t", _echo, [Ref("a"), (1, Ref("b")), {"k": [Ref("c")]}], Ref("d"), 5)
    assert t.dependencies == frozenset({"a", "b", "c", "d"})
    args, kwargs = t({"a": 1, "b": 2, "c": 3, "d": 4})
    assert args == ([1, (1, 2), {"k": [3]}], 4, 5)
    assert kwargs == {}


def test_nested_containers_keep_their_types_when_refs_are_resolved():
    t = Task("t", _echo, (Ref("a"),), [Ref("a")], {"x": (Ref("a"), [Ref("a")])})
    (tup, lst, dct), _ = t({"a": 7})
    assert type(tup) is tuple and tup == (7,)
    assert type(lst) is list and lst == [7]
    assert dct == {"x": (7, [7])} and type(dct["x"]) is tuple


def test_dependencies_are_a_frozenset_computed_once():
    t = Task("t", _echo, [Ref("a")], Ref(("b", 1)))
    assert isinstance(t.dependencies, frozenset)
    assert t.dependencies is t.dependencies
    assert t.dependencies == {"a", ("b", 1)}


def test_literal_containers_reach_the_function_as_the_identical_object():
    data_list = [1, 2, [3, 4]]
    data_dict = {"a": (1, 2), "b": {"c": 3}}
    data_tuple = (1, "x", [2])
    t = Task("t", _echo, data_list, data_tuple, Ref("r"), opt=data_dict)
    assert t.dependencies == {"r"}
    (got_list, got_tuple, got_r), kwargs = t({"r": 0})
    assert got_list is data_list
    assert got_tuple is data_tuple
    assert kwargs["opt"] is data_dict
    assert got_r == 0


def test_a_literal_sibling_of_a_ref_is_passed_unchanged():
    inner = [1, 2, 3]
    t = Task("t", _echo, [inner, Ref("a")])
    (outer,), _ = t({"a": "A"})
    assert outer == [inner, "A"]
    assert outer[0] is inner


def test_keyword_arguments_may_hold_refs():
    t = Task("t", _scale, Ref("x"), factor=Ref("f"), offset={"v": Ref("o")}["v"])
    assert t.dependencies == {"x", "f", "o"}
    assert t({"x": 3, "f": 10, "o": 1}) == 31


def test_keyword_arguments_with_refs_inside_containers():
    t = Task("t", _echo, extra={"a": [Ref("a"), 2]})
    assert t.dependencies == {"a"}
    _, kwargs = t({"a": 1})
    assert kwargs == {"extra": {"a": [1, 2]}}


def test_an_inline_keyless_task_runs_inside_its_parent_and_lends_its_dependencies():
    inner = Task(None, add, Ref("a"), 1)
    outer = Task("out", _scale, inner, factor=Task(None, add, Ref("b"), Ref("b")))
    assert inner.key is None
    assert outer.dependencies == {"a", "b"}
    assert outer({"a": 4, "b": 3}) == (4 + 1) * (3 + 3)


def test_inline_task_inside_a_nested_list_argument():
    t = Task("t", sum, [Task(None, abs, Ref("a")), Task(None, abs, -2), 3])
    assert t.dependencies == {"a"}
    assert t({"a": -1}) == 6


def test_literal_passes_ref_objects_through_as_data():
    value = [Ref("a"), {"k": Ref("b")}]
    t = Task("t", _echo, literal(value))
    assert t.dependencies == frozenset()
    (got,), _ = t({})
    assert got is value
    assert got[0] == Ref("a")


def test_task_without_dependencies_runs_with_empty_data():
    assert Task("t", add, 1, 2)({}) == 3


def test_missing_input_raises_key_error_when_the_task_runs():
    with pytest.raises(KeyError):
        Task("t", abs, Ref("absent"))({})


def test_ref_equality_and_hash_follow_the_key():
    assert Ref(("x", 1)) == Ref(("x", 1))
    assert Ref("x") != Ref("y")
    assert Ref("x") != "x"
    assert len({Ref("x"), Ref("x"), Ref("y")}) == 2


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                           (cloudpickle.dumps, cloudpickle.loads)],
                         ids=["pickle", "cloudpickle"])
def test_pickled_task_round_trips_and_still_runs(dumps, loads):
    literal_arg = {"z": (1, 2)}
    t = Task(("t", 3), _echo, [Ref("a"), (Ref(("b", 0)), 1)], literal_arg,
             Task(None, add, Ref("a"), 1), kw=Ref("c"))
    back = loads(dumps(t))
    assert type(back) is Task
    assert back.key == ("t", 3)
    assert back.dependencies == t.dependencies == {"a", ("b", 0), "c"}
    data = {"a": 1, ("b", 0): 2, "c": 3}
    assert back(data) == t(data) == (([1, (2, 1)], {"z": (1, 2)}, 2), {"kw": 3})


def test_cloudpickle_carries_a_lambda_task():
    offset = 10
    t = Task("t", lambda x: x + offset, Ref("a"))
    back = cloudpickle.loads(cloudpickle.dumps(t))
    assert back({"a": 1}) == 11


def test_with_key_renames_without_changing_the_work():
    t = Task("t", add, Ref("a"), 1)
    u = t.with_key(("u", 0))
    assert u.key == ("u", 0) and t.key == "t"
    assert u.dependencies == t.dependencies
    assert u({"a": 1}) == t({"a": 1}) == 2


def test_substitute_replaces_refs_by_values_refs_or_tasks():
    t = Task("t", _echo, Ref("a"), [Ref("b")], k=Ref("c"))
    s = t.substitute({"a": 100, "b": Ref("bb"), "c": Task(None, abs, Ref("cc"))})
    assert s.key == "t"
    assert s.dependencies == {"bb", "cc"}
    assert s({"bb": 2, "cc": -3}) == ((100, [2]), {"k": 3})


def test_repr_names_key_and_function():
    text = repr(Task(("x", 1), add, Ref("a"), 2))
    assert "('x', 1)" in text and "add" in text and "Ref('a')" in text
