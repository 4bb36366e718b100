"""One configuration for all of graphengine: documented defaults, environment overrides.

Every knob lives in :data:`DEFAULTS` below with a comment saying what it does. A value can
be overridden by an environment variable ``GRAPHENGINE_<KEY>`` (dots become ``__``, dashes
become ``_``; the value is parsed as a Python literal when it looks like one) or for a block
of code with :func:`set`::

    >>> import graphengine
    >>> with graphengine.config.set(scheduler="sync"):
    ...     graphengine.config.get("scheduler")
    'sync'
"""
from __future__ import annotations

import ast
import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["DEFAULTS", "get", "set", "refresh", "snapshot"]

_NO_DEFAULT = object()

#: Defaults, by dotted key. Keep a comment on every entry: this table is the documentation.
DEFAULTS: dict[str, Any] = {
    # --- local execution -------------------------------------------------------------
    # Default scheduler for .compute(): "threads", "sync" or "processes" (a Client, when
    # one is active, takes precedence).
    "scheduler": "threads",
    # Worker threads/processes for the local pools; None means the number of cores.
    "num-workers": None,
    # Threads each BLAS/OpenMP call may use while the threads scheduler has several tasks
    # to run at once ("auto" = cores // busy pool threads, at least 1), and in worker
    # processes a nanny starts ("auto" = 1); an int sets that many, None leaves the
    # libraries' own setting alone.
    "blas-threads": "auto",
    # --- graph optimisation ----------------------------------------------------------
    # Fuse linear chains of tasks into one task before execution.
    "optimization.fuse.active": True,
    # Longest chain fused into one task (bounds the size of a fused key name and task).
    "optimization.fuse.max-width": 64,
    # Inline tasks marked cheap/constant into their dependents.
    "optimization.inline.active": True,
    # Send a lazy layer whose every block is computed (elementwise, blockwise, per
    # partition) to a cluster as one plan plus one pickled layer, not one task per block.
    "optimization.ship-layers": True,
    # --- delayed ---------------------------------------------------------------------
    # Default for delayed(..., pure=None): True names calls by a hash of the function and
    # arguments (equal calls share a key); False gives every call a random key, as in Dask.
    "delayed.pure": False,
    # --- arrays ----------------------------------------------------------------------
    # Target bytes per chunk for chunks="auto".
    "array.chunk-size": 128 * 2**20,
    # Fan-in of tree reductions: how many partial results one task joins (spread evenly
    # over the reduced axes).
    "array.split-every": 16,
    # Rechunking: go through an intermediate chunking when (input blocks read per output
    # block) x (output blocks fed per input block), on average, exceeds this: such a
    # direct rechunk would keep most of the array in memory at once.
    "array.rechunk.max-fan": 256,
    # --- dataframes ------------------------------------------------------------------
    # Fan-in of dataframe tree reductions (sum, value_counts, groupby aggregations).
    "dataframe.split-every": 8,
    # A join whose smaller side has at most this many partitions broadcasts that side to
    # every partition of the other instead of hash-shuffling both.
    "dataframe.broadcast-join-max-partitions": 1,
    # Sample points per partition for approximate quantiles (set_index, describe).
    "dataframe.quantile-samples": 1000,
    # --- scheduler -------------------------------------------------------------------
    # Seconds without a heartbeat after which the scheduler declares a worker dead.
    "scheduler.worker-ttl": 30.0,
    # A task that was running on this many workers that died errs with KilledWorker.
    "scheduler.allowed-failures": 3,
    # Root tasks per worker thread handed out ahead of time (the rest wait queued on the
    # scheduler, so a huge graph never floods worker memory); inf disables queuing.
    "scheduler.worker-saturation": 1.1,
    # Root tasks per worker on top of that, so the next ones are already there while the
    # scheduler hears of a finished one and answers (on a 1-thread worker running
    # sub-millisecond tasks, that round trip is otherwise idle time).
    "scheduler.worker-lookahead": 2,
    # gc.set_threshold for a scheduler process (the CLI): its task records are long-lived
    # and free themselves by reference counting, so frequent collections only rescan
    # them; at 1,000,000 tasks the default thresholds cost ~25% of scheduler CPU.
    "scheduler.gc-threshold": (100_000, 20, 20),
    # Move queued tasks from saturated workers to idle ones when fetching their inputs
    # costs less than the compute it takes off the busy worker.
    "scheduler.work-stealing": True,
    # Seconds between two rounds of work stealing.
    "scheduler.work-stealing-interval": 0.1,
    # --- worker transfers --------------------------------------------------------------
    # Peers a worker fetches inputs from at the same time.
    "worker.transfer.max-connections": 4,
    # Bytes of inputs a worker has in flight at once (one fetch may always start).
    "worker.transfer.max-bytes-in-flight": 256 * 2**20,
    # Bytes asked of one peer in one request (at least one key is always asked).
    "worker.transfer.message-bytes-limit": 50 * 2**20,
    # --- worker memory ----------------------------------------------------------------
    # Fractions of a worker's memory limit (False turns one off; see
    # graphengine/worker/memory.py). Results in memory past `target` spill to disk,
    # least recently used first.
    "worker.memory.target": 0.6,
    # Process memory (RSS, unmanaged included) past which results spill until the
    # process is back under `target`.
    "worker.memory.spill": 0.7,
    # Process memory past which the worker starts no new tasks (it keeps serving data).
    "worker.memory.pause": 0.8,
    # Process memory at which the nanny restarts the worker process.
    "worker.memory.terminate": 0.95,
    # Seconds between the worker's measurements of its process memory.
    "worker.memory.monitor-interval": 0.1,
    # Where workers put their scratch directories (spill files); None: the system's
    # temporary directory.
    "worker.local-directory": None,
    # The stack profiler: seconds between samples of task threads (about 10 ms costs a
    # few percent of one core at most), on/off, and seconds per aggregated bucket.
    "worker.profile.interval": 0.01,
    "worker.profile.enabled": True,
    "worker.profile.cycle": 1.0,
    # Seconds between a worker's reports of transfers, spills and profiles.
    "worker.activity-interval": 0.5,
    # The dashboard: where the scheduler serves it (":8787" = port 8787 on the scheduler's
    # host; None or False: no dashboard) and how often its pages update (seconds).
    "scheduler.dashboard.address": ":8787",
    "scheduler.dashboard.update-interval": 1.0,
    # Task-stream rectangles a live /status page keeps (the browser redraws them all).
    "scheduler.dashboard.task-stream-rectangles": 2000,
    # How many task-stream rectangles, profile buckets and memory samples the scheduler
    # keeps for the dashboard and performance reports.
    "scheduler.task-stream-length": 100_000,
    "scheduler.profile-history": 20_000,
    "scheduler.memory-history": 50_000,
    # --- comm (wire protocol) --------------------------------------------------------
    # Seconds to keep retrying a connect before raising a timeout naming the address.
    "comm.timeouts.connect": 10.0,
    # Seconds a new connection may take to exchange versions and authenticate.
    "comm.timeouts.handshake": 10.0,
    # Largest single frame accepted from a peer, in bytes.
    "comm.max-frame-size": 4 * 2**30,
    # Largest whole message (header + all frames) accepted from a peer, in bytes.
    "comm.max-message-size": 64 * 2**30,
    # Largest msgpack header accepted, in bytes (headers carry control data only).
    "comm.max-header-size": 64 * 2**20,
    # Most wire frames accepted in one message (bounds the length table a peer can claim).
    "comm.max-frames": 2**20,
    # Buffers larger than this are sent as several wire frames (reassembled without a copy
    # on receipt); also capped by comm.max-frame-size so peers sharing config accept them.
    "comm.frame-split-size": 2**30,
    # Deepest msgpack nesting accepted in a header (guards against nesting bombs).
    "comm.max-nesting": 64,
    # Compression for large frames: "auto" (lz4 when installed), "lz4" or None.
    "comm.compression": "auto",
    # Frames smaller than this are never compressed.
    "comm.compression-min-size": 10_000,
    # Milliseconds a BatchedStream waits to coalesce small messages into one write. 0
    # writes on the next event-loop turn: messages sent in the same turn, or while a
    # write is in flight, still go out together, and a lone message costs no wait
    # (2 ms per hop made a submit-result round trip ~10 ms; 0 makes it ~1 ms).
    "comm.batched-interval": 0,
    # Open connections kept per peer by an rpc pool.
    "comm.pool.max-per-peer": 8,
    # Seconds an unused pooled connection stays open.
    "comm.pool.idle-timeout": 60.0,
    # Shared authentication token for tcp:// (None: no token handshake).
    "comm.auth-token": None,
    # TLS credentials (paths); None means plain TCP unless a Security is given.
    "comm.tls.ca-file": None,
    "comm.tls.cert": None,
    "comm.tls.key": None,
}

