"""The pure memory policy, memory_limit parsing, sizeof, and worker directories."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from graphengine import config
from graphengine.worker.memory import (MemoryAction, MemoryThresholds, memory_action,
                                       parse_memory_limit, system_memory)
from graphengine.worker.sizeof import register_sizeof, sizeof
from graphengine.worker.workspace import WorkSpace

# --- thresholds and decisions -----------------------------------------------------------


def test_thresholds_come_from_config_unless_given():
    t = MemoryThresholds(1000)
    assert (t.target, t.spill, t.pause, t.terminate) == (0.6, 0.7, 0.8, 0.95)
    assert t.bytes("target") == 600 and t.bytes("pause") == 800
    with config.set({"worker.memory.pause": 0.5}):
        assert MemoryThresholds(1000).bytes("pause") == 500
    t = MemoryThresholds(1000, target=0.3, pause=False)
    assert t.bytes("target") == 300 and t.bytes("pause") is None
    assert MemoryThresholds(0).bytes("spill") is None  # no limit: nothing applies


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, "lots"])
def test_a_bad_fraction_is_named(bad):
    with pytest.raises(ValueError, match="pause fraction"):
        MemoryThresholds(1000, pause=bad)


@pytest.mark.parametrize("rss, managed, paused, expected", [
    (500, 400, False, MemoryAction(False, False, None)),    # all well
    (750, 400, False, MemoryAction(False, False, 600)),     # past spill: back to target
    (750, 0, False, MemoryAction(False, False, None)),      # nothing of ours to spill
    (850, 400, False, MemoryAction(True, False, 600)),      # past pause: pause and spill
    (850, 400, True, MemoryAction(False, False, 600)),      # already paused
    (790, 400, True, MemoryAction(False, True, 600)),       # back under pause: resume
])
def test_memory_action(rss, managed, paused, expected):
    assert memory_action(MemoryThresholds(1000), rss, managed, paused) == expected


def test_memory_action_with_thresholds_off():
    t = MemoryThresholds(1000, spill=False, pause=False)
    assert memory_action(t, 990, 500, False) == MemoryAction(False, False, None)
    assert memory_action(t, 990, 500, True).unpause  # a pause from before is lifted
    assert memory_action(MemoryThresholds(0), 10**12, 10**9, False) == (False, False, None)


def test_parse_memory_limit():
    assert parse_memory_limit("2GiB") == 2 * 2**30
    assert parse_memory_limit(10**9) == 10**9
    assert parse_memory_limit(None) == parse_memory_limit(0) == 0
    assert parse_memory_limit("auto", 4) == system_memory() // 4
    assert parse_memory_limit(0.5) == system_memory() // 2
    for bad in ("lots", -5, [1]):
        with pytest.raises(ValueError, match="memory_limit"):
            parse_memory_limit(bad)


# --- sizeof -------------------------------------------------------------------------------

def test_sizeof_numpy_is_its_buffer():
    assert sizeof(np.zeros((100, 10))) == 8000
    objects = np.array(["x" * 1000] * 100, dtype=object)
    assert sizeof(objects) > 100 * 1000  # the strings, not just the pointers


def test_sizeof_pandas_measures_object_columns_deeply():
    df = pd.DataFrame({"n": np.arange(10_000), "s": ["y" * 200] * 10_000})
    assert abs(sizeof(df) - df.memory_usage(deep=True).sum()) < 0.05 * sizeof(df)
    assert sizeof(df) > 10_000 * 200
    s = df["s"]
    assert sizeof(s) > 10_000 * 200 and sizeof(df.index) > 0


def test_sizeof_containers_are_sampled_recursively():
    nested = [np.zeros(1000) for _ in range(1000)]
    assert 8_000_000 <= sizeof(nested) < 8_200_000
    assert sizeof({"a": np.zeros(100), "b": np.zeros(100)}) > 1600
    cyclic = []
    cyclic.append(cyclic)
    assert sizeof(cyclic) > 0  # the depth cap ends the cycle


def test_sizeof_registry_and_dunder():
    class Blob:
        def __init__(self, n):
            self.n = n

    class SubBlob(Blob):
        pass

    class Sized:
        def __sizeof__(self):
            return 12345

    register_sizeof(Blob)(lambda b: b.n)
    assert sizeof(SubBlob(777)) == 777
    assert sizeof(Sized()) >= 12345

    class Broken:
        pass

    register_sizeof(Broken)(lambda b: 1 / 0)
    assert sizeof(Broken()) > 0  # a failing sizer falls back, never raises


# --- worker directories ------------------------------------------------------------------

def test_a_workspace_is_removed_on_close(tmp_path):
    space = WorkSpace(str(tmp_path))
    spill = space.subdirectory("spill")
    open(os.path.join(spill, "1.spill"), "wb").close()
    space.close()
    assert not os.path.exists(space.path)
    space.close()  # idempotent


def test_the_directory_of_a_killed_worker_is_removed_on_the_next_start(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        from graphengine.worker.workspace import WorkSpace
        space = WorkSpace({str(tmp_path)!r})
        open(os.path.join(space.subdirectory("spill"), "1.spill"), "wb").write(b"x" * 100)
        print(space.path, flush=True)
        if sys.argv[1] == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.stdin.read()  # stay alive, holding the lock, until told
    """)
    dead = subprocess.run([sys.executable, "-c", script, "die"], capture_output=True,
                          text=True, timeout=30)
    assert dead.returncode == -9
    dead_path = dead.stdout.strip()
    assert os.path.isdir(dead_path)
    space = WorkSpace(str(tmp_path))
    assert space.removed_stale == [dead_path]
    assert not os.path.exists(dead_path)
    space.close()
    alive = subprocess.Popen([sys.executable, "-c", script, "live"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        alive_path = alive.stdout.readline().strip()
        space = WorkSpace(str(tmp_path))
        assert space.removed_stale == []
        assert os.path.isdir(alive_path)  # a living worker's directory is kept
        space.close()
    finally:
        alive.communicate("", timeout=30)
    # Once that worker has exited (without cleaning up), it is stale too.
    assert WorkSpace(str(tmp_path)).removed_stale == [alive_path]


def test_an_uncreatable_directory_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="graphengine-worker-space"):
        WorkSpace(str(blocker))
