"""The scheduler's bounded activity logs and its self-monitor."""
from __future__ import annotations

import asyncio
import time

import pytest

from graphengine.scheduler.activity import ProfileLog, TaskStreamLog
from graphengine.scheduler.system_monitor import SystemMonitor

pytestmark = pytest.mark.timeout(30)


def _rec(i: float, action: str = "compute"):
    return (i, i + 0.5, action, f"k-{i}", "k", "tcp://a:1", 0, 8, None)


def test_a_reader_takes_only_what_was_appended_since_it_last_looked():
    log = TaskStreamLog(maxlen=5)
    log.extend(_rec(i) for i in range(3))
    seen = log.count
    assert [r["key"] for r in log.since(0)] == ["k-0", "k-1", "k-2"]
    log.append(_rec(3))
    assert [r["key"] for r in log.since(seen)] == ["k-3"]
    assert log.since(log.count) == []


def test_a_reader_that_fell_behind_the_bound_gets_what_is_left():
    log = TaskStreamLog(maxlen=5)
    log.extend(_rec(i) for i in range(12))
    assert len(log) == 5 and log.count == 12
    assert [r["key"] for r in log.since(0)] == [f"k-{i}" for i in range(7, 12)]


def test_window_keeps_records_overlapping_it_and_count_keeps_the_last():
    log = TaskStreamLog(maxlen=100)
    log.extend(_rec(i) for i in range(10))
    keys = [r["key"] for r in log.window(start=3.2, stop=5.0)]
    assert keys == ["k-3", "k-4", "k-5"]  # k-3 ends at 3.5, after the start
    assert [r["key"] for r in log.window(count=2)] == ["k-8", "k-9"]
    assert log.window(count=0) == []
    assert set(log.window()[0]) == {"start", "stop", "action", "key", "prefix", "worker",
                                    "thread", "nbytes", "source"}


def test_profile_entries_are_selected_by_overlap_prefix_and_worker():
    log = ProfileLog(maxlen=10, bucket=1.0)
    log.extend([(10.0, "a", "inc", {"n": 1}), (11.0, "b", "inc", {"n": 2}),
                (12.0, "a", "sum", {"n": 3})])
    assert log.select(start=10.5) == [{"n": 1}, {"n": 2}, {"n": 3}]  # 10.0 covers 10.5
    assert log.select(start=11.5, prefix="inc") == [{"n": 2}]
    assert log.select(workers=["a"]) == [{"n": 1}, {"n": 3}]
    assert log.select(stop=10.5) == [{"n": 1}]
    assert log.prefixes() == ["inc", "sum"]


def test_messages_per_second_is_the_counter_growth_between_samples():
    m = SystemMonitor(maxlen=3)
    m.sample(now=1.0, cpu=0.0, memory=1, latency=0.0)
    m.messages += 50
    assert m.sample(now=1.5, cpu=0.0, memory=1, latency=0.0)["messages_per_s"] == 100.0
    for t in (2.0, 2.5, 3.0):
        m.sample(now=t, cpu=0.0, memory=1, latency=0.0)
    assert len(m.samples) == 3 and m.count == 5
    assert [s["time"] for s in m.since(3)] == [2.5, 3.0]


def test_a_blocked_event_loop_shows_as_latency():
    async def main():
        m = SystemMonitor(interval=0.05)
        task = asyncio.ensure_future(m.run())
        while m.count < 1:
            await asyncio.sleep(0.01)
        time.sleep(0.3)  # hold the loop: the next wake-up comes late
        seen = m.count
        while m.count <= seen:
            await asyncio.sleep(0.01)
        task.cancel()
        return m.samples[-1]

    sample = asyncio.run(main())
    assert sample["latency"] >= 0.2
    assert sample["memory"] > 0
