"""SLURMCluster against a real single-node SLURM: jobs start workers, compute, scale,
adapt, and are replaced when they die; a scheduler started in a job is found through
its scheduler file."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from graphengine.distributed import Client
from graphengine.distributed.deploy import SLURMCluster


def _make_slow_inc():
    # Made in a function so cloudpickle sends it by value: the workers in the jobs
    # cannot import this test module.
    def slow_inc(x, delay=0.3):
        time.sleep(delay)
        return x + 1
    return slow_inc


slow_inc = _make_slow_inc()


def _workers(cluster) -> int:
    return len(cluster.scheduler.state.workers)


def test_job_script_carries_the_job_shape_to_the_worker_command():
    with SLURMCluster(cores=2, memory="2GiB", processes=2, walltime="00:10:00",
                      queue="debug", account="proj", job_extra_directives=["--exclusive"],
                      env_extra=["export FOO=1"], local_directory="/tmp/scratch") as cluster:
        script = cluster.job_script()
        with pytest.raises(TypeError, match="exactly one of"):
            cluster.scale(2, jobs=1)
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for directive in ("--cpus-per-task=2", "--mem=2048M", "--time=00:10:00",
                      "--partition=debug", "--account=proj", "--exclusive"):
        assert f"#SBATCH {directive}" in lines
    assert "export FOO=1" in lines
    command = lines[-1]
    for flag in ("--nthreads 1", "--nworkers 2", "--memory-limit 1073741824",
                 "--local-directory /tmp/scratch", "--lifetime 540", cluster.scheduler_address):
        assert flag in command


@pytest.mark.parametrize("bad, culprit", [({"walltime": "ten minutes"}, "walltime"),
                                          ({"memory": "lots"}, "memory"),
                                          ({"memory": 0}, "memory"),
                                          ({"processes": 3}, "processes"),
                                          ({"cores": 0}, "cores")])
def test_bad_job_shapes_are_refused_naming_the_parameter(bad, culprit):
    kwargs = {"cores": 2, "memory": "1GiB", **bad}
    with pytest.raises(ValueError, match=culprit):
        SLURMCluster(**kwargs)


@pytest.mark.timeout(60)
def test_jobs_compute_and_scale_up_and_down_keeping_results(clean_queue, poll):
    with SLURMCluster(cores=1, memory="512MiB", walltime="00:05:00",
                      poll_interval=0.2) as cluster, Client(cluster) as client:
        cluster.scale(memory="1GiB")  # 512 MiB a job: two jobs
        assert len(cluster.jobs) == 2
        poll(lambda: _workers(cluster) == 2, 30, "two SLURM workers to join")
        futures = client.map(slow_inc, range(6), delay=0.05)
        assert client.gather(futures) == list(range(1, 7))
        assert len({f.key for f in futures}) == 6
        cluster.scale(jobs=1)  # the newest job goes; its results move first
        assert len(cluster.jobs) == 1
        poll(lambda: _workers(cluster) == 1, 20, "one worker left")
        assert client.gather(futures) == list(range(1, 7))
        poll(lambda: len(clean_queue.jobs()) == 1, 20, "SLURM to list one job")
    poll(lambda: not clean_queue.jobs(), 20, "close to cancel every job")


@pytest.mark.timeout(90)
def test_adapt_grows_on_backlog_and_gives_nodes_back_when_idle(clean_queue, poll):
    with SLURMCluster(cores=1, memory="512MiB", walltime="00:05:00",
                      poll_interval=0.2) as cluster, Client(cluster) as client:
        cluster.adapt(minimum=0, maximum=2, target_duration=0.5, wait_count=3,
                      interval=0.2)
        assert not cluster.jobs
        futures = client.map(slow_inc, range(8))  # 8 x 0.3 s: more than one worker's share
        poll(lambda: len(cluster.jobs) == 2, 20, "adapt to submit two jobs")
        assert client.gather(futures) == list(range(1, 9))
        del futures
        poll(lambda: not cluster.jobs, 30, "adapt to cancel the idle jobs")
        poll(lambda: not clean_queue.jobs(), 20, "SLURM to list no job")


@pytest.mark.timeout(60)
def test_a_job_that_dies_is_noticed_and_replaced_when_adaptive(clean_queue, poll):
    with SLURMCluster(cores=1, memory="512MiB", walltime="00:05:00",
                      poll_interval=0.2) as cluster, Client(cluster) as client:
        cluster.adapt(minimum=1, maximum=1, interval=0.2)
        poll(lambda: _workers(cluster) == 1, 30, "the first worker")
        (first,) = cluster.jobs
        clean_queue.run("scancel", first)  # as a walltime or a node failure would
        poll(lambda: cluster.jobs and first not in cluster.jobs, 20,
             "the dead job to be replaced")
        poll(lambda: _workers(cluster) == 1 and
             all(ws.name.startswith(cluster.jobs[next(iter(cluster.jobs))])
                 for ws in cluster.scheduler.state.workers.values()),
             30, "the replacement worker")
        assert client.submit(slow_inc, 41, delay=0).result(timeout=20) == 42


@pytest.mark.timeout(60)
def test_client_finds_a_scheduler_started_in_a_job_through_its_scheduler_file(
        clean_queue, tmp_path, poll):
    bindir = os.path.dirname(sys.executable)
    scheduler_file = tmp_path / "scheduler.json"
    script = tmp_path / "cluster.sh"
    script.write_text(f"""#!/usr/bin/env bash
#SBATCH --cpus-per-task=2
#SBATCH --mem=1024M
#SBATCH --output={tmp_path}/job-%j.out
{bindir}/graphengine-scheduler --host 127.0.0.1 --port 0 --scheduler-file {scheduler_file} &
{bindir}/graphengine-worker --scheduler-file {scheduler_file} --nthreads 1 --no-nanny \
    --name in-job &
wait
""")
    job = clean_queue.run("sbatch", "--parsable", str(script)).strip().split(";")[0]
    try:
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            poll(lambda: client.nthreads(), 20, "the worker in the job to join")
            assert client.submit(slow_inc, 1, delay=0).result(timeout=20) == 2
            info = client.scheduler_info()
            assert [w["name"] for w in info["workers"].values()] == ["in-job"]
    finally:
        clean_queue.run("scancel", job, check=False)


@pytest.mark.timeout(60)
def test_a_job_with_two_processes_runs_two_workers_and_scales_by_whole_jobs(clean_queue, poll):
    with SLURMCluster(cores=2, memory="1GiB", processes=2,
                      poll_interval=0.2) as cluster, Client(cluster) as client:
        cluster.scale(cores=2)  # one job of 2 cores = 2 workers of 1 thread
        assert len(cluster.jobs) == 1
        poll(lambda: _workers(cluster) == 2, 30, "the job's two workers to join")
        (job_name,) = cluster.jobs.values()
        names = sorted(ws.name for ws in cluster.scheduler.state.workers.values())
        assert names == [f"{job_name}-0", f"{job_name}-1"]
        assert sum(client.gather(client.map(slow_inc, range(4), delay=0))) == 10
        cluster.scale(0)
        assert not cluster.jobs
        poll(lambda: _workers(cluster) == 0, 20, "both workers to retire")
