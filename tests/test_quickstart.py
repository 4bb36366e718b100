"""The README's quick start runs to the end and checks its own answers.

It runs in a fresh interpreter, as a user runs it: the example asserts every result
against plain Python, NumPy or pandas, so a non-zero exit means a wrong answer or a crash.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_example_runs_and_reports_each_part():
    out = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py")],
                         capture_output=True, text=True, cwd=REPO, timeout=110)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[1:7]] == [
        "delayed", "array", "dataframe", "cluster", "dashboard", "cluster"]
    assert "matches NumPy" in lines[2] and "matches pandas" in lines[3]
    assert "sum of squares 328350" in lines[6]
    assert lines[5].startswith("dashboard: http://127.0.0.1:") and "/status" in lines[5]


def test_cli_entry_points_print_their_help():
    for module, flag in (("graphengine.scheduler.cli", "--scheduler-file"),
                         ("graphengine.worker.cli", "--nthreads")):
        out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                             text=True, cwd=REPO, timeout=60)
        assert out.returncode == 0, out.stderr
        assert flag in out.stdout
