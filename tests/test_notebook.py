"""examples/quickstart.ipynb runs headless, every cell without error, in a few seconds."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.mark.timeout(60)
def test_quickstart_notebook_runs_every_cell_without_error(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.monotonic()
    nbclient.NotebookClient(nb, timeout=30, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.monotonic() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    reprs = "".join(str(o.get("data", {})) for c in code for o in c.outputs)
    assert "LocalCluster" in reprs
    assert elapsed < 15, f"the notebook took {elapsed:.1f} s"