_local = threading.local()
_global_overrides: dict[str, Any] = {}
_lock = threading.Lock()


def _normalize(key: str) -> str:
    return key.replace("_", "-")


def _parse_env_value(text: str) -> Any:
    if text.strip().lower() in ("inf", "+inf", "-inf", "infinity"):
        return float(text)  # documented settings take inf ("no limit"); not a literal
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    prefix = "GRAPHENGINE_"
    for name, text in environ.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):].lower().replace("__", ".").replace("_", "-")
        out[key] = _parse_env_value(text)
    return out


_env: dict[str, Any] = _from_environ(os.environ)


def refresh(environ: Mapping[str, str] | None = None) -> None:
    """Re-read ``GRAPHENGINE_*`` environment variables (``os.environ`` by default)."""
    global _env
    _env = _from_environ(os.environ if environ is None else environ)


def _stack() -> list[dict[str, Any]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def get(key: str, default: Any = _NO_DEFAULT) -> Any:
    """Return the value in force for ``key``.

    Precedence: the innermost :func:`set` block of this thread, then global :func:`set`
    calls, then ``GRAPHENGINE_*`` environment variables, then :data:`DEFAULTS`.

    Raises
    ------
    KeyError
        If ``key`` is unknown and no ``default`` is given.
    """
    key = _normalize(key)
    for layer in reversed(_stack()):
        if key in layer:
            return layer[key]
    if key in _global_overrides:
        return _global_overrides[key]
    if key in _env:
        return _env[key]
    if key in DEFAULTS:
        return DEFAULTS[key]
    if default is not _NO_DEFAULT:
        return default
    close = [k for k in DEFAULTS if k.split(".")[-1] == key.split(".")[-1]]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown configuration key {key!r}{hint}")


class set(contextlib.AbstractContextManager):  # noqa: A001 - mirrors dask.config.set
    """Override configuration values, for a ``with`` block or for the process.

    Used as a context manager the override applies to the current thread until the block
    ends; called bare it applies globally (as ``dask.config.set`` does).

    Parameters
    ----------
    arg : mapping, optional
        Dotted keys to values.
    **kwargs
        More keys; ``__`` in a keyword stands for a dot (``comm__compression=None``).

    Examples
    --------
    >>> import graphengine
    >>> with graphengine.config.set({"scheduler": "sync"}):
    ...     graphengine.config.get("scheduler")
    'sync'
    """

    def __init__(self, arg: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        values: dict[str, Any] = {}
        for k, v in (arg or {}).items():
            values[_normalize(k)] = v
        for k, v in kwargs.items():
            values[_normalize(k.replace("__", "."))] = v
        self._values = values
        with _lock:
            self._previous = {k: _global_overrides.get(k, _NO_DEFAULT) for k in values}
            _global_overrides.update(values)
        self._entered = False

    def __enter__(self) -> "set":
        # Undo the global write made by __init__ and scope the values to this thread.
        self._restore_global()
        _stack().append(self._values)
        self._entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        stack = _stack()
        if stack and stack[-1] is self._values:
            stack.pop()
        else:  # exited out of order: remove wherever it is
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is self._values:
                    del stack[i]
                    break

    def _restore_global(self) -> None:
        with _lock:
            for k, old in self._previous.items():
                if old is _NO_DEFAULT:
                    _global_overrides.pop(k, None)
                else:
                    _global_overrides[k] = old


def snapshot() -> dict[str, Any]:
    """All keys with the values in force now (for logging and for shipping to workers)."""
    return {k: get(k) for k in sorted(DEFAULTS)}


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Test helper: drop every global override made inside the block."""
    saved = dict(_global_overrides)
    try:
        yield
    finally:
        with _lock:
            _global_overrides.clear()
            _global_overrides.update(saved)

