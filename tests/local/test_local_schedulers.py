"""Specification of the local schedulers (sync, threads, processes): results, errors,
cancellation, interrupts, nesting and scheduler selection."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

import graphengine
from graphengine import config
from graphengine.errors import RemoteTraceback, TaskSerializationError
from graphengine.graph.order import order
from graphengine.graph.spec import Ref, Task
from graphengine.local import get

pytestmark = pytest.mark.timeout(60)

SCHEDULERS = ["sync", "threads", "processes"]
REPO_ROOT = Path(graphengine.__path__[0]).resolve().parent


def _chunk(i: int) -> np.ndarray:
    return np.arange(i * 10, (i + 1) * 10, dtype=np.int64)


def _square(x: np.ndarray) -> np.ndarray:
    return x * x


def _total(*parts: np.ndarray) -> np.int64:
    return np.sum([np.sum(p) for p in parts])


def _map_and_tree_reduce(n: int, fan_in: int = 4) -> tuple[dict, object]:
    graph: dict = {}
    layer = []
    for i in range(n):
        graph[("chunk", i)] = Task(("chunk", i), _chunk, i)
        graph[("square", i)] = Task(("square", i), _square, Ref(("chunk", i)))
        layer.append(("square", i))
    level = 0
    while len(layer) > 1:
        level += 1
        nxt = []
        for j in range(0, len(layer), fan_in):
            key = ("total", level, j // fan_in)
            graph[key] = Task(key, _total, *[Ref(k) for k in layer[j:j + fan_in]])
            nxt.append(key)
        layer = nxt
    return graph, layer[0]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_wide_map_and_tree_reduction_match_numpy(scheduler):
    n = 300
    graph, root = _map_and_tree_reduce(n)
    expected = int((np.arange(n * 10, dtype=np.int64) ** 2).sum())
    assert get(graph, root, scheduler=scheduler) == expected
    squares = get(graph, [[("square", 0), ("square", 299)], root], scheduler=scheduler)
    np.testing.assert_array_equal(squares[0][0], _chunk(0) ** 2)
    np.testing.assert_array_equal(squares[0][1], _chunk(299) ** 2)
    assert squares[1] == expected


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_plain_data_and_requested_inputs_are_returned(scheduler):
    graph = {"a": 2, "b": Task("b", pow, Ref("a"), 10)}
    assert get(graph, ["b", "a"], scheduler=scheduler) == [1024, 2]
    assert get(graph, "a", scheduler=scheduler) == 2


class TaskFailed(ValueError):
    """A user exception type the schedulers must hand back unchanged."""


def failing_function(x):
    raise TaskFailed(f"cannot handle {x}")


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_task_exception_keeps_its_type_and_the_task_frame(scheduler):
    graph = {"x": 1, "bad": Task("bad", failing_function, Ref("x")),
             "after": Task("after", abs, Ref("bad"))}
    with pytest.raises(TaskFailed, match="cannot handle 1") as info:
        get(graph, "after", scheduler=scheduler)
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "failing_function" in frames


def test_task_exception_in_a_process_keeps_its_type_with_the_remote_traceback():
    graph = {"x": 1, "bad": Task("bad", failing_function, Ref("x"))}
    with pytest.raises(TaskFailed, match="cannot handle 1") as info:
        get(graph, "bad", scheduler="processes")
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "failing_function" in str(cause)
    assert "cannot handle 1" in str(cause)


_ran: list = []


def _record(key):
    _ran.append(key)
    return key


def test_sync_scheduler_starts_no_task_after_an_error():
    _ran.clear()
    graph = {"a-fail": Task("a-fail", failing_function, 0)}
    for i in range(5):
        graph[f"b-record-{i}"] = Task(f"b-record-{i}", _record, i)
    priorities = order(graph)
    assert all(priorities["a-fail"] < priorities[k] for k in graph if k != "a-fail")
    with pytest.raises(TaskFailed):
        get(graph, list(graph), scheduler="sync")
    assert _ran == []


def test_threads_scheduler_abandons_remaining_tasks_after_an_early_failure():
    counter = {"ran": 0}
    lock = threading.Lock()

    def slow_task(i):
        time.sleep(0.002)
        with lock:
            counter["ran"] += 1
        return i

    graph = {("task", 0): Task(("task", 0), failing_function, 0)}
    for i in range(1, 1000):
        graph[("task", i)] = Task(("task", i), slow_task, i)
    with pytest.raises(TaskFailed):
        get(graph, list(graph), scheduler="threads", num_workers=2)
    time.sleep(0.3)  # anything still queued would run now
    ran = counter["ran"]
    assert ran < 200, f"{ran} of 999 tasks ran after the first one failed"
    time.sleep(0.1)
    assert counter["ran"] == ran  # and nothing keeps running in the background


def test_unpicklable_task_under_processes_raises_task_serialization_error_naming_it():
    lock = threading.Lock()

    def guarded(x):
        with lock:
            return x

    graph = {"ok": Task("ok", abs, -1), ("locked", 7): Task(("locked", 7), guarded, 1)}
    with pytest.raises(TaskSerializationError) as info:
        get(graph, [("locked", 7), "ok"], scheduler="processes")
    assert info.value.args[0] == ("locked", 7)
    assert "('locked', 7)" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_the_same_unpicklable_task_runs_under_threads():
    lock = threading.Lock()

    def guarded(x):
        with lock:
            return x + 1

    assert get({"t": Task("t", guarded, 1)}, "t", scheduler="threads") == 2


_INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys, time
    from graphengine.graph.spec import Task
    from graphengine.local import get

    def nap(i):
        if i == 0:
            print("started", flush=True)
        time.sleep(60)
        return i

    graph = {("nap", i): Task(("nap", i), nap, i) for i in range(8)}
    try:
        get(graph, list(graph), scheduler=sys.argv[1], num_workers=2)
        print("finished", flush=True)
    except KeyboardInterrupt:
        if sys.argv[2] == "raise":
            raise
        # As in an interactive session: the next computation must work.
        print("again", get({"x": Task("x", abs, -3)}, "x", scheduler=sys.argv[1],
                           num_workers=2), flush=True)
""")


