"""The stack profiler: call trees from real frames, their layout, and the sampling thread."""
from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from graphengine.worker import profile
from graphengine.worker.profile import (
    PATH_SEPARATOR, StackSampler, add_stack, describe, identifier, merge, new_tree,
    plot_data, stop_at_function, subtree,
)

pytestmark = pytest.mark.timeout(60)

BOUNDARY = stop_at_function("boundary")


# Known call chains: boundary -> outer -> middle|middle2 -> inner, sampled in inner.
def inner(tree, stop):
    add_stack(tree, sys._getframe(), stop)


def middle(tree, stop):
    inner(tree, stop)


def middle2(tree, stop):
    inner(tree, stop)


def outer(tree, stop, branch=middle):
    branch(tree, stop)


def boundary(tree, stop=BOUNDARY, branch=middle):
    outer(tree, stop, branch)


def two_lines(tree, second):
    if second:
        add_stack(tree, sys._getframe(), BOUNDARY)
    else:
        add_stack(tree, sys._getframe(), BOUNDARY)


def _id(func) -> str:
    co = func.__code__
    return f"{co.co_name};{co.co_filename};{co.co_firstlineno}"


def _sample_tree(n_middle=3, n_middle2=1):
    tree = new_tree()
    for _ in range(n_middle):
        boundary(tree)
    for _ in range(n_middle2):
        boundary(tree, branch=middle2)
    return tree


def _wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.002)


# --- frames and trees -------------------------------------------------------------------

def test_identifier_and_describe_of_a_real_frame():
    frame = sys._getframe()
    lineno = frame.f_lineno  # describe() reports the current line of the frame
    assert identifier(frame) == _id(test_identifier_and_describe_of_a_real_frame)
    d = describe(frame)
    assert d["filename"] == __file__
    assert d["name"] == "test_identifier_and_describe_of_a_real_frame"
    assert d["line_number"] == lineno + 2
    assert d["line"] == "d = describe(frame)"


def test_describe_without_source_gives_empty_line():
    ns: dict = {}
    exec(compile("import sys\ndef f():\n    return sys._getframe()\n", "<nowhere>", "exec"), ns)
    d = describe(ns["f"]())
    assert d["filename"] == "<nowhere>" and d["name"] == "f" and d["line"] == ""


def test_new_tree_shape():
    assert new_tree() == {"identifier": "root", "count": 0, "children": {},
                          "description": {"filename": "", "name": "", "line_number": 0,
                                          "line": ""}}
    assert new_tree() is not new_tree()


def test_add_stack_nests_outermost_first_and_stops_before_boundary():
    tree = _sample_tree(n_middle=3, n_middle2=1)
    assert tree["count"] == 4
    # boundary and everything outer to it (pytest) are left out.
    assert list(tree["children"]) == [_id(outer)]
    o = tree["children"][_id(outer)]
    assert o["count"] == 4
    assert o["description"]["name"] == "outer"
    assert set(o["children"]) == {_id(middle), _id(middle2)}
    m, m2 = o["children"][_id(middle)], o["children"][_id(middle2)]
    assert (m["count"], m2["count"]) == (3, 1)
    leaf = m["children"][_id(inner)]
    assert leaf["count"] == 3 and leaf["children"] == {}
    assert leaf["description"]["line"] == "add_stack(tree, sys._getframe(), stop)"
    assert m2["children"][_id(inner)]["count"] == 1


def test_add_stack_without_stop_keeps_outer_frames():
    tree = new_tree()
    boundary(tree, stop=None)
    node, names = tree, []
    while node["children"]:
        (node,) = node["children"].values()
        names.append(node["description"]["name"])
    assert names[-5:] == ["test_add_stack_without_stop_keeps_outer_frames", "boundary",
                          "outer", "middle", "inner"]
    assert len(names) > 5  # pytest's own frames are in there


def test_add_stack_stop_on_innermost_only_counts_root():
    tree = new_tree()
    add_stack(tree, sys._getframe(), lambda f: True)
    assert tree["count"] == 1 and tree["children"] == {}


