"""The scheduler state machine, driven directly: events in, messages out, no sockets.

Every event goes through ``Driver``, which runs ``validate()`` after it, so each test
also checks that every cross-reference stays consistent.
"""
from __future__ import annotations

import random

import pytest

from graphengine.errors import KilledWorker, LostDataError, MissingDependencyError
from graphengine.scheduler.state import InvalidTransition, SchedulerState

pytestmark = pytest.mark.timeout(60)

A, B, C = "tcp://127.0.0.1:1001", "tcp://127.0.0.1:1002", "tcp://127.0.0.1:1003"


class Driver:
    """Calls events on a SchedulerState, validates after each, and collects messages."""

    def __init__(self, **kwargs):
        self.state = SchedulerState(**kwargs)
        self.client_msgs: list[dict] = []

    def __getattr__(self, name):
        method = getattr(self.state, name)

        def call(*args, **kwargs):
            out = method(*args, **kwargs)
            self.state.validate()
            if out is not None:
                for msgs in out.clients.values():
                    self.client_msgs.extend(msgs)
            return out

        return call

    def computing(self, out, worker):
        return [m["key"] for m in out.workers.get(worker, []) if m["op"] == "compute-task"]

    def freed(self, out, worker):
        return [k for m in out.workers.get(worker, []) if m["op"] == "free-keys"
                for k in m["keys"]]

    def finish(self, key, nbytes=1):
        """Finish ``key`` on the worker the scheduler sent it to; return that address."""
        address = self.state.tasks[key].processing_on.address
        self.task_finished(key, address, nbytes=nbytes, duration=0.1)
        return address

    def status(self, key):
        ts = self.state.tasks.get(key)
        return "forgotten" if ts is None else ts.state


def chain_graph(n):
    tasks = {f"t{i}": f"spec-{i}" for i in range(n)}
    deps = {f"t{i}": [f"t{i - 1}"] for i in range(1, n)}
    return tasks, deps


@pytest.fixture
def d():
    drv = Driver()
    drv.add_client("c1")
    return drv


def test_a_chain_runs_one_task_after_another_and_frees_intermediates(d):
    d.add_worker(A, nthreads=1)
    tasks, deps = chain_graph(3)
    out = d.update_graph("c1", tasks, deps, keys=["t2"])
    assert d.computing(out, A) == ["t0"]
    out = d.task_finished("t0", A, nbytes=10, duration=0.1)
    assert d.computing(out, A) == ["t1"]
    out = d.task_finished("t1", A, nbytes=10, duration=0.1)
    assert d.computing(out, A) == ["t2"]
    assert d.freed(out, A) == ["t0"]  # t1 now holds what t2 needs; t0 is not needed
    out = d.task_finished("t2", A, nbytes=10, duration=0.1)
    assert d.freed(out, A) == ["t1"]
    assert d.status("t2") == "memory"
    assert d.status("t1") == "released"  # kept as lineage while t2 is wanted
    assert {"op": "key-in-memory", "key": "t2", "nbytes": 10} in d.client_msgs


