"""Specification of graphengine.config: defaults, scoped and global overrides, environment."""
from __future__ import annotations

import threading

import pytest

from graphengine import config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _restore_config():
    # Tests start from the defaults whatever GRAPHENGINE_* variables the shell has, and
    # leave no global override or environment snapshot behind.
    config.refresh({})
    with config._isolated():
        yield
    config.refresh()


def _in_thread(func):
    out = []
    t = threading.Thread(target=lambda: out.append(func()))
    t.start()
    t.join(10)
    return out[0]


def test_defaults_come_from_the_documented_table():
    assert config.get("scheduler") == config.DEFAULTS["scheduler"] == "threads"
    assert config.get("array.chunk-size") == 128 * 2**20
    assert config.get("optimization.fuse.active") is True


def test_every_default_is_reported_by_snapshot():
    snap = config.snapshot()
    assert set(snap) == set(config.DEFAULTS)
    assert snap["scheduler"] == config.get("scheduler")


def test_unknown_key_raises_key_error_naming_it():
    with pytest.raises(KeyError, match="no-such-key"):
        config.get("no-such-key")


def test_unknown_key_error_suggests_a_close_key():
    with pytest.raises(KeyError, match="did you mean 'array.chunk-size'"):
        config.get("chunk-size")


def test_get_with_a_default_returns_it_for_unknown_keys():
    assert config.get("no-such-key", 7) == 7
    assert config.get("no-such-key", None) is None


def test_underscores_and_dashes_name_the_same_key():
    with config.set({"num_workers": 3}):
        assert config.get("num-workers") == 3
        assert config.get("num_workers") == 3


def test_set_as_context_manager_overrides_only_inside_the_block():
    with config.set(scheduler="sync"):
        assert config.get("scheduler") == "sync"
    assert config.get("scheduler") == "threads"


def test_set_restores_even_when_the_block_raises():
    with pytest.raises(RuntimeError):
        with config.set(scheduler="sync"):
            raise RuntimeError("boom")
    assert config.get("scheduler") == "threads"


def test_nested_set_blocks_stack_and_unwind():
    with config.set({"scheduler": "sync", "num-workers": 2}):
        with config.set(scheduler="processes"):
            assert config.get("scheduler") == "processes"
            assert config.get("num-workers") == 2  # inherited from the outer block
        assert config.get("scheduler") == "sync"
    assert config.get("scheduler") == "threads"
    assert config.get("num-workers") is None


def test_double_underscore_keyword_stands_for_a_dot():
    with config.set(comm__compression=None, optimization__fuse__max_width=4):
        assert config.get("comm.compression") is None
        assert config.get("optimization.fuse.max-width") == 4


def test_set_block_is_scoped_to_its_thread():
    with config.set(scheduler="sync"):
        assert _in_thread(lambda: config.get("scheduler")) == "threads"
        assert config.get("scheduler") == "sync"


def test_a_set_block_in_another_thread_does_not_leak_here():
    inside = threading.Event()
    leave = threading.Event()

    def other():
        with config.set(scheduler="processes"):
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=other)
    t.start()
    try:
        assert inside.wait(10)
        assert config.get("scheduler") == "threads"
    finally:
        leave.set()
        t.join(10)


def test_bare_set_applies_globally_to_every_thread():
    config.set(scheduler="sync")
    assert config.get("scheduler") == "sync"
    assert _in_thread(lambda: config.get("scheduler")) == "sync"


def test_set_block_takes_precedence_over_a_global_set():
    config.set(scheduler="sync")
    with config.set(scheduler="processes"):
        assert config.get("scheduler") == "processes"
    assert config.get("scheduler") == "sync"


def test_environment_variables_are_parsed_as_python_literals():
    config.refresh({
        "GRAPHENGINE_SCHEDULER": "sync",
        "GRAPHENGINE_NUM_WORKERS": "3",
        "GRAPHENGINE_ARRAY__CHUNK_SIZE": "1_000_000",
        "GRAPHENGINE_OPTIMIZATION__FUSE__ACTIVE": "False",
        "GRAPHENGINE_COMM__COMPRESSION": "None",
        "GRAPHENGINE_COMM__TIMEOUTS__CONNECT": "2.5",
        "GRAPHENGINE_SCHEDULER__WORKER_SATURATION": "inf",
        "OTHER_VARIABLE": "ignored",
    })
    assert config.get("scheduler") == "sync"  # not a literal: kept as text
    assert config.get("num-workers") == 3
    assert config.get("array.chunk-size") == 1_000_000
    assert config.get("optimization.fuse.active") is False
    assert config.get("comm.compression") is None
    assert config.get("comm.timeouts.connect") == 2.5
    assert config.get("scheduler.worker-saturation") == float("inf")
    config.refresh()
    assert config.get("scheduler") == "threads"
    assert config.get("num-workers") is None


def test_set_takes_precedence_over_the_environment():
    config.refresh({"GRAPHENGINE_SCHEDULER": "processes"})
    assert config.get("scheduler") == "processes"
    with config.set(scheduler="sync"):
        assert config.get("scheduler") == "sync"
    config.set(scheduler="threads")
    assert config.get("scheduler") == "threads"
