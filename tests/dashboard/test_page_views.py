"""Page logic without a browser: /profile filters and tap-to-zoom, /graph throttling."""
from __future__ import annotations

import sys

import pytest

from graphengine.dashboard.profile_page import ALL_PREFIXES, ProfileView
from graphengine.scheduler.activity import ProfileLog
from graphengine.worker import profile

pytestmark = pytest.mark.timeout(30)


def leaf(tree):
    profile.add_stack(tree, sys._getframe())


def middle(tree):
    leaf(tree)


def outer(tree):
    middle(tree)


class _Scheduler:
    """Only what ProfileView reads: the scheduler's real ProfileLog."""

    def __init__(self):
        self.profiles = ProfileLog(maxlen=100)


def _view():
    s = _Scheduler()
    a, b = profile.new_tree(), profile.new_tree()
    for _ in range(3):
        outer(a)
    middle(b)
    s.profiles.extend([(1.0, "w1", "inc", a), (1.0, "w2", "sum", b)])
    view = ProfileView(s)
    view.update()
    return view


def test_filters_select_the_prefix():
    view = _view()
    assert view.prefix.options == [ALL_PREFIXES, "inc", "sum"]
    assert view._tree["count"] == 4
    view.prefix.value = "sum"
    assert view._tree["count"] == 1
    assert "outer" not in view.source.data["name"]


def test_tapping_a_frame_zooms_into_it_and_again_inside_it():
    view = _view()
    names = view.source.data["name"]
    view.source.selected.indices = [names.index("outer")]
    assert view.source.data["name"][0] == "outer"
    inner = view.source.data["name"].index("middle")
    view.source.selected.indices = [inner]
    assert view.source.data["name"][0] == "middle"
    assert view.source.data["count"][0] == 3
    view._zoom_out()
    assert view.source.data["count"][0] == 4


def test_the_graph_page_throttles_itself_on_a_big_graph():
    from graphengine.dashboard import graph_page
    from graphengine.scheduler.state import SchedulerState

    class _Sched:
        def __init__(self):
            self.state = SchedulerState()

    s = _Sched()
    s.state.add_worker("tcp://w:1", nthreads=1)
    s.state.add_client("c")
    keys = [("x-1a2b3c4d5e6f7a8b", i) for i in range(3000)]
    s.state.update_graph("c", {k: ("spec", k) for k in keys}, {k: set() for k in keys}, keys)
    view = graph_page.GraphView(s)
    view.update()
    assert view.layout.collapsed and view.nodes.data["size"] == [3000]
    first_next = view._next
    assert first_next > 0
    s.state.release_keys("c", keys[:10])  # tasks moved, but the page waits its turn
    view._next = float("inf")
    view.update()
    assert view.nodes.data["size"] == [3000]
    view._next = 0.0
    view.update()
    assert view.nodes.data["size"] == [2990]
