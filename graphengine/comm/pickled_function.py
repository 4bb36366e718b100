"""Functions pickled once per submission, unpickled once per process.

``client.map(f, range(20000))`` sends 20,000 tasks with the same ``f``. Pickled inside each
task, ``f`` costs a cloudpickle pass per task on the client (by value, when it lives in
``__main__`` or is a lambda) and an unpickling per task on the worker. Wrapped in a
:class:`PickledFunction`, it is pickled once; each task carries the same bytes (as an
out-of-band frame), and workers keep the function they rebuilt from those bytes.

    >>> import pickle
    >>> double = PickledFunction(lambda x: 2 * x)
    >>> buffers = []
    >>> data = pickle.dumps(double, protocol=5, buffer_callback=buffers.append)
    >>> pickle.loads(data, buffers=buffers)(21), double(1)
    (42, 2)
"""
from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import cloudpickle

__all__ = ["PickledFunction", "pickled_function", "load_function"]

#: Rebuilt functions a process keeps, most recently used last.
CACHE_SIZE = 128

_loaded: OrderedDict[bytes, Callable] = OrderedDict()
_loaded_lock = threading.Lock()


class PickledFunction:
    """``func`` with its pickle made once; calling it calls ``func``."""

    __slots__ = ("func", "blob")

    def __init__(self, func: Callable):
        self.func = func
        self.blob = cloudpickle.dumps(func, protocol=5)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __reduce__(self):
        # Out of band: the bytes travel as their own frame, and the task's pickle stays
        # free of the function's module names.
        return (load_function, (pickle.PickleBuffer(self.blob),))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", type(self.func).__name__)

    def __repr__(self) -> str:
        return f"PickledFunction({self.func!r})"


def pickled_function(func: Callable) -> Callable:
    """``func`` wrapped in a :class:`PickledFunction`, or ``func`` itself if it cannot be
    pickled here (the task that carries it then fails to pickle, naming its key).

    Made once per submission, not cached across them: a function pickled by value takes
    the globals it reads along, and a later submission must see their new values.
    """
    try:
        return PickledFunction(func)
    except Exception:  # noqa: BLE001 - reported when the task itself is pickled
        return func


def load_function(blob: Any) -> Callable:
    """The function pickled in ``blob``, unpickled once per process while it is used."""
    key = bytes(blob)
    with _loaded_lock:
        func = _loaded.get(key)
        if func is not None:
            _loaded.move_to_end(key)
            return func
    func = pickle.loads(key)
    with _loaded_lock:
        _loaded[key] = func
        if len(_loaded) > CACHE_SIZE:
            _loaded.popitem(last=False)
    return func
