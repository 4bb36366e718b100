"""The task specification: keys, references, and tasks that know their dependencies.

A graph is a plain mapping ``key -> Task | value``. A :class:`Task` holds a callable and
its arguments; an argument that is the result of another task is written ``Ref(key)``
and may sit anywhere inside nested lists, tuples and dicts. A task's dependency set is
computed once, when it is built, so nothing walks nested arguments in a hot loop.

    >>> from operator import add
    >>> graph = {"x": 1, "y": Task("y", add, Ref("x"), 10)}
    >>> graph["y"].dependencies, graph["y"]({"x": 1})
    (frozenset({'x'}), 11)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Union

from graphengine.errors import InvalidKeyError

__all__ = ["Key", "Ref", "Task", "iskey", "validate_key", "key_name", "key_prefix",
           "key_sort_key", "literal"]

Key = Union[str, tuple]


def iskey(obj: object) -> bool:
    """True if ``obj`` is a valid key: a ``str``, or a tuple ``(name, i, j, ...)``.

    The name of a tuple key is a ``str`` (or itself a tuple key); the indices are ints.
    """
    if type(obj) is str:
        return True
    if type(obj) is tuple and obj:
        head = obj[0]
        if not (type(head) is str or (type(head) is tuple and iskey(head))):
            return False
        for index in obj[1:]:
            if not isinstance(index, int) or isinstance(index, bool):
                return False
        return True
    return False


def validate_key(obj: object) -> None:
    """Raise :class:`~graphengine.errors.InvalidKeyError` naming ``obj`` if it is no key."""
    if not iskey(obj):
        raise InvalidKeyError(
            f"invalid key {obj!r}: a key is a str or a tuple (name, i, j, ...) of a str name "
            "and int indices"
        )


def key_name(key: Key) -> str:
    """The name part of a key: ``"x"`` for ``"x"`` and for ``("x", 0, 1)``."""
    while type(key) is tuple:
        key = key[0]
    return key


_HEX = frozenset("0123456789abcdef")


def key_prefix(key: Key) -> str:
    """The readable part of a key's name, what groups tasks of one kind: ``"add"`` for
    ``"add-9f86d081…"`` and ``("add-9f86d081…", 3)``, ``"sum-aggregate"`` for
    ``"sum-aggregate-1a2b3c4d"``; trailing tokens (8+ hex digits) and numbers go.

        >>> key_prefix(("random-2f1c9a7be0d34c51", 0, 1)), key_prefix("x-1"), key_prefix("x")
        ('random', 'x', 'x')
    """
    name = key_name(key)
    if type(name) is not str:
        return str(name)
    words = name.split("-")
    while len(words) > 1:
        tail = words[-1]
        if tail.isdigit() or (len(tail) >= 8 and _HEX.issuperset(tail)):
            words.pop()
        else:
            break
    return "-".join(words)


def key_sort_key(key: Key) -> tuple:
    """A total order over keys of mixed forms (str and tuple keys compare safely)."""
    if type(key) is str:
        return (key, ())
    return (key_name(key), tuple(i for i in key[1:]))


class Ref:
    """A reference, inside a task's arguments, to the result of the task named ``key``."""

    __slots__ = ("key",)

    def __init__(self, key: Key):
        validate_key(key)
        self.key = key

    def __repr__(self) -> str:
        return f"Ref({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Ref and other.key == self.key

    def __hash__(self) -> int:
        return hash(("graphengine-ref", self.key))

    def __reduce__(self):
        return (Ref, (self.key,))


class _Nested:
    """A list, tuple or dict argument that holds references and must be rebuilt per call.

    Containers without references stay as they are (literals), so that calling a task
    never walks data that cannot change.
    """

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: Any):
        self.kind = kind
        self.items = items

    def resolve(self, data: Mapping) -> Any:
        if self.kind is dict:
            return {k: _resolve(v, data) for k, v in self.items}
        values = [_resolve(v, data) for v in self.items]
        return values if self.kind is list else self.kind(values)

    def __reduce__(self):
        return (_Nested, (self.kind, self.items))

    def original(self) -> Any:
        """The argument as the user wrote it (refs and inline tasks kept)."""
        if self.kind is dict:
            return {k: _original(v) for k, v in self.items}
        values = [_original(v) for v in self.items]
        return values if self.kind is list else self.kind(values)


def _original(obj: Any) -> Any:
    return obj.original() if type(obj) is _Nested else obj


def _resolve(obj: Any, data: Mapping) -> Any:
    t = type(obj)
    if t is Ref:
        return data[obj.key]
    if t is _Nested:
        return obj.resolve(data)
    if t is Task:
        return obj(data)
    return obj


def _prepare(obj: Any, deps: set) -> Any:
    """Return ``obj`` with reference-holding containers wrapped in :class:`_Nested`.

    Adds every referenced key to ``deps``. A container without references comes back
    unchanged (the identical object), which is how the caller knows it is a literal.
    """
    t = type(obj)
    if t is Ref:
        deps.add(obj.key)
        return obj
    if t is Task:
        deps.update(obj.dependencies)
        return obj
    if t is _Nested:
        for v in (obj.items if obj.kind is not dict else (v for _, v in obj.items)):
            _prepare(v, deps)
        return obj
    if t is list or t is tuple:
        before = len(deps)
        prepared = [_prepare(v, deps) for v in obj]
        if any(type(v) in _ACTIVE for v in prepared) or len(deps) != before:
            return _Nested(t, tuple(prepared))
        return obj
    if t is dict:
        prepared = [(k, _prepare(v, deps)) for k, v in obj.items()]
        if any(type(v) in _ACTIVE for _, v in prepared):
            return _Nested(dict, tuple(prepared))
        return obj
    return obj


