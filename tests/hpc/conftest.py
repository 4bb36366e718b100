"""A real single-node SLURM (munged + slurmctld + slurmd on 127.0.0.1) for the session.

Everything lives in one scratch directory; ``SLURM_CONF`` points the client commands at
it. The finalizer cancels every job, waits for an empty queue, then stops slurmd,
slurmctld and munged by the PIDs in their pid files (in that order: stopping munged or
slurmctld first leaves ``slurmstepd`` behind). Tests that need it skip, with the reason,
only when the daemons cannot be installed or started.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


SLURM_CONF = """\
ClusterName=graphengine
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
KillWait=2
MinJobAge=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=4096 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class Slurm:
    """The running daemons: their directory, config and pid files."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.conf = directory / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def run(self, *cmd: str, check: bool = True) -> str:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              check=check, timeout=30).stdout

    def jobs(self) -> list[str]:
        return self.run("squeue", "--noheader", "--format=%i", check=False).split()

    def start(self) -> None:
        d = self.dir
        os.chmod(d, 0o711)  # munged wants every directory above its socket executable
        (d / "munge").mkdir(mode=0o711)
        for sub in ("state", "spool"):
            (d / sub).mkdir()
        key = d / "munge.key"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True,
                       capture_output=True, timeout=30)
        key.chmod(0o400)
        subprocess.run(["munged", f"--key-file={key}", f"--socket={d}/munge/munge.socket",
                        f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log",
                        f"--seed-file={d}/munged.seed"], check=True, capture_output=True,
                       timeout=30)
        self.conf.write_text(SLURM_CONF.format(d=d, ctld_port=_free_port(),
                                               slurmd_port=_free_port()))
        subprocess.run(["slurmctld", "-c", "-f", str(self.conf)], env=self.env, check=True,
                       capture_output=True, timeout=30)
        subprocess.run(["slurmd", "-f", str(self.conf), "-N", "localhost"], env=self.env,
                       check=True, capture_output=True, timeout=30)
        _poll(lambda: self.run("sinfo", "-h", "-o", "%T", check=False).strip() == "idle",
             30, "the SLURM node to be idle", interval=0.2)

    def _pid(self, name: str) -> int | None:
        try:
            return int((self.dir / f"{name}.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.conf.exists() and self.jobs():
            self.run("scancel", "--full", *self.jobs(), check=False)
            try:
                _poll(lambda: not self.jobs(), 20, "an empty queue", interval=0.2)
            except AssertionError:
                pass  # stop the daemons all the same
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self._pid(name)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                _poll(lambda: not _alive(pid), 15, f"{name} (pid {pid}) to exit")
            except AssertionError:
                os.kill(pid, signal.SIGKILL)

    def log(self, name: str) -> str:
        try:
            return (self.dir / f"{name}.log").read_text()[-3000:]
        except FileNotFoundError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (it is not our child: nothing will reap it here).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def poll():
    """``poll(condition, timeout, what)``: wait on a condition with a deadline (what is
    waited on lives in another process: a daemon, a job, an MPI rank)."""
    return _poll


@pytest.fixture(scope="session")
def hpc_installed():
    """Run scripts/install-hpc.sh once (installs SLURM, munge, Open MPI when missing)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "install-hpc.sh")], timeout=300)


@pytest.fixture(scope="session")
def slurm(hpc_installed):
    """A running single-node SLURM; ``SLURM_CONF`` is exported for the session."""
    missing = [c for c in ("slurmctld", "slurmd", "sbatch", "munged", "mungekey")
               if shutil.which(c) is None]
    if missing:
        pytest.skip(f"SLURM cannot start here: {', '.join(missing)} not installed "
                    "(scripts/install-hpc.sh needs root and apt)")
    # Not under pytest's tmp dir: its parents are mode 0700, and munged insists that
    # every directory above its socket is executable for all.
    directory = Path(tempfile.mkdtemp(prefix="graphengine-slurm-"))
    cluster = Slurm(directory)
    try:
        cluster.start()
    except (subprocess.SubprocessError, AssertionError, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        logs = cluster.log("munged") + cluster.log("slurmctld") + cluster.log("slurmd")
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
        e = f"{e} {detail.decode(errors='replace') if isinstance(detail, bytes) else detail}"
        pytest.skip(f"the SLURM daemons did not start: {e}\n{logs}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


@pytest.fixture
def clean_queue(slurm):
    """Each test starts and ends with no job in the queue."""
    yield slurm
    # Cancelled jobs stay listed while SLURM kills them (KillWait): wait for that.
    try:
        _poll(lambda: not slurm.jobs(), 20, "the queue to empty after the test",
             interval=0.1)
    except AssertionError:
        leftover = slurm.jobs()
        slurm.run("scancel", *leftover, check=False)
        raise AssertionError(f"the test left jobs behind: {leftover}") from None
