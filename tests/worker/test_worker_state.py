"""The worker's state machine, fed events directly; ``validate()`` runs after each."""
from __future__ import annotations

import random

import pytest

from graphengine.worker.state import (AddData, CancelCompute, ComputeTask, Execute,
                                      ExecuteFailure, ExecuteSuccess, FreeKeys, GatherDep,
                                      GatherDepMissing, GatherDepNetworkFailure,
                                      GatherDepSuccess, Pause, ReleaseData, SendToScheduler,
                                      Unpause, WorkerState, event_from_message)

pytestmark = pytest.mark.timeout(60)

ME, P1, P2, P3 = "tcp://me:1", "tcp://peer:1", "tcp://peer:2", "tcp://peer:3"


def machine(**kw):
    kw.setdefault("nthreads", 1)
    return WorkerState(address=ME, validate=True, **kw)


def compute(key, priority=(0,), who_has=None, nbytes=None, resources=None):
    return ComputeTask(key=key, run_spec=f"spec-{key}", priority=priority,
                       who_has=who_has or {}, nbytes=nbytes or {}, resources=resources)


def ops(instructions, op):
    return [i.msg for i in instructions if isinstance(i, SendToScheduler) and i.msg["op"] == op]


def executes(instructions):
    return [i.key for i in instructions if isinstance(i, Execute)]


def gathers(instructions):
    return [(i.worker, sorted(i.keys)) for i in instructions if isinstance(i, GatherDep)]


def test_messages_become_events_and_unknown_ops_are_refused():
    ev = event_from_message({"op": "free-keys", "keys": ["a"], "stimulus_id": "s"})
    assert ev == FreeKeys(keys=["a"], stimulus_id="s")
    with pytest.raises(KeyError, match="bogus"):
        event_from_message({"op": "bogus"})


def test_ready_tasks_run_by_priority_up_to_nthreads():
    ws = machine(nthreads=2)
    out = []
    for key, prio in [("low", (5,)), ("high", (1,)), ("mid", (3,))]:
        out += ws.handle(compute(key, prio))
    # The first two arrivals start at once (threads free); the rest waits by priority.
    assert executes(out) == ["low", "high"]
    ws.handle(compute("urgent", (0,)))
    out = ws.handle(ExecuteSuccess(key="low", nbytes=8, duration=0.1))
    assert executes(out) == ["urgent"]
    assert ops(out, "task-finished")[0]["key"] == "low"


def test_an_input_needed_by_two_tasks_is_fetched_once():
    ws = machine(nthreads=2)
    out = ws.handle(compute("a", who_has={"x": [P1]}, nbytes={"x": 10}))
    out += ws.handle(compute("b", who_has={"x": [P1]}, nbytes={"x": 10}))
    assert gathers(out) == [(P1, ["x"])]
    out = ws.handle(GatherDepSuccess(worker=P1, data_nbytes={"x": 10}))
    assert sorted(executes(out)) == ["a", "b"]
    assert ops(out, "add-keys") == [{"op": "add-keys", "keys": ["x"],
                                     "stimulus_id": "gather-dep-success"}]


def test_inputs_from_one_peer_are_batched_under_the_message_limit():
    ws = machine(message_bytes_limit=100, max_connections=1)
    who = {f"d{i}": [P1] for i in range(5)}
    out = ws.handle(compute("t", who_has=who, nbytes={k: 40 for k in who}))
    ((peer, keys),) = gathers(out)
    assert peer == P1 and len(keys) == 2  # 80 bytes; a third would pass 100
    out = ws.handle(GatherDepSuccess(worker=P1, data_nbytes={"d0": 40, "d1": 40}))
    assert len(gathers(out)[0][1]) == 2


def test_a_single_input_larger_than_the_limits_is_still_fetched():
    ws = machine(message_bytes_limit=10, max_bytes_in_flight=10)
    out = ws.handle(compute("t", who_has={"huge": [P1]}, nbytes={"huge": 10**9}))
    assert gathers(out) == [(P1, ["huge"])]


