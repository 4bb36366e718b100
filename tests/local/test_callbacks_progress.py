"""Specification of scheduler callbacks and the text ProgressBar (local.callbacks,
local.progress)."""
from __future__ import annotations

import io
import re
import threading
import time

import pytest

from graphengine.graph.spec import Ref, Task
from graphengine.local import Callback, ProgressBar, get
from graphengine.local.callbacks import active_callbacks
from graphengine.local.progress import format_time

pytestmark = pytest.mark.timeout(60)

SCHEDULERS = ["sync", "threads", "processes"]


def _inc(x):
    return x + 1


def _fail(x):
    raise ArithmeticError(f"bad input {x}")


def _nap(x):
    time.sleep(0.02)
    return x


def _graph() -> dict:
    return {"a": 1, "b": Task("b", _inc, Ref("a")), "c": Task("c", _inc, Ref("b")),
            "d": Task("d", _inc, Ref("a")), "unused": Task("unused", _inc, 0)}


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.events: list = []

    def _start(self, graph):
        self.events.append(("start", frozenset(graph)))

    def _pretask(self, key, graph, state):
        self.events.append(("pretask", key))

    def _posttask(self, key, result, graph, state):
        self.events.append(("posttask", key, result))

    def _finish(self, graph, state, errored):
        self.events.append(("finish", errored))

    def of(self, kind: str) -> list:
        return [e[1:] for e in self.events if e[0] == kind]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_callbacks_see_start_each_task_and_finish_with_the_right_keys(scheduler):
    rec = Recorder()
    assert get(_graph(), ["c", "d"], scheduler=scheduler, callbacks=[rec]) == [3, 2]
    assert rec.events[0] == ("start", frozenset({"a", "b", "c", "d"}))  # culled graph
    assert rec.events[-1] == ("finish", False)
    assert sorted(k for (k,) in rec.of("pretask")) == ["b", "c", "d"]
    assert sorted(rec.of("posttask")) == [("b", 2), ("c", 3), ("d", 2)]
    position = {e: i for i, e in enumerate(rec.events)}
    for key in "bcd":
        post = next(e for e in rec.events if e[:2] == ("posttask", key))
        assert position[("pretask", key)] < position[post]
    # b's result exists before c, which reads it, starts.
    assert position[("posttask", "b", 2)] < position[("pretask", "c")]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_finish_reports_errored_when_a_task_fails(scheduler):
    rec = Recorder()
    graph = {"x": Task("x", _fail, 1), "y": Task("y", _inc, Ref("x"))}
    with pytest.raises(ArithmeticError, match="bad input 1"):
        get(graph, "y", scheduler=scheduler, callbacks=[rec])
    assert rec.events[-1] == ("finish", True)
    assert ("x",) in rec.of("pretask")
    assert rec.of("posttask") == []
    assert ("y",) not in rec.of("pretask")


def test_callback_from_functions_and_start_state_counts():
    seen: dict = {"start": 0, "post": [], "finish": []}

    def start_state(graph, state):
        seen["state"] = (state["finished"], state["total"])

    cb = Callback(start=lambda graph: seen.__setitem__("start", seen["start"] + 1),
                  start_state=start_state,
                  posttask=lambda key, result, graph, state: seen["post"].append(
                      (key, result, state["finished"])),
                  finish=lambda graph, state, errored: seen["finish"].append(
                      (errored, state["finished"])))
    get(_graph(), "c", scheduler="sync", callbacks=[cb])
    assert seen["start"] == 1
    assert seen["state"] == (1, 3)  # the plain value "a" is finished from the start
    assert seen["post"] == [("b", 2, 2), ("c", 3, 3)]
    assert seen["finish"] == [(False, 3)]


def test_registered_callback_observes_every_computation_until_unregistered():
    rec = Recorder()
    rec.register()
    try:
        assert rec in active_callbacks()
        get(_graph(), "b", scheduler="sync")
        get(_graph(), "d", scheduler="threads")
    finally:
        rec.unregister()
    assert rec not in active_callbacks()
    get(_graph(), "c", scheduler="sync")
    assert [e for e in rec.events if e[0] == "finish"] == [("finish", False)] * 2
    assert [k for (k, _) in rec.of("posttask")] == ["b", "d"]


def test_callback_as_context_manager_is_active_only_inside_the_block():
    with Recorder() as rec:
        get(_graph(), "b", scheduler="sync")
    get(_graph(), "d", scheduler="sync")
    assert rec.of("posttask") == [("b", 2)]


