"""A worker's scratch directory, locked while the worker lives and removed when it ends.

Each worker gets ``<local_directory>/graphengine-worker-space/worker-<id>/`` and holds an
exclusive ``flock`` on a lock file inside it for its whole life. A worker that crashed
(``kill -9``, out of memory) cannot remove its directory, but the kernel drops its lock:
the next worker started on the same ``local_directory`` finds directories whose lock it
can take and removes them, spill files and all.

    >>> import tempfile
    >>> base = tempfile.mkdtemp()
    >>> space = WorkSpace(base)
    >>> os.path.isdir(space.path)
    True
    >>> space.close()
    >>> os.path.exists(space.path)
    False
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time

__all__ = ["WorkSpace"]

logger = logging.getLogger(__name__)

_SPACE = "graphengine-worker-space"
_LOCK = ".lock"


class WorkSpace:
    """Create and lock a fresh worker directory under ``base``; clean up dead ones.

    Parameters
    ----------
    base : str, optional
        The ``local_directory``; default: the system's temporary directory.

    Raises
    ------
    OSError
        If the directory cannot be created (the message names it).
    """

    def __init__(self, base: str | None = None):
        self.base = os.path.abspath(base or tempfile.gettempdir())
        self.root = os.path.join(self.base, _SPACE)
        try:
            os.makedirs(self.root, exist_ok=True)
            self.path = tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=self.root)
        except OSError as e:
            raise OSError(e.errno, f"cannot create a worker directory in {self.root!r}: "
                                   f"{e.strerror}") from e
        self._lock_fd: int | None = os.open(os.path.join(self.path, _LOCK),
                                            os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.removed_stale = self.clean_stale()

    def subdirectory(self, name: str) -> str:
        """A directory inside this workspace (created if missing)."""
        path = os.path.join(self.path, name)
        os.makedirs(path, exist_ok=True)
        return path

    def clean_stale(self) -> list[str]:
        """Remove the directories of workers that died without cleaning up; their paths."""
        removed = []
        try:
            entries = os.listdir(self.root)
        except OSError:
            return removed
        for name in entries:
            path = os.path.join(self.root, name)
            if path == self.path or not name.startswith("worker-") or not os.path.isdir(path):
                continue
            if _is_abandoned(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                logger.info("removed the directory of a dead worker: %s", path)
        return removed

    def close(self) -> None:
        """Remove this worker's directory and release its lock (idempotent)."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None

    def __repr__(self) -> str:
        return f"<WorkSpace {self.path!r}>"


def _is_abandoned(path: str) -> bool:
    """True when no living process holds the lock of the worker directory ``path``."""
    lock = os.path.join(path, _LOCK)
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        # Either a worker between mkdtemp and creating its lock (a moment), or debris of
        # one that died right there: only the second is old.
        try:
            return os.stat(path).st_mtime < time.time() - 60
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a living worker holds it
    finally:
        os.close(fd)
    return True