def test_connections_and_bytes_in_flight_are_bounded():
    ws = machine(max_connections=2, max_bytes_in_flight=1000)
    who = {"a": [P1], "b": [P2], "c": [P3]}
    out = ws.handle(compute("t", who_has=who, nbytes={"a": 10, "b": 10, "c": 10}))
    assert len(gathers(out)) == 2
    ws2 = machine(max_connections=3, max_bytes_in_flight=15)
    out = ws2.handle(compute("t", who_has=who, nbytes={"a": 10, "b": 10, "c": 10}))
    assert len(gathers(out)) == 1  # a second 10-byte fetch would pass 15 bytes in flight
    out = ws2.handle(GatherDepSuccess(worker=gathers(out)[0][0],
                                      data_nbytes={gathers(out)[0][1][0]: 10}))
    assert len(gathers(out)) == 1


def test_a_peer_without_the_data_is_skipped_for_the_next_one():
    ws = machine()
    out = ws.handle(compute("t", who_has={"x": [P1, P2]}, nbytes={"x": 5}))
    (first, _), = gathers(out)
    other = P2 if first == P1 else P1
    out = ws.handle(GatherDepMissing(worker=first, keys=["x"]))
    assert gathers(out) == [(other, ["x"])]
    out = ws.handle(GatherDepNetworkFailure(worker=other, keys=["x"]))
    assert ops(out, "missing-data") == [{"op": "missing-data", "key": "x",
                                         "errant_worker": other,
                                         "stimulus_id": "gather-dep-network-failure"}]
    assert ws.tasks["t"].state == "waiting"


def test_a_dead_peer_is_forgotten_for_every_key_it_held():
    ws = machine(max_connections=1)
    out = ws.handle(compute("t", who_has={"x": [P1], "y": [P1, P2]}, nbytes={"x": 5, "y": 5}))
    assert gathers(out) == [(P1, ["x", "y"])]
    out = ws.handle(GatherDepNetworkFailure(worker=P1, keys=["x", "y"]))
    assert gathers(out) == [(P2, ["y"])]
    assert [m["key"] for m in ops(out, "missing-data")] == ["x"]


def test_freeing_an_executing_task_drops_its_result():
    ws = machine()
    ws.handle(compute("t"))
    ws.handle(FreeKeys(keys=["t"]))
    out = ws.handle(ExecuteSuccess(key="t", nbytes=1, duration=0.1))
    assert not ops(out, "task-finished")
    assert [i for i in out if isinstance(i, ReleaseData)] == [ReleaseData(["t"])]
    assert "t" not in ws.tasks


def test_freeing_an_input_in_flight_drops_it_on_arrival():
    ws = machine()
    ws.handle(compute("t", who_has={"x": [P1]}, nbytes={"x": 5}))
    ws.handle(CancelCompute(key="t"))
    ws.handle(FreeKeys(keys=["x"]))
    out = ws.handle(GatherDepSuccess(worker=P1, data_nbytes={"x": 5}))
    assert ReleaseData(["x"]) in out and not ops(out, "add-keys")
    assert not ws.tasks


def test_cancel_compute_of_a_waiting_task_forgets_it_and_its_fetches():
    ws = machine(max_connections=1)
    ws.handle(compute("a", who_has={"x": [P1]}, nbytes={"x": 5}))
    ws.handle(compute("b", who_has={"y": [P2]}, nbytes={"y": 5}))
    ws.handle(CancelCompute(key="b"))
    assert "b" not in ws.tasks and "y" not in ws.tasks


def test_a_task_freed_while_executing_and_asked_again_reports_once():
    ws = machine()
    ws.handle(compute("t"))
    ws.handle(FreeKeys(keys=["t"]))
    ws.handle(compute("t"))
    out = ws.handle(ExecuteSuccess(key="t", nbytes=1, duration=0.1))
    assert [m["key"] for m in ops(out, "task-finished")] == ["t"]


def test_computing_a_key_already_held_reports_it_at_once():
    ws = machine()
    ws.handle(AddData(nbytes={"x": 3}))
    out = ws.handle(compute("x"))
    assert not executes(out)
    assert ops(out, "task-finished")[0]["nbytes"] == 3