def test_description_follows_most_recent_sample():
    tree = new_tree()

    def boundary():
        two_lines(tree, False)
        first = tree["children"][_id(two_lines)]["description"]["line_number"]
        two_lines(tree, True)
        return first

    first = boundary()
    node = tree["children"][_id(two_lines)]
    assert node["count"] == 2
    assert node["description"]["line_number"] != first
    assert node["description"]["line_number"] == two_lines.__code__.co_firstlineno + 2


def test_merge_sums_unions_and_leaves_inputs_alone():
    a = _sample_tree(n_middle=2, n_middle2=0)
    b = _sample_tree(n_middle=1, n_middle2=5)
    a0, b0 = copy.deepcopy(a), copy.deepcopy(b)
    m = merge(a, b)
    assert (a, b) == (a0, b0)
    assert m["count"] == 8
    o = m["children"][_id(outer)]
    assert o["count"] == 8
    assert o["children"][_id(middle)]["count"] == 3
    assert o["children"][_id(middle2)]["count"] == 5
    assert o["children"][_id(middle2)]["children"][_id(inner)]["count"] == 5
    # The result shares nothing with the inputs.
    m["children"][_id(outer)]["count"] = -1
    m["children"][_id(outer)]["description"]["name"] = "changed"
    assert (a, b) == (a0, b0)


def test_merge_edge_cases():
    assert merge() == new_tree()
    a = _sample_tree()
    single = merge(a)
    assert single == a and single is not a
    assert merge(a, new_tree()) == a
    assert merge(a, a)["count"] == 2 * a["count"]


# --- layout -----------------------------------------------------------------------------

def _rows(data):
    return [dict(zip(data, values)) for values in zip(*data.values())]


def test_plot_data_layout_is_proportional_and_nested():
    tree = _sample_tree(n_middle=3, n_middle2=1)
    data = plot_data(tree)
    assert len({len(v) for v in data.values()}) == 1
    rows = {r["path"]: r for r in _rows(data)}
    assert len(rows) == 6  # root, outer, middle, middle2, and one inner under each

    root = rows["root"]
    assert (root["left"], root["right"], root["bottom"], root["top"]) == (0, 1, 0, 1)
    assert root["percentage"] == 100

    for path, r in rows.items():
        if path == "root":
            continue
        parent = rows[path.rsplit(PATH_SEPARATOR, 1)[0]]
        assert r["bottom"] == parent["bottom"] + 1 and r["top"] == r["bottom"] + 1
        assert parent["left"] - 1e-12 <= r["left"] < r["right"] <= parent["right"] + 1e-12
        width = (r["right"] - r["left"]) / (parent["right"] - parent["left"])
        assert width == pytest.approx(r["count"] / parent["count"])
        assert r["percentage"] == pytest.approx(100 * r["count"] / 4)
        assert r["identifier"] == path.rsplit(PATH_SEPARATOR, 1)[1]
        # The path leads back to the node it describes.
        assert subtree(tree, path)["count"] == r["count"]

    o = PATH_SEPARATOR.join(["root", _id(outer)])
    m, m2 = rows[o + PATH_SEPARATOR + _id(middle)], rows[o + PATH_SEPARATOR + _id(middle2)]
    assert (m["count"], m2["count"]) == (3, 1)
    assert m["percentage"] == pytest.approx(75) and m2["percentage"] == pytest.approx(25)
    # Siblings sit side by side, ordered by identifier, covering the parent.
    first, second = sorted([m, m2], key=lambda r: r["identifier"])
    assert first["left"] == pytest.approx(rows[o]["left"])
    assert second["left"] == pytest.approx(first["right"])
    assert second["right"] == pytest.approx(rows[o]["right"])
    assert m["name"] == "middle" and m["filename"] == __file__
    assert m["line"] == "inner(tree, stop)"


def test_plot_data_is_deterministic_and_colours_follow_filenames():
    tree = _sample_tree()
    data = plot_data(tree)
    assert plot_data(merge(tree)) == data
    colours = {}
    for filename, colour in zip(data["filename"][1:], data["color"][1:]):
        assert colour.startswith("#") and len(colour) == 7
        colours.setdefault(filename, set()).add(colour)
    assert all(len(c) == 1 for c in colours.values())


