"""``graphengine-scheduler``: start a scheduler from the command line.

The distributed runtime is not built yet; until it is, this command says so and exits
with status 2 rather than pretending to start anything.
"""
from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``graphengine-scheduler``."""
    sys.stderr.write("graphengine-scheduler: the distributed runtime is not built yet "
                     "(see the project's open issues)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