def test_a_failure_is_reported_with_its_exception():
    ws = machine()
    ws.handle(compute("t"))
    error = ValueError("bad")
    out = ws.handle(ExecuteFailure(key="t", exception=error, traceback="tb"))
    (msg,) = ops(out, "task-erred")
    assert msg["exception"] is error and msg["traceback"] == "tb"
    assert "t" not in ws.tasks  # the scheduler holds the error; nothing is kept here
    assert executes(ws.handle(compute("t"))) == ["t"]  # a retry runs it afresh


def test_pausing_stops_new_tasks_and_tells_the_scheduler():
    ws = machine()
    out = ws.handle(Pause())
    assert ops(out, "worker-status")[0]["status"] == "paused"
    assert not executes(ws.handle(compute("t")))
    out = ws.handle(Unpause())
    assert executes(out) == ["t"] and ops(out, "worker-status")[0]["status"] == "running"


def test_resources_limit_concurrent_tasks():
    ws = machine(nthreads=4, resources={"GPU": 1})
    out = ws.handle(compute("g1", resources={"GPU": 1}))
    out += ws.handle(compute("g2", resources={"GPU": 1}))
    out += ws.handle(compute("cpu"))
    assert executes(out) == ["g1", "cpu"]
    out = ws.handle(ExecuteSuccess(key="g1", nbytes=1, duration=0.1))
    assert executes(out) == ["g2"]


def test_listed_as_holder_of_data_we_lost_tells_the_scheduler():
    ws = machine()
    out = ws.handle(compute("t", who_has={"x": [ME]}, nbytes={"x": 1}))
    assert ops(out, "missing-data")[0]["errant_worker"] == ME


@pytest.mark.parametrize("seed", range(40))
def test_random_event_streams_keep_every_invariant(seed):
    rng = random.Random(seed)
    peers = [P1, P2, P3]
    ws = machine(nthreads=rng.randint(1, 3), max_connections=rng.randint(1, 3),
                 message_bytes_limit=rng.choice([10, 100, 10**6]))
    executing, in_flight = [], []
    asked, reported, freed = set(), set(), set()
    for step in range(300):
        r = rng.random()
        if r < 0.3:
            key = f"t{step}"
            deps = {f"d{rng.randint(0, 15)}": rng.sample(peers, rng.randint(1, 3))
                    for _ in range(rng.randint(0, 3))}
            if rng.random() < 0.2:  # recompute an input here (its holders were lost)
                key, deps = f"d{rng.randint(0, 15)}", {}
            out = ws.handle(compute(key, (rng.randint(0, 5),), deps,
                                    {d: rng.randint(1, 50) for d in deps}))
            asked.add(key)
        elif r < 0.55 and executing:
            key = executing.pop(rng.randrange(len(executing)))
            if rng.random() < 0.8:
                out = ws.handle(ExecuteSuccess(key=key, nbytes=rng.randint(1, 9), duration=0.01))
            else:
                out = ws.handle(ExecuteFailure(key=key, exception=RuntimeError()))
        elif r < 0.8 and in_flight:
            peer, keys = in_flight.pop(rng.randrange(len(in_flight)))
            kind = rng.random()
            if kind < 0.7:
                got = [k for k in keys if rng.random() < 0.9]
                out = ws.handle(GatherDepSuccess(worker=peer, data_nbytes={k: 5 for k in got}))
            elif kind < 0.85:
                out = ws.handle(GatherDepMissing(worker=peer, keys=keys))
            else:
                out = ws.handle(GatherDepNetworkFailure(worker=peer, keys=keys))
        elif r < 0.9 and asked:
            key = rng.choice(sorted(asked))
            out = ws.handle(FreeKeys(keys=[key]) if rng.random() < 0.5
                            else CancelCompute(key=key))
            freed.add(key)
            asked.discard(key)
        else:
            out = ws.handle(rng.choice([Pause(), Unpause()]))
        for inst in out:
            if isinstance(inst, Execute):
                assert inst.key not in executing
                executing.append(inst.key)
            elif isinstance(inst, GatherDep):
                assert all(p != inst.worker for p, _ in in_flight), "two fetches from one peer"
                in_flight.append((inst.worker, inst.keys))
            elif isinstance(inst, SendToScheduler) and inst.msg["op"] in ("task-finished",
                                                                        "task-erred"):
                key = inst.msg["key"]
                assert key not in reported or key in freed or key.startswith("d"), \
                    f"{key} reported twice"
                reported.add(key)
        assert len([k for k in executing
                    if ws.tasks.get(k) is not None and ws.tasks[k].state == "executing"]) \
            <= ws.nthreads


