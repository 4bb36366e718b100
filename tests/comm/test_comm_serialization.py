"""Serialization families, zero-copy buffers, compression and frame splitting."""
from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from graphengine import config
from graphengine.comm import (Serialized, connect, deserialize, dumps, listen, loads,
                              register_serializer, serialize)
from graphengine.comm import compression
from graphengine.errors import CommClosedError

pytestmark = pytest.mark.timeout(60)


def roundtrip(obj):
    return loads(dumps(obj))


ARRAYS = {
    "float": np.arange(12.0).reshape(3, 4),
    "0-d": np.array(3.5),
    "empty": np.zeros((0, 3)),
    "fortran": np.asfortranarray(np.arange(12).reshape(3, 4)),
    "non-contiguous": np.arange(100).reshape(10, 10)[::3, 1::2],
    "bool": np.array([True, False]),
    "datetime": np.array(["2026-01-01", "2026-06-30"], dtype="datetime64[D]"),
    "structured": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    "object": np.array(["a", None, 3], dtype=object),
    "unicode": np.array(["αβ", "c"]),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_numpy_arrays_round_trip(name):
    arr = ARRAYS[name]
    out = roundtrip(arr)
    assert out.dtype == arr.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)


def test_numpy_arrays_arrive_as_views_of_the_received_buffer():
    arr = np.arange(1_000_000, dtype="f8")
    frames = dumps({"x": arr})
    assert any(memoryview(f).nbytes == arr.nbytes for f in frames[1:])  # out-of-band
    assert len(frames[0]) < 200  # the header holds no payload
    out = loads(frames)["x"]
    buffer = next(f for f in frames[1:] if memoryview(f).nbytes == arr.nbytes)
    assert np.shares_memory(out, np.frombuffer(buffer, dtype="f8"))  # no copy made


