"""Every example in a docstring of the library runs and prints what it says."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import graphengine

pytestmark = pytest.mark.timeout(120)

# Entry points that parse sys.argv or need MPI at import; their docstrings hold no examples.
_SKIP = ("graphengine.scheduler.cli", "graphengine.worker.cli", "graphengine.mpi")

MODULES = sorted(m.name for m in pkgutil.walk_packages(graphengine.__path__, "graphengine.")
                 if not m.name.startswith(_SKIP))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