def test_plot_data_colours_stable_across_processes():
    tree = {"identifier": "root", "description": new_tree()["description"], "count": 2,
            "children": {f"f;{name};1": {"identifier": f"f;{name};1", "count": 1,
                                         "children": {},
                                         "description": {"filename": name, "name": "f",
                                                         "line_number": 1, "line": ""}}
                         for name in ("/a/x.py", "/b/y.py")}}
    script = ("import json, sys\nfrom graphengine.worker.profile import plot_data\n"
              "print(json.dumps(plot_data(json.loads(sys.stdin.read()))['color']))")
    outputs = set()
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", script], input=json.dumps(tree),
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.add(r.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == plot_data(tree)["color"]


def test_plot_data_empty_depth_limit_and_slivers():
    assert plot_data(new_tree()) == {k: [] for k in plot_data(_sample_tree())}
    tree = _sample_tree()
    assert set(plot_data(tree, max_depth=1)["bottom"]) == {0, 1}
    assert plot_data(tree, max_depth=0)["identifier"] == ["root"]

    def leaf(ident, count):
        return {"identifier": ident, "count": count, "children": {},
                "description": {"filename": "f.py", "name": ident, "line_number": 1,
                                "line": ""}}

    wide = {**new_tree(), "count": 100_000,
            "children": {"a": leaf("a", 1), "b": leaf("b", 99_999)}}
    data = plot_data(wide)
    assert data["identifier"] == ["root", "b"]
    assert data["left"][1] == pytest.approx(1e-5)  # the skipped sliver keeps its room


def test_subtree_follows_identifiers_and_names_missing_one():
    tree = _sample_tree()
    path = [_id(outer), _id(middle2)]
    node = subtree(tree, path)
    assert node is tree["children"][_id(outer)]["children"][_id(middle2)]
    assert subtree(tree, ["root", *path]) is node
    assert subtree(tree, []) is tree and subtree(tree, ["root"]) is tree
    with pytest.raises(KeyError) as info:
        subtree(tree, ["root", _id(outer), "nope;x.py;1", _id(inner)])
    assert info.value.args == ("nope;x.py;1",)
    with pytest.raises(KeyError, match="middle"):
        subtree(tree, [_id(middle)])  # middle is not a child of the root


def test_stop_at_function():
    stop = stop_at_function("boundary", "other")
    assert stop(sys._getframe()) is False
    seen = []

    def boundary():
        seen.append(stop(sys._getframe()))

    boundary()
    assert seen == [True]


# --- sampler ----------------------------------------------------------------------------

def compute():
    return sum(i * i for i in range(2000))


def busy(stop_event, started):
    started.set()
    while not stop_event.is_set():
        compute()


@pytest.fixture
def busy_threads():
    stop_event = threading.Event()
    threads = []

    def spawn():
        started = threading.Event()
        t = threading.Thread(target=busy, args=(stop_event, started), daemon=True)
        t.start()
        # Sampled before this, the stack would still be in the thread machinery.
        assert started.wait(5)
        threads.append(t)
        return t

    yield spawn
    stop_event.set()
    for t in threads:
        t.join(5)


@pytest.fixture
def sampler():
    s = StackSampler(interval=0.001, stop=stop_at_function("run"))
    yield s
    s.stop()


def _contains(tree, name):
    work = [tree]
    while work:
        node = work.pop()
        if node["description"]["name"] == name:
            return True
        work.extend(node["children"].values())
    return False


def test_sampler_thread_samples_a_busy_thread(sampler, busy_threads):
    t = busy_threads()
    sampler.watch(t.ident, "busy-prefix")
    sampler.start()
    _wait_for(lambda: sampler.samples >= 20)
    sampler.unwatch(t.ident)
    taken = sampler.take()
    assert taken and {prefix for _, prefix, _ in taken} == {"busy-prefix"}
    for start, _, tree in taken:
        assert start == int(start) and start <= time.time()
    total = merge(*(tree for _, _, tree in taken))
    assert total["count"] == sampler.samples
    # Thread.run and the bootstrap are cut off: busy is at the top.
    assert list(total["children"]) == [_id(busy)]
    assert _contains(total, "compute")
    # Nothing new is watched, so nothing new comes.
    assert sampler.take() == []


def test_take_clears_until_more_samples():
    s = StackSampler()
    s.watch(threading.get_ident(), "mine")
    s.sample_once()
    s.sample_once()
    assert s.samples == 2
    ((_, prefix, tree),) = s.take()
    assert prefix == "mine" and tree["count"] == 2
    assert _contains(tree, "test_take_clears_until_more_samples")
    assert s.take() == []
    s.sample_once()
    ((_, _, tree),) = s.take()
    assert tree["count"] == 1


def test_buckets_follow_the_clock():
    now = [12.3]
    s = StackSampler(bucket=5.0, clock=lambda: now[0])
    s.watch(threading.get_ident(), "a")
    s.sample_once()
    now[0] = 14.9
    s.sample_once()
    now[0] = 15.0
    s.sample_once()
    s.watch(threading.get_ident(), "b")  # the thread moved on to another task
    s.sample_once()
    assert [(start, prefix, tree["count"]) for start, prefix, tree in s.take()] == [
        (10.0, "a", 2), (15.0, "a", 1), (15.0, "b", 1)]


def test_nothing_watched_takes_no_samples():
    s = StackSampler()
    s.sample_once()
    assert s.samples == 0 and s.take() == []
    s.watch(threading.get_ident(), "x")
    s.unwatch(threading.get_ident())
    s.unwatch(12345)  # unknown threads are fine
    s.sample_once()
    assert s.samples == 0 and s.take() == []


def test_finished_thread_is_skipped():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    s = StackSampler()
    s.watch(t.ident, "gone")
    s.sample_once()
    assert s.samples == 0 and s.take() == []


def test_unwatch_stops_samples_for_that_thread(sampler, busy_threads):
    a, b = busy_threads(), busy_threads()
    sampler.watch(a.ident, "a")
    sampler.watch(b.ident, "b")
    sampler.start()
    _wait_for(lambda: sampler.samples >= 20)
    sampler.unwatch(a.ident)
    first = {prefix for _, prefix, _ in sampler.take()}
    assert first == {"a", "b"}
    after = sampler.samples
    _wait_for(lambda: sampler.samples >= after + 20)
    assert {prefix for _, prefix, _ in sampler.take()} == {"b"}


def test_start_stop_idempotent(sampler):
    # Workers of other tests in this process may run profilers of their own.
    others = {t for t in threading.enumerate() if t.name == "graphengine-profiler"}

    def profiler_threads():
        return [t for t in threading.enumerate()
                if t.name == "graphengine-profiler" and t not in others]

    assert profiler_threads() == [] and not sampler.running
    sampler.start()
    sampler.start()
    (thread,) = profiler_threads()
    assert thread.daemon and sampler.running
    sampler.stop()
    sampler.stop()
    assert not thread.is_alive() and profiler_threads() == [] and not sampler.running
    sampler.start()  # restartable
    assert len(profiler_threads()) == 1
    sampler.stop()
    assert profiler_threads() == []


def test_sampling_errors_are_logged_once_and_sampling_goes_on(busy_threads, caplog):
    calls = []

    def broken(frame):
        calls.append(frame.f_code.co_name)
        raise RuntimeError("broken stop predicate")

    s = StackSampler(interval=0.001, stop=broken)
    t = busy_threads()
    s.watch(t.ident, "x")
    with caplog.at_level(logging.DEBUG, logger="graphengine.worker.profile"):
        s.start()
        try:
            _wait_for(lambda: len(calls) >= 5)
            assert s.running
        finally:
            s.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "broken stop predicate" in errors[0].exc_text
    assert len([r for r in caplog.records if r.levelno == logging.DEBUG]) >= 4


def test_flatten_round_trips_a_deep_tree_without_nesting():
    import sys as _sys

    def deep(n):
        if n == 0:
            tree = profile.new_tree()
            profile.add_stack(tree, _sys._getframe())
            profile.add_stack(tree, _sys._getframe())
            return tree
        return deep(n - 1)

    tree = profile.merge(deep(150), deep(3))
    flat = profile.flatten(tree)
    assert all(not isinstance(v, (list, dict)) for node in flat for v in node)
    assert flat[0][0] == -1 and flat[0][2] == tree["count"] == 4
    assert profile.unflatten(flat) == tree
    assert profile.unflatten([]) == profile.new_tree()
