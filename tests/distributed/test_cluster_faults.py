"""Fault tolerance with real processes: the CLIs start a scheduler and workers on
127.0.0.1, and workers really die (``kill -9``, ``os._exit``) mid-computation."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from graphengine.cli_options import read_scheduler_file
from graphengine.distributed import Client
from graphengine.errors import KilledWorker

pytestmark = pytest.mark.timeout(90)


HERE = os.path.dirname(os.path.abspath(__file__))


def _spawn(*args):
    # Workers import the task functions of this module by name, as a real deployment
    # imports the user's code: put this folder on their path.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.Popen([sys.executable, "-m", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


class ProcessCluster:
    """A scheduler and workers started through the command-line tools."""

    def __init__(self, tmp_path, worker_ttl=2.0):
        self.file = str(tmp_path / "scheduler.json")
        self.scheduler = _spawn("graphengine.scheduler.cli", "--port", "0",
                                "--scheduler-file", self.file, "--worker-ttl", str(worker_ttl))
        self.address = read_scheduler_file(self.file, timeout=30)
        self.workers: list[subprocess.Popen] = []

    def add_worker(self, *flags):
        proc = _spawn("graphengine.worker.cli", self.address, "--nthreads", "1",
                      "--memory-limit", "0", *flags)
        self.workers.append(proc)
        return proc

    def close(self):
        # Workers first (they retire through the scheduler), then the scheduler.
        for group in (self.workers, [self.scheduler]):
            for p in group:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in group:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture
def proc_cluster(tmp_path):
    c = ProcessCluster(tmp_path)
    yield c
    c.close()


def _wait_workers(client, n, timeout=30):
    deadline = time.monotonic() + timeout
    while len(client.nthreads()) != n:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {n} workers, have {client.nthreads()}")
        time.sleep(0.05)


def slow_inc(x):
    time.sleep(0.0005)
    return x + 1


def add_all(*xs):
    return sum(xs)


def test_kill_9_of_a_worker_mid_computation_still_gives_the_right_answer(proc_cluster):
    for _ in range(3):
        proc_cluster.add_worker("--no-nanny")
    with Client(proc_cluster.address, set_as_default=False) as client:
        _wait_workers(client, 3)
        leaves = client.map(slow_inc, range(9_000))
        level = leaves
        while len(level) > 1:  # a tree reduction on top: ~10,000 tasks in all
            level = [client.submit(add_all, *level[i:i + 10]) for i in range(0, len(level), 10)]
        total = level[0]
        deadline = time.monotonic() + 30
        while sum(f.done() for f in leaves) < 2_000:
            assert time.monotonic() < deadline, "computation did not progress"
            time.sleep(0.01)
        victim = proc_cluster.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert total.result(timeout=60) == sum(range(1, 9_001))


def _kill_own_worker():
    os._exit(13)


def test_a_task_that_kills_its_worker_every_time_raises_killed_worker(proc_cluster):
    proc_cluster.add_worker()  # with nannies: the dead workers come back
    proc_cluster.add_worker()
    with Client(proc_cluster.address, set_as_default=False) as client:
        _wait_workers(client, 2)
        bomb = client.submit(_kill_own_worker)
        with pytest.raises(KilledWorker, match="3 workers"):
            bomb.result(timeout=60)
        _wait_workers(client, 2)
        assert client.submit(slow_inc, 1).result(timeout=30) == 2


def test_a_client_that_disappears_has_its_tasks_released(proc_cluster, tmp_path):
    proc_cluster.add_worker("--no-nanny")
    script = tmp_path / "client.py"
    script.write_text(textwrap.dedent(f"""
        import time
        from graphengine.distributed import Client
        c = Client({proc_cluster.address!r})
        fs = c.map(time.sleep, [0.2] * 50, pure=False)
        print("submitted", flush=True)
        time.sleep(60)
    """))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "submitted"
    with Client(proc_cluster.address, set_as_default=False) as watcher:
        deadline = time.monotonic() + 10
        while watcher.scheduler_info()["tasks"] < 50:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.kill()
        child.wait()
        deadline = time.monotonic() + 20
        while watcher.scheduler_info()["tasks"] > 0:
            assert time.monotonic() < deadline, "tasks of the dead client were not released"
            time.sleep(0.05)


def test_retiring_a_worker_loses_no_result(proc_cluster):
    proc_cluster.add_worker("--no-nanny")
    proc_cluster.add_worker("--no-nanny")
    with Client(proc_cluster.address, set_as_default=False) as client:
        _wait_workers(client, 2)
        futures = client.map(slow_inc, range(40))
        client.gather(futures)
        holders = client.who_has(futures)
        victim = sorted(client.nthreads())[0]
        unique = [k for k, ws in holders.items() if ws == [victim]]
        assert unique, "the test needs results that live only on the retiring worker"
        assert client.retire_workers([victim]) == [victim]
        assert victim not in client.nthreads()
        after = client.who_has(futures)
        assert all(after[k] for k in unique)  # moved, not recomputed-later
        assert client.gather(futures) == list(range(1, 41))


def test_an_unreachable_scheduler_fails_clearly_within_the_timeout():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises((OSError, TimeoutError)) as info:
        Client(address, timeout=1.0, set_as_default=False)
    assert time.monotonic() - start < 10
    assert str(port) in str(info.value)
    worker = subprocess.run([sys.executable, "-m", "graphengine.worker.cli", address,
                             "--no-nanny", "--timeout", "1"], capture_output=True, text=True,
                            timeout=60)
    assert worker.returncode != 0
    assert "cannot reach the scheduler" in worker.stderr and str(port) in worker.stderr


def test_restart_gives_fresh_worker_processes_under_their_nannies(proc_cluster):
    proc_cluster.add_worker()
    proc_cluster.add_worker()
    with Client(proc_cluster.address, set_as_default=False) as client:
        _wait_workers(client, 2)
        pids_before = set(client.run(os.getpid).values())
        f = client.submit(slow_inc, 1)
        assert f.result(timeout=30) == 2
        assert client.restart(timeout=30) == 2
        assert f.cancelled()
        _wait_workers(client, 2)
        pids_after = set(client.run(os.getpid).values())
        assert not pids_before & pids_after
        assert client.submit(slow_inc, 2).result(timeout=30) == 3


def test_a_silent_worker_is_declared_dead_after_the_heartbeat_timeout(proc_cluster):
    frozen = proc_cluster.add_worker("--no-nanny")
    proc_cluster.add_worker("--no-nanny")
    with Client(proc_cluster.address, set_as_default=False) as client:
        _wait_workers(client, 2)
        os.kill(frozen.pid, signal.SIGSTOP)  # alive, connected, but silent
        try:
            start = time.monotonic()
            _wait_workers(client, 1, timeout=20)  # worker-ttl is 2 s here
            assert time.monotonic() - start < 15
            assert client.submit(slow_inc, 5).result(timeout=30) == 6
        finally:
            os.kill(frozen.pid, signal.SIGCONT)


def test_worker_cli_starts_several_workers_from_the_scheduler_file(proc_cluster):
    proc_cluster.workers.append(_spawn("graphengine.worker.cli", "--scheduler-file",
                                       proc_cluster.file, "--nworkers", "2",
                                       "--nthreads", "1", "--name", "many"))
    with Client(scheduler_file=proc_cluster.file, set_as_default=False) as client:
        assert client.scheduler_address == proc_cluster.address
        _wait_workers(client, 2)
        names = {w["name"] for w in client.scheduler_info()["workers"].values()}
        assert names == {"many-0", "many-1"}
        assert client.submit(slow_inc, 1).result(timeout=30) == 2
