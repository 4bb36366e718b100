"""Functions pickled once for many tasks, unpickled once per process.

``client.map(f, range(20000))`` sends 20,000 tasks with the same ``f``. Pickled inside each
task, ``f`` costs a cloudpickle pass per task on the client (by value, when it lives in
``__main__`` or is a lambda) and an unpickling per task on the worker. Wrapped in a
:class:`PickledFunction`, it is pickled once; each task carries the same bytes (as an
out-of-band frame), and workers keep the function they rebuilt from those bytes.

The bytes are also kept across submissions, but only while they cannot be stale: a
function pickled by value takes along the globals, closure cells and defaults it reads,
and the bytes are reused only if every one of those is still the very same immutable
object (a number, a string, a tuple of such, a module or a function importable by name,
or another by-value function that passes the same test). A function that reads a list, a
dict or an instance is pickled afresh each time, so a submission always sees the values of
the moment.

    >>> import pickle
    >>> double = PickledFunction(lambda x: 2 * x)
    >>> buffers = []
    >>> data = pickle.dumps(double, protocol=5, buffer_callback=buffers.append)
    >>> pickle.loads(data, buffers=buffers)(21), double(1)
    (42, 2)
"""
from __future__ import annotations

import functools
import pickle
import sys
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import cloudpickle

__all__ = ["PickledFunction", "pickled_function", "pickled_by_value", "load_function"]

#: Rebuilt functions a process keeps, most recently used last.
CACHE_SIZE = 128

_loaded: OrderedDict[bytes, Callable] = OrderedDict()
_loaded_lock = threading.Lock()


class PickledFunction:
    """``func`` with its pickle made once; calling it calls ``func``."""

    __slots__ = ("func", "blob")

    def __init__(self, func: Callable, blob: bytes | None = None):
        self.func = func
        self.blob = cloudpickle.dumps(func, protocol=5) if blob is None else blob

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

    The bytes of an earlier call are reused while what they captured is unchanged (see the
    module's docstring); otherwise ``func`` is pickled now.
    """
    state = _captured_state(func)
    entry = _reusable.get(id(func)) if state is not None else None
    if entry is not None and entry[0]() is func and _same_objects(entry[1], state):
        return PickledFunction(func, entry[2])
    try:
        shared = PickledFunction(func)
    except Exception:  # noqa: BLE001 - reported when the task itself is pickled
        return func
    if state is not None:
        key = id(func)
        # The weak reference drops the entry with the function, before its id is reused.
        ref = weakref.ref(func, lambda _, key=key: _reusable.pop(key, None))
        _reusable[key] = (ref, state, shared.blob)
    return shared


def pickled_by_value(func: Any) -> bool:
    """Whether pickling ``func`` copies its code (``__main__``, lambdas, closures) instead
    of naming an importable function."""
    return isinstance(func, types.FunctionType) and not _importable(func)


#: id(function) -> (weak reference, captured state, pickled bytes)
_reusable: dict[int, tuple[weakref.ref, tuple, bytes]] = {}

_IMMUTABLE = frozenset({type(None), bool, int, float, complex, str, bytes, range,
                        type(Ellipsis), type(NotImplemented)})
#: How deep by-value functions that call one another are followed before giving up.
_MAX_DEPTH = 8


def _importable(obj: Any) -> bool:
    """Whether pickle would name ``obj`` (a function or class) by module and qualname."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or module == "__main__" or not qualname or "<" in qualname:
        return False
    if module in getattr(cloudpickle.cloudpickle, "_PICKLE_BY_VALUE_MODULES", ()):
        return False
    target: Any = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target is obj


@functools.lru_cache(maxsize=1024)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_global_names(const))
    return tuple(sorted(names))


def _captured_state(func: Any, depth: int = 0, seen: set[int] | None = None
                    ) -> tuple | None:
    """The objects a by-value pickle of ``func`` copies, or None if any could change in
    place (then the pickle cannot be reused)."""
    if not isinstance(func, types.FunctionType) or depth > _MAX_DEPTH:
        return None
    if func.__dict__:  # function attributes: mutable, and pickled along
        return None
    seen = {id(func)} if seen is None else seen | {id(func)}
    annotations = func.__annotations__
    found: list[Any] = [func.__code__, func.__name__, func.__qualname__, func.__module__,
                        func.__doc__, func.__defaults__, func.__kwdefaults__, annotations]
    scope = func.__globals__
    values = [scope.get(name, _MISSING) for name in _global_names(func.__code__)]
    for cell in func.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # not assigned yet
            values.append(_MISSING)
    values += func.__defaults__ or ()
    values += (func.__kwdefaults__ or {}).values()
    values += annotations.values()
    for value in values:
        found.append(value)
        if isinstance(value, types.FunctionType) and not _importable(value):
            if id(value) in seen:  # recursion: already being captured
                continue
            inner = _captured_state(value, depth + 1, seen)
            if inner is None:
                return None
            found += inner
        elif not _unchanging(value):
            return None
    return tuple(found)


def _unchanging(value: Any) -> bool:
    kind = type(value)
    if kind in _IMMUTABLE or value is _MISSING:
        return True
    if kind is tuple or kind is frozenset:
        return all(_unchanging(v) for v in value)
    if kind is types.ModuleType:
        return value.__name__ != "__main__" and sys.modules.get(value.__name__) is value
    if kind in (type, types.FunctionType, types.BuiltinFunctionType):
        return _importable(value)
    return False


def _same_objects(old: tuple, new: tuple) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new))


class _Missing:
    """A global name not (yet) defined: defining it later changes the pickle."""


_MISSING = _Missing()


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