def _interrupt(scheduler: str, mode: str) -> tuple[str, str, int, float]:
    """Run the script, send SIGINT once its first task runs; (stdout, stderr, rc, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPT_SCRIPT, scheduler, mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout.readline() == "started\n"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return out, err, proc.returncode, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_keyboard_interrupt_stops_a_computation_promptly(scheduler):
    out, err, returncode, elapsed = _interrupt(scheduler, "raise")
    assert "KeyboardInterrupt" in err, err
    assert "finished" not in out
    assert returncode != 0
    # Tasks sleep 60 s: stopping within a few seconds means they were abandoned (the
    # margin is for a loaded machine).
    assert elapsed < 10, f"took {elapsed:.1f}s to stop"


def test_ctrl_c_caught_by_a_pool_thread_still_stops_the_threads_scheduler():
    # The kernel hands a process signal to any thread; pthread_kill makes that thread
    # a task thread, so the main thread must notice the pending interrupt by itself.
    script = textwrap.dedent("""
        import signal, threading, time
        from graphengine.graph.spec import Task
        from graphengine.local import get

        def nap(i):
            if i == 0:
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            time.sleep(60)
            return i

        graph = {("nap", i): Task(("nap", i), nap, i) for i in range(4)}
        get(graph, list(graph), scheduler="threads", num_workers=2)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=30)
    assert "KeyboardInterrupt" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_the_next_computation_works_after_a_keyboard_interrupt(scheduler):
    out, err, returncode, elapsed = _interrupt(scheduler, "recover")
    assert out == "again 3\n", err
    assert returncode == 0
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_nested_compute_inside_a_threads_task_does_not_deadlock():
    inner_graph, inner_root = _map_and_tree_reduce(20)
    expected_inner = int((np.arange(200, dtype=np.int64) ** 2).sum())

    def outer(i):
        return get(inner_graph, inner_root, scheduler="threads") + i

    graph = {("outer", i): Task(("outer", i), outer, i) for i in range(6)}
    got = get(graph, list(graph), scheduler="threads", num_workers=2)
    assert got == [expected_inner + i for i in range(6)]


def _thread_id(_):
    return threading.get_ident()


@pytest.mark.parametrize("name", ["sync", "synchronous", "single-threaded"])
def test_configured_sync_scheduler_runs_tasks_in_the_calling_thread(name):
    graph = {"t": Task("t", _thread_id, 0)}
    with config.set(scheduler=name):
        assert get(graph, "t") == threading.get_ident()


def test_configured_threads_scheduler_runs_tasks_on_pool_threads():
    graph = {"t": Task("t", _thread_id, 0)}
    with config.set(scheduler="threads"):
        assert get(graph, "t") != threading.get_ident()


def test_configured_processes_scheduler_runs_tasks_in_other_processes():
    graph = {"t": Task("t", os.getpid)}
    with config.set(scheduler="processes"):
        assert get(graph, "t") != os.getpid()


def test_explicit_scheduler_argument_overrides_the_configuration():
    graph = {"t": Task("t", _thread_id, 0)}
    with config.set(scheduler="threads"):
        assert get(graph, "t", scheduler="sync") == threading.get_ident()


def test_unknown_scheduler_name_raises_value_error_listing_the_known_ones():
    graph = {"t": Task("t", abs, -1)}
    with pytest.raises(ValueError, match="'gpu'") as info:
        get(graph, "t", scheduler="gpu")
    for known in ("sync", "threads", "processes"):
        assert repr(known) in str(info.value)


def test_unknown_configured_scheduler_raises_value_error_naming_it():
    with config.set(scheduler="bogus"):
        with pytest.raises(ValueError, match="'bogus'.*'threads'"):
            get({"t": Task("t", abs, -1)}, "t")
