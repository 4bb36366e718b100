"""SpillStore: LRU spilling, read-back, large values, file cleanup, disk faults."""
from __future__ import annotations

import logging
import os
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphengine.comm.serialize import Serialized
from graphengine.worker.store import SpillStore

MB = 2**20


def _files(store):
    return sorted(f for f in os.listdir(store.directory) if f.endswith(".spill"))


@pytest.fixture
def store(tmp_path):
    s = SpillStore(str(tmp_path / "spill"), target=3 * MB)
    yield s
    s.close()


def test_values_stay_in_memory_under_the_target(store):
    store["a"] = np.zeros(MB // 8)
    store["b"] = np.zeros(MB // 8)
    assert store.evict() == 0
    assert sorted(store.fast) == ["a", "b"] and not store.slow
    assert store.fast_nbytes == 2 * MB and store.slow_nbytes == 0


def test_least_recently_used_values_spill_first(store):
    for k in "abcd":
        store[k] = np.full(MB // 8, ord(k), dtype=np.int64)
    store["a"]  # a read makes 'a' the most recently used
    assert store.evict() == MB
    assert sorted(store.slow) == ["b"]
    store["e"] = np.zeros(MB // 8)
    store.evict()
    assert sorted(store.slow) == ["b", "c"]
    assert store.fast_nbytes == 3 * MB and store.slow_nbytes == 2 * MB
    assert len(_files(store)) == 2


def test_spilled_values_read_back_equal_and_return_to_memory_when_they_fit(store):
    values = {"arr": np.arange(MB // 8).reshape(-1, 4)[:, ::2],
              "frame": pd.DataFrame({"x": np.arange(1000), "s": ["v"] * 1000}),
              "tuple": (1, "two", [3.0]), "bytes": b"\x00" * 200_000}
    for k, v in values.items():
        store[k] = v
        assert store.spill_one(k) is not None
    assert not store.fast and len(_files(store)) == 4
    np.testing.assert_array_equal(store["arr"], values["arr"])
    pd.testing.assert_frame_equal(store["frame"], values["frame"])
    assert store["tuple"] == values["tuple"] and store["bytes"] == values["bytes"]
    # All fit under the target: back in memory, files gone.
    assert sorted(store.fast) == sorted(values) and not store.slow
    assert _files(store) == []
    assert store.read_count == 4


def test_a_read_back_that_does_not_fit_leaves_the_value_on_disk(store):
    for k in "abcd":
        store[k] = np.zeros(MB // 8)
    store.evict()
    assert sorted(store.slow) == ["a"]
    assert store["a"].nbytes == MB  # read, but memory is at the target
    assert sorted(store.slow) == ["a"] and len(_files(store)) == 1
    assert store.spilled_count == 1  # and nothing else was pushed out for it


def test_a_value_larger_than_the_target_goes_straight_to_disk(store):
    store["small"] = np.zeros(MB // 8)
    store["big"] = np.zeros(5 * MB // 8)
    assert store.evict() == 5 * MB
    assert sorted(store.slow) == ["big"] and sorted(store.fast) == ["small"]


def test_deleting_or_overwriting_a_key_removes_its_file(store):
    store["a"] = np.zeros(10)
    store.spill_one("a")
    assert len(_files(store)) == 1
    store["a"] = np.ones(10)  # overwritten in memory
    assert _files(store) == [] and "a" in store.fast
    store.spill_one("a")
    del store["a"]
    assert _files(store) == [] and "a" not in store and len(store) == 0
    with pytest.raises(KeyError):
        del store["a"]
    with pytest.raises(KeyError):
        store["missing"]


def test_close_removes_every_file(store):
    for i in range(5):
        store[i] = np.zeros(MB // 8)
    store.evict()
    assert _files(store)
    store.close()
    assert _files(store) == [] and len(store) == 0


def test_a_spilled_value_is_sent_to_peers_as_its_frames(store):
    arr = np.arange(1000.0)
    store["x"] = arr
    store.spill_one("x")
    sent = store.get_for_transfer("x")
    assert isinstance(sent, Serialized)
    np.testing.assert_array_equal(sent.deserialize(), arr)
    assert "x" in store.slow  # a transfer does not bring it back into memory
    in_memory, spilled = store.split_for_transfer(["x", "nope"])
    assert in_memory == {} and spilled == ["x"]


def test_compressible_values_take_less_disk(store):
    store["zeros"] = np.zeros(MB // 8)
    store.spill_one("zeros")
    if store.codec is None:
        pytest.skip("no compression codec installed")
    assert store.slow["zeros"].disk_bytes < MB // 10


def test_a_value_that_cannot_be_serialized_stays_in_memory(store, caplog):
    lock = threading.Lock()
    store["lock"] = [lock] * 400_000  # over the target alone: it is tried first
    store["a"] = np.zeros(2 * MB // 8)
    store["b"] = np.zeros(2 * MB // 8)
    with caplog.at_level(logging.WARNING, logger="graphengine.worker.store"):
        store.evict()
    assert "lock" in store.fast and store["lock"][0] is lock
    assert "cannot spill 'lock'" in caplog.text
    assert "a" in store.slow  # the next oldest went instead


def test_disk_io_is_reported(tmp_path):
    events = []
    store = SpillStore(str(tmp_path), target=0,
                       on_disk_io=lambda *e: events.append(e))
    store["k"] = np.zeros(100)
    store.evict()
    store["k"]
    assert [e[0] for e in events] == ["disk-write", "disk-read"]
    assert all(e[1] == "k" and e[2] == 800 and e[3] <= e[4] for e in events)


# --- disk faults: a real full filesystem (tests/conftest.py), a directory that vanished

def test_a_full_disk_keeps_values_in_memory_and_says_so_once(tiny_tmpfs, caplog):
    store = SpillStore(tiny_tmpfs, target=0, compress=False)
    big = np.random.default_rng(0).random(2 * MB // 8)  # 2 MiB > the 1 MiB disk
    store["big"] = big
    store["big2"] = big.copy()
    with caplog.at_level(logging.ERROR, logger="graphengine.worker.store"):
        assert store.evict() == 0
        assert store.evict() == 0
    assert store.spill_failing
    assert caplog.text.count("cannot spill to") == 1
    assert "No space left on device" in caplog.text
    np.testing.assert_array_equal(store["big"], big)  # nothing lost
    assert sorted(store.fast) == ["big", "big2"]
    assert os.listdir(tiny_tmpfs) == []  # partial files removed
    # Once there is room again, spilling works and the flag clears.
    del store["big"], store["big2"]
    store["small"] = np.zeros(1000)
    assert store.evict() == 8000
    assert not store.spill_failing and "small" in store.slow
    store.close()


def test_a_spill_directory_that_vanished_keeps_values_in_memory(tmp_path):
    directory = tmp_path / "gone"
    store = SpillStore(str(directory), target=0)
    os.rmdir(directory)
    store["x"] = np.arange(10)
    assert store.spill_one() is None
    assert store.spill_failing and "x" in store.fast
    np.testing.assert_array_equal(store["x"], np.arange(10))


# --- against a dict, under random operations -------------------------------------------

_ops = st.lists(st.tuples(st.sampled_from(["set", "get", "del", "evict", "spill"]),
                          st.integers(0, 5), st.integers(1, 4)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(_ops)
def test_the_store_behaves_like_a_dict(tmp_path_factory, ops):
    store = SpillStore(str(tmp_path_factory.mktemp("prop")), target=20_000)
    model = {}
    try:
        for op, key, size in ops:
            if op == "set":
                value = np.full(size * 1000, key, dtype=np.int64)  # 8,000 bytes a unit
                store[key] = value
                model[key] = value
            elif op == "get":
                if key in model:
                    np.testing.assert_array_equal(store[key], model[key])
                else:
                    with pytest.raises(KeyError):
                        store[key]
            elif op == "del":
                if key in model:
                    del store[key]
                    del model[key]
            elif op == "evict":
                store.evict()
                big = [k for k in store.fast if store.nbytes(k) > store.target]
                assert store.fast_nbytes <= store.target and not big
            else:
                store.spill_one()
            assert sorted(store) == sorted(model) and len(store) == len(model)
            assert store.fast_nbytes == sum(model[k].nbytes for k in store.fast)
            assert store.slow_nbytes == sum(model[k].nbytes for k in store.slow)
            assert len(_files(store)) == len(store.slow)
            assert not set(store.fast) & set(store.slow)
    finally:
        store.close()


def test_readers_in_threads_see_every_value_while_the_store_spills(tmp_path):
    store = SpillStore(str(tmp_path), target=4 * 80_000)
    expected = {i: np.full(10_000, i, dtype=np.int64) for i in range(40)}
    for k, v in expected.items():
        store[k] = v
    errors = []

    def reader():
        try:
            for _ in range(5):
                for k, v in expected.items():
                    if not np.array_equal(store[k], v):
                        errors.append(k)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(20):
        store.evict()
        store.spill_one()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(store) == sorted(expected)
    assert len(_files(store)) == len(store.slow)


def _race_read(store, key, race):
    """Read ``key`` with ``race()`` run to completion on another thread between the
    store's look-up of the file and its ``open``: the window two readers share."""
    real_read = store._read
    raced = []

    def read(k, spilled):
        if not raced:
            raced.append(True)
            t = threading.Thread(target=race)
            t.start()
            t.join(10)
        return real_read(k, spilled)

    store._read = read
    try:
        return store[key]
    finally:
        store._read = real_read


def test_a_reader_whose_file_another_reader_brought_back_gets_the_value(tmp_path):
    store = SpillStore(str(tmp_path), target=10_000)
    store["a"], store["b"] = np.zeros(1000), np.ones(1000)
    store.evict()
    del store["b"]  # room for "a" to come back, so the other reader removes its file
    got = _race_read(store, "a", lambda: store["a"])
    np.testing.assert_array_equal(got, np.zeros(1000))
    assert sorted(store.fast) == ["a"] and _files(store) == []


def test_a_reader_follows_a_value_spilled_again_to_a_new_file(tmp_path):
    store = SpillStore(str(tmp_path), target=10_000)
    store["a"], store["b"] = np.arange(1000.0), np.ones(1000)
    store.evict()
    del store["b"]

    def back_and_out_again():
        store["a"]
        store.spill_one("a")

    got = _race_read(store, "a", back_and_out_again)
    np.testing.assert_array_equal(got, np.arange(1000.0))
    assert sorted(store) == ["a"] and len(_files(store)) == len(store.slow)


def test_a_reader_of_a_key_deleted_meanwhile_gets_key_error(tmp_path):
    store = SpillStore(str(tmp_path), target=10_000)
    store["a"], store["b"] = np.zeros(1000), np.ones(1000)
    store.evict()

    def delete():
        del store["a"]

    with pytest.raises(KeyError, match="'a'"):
        _race_read(store, "a", delete)


def test_a_spill_file_removed_from_under_the_store_is_a_clear_error(tmp_path):
    store = SpillStore(str(tmp_path), target=10_000)
    store["a"], store["b"] = np.zeros(1000), np.ones(1000)
    store.evict()
    os.unlink(store.slow["a"].path)
    with pytest.raises(FileNotFoundError):
        store["a"]
    assert "a" in store.slow  # still listed: the fault is reported, not hidden
