"""The MPI launcher under Debian's Open MPI with 3 ranks: initialize() in a script and
the graphengine-mpi command; workers use mpi4py collectives among themselves."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from graphengine.distributed import Client

MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl": "self,vader", "OMPI_MCA_oob_tcp_if_include": "lo",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}


@pytest.fixture(scope="module")
def mpirun(hpc_installed):
    path = shutil.which("mpirun")
    if path is None:
        pytest.skip("no mpirun: Open MPI is not installed (scripts/install-hpc.sh needs "
                    "root and apt)")
    # In a child: initializing MPI in the test process itself would tie it to no mpirun.
    probe = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"],
                           capture_output=True, text=True, timeout=60, env=_env())
    if probe.returncode != 0:
        pytest.skip("mpi4py cannot load an MPI library (pip install 'graphengine[mpi]' "
                    f"and Debian's openmpi-bin): {probe.stderr.strip()[-300:]}")
    # Every mpirun is wrapped in timeout: a deadlocked rank spins at 100% CPU forever.
    return ["timeout", "-k", "5", "40", path, "--oversubscribe", "-n", "3"]


def _env() -> dict:
    return dict(os.environ, **MPI_ENV)


def _make_rank_report():
    # By value (a nested function): the worker ranks cannot import this test module.
    def report():
        from mpi4py import MPI

        import graphengine.mpi
        return (MPI.COMM_WORLD.Get_rank(),
                graphengine.mpi.worker_comm.allreduce(MPI.COMM_WORLD.Get_rank()))
    return report


@pytest.mark.timeout(60)
def test_initialize_makes_rank0_scheduler_rank1_client_rank2_worker(mpirun, tmp_path):
    script = tmp_path / "job.py"
    out = tmp_path / "out.json"
    script.write_text(textwrap.dedent(f"""
        import json
        import numpy as np
        import graphengine.array as ga
        import graphengine.mpi
        from graphengine.distributed import Client

        address = graphengine.mpi.initialize()
        with Client(address) as client:
            x = ga.ones((100, 100), chunks=(50, 50))
            total = float(x.sum().compute(scheduler=client))
            from mpi4py import MPI
            ranks = client.run(lambda: MPI.COMM_WORLD.Get_rank())
            me = MPI.COMM_WORLD.Get_rank()
            json.dump({{"total": total, "ranks": sorted(ranks.values()), "client": me,
                        "inc": client.submit(lambda v: v + 1, 41).result()}},
                      open({str(out)!r}, "w"))
    """))
    proc = subprocess.run([*mpirun, sys.executable, str(script)], env=_env(),
                          capture_output=True, text=True, timeout=50)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(out.read_text()) == {"total": 10000.0, "ranks": [2], "client": 1,
                                           "inc": 42}


@pytest.mark.timeout(60)
def test_graphengine_mpi_command_serves_a_scheduler_file_and_workers_allreduce(
        mpirun, tmp_path, poll):
    from graphengine.mpi import shutdown

    scheduler_file = tmp_path / "scheduler.json"
    proc = subprocess.Popen([*mpirun, sys.executable, "-m", "graphengine.mpi",
                             "--scheduler-file", str(scheduler_file)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            poll(lambda: len(client.nthreads()) == 2, 30, "two worker ranks to join")
            reports = client.run(_make_rank_report())
            # ranks 1 and 2 are the workers; allreduce over the worker communicator
            assert sorted(reports.values()) == [(1, 3), (2, 3)]
            assert client.submit(sum, [1, 2, 3]).result() == 6
            shutdown(client)
        assert proc.wait(timeout=30) == 0, proc.stdout.read()[-3000:]
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