def test_a_callback_both_registered_and_passed_is_called_once():
    with Recorder() as rec:
        get(_graph(), "b", scheduler="sync", callbacks=[rec])
    assert rec.of("posttask") == [("b", 2)]


# --- ProgressBar --------------------------------------------------------------------------

_BAR = re.compile(r"\[([# ]+)\] \| +(\d+)% Completed \| ([\d.]+s|\d+min [\d.]+s)")


def _bars(text: str) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for m in _BAR.finditer(text)]


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_progress_bar_ends_at_100_percent_with_a_full_bar(scheduler):
    out = io.StringIO()
    graph = {("x", i): Task(("x", i), _inc, i) for i in range(50)}
    with ProgressBar(out=out, width=20):
        get(graph, list(graph), scheduler=scheduler)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    final = text.rstrip("\n").split("\r")[-1]
    assert final.startswith("[" + "#" * 20 + "] | 100% Completed | ")
    assert _bars(final) == [("#" * 20, 100)]


def test_progress_bar_redraws_while_a_slow_computation_runs():
    out = io.StringIO()
    graph = {("nap", i): Task(("nap", i), _nap, i) for i in range(25)}
    with ProgressBar(out=out, dt=0.02, width=10):
        get(graph, list(graph), scheduler="sync")
    bars = _bars(out.getvalue())
    percents = [p for _, p in bars]
    assert len(bars) >= 5, out.getvalue()
    assert percents == sorted(percents)  # progress never goes backwards
    assert any(0 < p < 100 for p in percents)
    assert percents[-1] == 100
    for bar, percent in bars:
        assert len(bar) == 10 and bar.count("#") == percent * 10 // 100


def test_progress_bar_shows_nothing_for_computations_shorter_than_minimum():
    out = io.StringIO()
    with ProgressBar(minimum=10, out=out) as bar:
        get(_graph(), "c", scheduler="sync")
    assert out.getvalue() == ""
    assert 0 < bar.last_duration < 10


def test_progress_bar_registered_without_a_with_block():
    out = io.StringIO()
    bar = ProgressBar(out=out)
    bar.register()
    try:
        get(_graph(), "c", scheduler="sync")
    finally:
        bar.unregister()
    get(_graph(), "c", scheduler="sync")
    assert out.getvalue().count("100% Completed") == 1


def test_progress_bar_after_a_failure_ends_its_line_below_100_percent():
    out = io.StringIO()
    graph = {"ok": Task("ok", _inc, 1), "x": Task("x", _fail, Ref("ok")),
             "y": Task("y", _inc, Ref("x"))}
    with ProgressBar(out=out):
        with pytest.raises(ArithmeticError):
            get(graph, "y", scheduler="sync")
    text = out.getvalue()
    assert text.endswith("\n")
    assert "100%" not in text
    assert _bars(text)[-1][1] == 33  # one of three tasks finished


def test_progress_bar_writes_to_stdout_by_default(capsys):
    with ProgressBar():
        get(_graph(), "c", scheduler="sync")
    assert "100% Completed" in capsys.readouterr().out


def test_progress_bar_stops_its_timer_thread_when_the_computation_ends():
    with ProgressBar(out=io.StringIO(), dt=0.01):
        get(_graph(), "c", scheduler="threads")
        assert not [t for t in threading.enumerate() if t.name == "graphengine-progress"]


def test_progress_bar_draws_one_bar_for_a_computation_with_nested_computes():
    inner = {("i", j): Task(("i", j), _inc, j) for j in range(5)}

    def outer(i):
        return sum(get(inner, list(inner), scheduler="threads")) + i

    out = io.StringIO()
    graph = {("o", i): Task(("o", i), outer, i) for i in range(4)}
    with ProgressBar(out=out, dt=0.01):
        assert get(graph, list(graph), scheduler="threads") == [15 + i for i in range(4)]
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.rstrip("\n").split("\r")[-1].startswith("[" + "#" * 40 + "] | 100%")


@pytest.mark.parametrize("kwargs, match", [({"width": 0}, "width"), ({"dt": 0}, "dt")])
def test_progress_bar_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProgressBar(**kwargs)


@pytest.mark.parametrize("seconds, text", [(0, "0.0s"), (1.26, "1.3s"), (59.9, "59.9s"),
                                           (123.4, "2min 3.4s"), (3720, "1hr 2min")])
def test_format_time_is_readable(seconds, text):
    assert format_time(seconds) == text
