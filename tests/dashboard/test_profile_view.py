"""The /profile page's logic without a browser: filters, zooming in by a tapped frame."""
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