def test_a_seceded_task_frees_its_slot_and_rejoins_when_one_is_free():
    from graphengine.worker.state import Rejoin, Rejoined, Secede

    ws = machine(nthreads=1)
    ws.handle(compute("parent"))
    out = ws.handle(compute("child"))
    assert not executes(out)
    out = ws.handle(Secede(key="parent"))
    assert executes(out) == ["child"]
    out = ws.handle(Rejoin(key="parent"))
    assert not [i for i in out if isinstance(i, Rejoined)]  # child holds the slot
    out = ws.handle(ExecuteSuccess(key="child", nbytes=1, duration=0.1))
    assert Rejoined("parent") in out
    out = ws.handle(compute("other"))
    assert not executes(out)  # the parent holds the slot again
    out = ws.handle(ExecuteSuccess(key="parent", nbytes=1, duration=0.1))
    assert executes(out) == ["other"]


def test_a_steal_request_gives_up_only_tasks_not_started():
    from graphengine.worker.state import StealRequest

    ws = machine(nthreads=1)
    ws.handle(compute("running"))
    ws.handle(compute("queued"))
    out = ws.handle(StealRequest(key="queued"))
    assert ops(out, "steal-response")[0]["state"] == "ready"
    assert "queued" not in ws.tasks
    out = ws.handle(StealRequest(key="running"))
    assert ops(out, "steal-response")[0]["state"] == "executing"
    assert ws.tasks["running"].state == "executing"


def test_asked_to_compute_a_key_whose_fetch_then_fails_computes_it_here():
    # A dependent waits on x from P1; P1 dies with x; the scheduler recomputes x here.
    ws = machine(nthreads=1, max_connections=1)
    ws.handle(compute("busy"))  # holds the thread so nothing starts by itself
    ws.handle(compute("d", who_has={"x": [P1]}, nbytes={"x": 5}))
    assert ws.tasks["x"].state == "flight"
    ws.handle(compute("x"))  # nobody holds x any more
    out = ws.handle(GatherDepNetworkFailure(worker=P1, keys=["x"]))
    assert not ops(out, "missing-data")
    assert ws.tasks["x"].state == "ready"
    out = ws.handle(ExecuteSuccess(key="busy", nbytes=1, duration=0.1))
    assert executes(out) == ["x"]
    out = ws.handle(ExecuteSuccess(key="x", nbytes=5, duration=0.1))
    assert [m["key"] for m in ops(out, "task-finished")] == ["x"]
    assert executes(out) == ["d"]


def test_asked_to_compute_a_key_queued_for_fetching_computes_instead():
    ws = machine(nthreads=2, max_connections=1)
    ws.handle(compute("a", who_has={"y": [P1]}, nbytes={"y": 5}))  # P1 busy with y
    ws.handle(compute("b", who_has={"x": [P2]}, nbytes={"x": 5}))  # x queued behind it
    assert ws.tasks["x"].state == "fetch"
    out = ws.handle(compute("x"))
    assert executes(out) == ["x"]
    assert all(ws.tasks["x"] not in keys for keys in ws.data_needed.values())


def test_a_result_of_a_task_the_worker_no_longer_knows_is_freed():
    # The task thread stores its result before the loop hears of it; a key forgotten
    # meanwhile must not keep that value for ever.
    ws = WorkerState(nthreads=1, validate=True)
    out = ws.handle(ExecuteSuccess(key="gone", nbytes=8, duration=0.1))
    assert out == [ReleaseData(["gone"])]
