"""The threads scheduler caps NumPy's real BLAS thread pool while several tasks can run
at once, and gives the library its own setting back afterwards."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

from graphengine import config
from graphengine.graph.spec import Ref, Task
from graphengine.local import get
from graphengine.local.blas_threads import blas_limit_for

pytestmark = pytest.mark.timeout(60)


def _blas_threads() -> int:
    """What NumPy's BLAS would use for a call made now."""
    infos = ThreadpoolController().select(user_api="blas").info()
    if not infos:
        pytest.skip("NumPy is linked to no BLAS threadpoolctl knows")
    return infos[0]["num_threads"]


def _seen_by_task(i: int) -> int:
    a = np.full((64, 64), float(i))
    (a @ a.T).sum()  # a real BLAS call, on the thread that reads the setting
    return _blas_threads()


def _collect(*seen: int) -> list:
    return list(seen)


def _wide_graph(n: int) -> dict:
    """``n`` leaves and a task collecting them. Run it with ``n`` pool threads: the leaves
    then all start at once, so they are sure to run under the same cap."""
    graph = {f"leaf-{i}": Task(f"leaf-{i}", _seen_by_task, i) for i in range(n)}
    graph["all"] = Task("all", _collect, *[Ref(f"leaf-{i}") for i in range(n)])
    return graph


def test_parallel_tasks_run_with_the_cap_and_the_setting_comes_back() -> None:
    with threadpool_limits(limits=3, user_api="blas"):
        assert _blas_threads() == 3
        with config.set({"blas-threads": 1}):
            seen = get(_wide_graph(2), "all", scheduler="threads", num_workers=2)
        assert seen == [1] * 2
        assert _blas_threads() == 3


def test_auto_divides_the_cores_by_the_busy_threads() -> None:
    with threadpool_limits(limits=7, user_api="blas"):
        seen = get(_wide_graph(2), "all", scheduler="threads", num_workers=2)
        assert set(seen) == {blas_limit_for(2, 2)}
        assert _blas_threads() == 7


def _seen_last(*seen: int) -> list:
    return [*seen, _blas_threads()]


def test_a_task_left_to_run_alone_gets_the_librarys_threads_back() -> None:
    # Like the one product of two blocks that follows drawing them: the blocks run
    # capped, the product alone with every thread.
    graph = _wide_graph(2)
    graph["all"] = Task("all", _seen_last, Ref("leaf-0"), Ref("leaf-1"))
    with threadpool_limits(limits=3, user_api="blas"):
        with config.set({"blas-threads": 1}):
            assert get(graph, "all", scheduler="threads", num_workers=2) == [1, 1, 3]
        assert _blas_threads() == 3


def test_a_single_runnable_task_keeps_every_blas_thread() -> None:
    with threadpool_limits(limits=3, user_api="blas"):
        with config.set({"blas-threads": 1}):
            graph = {"only": Task("only", _seen_by_task, 0)}
            assert get(graph, "only", scheduler="threads", num_workers=2) == 3


def test_none_leaves_the_library_alone() -> None:
    with threadpool_limits(limits=3, user_api="blas"):
        with config.set({"blas-threads": None}):
            assert get(_wide_graph(2), "all", scheduler="threads", num_workers=2) == [3] * 2


def test_overlapping_computations_restore_only_when_the_last_ends() -> None:
    release = threading.Event()
    started = threading.Event()
    second: list = []

    def _blocked(i: int) -> int:
        started.set()
        assert release.wait(30)
        return _blas_threads()

    def _run_second() -> None:
        assert started.wait(30)
        second.append(get(_wide_graph(3), "all", scheduler="threads", num_workers=3))
        release.set()

    graph = {f"b-{i}": Task(f"b-{i}", _blocked, i) for i in range(2)}
    graph["all"] = Task("all", _collect, Ref("b-0"), Ref("b-1"))
    with threadpool_limits(limits=3, user_api="blas"), config.set({"blas-threads": 1}):
        # The second computation starts and ends while the first one's tasks wait: the
        # cap must hold for both, and still hold for the first after the second ends.
        other = threading.Thread(target=_run_second)
        other.start()
        first = get(graph, "all", scheduler="threads", num_workers=2)
        other.join(30)
        assert second == [[1, 1, 1]]
        assert first == [1, 1]
        assert _blas_threads() == 3


@pytest.mark.parametrize("parallel, threads, cores, expected", [
    (10, 2, 2, 1), (10, 2, 8, 4), (3, 4, 12, 4), (1, 4, 8, None), (10, 1, 8, None),
])
def test_auto_limit(parallel: int, threads: int, cores: int, expected: int | None) -> None:
    assert blas_limit_for(parallel, threads, cores) == expected


@pytest.mark.parametrize("bad", [0, -2, "many", 1.5, True])
def test_a_bad_setting_is_named(bad: object) -> None:
    with config.set({"blas-threads": bad}):
        with pytest.raises(ValueError, match="blas-threads"):
            blas_limit_for(4, 2)