class Task:
    """One unit of work: ``func(*args, **kwargs)`` with references resolved.

    Parameters
    ----------
    key : str, tuple or None
        The name of the result. ``None`` for a task nested inline in another task's
        arguments (fusion builds such tasks).
    func : callable
        What to call.
    *args, **kwargs
        Arguments; ``Ref(key)`` anywhere inside lists, tuples and dicts stands for the
        result of that key, and a keyless ``Task`` stands for its own result.

    Examples
    --------
    >>> t = Task("z", sum, [Ref("x"), Ref("y"), 3])
    >>> sorted(t.dependencies)
    ['x', 'y']
    >>> t({"x": 1, "y": 2})
    6
    """

    __slots__ = ("key", "func", "args", "kwargs", "dependencies", "_mode", "_ref_positions")

    def __init__(self, key: Key | None, func: Callable, /, *args: Any, **kwargs: Any):
        if key is not None:
            validate_key(key)
        if not callable(func):
            raise TypeError(f"task {key!r}: {func!r} is not callable")
        deps: set = set()
        prepared = tuple(_prepare(a, deps) for a in args)
        kw = {k: _prepare(v, deps) for k, v in kwargs.items()}
        self.key = key
        self.func = func
        self.args = prepared
        self.kwargs = kw
        self.dependencies = frozenset(deps)
        # The call mode is chosen once: literal arguments call straight through, top-level
        # references are patched by position, anything else resolves recursively.
        if not deps and not any(type(a) in _ACTIVE for a in prepared) and not any(
            type(v) in _ACTIVE for v in kw.values()
        ):
            self._mode = 0
            self._ref_positions = ()
        elif not any(type(v) in _ACTIVE for v in kw.values()) and all(
            type(a) is not _Nested and type(a) is not Task for a in prepared
        ):
            self._mode = 1
            self._ref_positions = tuple(i for i, a in enumerate(prepared) if type(a) is Ref)
        else:
            self._mode = 2
            self._ref_positions = ()

    def __call__(self, data: Mapping) -> Any:
        """Run the task, taking referenced results from ``data`` (a key -> value mapping)."""
        mode = self._mode
        if mode == 0:
            return self.func(*self.args, **self.kwargs)
        if mode == 1:
            args = list(self.args)
            for i in self._ref_positions:
                args[i] = data[args[i].key]
            return self.func(*args, **self.kwargs)
        args = [_resolve(a, data) for a in self.args]
        kwargs = {k: _resolve(v, data) for k, v in self.kwargs.items()}
        return self.func(*args, **kwargs)

    def substitute(self, replacements: Mapping[Key, Any], key: Key | None | type = ...) -> "Task":
        """A copy with ``Ref(k)`` replaced by ``replacements[k]`` (a value, Ref or Task).

        Fusion and inlining use this to put one task inside another.
        """
        def sub(obj: Any) -> Any:
            t = type(obj)
            if t is Ref and obj.key in replacements:
                return replacements[obj.key]
            if t is _Nested:
                if obj.kind is dict:
                    return {k: sub(v) for k, v in obj.items}
                vals = [sub(v) for v in obj.items]
                return vals if obj.kind is list else obj.kind(vals)
            if t is Task and not obj.dependencies.isdisjoint(replacements):
                return obj.substitute(replacements, key=None)
            return obj

        new_args = [sub(a) for a in self.args]
        new_kwargs = {k: sub(v) for k, v in self.kwargs.items()}
        return Task(self.key if key is ... else key, self.func, *new_args, **new_kwargs)

    def with_key(self, key: Key | None) -> "Task":
        """The same work under another key (or none, to nest it inline)."""
        new = Task.__new__(Task)
        for name in Task.__slots__:
            setattr(new, name, getattr(self, name))
        new.key = key
        return new

    @property
    def original_args(self) -> tuple:
        """Arguments as written, with references in place (for display and shipping)."""
        return tuple(_original(a) for a in self.args)

    def __repr__(self) -> str:
        fname = getattr(self.func, "__name__", type(self.func).__name__)
        parts = [repr(a) for a in self.original_args]
        parts += [f"{k}={_original(v)!r}" for k, v in self.kwargs.items()]
        text = ", ".join(parts)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"Task({self.key!r}, {fname}({text}))"

    def __reduce__(self):
        return (_rebuild_task, (self.key, self.func, self.original_args,
                                {k: _original(v) for k, v in self.kwargs.items()}))


def _rebuild_task(key, func, args, kwargs):
    return Task(key, func, *args, **kwargs)


# Argument types that make a task more than a literal call; read by _prepare at call time.
_ACTIVE = (Ref, Task, _Nested)


def literal(value: Any) -> Task:
    """A keyless task returning ``value`` as is, even if it contains ``Ref`` objects."""
    return Task(None, _identity, _Literal(value))


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _identity(x: Any) -> Any:
    return x.value if type(x) is _Literal else x


def dependencies_of(value: Any) -> frozenset:
    """Keys a graph value depends on: a task's dependencies, nothing for plain data."""
    return value.dependencies if type(value) is Task else frozenset()


def is_task(value: Any) -> bool:
    return type(value) is Task


def run(value: Any, data: Mapping) -> Any:
    """The result of a graph value: call a task, or return plain data as is."""
    return value(data) if type(value) is Task else value
