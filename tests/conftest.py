"""Fixtures shared across test folders."""
from __future__ import annotations

import os
import subprocess

import pytest

# Clusters made by tests serve their dashboard on a free port (never the user's 8787);
# scheduler subprocesses inherit this.
os.environ.setdefault("GRAPHENGINE_SCHEDULER__DASHBOARD__ADDRESS", "127.0.0.1:0")
from graphengine import config  # noqa: E402

config.refresh()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 1 MiB filesystem (tmpfs) to fill up; skips where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): the full-disk case "
                    "is not exercised")
    yield str(mount)
    subprocess.run(["umount", "-l", str(mount)], check=False)
