"""The per-prefix progress table follows tasks through the real scheduler state machine."""
from __future__ import annotations

import pytest

from graphengine.scheduler.progress import PrefixProgress
from graphengine.scheduler.state import SchedulerState

pytestmark = pytest.mark.timeout(30)


def _graph(prefix: str, n: int, token: str = "1a2b3c4d5e6f7a8b"):
    keys = [(f"{prefix}-{token}", i) for i in range(n)]
    return {k: ("spec", k) for k in keys}, {k: set() for k in keys}, keys


def _live(counts):
    return {b: n for b, n in counts.items() if n}


@pytest.fixture
def state():
    s = SchedulerState(saturation=1.0)
    s.add_worker("tcp://w:1", nthreads=2)
    s.add_client("c")
    return s


def test_counts_follow_tasks_from_submission_to_done_and_forgotten(state):
    tasks, deps, keys = _graph("inc", 5)
    state.update_graph("c", tasks, deps, keys)
    state.validate()  # the table agrees with every task's state
    assert _live(state.progress.counts["inc"]) == {"processing": 2, "queued": 3}
    first = next(k for k in keys if state.tasks[k].state == "processing")
    state.task_finished(first, "tcp://w:1", 8, 0.01)
    state.validate()
    assert state.progress.counts["inc"]["memory"] == 1
    state.release_keys("c", [first])
    state.validate()
    # Finished and let go: done, whether released or forgotten.
    assert state.progress.counts["inc"]["done"] == 1
    assert state.progress.counts["inc"]["memory"] == 0


def test_tasks_forgotten_before_they_ran_leave_the_table(state):
    tasks, deps, keys = _graph("slow", 3)
    state.update_graph("c", tasks, deps, keys)
    state.release_keys("c", keys)
    state.validate()
    assert "slow" not in state.progress.counts


def test_a_new_computation_of_a_finished_prefix_starts_from_zero(state):
    tasks, deps, keys = _graph("inc", 2)
    state.update_graph("c", tasks, deps, keys)
    while any(state.tasks[k].state != "memory" for k in keys):
        for k in keys:
            if state.tasks[k].state == "processing":
                state.task_finished(k, "tcp://w:1", 8, 0.01)
    state.release_keys("c", keys)
    assert _live(state.progress.counts["inc"]) == {"done": 2}
    tasks, deps, keys = _graph("inc", 3, token="ffffffff00000000")
    state.update_graph("c", tasks, deps, keys)
    state.validate()
    counts = state.progress.counts["inc"]
    assert counts["done"] == 0 and sum(counts.values()) == 3


def test_the_version_moves_only_with_changes(state):
    v = state.progress.version
    state.validate()
    assert state.progress.version == v
    tasks, deps, keys = _graph("inc", 1)
    state.update_graph("c", tasks, deps, keys)
    assert state.progress.version > v


def test_only_the_newest_finished_prefixes_are_kept():
    from graphengine.scheduler.model import TaskState

    p = PrefixProgress(keep_finished=3)
    for i in range(6):
        ts = TaskState(f"p{i}-1", None, f"p{i}")
        p.added(ts)
        p.moved(ts, "processing")
        p.moved(ts, "memory")
        p.moved(ts, "forgotten")
    assert list(p.counts) == ["p3", "p4", "p5"]
    assert all(c["done"] == 1 for c in p.counts.values())
