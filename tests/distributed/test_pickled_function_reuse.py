"""A by-value function's pickle is reused across submissions only while it cannot be stale."""
from __future__ import annotations

import math

import pytest

from graphengine.comm.pickled_function import pickled_by_value, pickled_function
from graphengine.comm.serialize import deserialize, serialize
from graphengine.graph.spec import Task

pytestmark = pytest.mark.timeout(30)

SCALE = 3
LOOKUP = {"a": 1}


def _run_remotely(shared, *args):
    """What a worker computes: the task pickled, unpickled, run."""
    return deserialize(serialize(Task("t", shared, *args)))({})


def test_unchanged_immutable_globals_reuse_the_same_bytes():
    def scaled(x):
        return SCALE * x + math.floor(0.5)

    first, second = pickled_function(scaled), pickled_function(scaled)
    assert first.blob is second.blob
    assert _run_remotely(second, 2) == 6


def test_a_rebound_global_is_pickled_again_with_its_new_value():
    global SCALE

    def scaled(x):
        return SCALE * x

    before = pickled_function(scaled)
    SCALE = 10
    try:
        after = pickled_function(scaled)
        assert after.blob is not before.blob
        assert _run_remotely(after, 2) == 20
    finally:
        SCALE = 3


def test_a_global_changed_in_place_is_never_cached():
    def look(k):
        return LOOKUP[k]

    before = pickled_function(look)
    LOOKUP["a"] = 5
    try:
        after = pickled_function(look)
        assert after.blob is not before.blob
        assert _run_remotely(after, "a") == 5
    finally:
        LOOKUP["a"] = 1


def test_closures_defaults_and_called_functions_are_checked_too():
    box = [1]

    def reads_box():
        return box[0]

    first = pickled_function(reads_box)
    box[0] = 2
    assert pickled_function(reads_box).blob is not first.blob
    assert _run_remotely(pickled_function(reads_box)) == 2

    def helper():
        return SCALE

    def calls_helper(x=(1, 2)):
        return helper() + sum(x)

    assert pickled_function(calls_helper).blob is pickled_function(calls_helper).blob
    calls_helper.__defaults__ = ((5, 5),)
    assert _run_remotely(pickled_function(calls_helper)) == SCALE + 10

    def helper_with_list():
        return box

    def calls_list_helper():
        return helper_with_list()

    assert pickled_function(calls_list_helper).blob is not \
        pickled_function(calls_list_helper).blob


def test_a_recursive_function_is_reused_and_still_works():
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert pickled_function(fact).blob is pickled_function(fact).blob
    assert _run_remotely(pickled_function(fact), 5) == 120


def test_only_functions_pickled_by_value_count_as_such():
    assert pickled_by_value(lambda: 1)
    assert not pickled_by_value(math.floor)
    assert not pickled_by_value(serialize)  # importable by module and name
    assert not pickled_by_value(len)


def test_submit_sees_a_global_rebound_between_submissions(client):
    global SCALE

    def scaled(x):
        return SCALE * x

    assert client.submit(scaled, 2, pure=False).result(timeout=10) == 6
    SCALE = 7
    try:
        assert client.submit(scaled, 2, pure=False).result(timeout=10) == 14
        LOOKUP["a"] = 9

        def look():
            return LOOKUP["a"]

        assert client.submit(look, pure=False).result(timeout=10) == 9
    finally:
        SCALE = 3
        LOOKUP["a"] = 1