def test_compute_task_message_says_where_each_input_lives(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    out = d.update_graph("c1", {"x": 1, "y": 2, "z": 3}, {"z": ["x", "y"]}, keys=["z"])
    assert sorted(d.computing(out, A) + d.computing(out, B)) == ["x", "y"]
    x_on = d.finish("x", nbytes=5)
    y_on = d.state.tasks["y"].processing_on.address
    out = d.task_finished("y", y_on, nbytes=7, duration=0.1)
    (msg,) = [m for msgs in out.workers.values() for m in msgs if m["op"] == "compute-task"]
    assert msg["key"] == "z"
    assert msg["who_has"] == {"x": [x_on], "y": [y_on]}
    assert msg["nbytes"] == {"x": 5, "y": 7}


def test_a_task_runs_where_its_large_input_lives(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    d.update_graph("c1", {"big": 1, "small": 2}, {}, keys=["big", "small"])
    big_on = d.finish("big", nbytes=100 * 2**20)
    small_on = d.finish("small", nbytes=10)
    assert big_on != small_on
    out = d.update_graph("c1", {"use": 3}, {"use": ["big", "small"]}, keys=["use"])
    assert d.computing(out, big_on) == ["use"]


def test_tasks_without_a_data_preference_go_to_the_least_occupied_worker():
    d = Driver(saturation=float("inf"))  # no root queuing: decide by occupancy alone
    d.add_client("c1")
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    out = d.update_graph("c1", {f"r{i}": i for i in range(4)}, {}, keys=[f"r{i}" for i in range(4)])
    assert len(d.computing(out, A)) == 2 and len(d.computing(out, B)) == 2


def test_root_tasks_are_released_only_as_threads_free_up():
    d = Driver(saturation=1.0)
    d.add_client("c1")
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=2)
    keys = [f"r{i}" for i in range(10)]
    out = d.update_graph("c1", {k: k for k in keys}, {}, keys=keys,
                         order={k: i for i, k in enumerate(keys)})
    sent = d.computing(out, A) + d.computing(out, B)
    assert sorted(sent) == ["r0", "r1", "r2"]  # one per thread, best priority first
    assert sum(ts.state == "queued" for ts in d.state.tasks.values()) == 7
    out = d.task_finished(d.computing(out, A)[0], A, nbytes=1, duration=0.1)
    assert d.computing(out, A) == ["r3"]


def test_a_new_worker_takes_queued_root_tasks(d):
    out = d.update_graph("c1", {"r0": 0, "r1": 1}, {}, keys=["r0", "r1"])
    assert not out.workers
    assert d.status("r0") == d.status("r1") == "queued"
    out = d.add_worker(A, nthreads=2)
    assert sorted(d.computing(out, A)) == ["r0", "r1"]


def test_user_priority_runs_before_submission_order():
    d = Driver(saturation=1.0)
    d.add_client("c1")
    d.update_graph("c1", {"early": 0}, {}, keys=["early"])
    d.update_graph("c1", {"urgent": 0}, {}, keys=["urgent"], user_priority=10)
    out = d.add_worker(A, nthreads=1)
    assert d.computing(out, A) == ["urgent"]


def test_worker_restrictions_wait_for_the_named_worker(d):
    d.add_worker(A, nthreads=1)
    out = d.update_graph("c1", {"x": 1}, {}, keys=["x"], restrictions={"x": ["gpu-box"]})
    assert not out.workers and d.status("x") == "no-worker"
    out = d.add_worker(B, nthreads=1, name="gpu-box")
    assert d.computing(out, B) == ["x"]


def test_resource_restrictions_need_a_worker_declaring_enough(d):
    d.add_worker(A, nthreads=1, resources={"GPU": 1})
    d.add_worker(B, nthreads=4)
    out = d.update_graph("c1", {"x": 1, "y": 2}, {}, keys=["x", "y"],
                         resources={"x": {"GPU": 1}, "y": {"GPU": 2}})
    assert d.computing(out, A) == ["x"]
    assert d.status("y") == "no-worker"
    (msg,) = out.workers[A]
    assert msg["resources"] == {"GPU": 1}


def test_loose_restrictions_fall_back_to_any_worker(d):
    d.add_worker(A, nthreads=1)
    out = d.update_graph("c1", {"x": 1}, {}, keys=["x"], restrictions={"x": ["absent"]},
                         loose_restrictions=["x"])
    assert d.computing(out, A) == ["x"]


def test_dead_worker_tasks_are_rescheduled_and_lost_results_recomputed(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    tasks, deps = chain_graph(3)
    d.update_graph("c1", tasks, deps, keys=["t2"])
    d.task_finished("t0", d.state.tasks["t0"].processing_on.address, nbytes=1, duration=0.1)
    holder = next(iter(d.state.tasks["t0"].who_has)).address
    d.task_finished("t1", d.state.tasks["t1"].processing_on.address, nbytes=1, duration=0.1)
    # t0 was released once t1 existed; now t1's worker dies while t2 runs elsewhere or there.
    t1_worker = next(iter(d.state.tasks["t1"].who_has)).address
    survivor = B if t1_worker == A else A
    out = d.remove_worker(t1_worker)
    # t1 is lost and t0 was released: both are recomputed, starting from t0, on the survivor
    assert d.computing(out, survivor) == ["t0"]
    assert d.status("t1") == "waiting" and d.status("t2") == "waiting"
    out = d.task_finished("t0", survivor, nbytes=1, duration=0.1)
    assert d.computing(out, survivor) == ["t1"]
    out = d.task_finished("t1", survivor, nbytes=1, duration=0.1)
    assert d.computing(out, survivor) == ["t2"]
    d.task_finished("t2", survivor, nbytes=1, duration=0.1)
    assert d.status("t2") == "memory"
    assert holder in (A, B)


def test_a_task_that_kills_three_workers_errs_with_killed_worker(d):
    d.add_worker(A, nthreads=1)
    d.update_graph("c1", {"bomb": 1, "fine": 2}, {}, keys=["bomb", "fine"],
                   restrictions={"fine": [A]})
    for i, address in enumerate([A, B, C]):
        if address != A:
            d.add_worker(address, nthreads=1)
        bomb_on = d.state.tasks["bomb"].processing_on.address
        d.remove_worker(bomb_on)
        if i < 2:
            assert d.status("bomb") in ("processing", "queued", "no-worker")
    assert d.status("bomb") == "erred"
    assert isinstance(d.state.tasks["bomb"].exception, KilledWorker)
    (msg,) = [m for m in d.client_msgs if m["op"] == "task-erred"]
    assert msg["key"] == "bomb" and "3 workers" in str(msg["exception"])


def test_graceful_removal_does_not_make_tasks_suspicious(d):
    for _ in range(5):
        d.add_worker(A, nthreads=1)
        d.update_graph("c1", {"x": 1}, {}, keys=["x"]) if "x" not in d.state.tasks else None
        d.remove_worker(A, safe=True)
    assert d.state.tasks["x"].suspicious == 0
    assert d.status("x") == "queued"


def test_an_exception_errs_the_task_and_everything_downstream(d):
    d.add_worker(A, nthreads=1)
    tasks, deps = chain_graph(3)
    d.update_graph("c1", tasks, deps, keys=["t2"])
    error = ZeroDivisionError("boom")
    d.task_erred("t0", A, exception=error, traceback="tb")
    assert [d.status(k) for k in ("t0", "t1", "t2")] == ["erred"] * 3
    (msg,) = [m for m in d.client_msgs if m["op"] == "task-erred"]
    assert msg == {"op": "task-erred", "key": "t2", "blamed_key": "t0",
                   "exception": error, "traceback": "tb"}


def test_retries_run_a_failing_task_again(d):
    d.add_worker(A, nthreads=1)
    d.update_graph("c1", {"flaky": 1}, {}, keys=["flaky"], retries=1)
    out = d.task_erred("flaky", A, exception=OSError("once"))
    assert d.computing(out, A) == ["flaky"]
    d.task_erred("flaky", A, exception=OSError("twice"))
    assert d.status("flaky") == "erred"


def test_retry_reruns_erred_tasks_and_their_blamed_inputs(d):
    d.add_worker(A, nthreads=1)
    tasks, deps = chain_graph(2)
    d.update_graph("c1", tasks, deps, keys=["t1"])
    d.task_erred("t0", A, exception=ValueError("x"))
    out = d.retry("c1", ["t1"])
    assert d.computing(out, A) == ["t0"]
    assert d.status("t1") == "waiting"


def test_a_key_shared_by_two_clients_lives_until_both_release_it(d):
    d.add_client("c2")
    d.add_worker(A, nthreads=1)
    d.update_graph("c1", {"x": 1}, {}, keys=["x"])
    d.update_graph("c2", {"x": 1}, {}, keys=["x"])
    d.task_finished("x", A, nbytes=3, duration=0.1)
    out = d.release_keys("c1", ["x"])
    assert not out.workers and d.status("x") == "memory"
    out = d.remove_client("c2")
    assert d.freed(out, A) == ["x"]
    assert d.status("x") == "forgotten"
    assert not d.state.tasks


def test_a_client_that_leaves_releases_its_running_tasks(d):
    d.add_worker(A, nthreads=1)
    tasks, deps = chain_graph(3)
    d.update_graph("c1", tasks, deps, keys=["t2"])
    out = d.remove_client("c1")
    assert [m["op"] for m in out.workers[A]] == ["cancel-compute"]
    assert not d.state.tasks and not d.state.workers[A].processing


def test_a_missing_dependency_is_named_and_nothing_is_stored(d):
    with pytest.raises(MissingDependencyError, match="nope"):
        d.update_graph("c1", {"x": 1}, {"x": ["nope"]}, keys=["x"])
    assert not d.state.tasks
    with pytest.raises(KeyError, match="ghost"):
        d.update_graph("ghost", {"x": 1}, {}, keys=["x"])


def test_heartbeats_find_workers_that_went_silent(d):
    d.add_worker(A, nthreads=1, now=0.0)
    d.add_worker(B, nthreads=1, now=0.0)
    d.heartbeat(A, now=50.0, metrics={"cpu": 12.5})
    assert d.state.stale_workers(now=70.0, timeout=30.0) == [B]
    assert d.state.workers[A].metrics == {"cpu": 12.5}
    with pytest.raises(KeyError, match="tcp://nowhere"):
        d.heartbeat("tcp://nowhere:1", now=1.0)


def test_a_paused_worker_gets_no_new_tasks_until_it_resumes(d):
    d.add_worker(A, nthreads=1)
    d.set_worker_status(A, "paused")
    out = d.update_graph("c1", {"x": 1}, {}, keys=["x"])
    assert not out.workers
    out = d.set_worker_status(A, "running")
    assert d.computing(out, A) == ["x"]


def test_missing_data_recomputes_a_result_whose_only_replica_vanished(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    d.update_graph("c1", {"x": 1}, {}, keys=["x"])
    x_on = d.state.tasks["x"].processing_on.address
    d.task_finished("x", x_on, nbytes=1, duration=0.1)
    d.update_graph("c1", {"y": 2}, {"y": ["x"]}, keys=["y"])
    out = d.missing_data("x", x_on)
    assert d.status("x") == "processing" and d.status("y") == "waiting"
    assert out.workers


def test_scattered_data_feeds_tasks_and_cannot_be_recomputed_once_lost(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    d.update_data("c1", who_has={"data": [A]}, nbytes={"data": 64})
    assert d.status("data") == "memory"
    out = d.update_graph("c1", {"use": 1}, {"use": ["data"]}, keys=["use"])
    assert d.computing(out, A) == ["use"]
    d.remove_worker(A)
    assert d.status("data") == "erred"
    assert isinstance(d.state.tasks["data"].exception, LostDataError)
    assert d.status("use") == "erred"


def test_fetched_copies_become_replicas_and_are_freed_with_the_key(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    d.update_graph("c1", {"x": 1}, {}, keys=["x"])
    x_on = d.finish("x", nbytes=4)
    other = B if x_on == A else A
    out = d.add_keys(other, ["x", "gone"])
    assert d.freed(out, other) == ["gone"]
    assert {w.address for w in d.state.tasks["x"].who_has} == {A, B}
    out = d.release_keys("c1", ["x"])
    assert d.freed(out, A) == ["x"] and d.freed(out, B) == ["x"]


def test_an_idle_worker_steals_queued_tasks_that_are_worth_moving(d):
    d.add_worker(A, nthreads=1)
    d.update_data("c1", who_has={"small": [A]}, nbytes={"small": 10})
    d.update_graph("c1", {f"t{i}": i for i in range(4)}, {f"t{i}": ["small"] for i in range(4)},
                   keys=[f"t{i}" for i in range(4)])
    assert len(d.state.workers[A].processing) == 4  # locality put all of them on A
    d.add_worker(B, nthreads=2)
    out = d.balance()
    stolen = [m["key"] for m in out.workers[A] if m["op"] == "steal-request"]
    assert len(stolen) == 2  # one per idle thread of B
    out = d.steal_response(stolen[0], A, "ready")
    assert d.computing(out, B) == [stolen[0]]
    out = d.steal_response(stolen[1], A, "executing")  # too late: A started it
    assert not out.workers
    assert d.state.tasks[stolen[1]].processing_on.address == A


def test_large_inputs_are_not_worth_stealing_for(d):
    d.add_worker(A, nthreads=1)
    d.update_data("c1", who_has={"big": [A]}, nbytes={"big": 10**12})
    d.update_graph("c1", {"t0": 0, "t1": 1}, {"t0": ["big"], "t1": ["big"]},
                   keys=["t0", "t1"])
    d.add_worker(B, nthreads=1)
    assert not d.balance().workers


def test_a_stale_finish_from_another_worker_is_freed_there(d):
    d.add_worker(A, nthreads=1)
    d.add_worker(B, nthreads=1)
    d.update_graph("c1", {"x": 1}, {}, keys=["x"])
    x_on = d.state.tasks["x"].processing_on.address
    other = B if x_on == A else A
    out = d.task_finished("x", other, nbytes=1, duration=0.1)
    assert d.freed(out, other) == ["x"]
    assert d.status("x") == "processing"


def test_an_invalid_transition_carries_the_story_of_the_key(d):
    d.add_worker(A, nthreads=1)
    d.update_graph("c1", {"x": 1}, {}, keys=["x"], stimulus_id="graph-1")
    ts = d.state.tasks["x"]
    with pytest.raises(InvalidTransition) as info:
        d.state.transition(ts, "forgotten", "test", None)
    assert info.value.key == "x"
    assert info.value.story == [("x", "released", "waiting", "graph-1"),
                                ("x", "waiting", "queued", "graph-1"),
                                ("x", "queued", "processing", "graph-1")]


def test_bad_worker_registrations_are_refused_by_name(d):
    d.add_worker(A, nthreads=1, name="alice")
    with pytest.raises(ValueError, match="already registered"):
        d.add_worker(A, nthreads=1)
    with pytest.raises(ValueError, match="alice"):
        d.add_worker(B, nthreads=1, name="alice")
    with pytest.raises(ValueError, match="nthreads"):
        d.add_worker(C, nthreads=0)


class SimWorkers:
    """Workers that hold what the scheduler tells them and finish tasks on demand."""

    def __init__(self):
        self.pending: dict[str, list] = {}
        self.data: dict[str, set] = {}
        self.steals: list = []

    def answer_steals(self, d, rng):
        """Victims answer: a task not started yet (here: by chance) is given up."""
        while self.steals:
            address, key = self.steals.pop()
            if address not in self.pending:
                continue
            if key in self.pending[address] and rng.random() < 0.7:
                self.pending[address].remove(key)
                state = "ready"
            else:
                state = "executing" if key in self.pending[address] else "memory"
            self.deliver(d.steal_response(key, address, state), d.state)

    def deliver(self, out, state):
        for address, msgs in out.workers.items():
            for m in msgs:
                if m["op"] == "compute-task":
                    for dep, where in m["who_has"].items():
                        assert where, f"{m['key']!r} sent while input {dep!r} lives nowhere"
                        assert all(w in state.workers for w in where)
                    self.pending[address].append(m["key"])
                elif m["op"] == "cancel-compute":
                    self.pending[address].remove(m["key"])
                elif m["op"] == "free-keys":
                    self.data[address].difference_update(m["keys"])
                elif m["op"] == "steal-request":
                    self.steals.append((address, m["key"]))


@pytest.mark.parametrize("seed", range(60))
def test_random_graphs_finish_correctly_despite_workers_dying(seed):
    rng = random.Random(seed)
    d = Driver(saturation=rng.choice([1.0, 2.0, float("inf")]))
    d.add_client("c1")
    sim = SimWorkers()
    addresses = [f"tcp://127.0.0.1:{2000 + i}" for i in range(rng.randint(1, 4))]
    for a in addresses:
        sim.pending[a], sim.data[a] = [], set()
        sim.deliver(d.add_worker(a, nthreads=rng.randint(1, 3)), d.state)
    n = rng.randint(5, 60)
    deps = {f"k{i}": rng.sample([f"k{j}" for j in range(i)], min(i, rng.randint(0, 3)))
            for i in range(n)}
    wanted = rng.sample(sorted(deps), rng.randint(1, 5))
    sim.deliver(d.update_graph("c1", {k: k for k in deps}, deps, keys=wanted), d.state)
    next_port = 3000
    for _ in range(10_000):
        if all(d.status(k) in ("memory", "erred") for k in wanted):
            break
        busy = [a for a in sim.pending if sim.pending[a]]
        if rng.random() < 0.03 and len(sim.pending) > 0:
            victim = rng.choice(sorted(sim.pending))
            del sim.pending[victim], sim.data[victim]
            sim.deliver(d.remove_worker(victim), d.state)
            next_port += 1
            new = f"tcp://127.0.0.1:{next_port}"
            sim.pending[new], sim.data[new] = [], set()
            sim.deliver(d.add_worker(new, nthreads=rng.randint(1, 3)), d.state)
            continue
        paused = [a for a in sim.pending if d.state.workers[a].status == "paused"]
        if paused and (rng.random() < 0.3 or not busy):
            sim.deliver(d.set_worker_status(rng.choice(paused), "running"), d.state)
            continue
        if rng.random() < 0.03 and len(paused) + 1 < len(sim.pending):
            sim.deliver(d.set_worker_status(rng.choice(sorted(sim.pending)), "paused"), d.state)
        if rng.random() < 0.1:
            sim.deliver(d.balance(), d.state)
            sim.answer_steals(d, rng)
            continue
        assert busy, "nothing running but wanted keys are not in memory"
        a = rng.choice(busy)
        key = sim.pending[a].pop(rng.randrange(len(sim.pending[a])))
        sim.data[a].add(key)
        sim.deliver(d.task_finished(key, a, nbytes=rng.randint(1, 100), duration=0.01),
                    d.state)
    for k in wanted:
        ts = d.state.tasks[k]
        if ts.state == "erred":  # only a task that was on 3 dying workers may fail here
            assert isinstance(ts.exception_blame.exception, KilledWorker)
            assert ts.exception_blame.suspicious >= 3
        else:
            assert ts.state == "memory"
            assert any(k in sim.data[w.address] for w in ts.who_has)
    # Only what is wanted stays in memory.
    held = {ts.key for ts in d.state.tasks.values() if ts.state == "memory"}
    assert held == {k for k in wanted if d.status(k) == "memory"}
    sim.deliver(d.remove_client("c1"), d.state)
    assert not d.state.tasks


def test_a_saturation_that_is_not_a_number_is_refused_naming_it():
    with pytest.raises(TypeError, match="'lots'"):
        SchedulerState(saturation="lots")
    with pytest.raises(ValueError, match="saturation must be > 0"):
        SchedulerState(saturation=0)


def test_lookahead_hands_each_worker_that_many_root_tasks_beyond_its_threads():
    d = Driver(saturation=1.0, lookahead=2)
    d.add_client("c1")
    d.add_worker(A, nthreads=1)
    keys = [f"r{i}" for i in range(10)]
    out = d.update_graph("c1", {k: k for k in keys}, {}, keys=keys,
                         order={k: i for i, k in enumerate(keys)})
    assert d.computing(out, A) == ["r0", "r1", "r2"]
    out = d.task_finished("r0", A, nbytes=1, duration=0.001)
    assert d.computing(out, A) == ["r3"]
    with pytest.raises(ValueError, match="lookahead must be an int >= 0, got -1"):
        SchedulerState(lookahead=-1)