FRAMES = {
    "numeric": pd.DataFrame({"a": [1, 2, 3], "b": [1.5, np.nan, 2.5]}),
    "extension": pd.DataFrame({"i": pd.array([1, None, 3], dtype="Int64"),
                               "s": pd.array(["x", None, "z"], dtype="string"),
                               "c": pd.Categorical(["u", "v", "u"])}),
    "object": pd.DataFrame({"o": [{"k": 1}, [1, 2], None]}),
    "datetime": pd.DataFrame({"t": pd.date_range("2026-01-01", periods=3, tz="UTC")},
                             index=pd.Index(["a", "b", "c"], name="key")),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_pandas_objects_round_trip(name):
    df = FRAMES[name]
    pd.testing.assert_frame_equal(roundtrip(df), df)
    pd.testing.assert_series_equal(roundtrip(df.iloc[:, 0]), df.iloc[:, 0])
    pd.testing.assert_index_equal(roundtrip(df.index), df.index)


def test_pandas_buffers_travel_out_of_band():
    df = pd.DataFrame({"x": np.arange(500_000.0)})
    frames = dumps(df)
    assert len(frames[0]) < 10_000
    assert sum(memoryview(f).nbytes for f in frames[1:]) >= df["x"].nbytes


def test_functions_and_closures_round_trip_through_cloudpickle():
    k = 10
    f = roundtrip(lambda x: x + k)
    assert f(1) == 11
    assert roundtrip(sum)([1, 2]) == 3


def test_plain_containers_keep_their_types():
    msg = {"key": ("x", 1), "set": {1, 2}, "frozen": frozenset({"a"}), "list": [1, (2,)],
           "bytes": b"\x00\x01", "none": None, 1: "int key"}
    assert roundtrip(msg) == msg


def test_exceptions_round_trip():
    err = roundtrip(KeyError("missing"))
    assert isinstance(err, KeyError) and err.args == ("missing",)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def test_a_registered_serializer_is_used_for_its_type():
    calls = []

    def dumps_point(p):
        calls.append("dumps")
        return [p.x], [np.array([p.y]).data]

    def loads_point(header, frames):
        return Point(header[0], float(np.frombuffer(frames[0])[0]))

    register_serializer(Point, dumps_point, loads_point, name="test-point")
    s = serialize(Point(1, 2.5))
    assert s.name == "test-point" and calls == ["dumps"]
    p = roundtrip({"p": Point(3, 4.5)})["p"]
    assert (p.x, p.y) == (3, 4.5)


def test_unserializable_objects_raise_type_error_naming_the_type():
    import threading

    with pytest.raises(TypeError, match="lock"):
        serialize(threading.Lock())


def test_deserialize_false_keeps_payloads_and_forwards_them_unchanged():
    arr = np.arange(10)
    kept = loads(dumps({"x": arr}), deserialize=False)["x"]
    assert isinstance(kept, Serialized)
    again = loads(dumps({"x": kept}))["x"]
    np.testing.assert_array_equal(again, arr)


@pytest.mark.skipif("lz4" not in compression.available_codecs(), reason="lz4 not installed")
def test_compression_is_used_only_when_it_pays():
    zeros = np.zeros(1_000_000, dtype="u1")
    codec, _ = compression.maybe_compress(zeros.data, "lz4", 10_000)
    assert codec == "lz4"
    noise = np.random.default_rng(0).integers(0, 256, 1_000_000, dtype="u1")
    codec, data = compression.maybe_compress(noise.data, "lz4", 10_000)
    assert codec is None and memoryview(data).nbytes == noise.nbytes
    small = np.zeros(100, dtype="u1")
    assert compression.maybe_compress(small.data, "lz4", 10_000)[0] is None


@pytest.mark.skipif("lz4" not in compression.available_codecs(), reason="lz4 not installed")
def test_compressed_frames_decompress_on_arrival_and_when_relayed():
    arr = np.zeros(2_000_000)
    frames = dumps({"x": arr}, codec="lz4", min_size=10_000)
    assert sum(memoryview(f).nbytes for f in frames) < arr.nbytes / 10
    np.testing.assert_array_equal(loads(frames)["x"], arr)
    kept = loads(frames, deserialize=False)["x"]
    np.testing.assert_array_equal(deserialize(kept), arr)


def _transfer(obj, **config_overrides):
    async def main():
        received = asyncio.get_running_loop().create_future()

        async def handler(comm):
            try:
                received.set_result(await comm.read())
            except CommClosedError:
                pass

        with config.set(config_overrides):
            async with await listen("tcp://127.0.0.1:0", handler) as listener:
                comm = await connect(listener.address, timeout=5)
                await comm.write({"data": obj})
                out = await asyncio.wait_for(received, 60)
                comm.abort()
                return out["data"]

    return asyncio.run(main())


def test_payloads_larger_than_the_split_size_are_split_and_reassembled():
    arr = np.random.default_rng(1).random(3_000_000)  # 24 MB in 1 MiB wire frames
    out = _transfer(arr, **{"comm.frame-split-size": 1 << 20, "comm.compression": None})
    np.testing.assert_array_equal(out, arr)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_payload_over_2_gib_crosses_a_real_socket():
    arr = np.ones(2**31 + 4096, dtype="u1")  # 2 GiB + 4 KiB
    arr[-1] = 7
    out = _transfer(arr, **{"comm.compression": None})
    assert out.nbytes == arr.nbytes and out[-1] == 7 and out[:-1].min() == 1


def test_a_pickled_function_is_pickled_once_and_rebuilt_once_per_process():
    from graphengine.comm.pickled_function import load_function, pickled_function
    from graphengine.comm.serialize import deserialize
    from graphengine.graph.spec import Task

    offset = 7
    shared = pickled_function(lambda x: x + offset)  # by value: a closure over a local
    specs = [serialize(Task(f"t-{i}", shared, i)) for i in range(3)]
    # The function's bytes ride out of band, the same bytes in every task.
    assert all(bytes(s.frames[1]) == shared.blob for s in specs)
    tasks = [deserialize(s) for s in specs]
    assert [t({}) for t in tasks] == [7, 8, 9]
    assert tasks[0].func is tasks[2].func is load_function(shared.blob)


def test_a_function_that_cannot_be_pickled_is_left_as_is_for_the_task_to_report():
    import threading

    from graphengine.comm.pickled_function import pickled_function

    lock = threading.Lock()

    def holds_a_lock():
        return lock

    assert pickled_function(holds_a_lock) is holds_a_lock
