"""Normal forms for Python's own types: builtins, functions, classes and arbitrary objects.

Registered on :data:`graphengine.graph.tokenize.normalize_token` when that module is
imported; nothing here is called directly.

    >>> from graphengine.graph.tokenize import tokenize
    >>> tokenize(lambda x: x + 1) == tokenize(lambda x: x + 1)
    True
"""
from __future__ import annotations

import copyreg
import dataclasses
import datetime
import decimal
import enum
import functools
import inspect
import logging
import sys
import types
import uuid
from collections import OrderedDict, defaultdict
from operator import itemgetter
from typing import Any

from graphengine.graph.tokenize import (
    _normalize, _Token, _hash_buffer, _items, _sort_key, _type_tag, normalize_token,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# builtins


# Registered directly (no wrapper) to spend one Python frame less per level of nesting.
normalize_token.register((tuple, list), _items, _trusted=True)


@normalize_token.register((dict, types.MappingProxyType), _trusted=True)
def _normalize_dict(d: dict) -> tuple:
    # Sorted by the encoded key, which exists for any key type: insertion order never
    # matters, like dict equality (OrderedDict, whose equality is ordered, is separate).
    pairs = [(_sort_key(_normalize(k)), _normalize(v)) for k, v in list(d.items())]
    pairs.sort(key=itemgetter(0))
    return tuple(pairs)


@normalize_token.register(OrderedDict, _trusted=True)
def _normalize_ordered_dict(d: OrderedDict) -> tuple:
    return tuple([(_normalize(k), _normalize(v)) for k, v in list(d.items())])


@normalize_token.register(defaultdict)
def _normalize_defaultdict(d: defaultdict) -> tuple:
    return (d.default_factory, _normalize_dict(d))


@normalize_token.register((set, frozenset), _trusted=True)
def _normalize_set(s: set | frozenset) -> tuple:
    # Iteration order of a set depends on hashes, which are salted for str: sort the
    # encoded element forms instead.
    return tuple(sorted([_sort_key(_normalize(e)) for e in s]))


def _normalize_constant(obj: Any) -> tuple:
    return ()  # the type tag alone identifies a singleton


normalize_token.register((type(Ellipsis), type(NotImplemented)), _normalize_constant)


@normalize_token.register((str, int, float, bytes))
def _normalize_atom_subclass(x: Any) -> Any:
    # A subclass of an atom (np.str_, an IntEnum member, a user's str subclass): its value as
    # the exact base type, tagged with the subclass.
    for base in (int, float, str):
        if isinstance(x, base):
            return base.__new__(base, x)
    return bytes(memoryview(x))


@normalize_token.register((bytearray, memoryview))
def _normalize_bytes_like(b: bytearray | memoryview) -> tuple:
    if isinstance(b, memoryview):
        return (b.format, b.shape, b.tobytes())
    return bytes(b)


@normalize_token.register(complex)
def _normalize_complex(z: complex) -> tuple:
    return (z.real, z.imag)


@normalize_token.register(slice)
def _normalize_slice(s: slice) -> tuple:
    return (s.start, s.stop, s.step)


@normalize_token.register(range)
def _normalize_range(r: range) -> tuple:
    return (r.start, r.stop, r.step)


@normalize_token.register(decimal.Decimal)
def _normalize_decimal(d: decimal.Decimal) -> str:
    return str(d)  # exact, and keeps the exponent: Decimal("1.0") and Decimal("1.00") differ


@normalize_token.register(datetime.date)
def _normalize_date(d: datetime.date) -> tuple:
    return (d.year, d.month, d.day)


@normalize_token.register(datetime.datetime)
def _normalize_datetime(d: datetime.datetime) -> tuple:
    return (d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.fold, d.tzinfo)


@normalize_token.register(datetime.time)
def _normalize_time(t: datetime.time) -> tuple:
    return (t.hour, t.minute, t.second, t.microsecond, t.fold, t.tzinfo)


@normalize_token.register(datetime.timedelta)
def _normalize_timedelta(t: datetime.timedelta) -> tuple:
    return (t.days, t.seconds, t.microseconds)


@normalize_token.register(enum.Enum)
def _normalize_enum(e: enum.Enum) -> tuple:
    return (type(e), e._name_, e._value_)


@normalize_token.register(types.ModuleType)
def _normalize_module(m: types.ModuleType) -> str:
    return m.__name__


# --------------------------------------------------------------------------------------
# functions, methods and classes

_MISSING = object()
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class created by a class statement, not C code
_EMPTY_CELL = _Token(("__empty_cell__", ()))
# Class attributes that are caches or per-process bookkeeping, not behaviour.
_CLASS_DICT_SKIP = frozenset({"__dict__", "__weakref__", "__slotnames__", "_abc_impl"})


def _importable_name(obj: Any) -> tuple[str, str] | None:
    """``(module, qualname)`` if that path leads back to ``obj`` in an imported module.

    Nothing is imported here, and ``__main__`` never counts: a worker's ``__main__`` is
    a different program, so such objects are hashed by content instead.
    """
    try:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
    except Exception:  # a proxy whose __getattr__ raises something else than AttributeError
        return None
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__":
        return None
    if "<" in qualname:  # "<lambda>", "<locals>"
        return None
    target = sys.modules.get(module)
    try:
        for part in qualname.split("."):
            target = getattr(target, part, _MISSING)
    except Exception:  # a module __getattr__ or property that raises
        return None
    return (module, qualname) if target is obj else None


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _cell_contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a cell whose variable is not assigned yet
        return _EMPTY_CELL


@normalize_token.register(types.FunctionType)
def _normalize_function(f: types.FunctionType) -> tuple:
    name = _importable_name(f)
    if name is not None:
        return ("global",) + name
    try:
        code = f.__code__
        glob = f.__globals__
        used = tuple((n, glob[n]) for n in sorted(_global_names(code)) if n in glob)
        closure = tuple(_cell_contents(c) for c in f.__closure__ or ())
        return ("code", f.__qualname__, code, f.__defaults__, f.__kwdefaults__, closure, used)
    except Exception:
        return _normalize_by_pickle(f)


@normalize_token.register(types.CodeType)
def _normalize_code(c: types.CodeType) -> tuple:
    # Everything that affects behaviour; file name and line numbers do not.
    return (
        c.co_name,
        c.co_argcount,
        c.co_posonlyargcount,
        c.co_kwonlyargcount,
        c.co_flags,
        c.co_code,
        c.co_consts,
        c.co_names,
        c.co_varnames,
        c.co_freevars,
        c.co_cellvars,
        getattr(c, "co_exceptiontable", b""),
    )


@normalize_token.register(functools.partial)
def _normalize_partial(p: functools.partial) -> tuple:
    return (p.func, p.args, p.keywords)


@normalize_token.register(types.MethodType)
def _normalize_method(m: types.MethodType) -> tuple:
    return (m.__func__, m.__self__)


@normalize_token.register(types.BuiltinFunctionType)
def _normalize_builtin(f: types.BuiltinFunctionType) -> tuple:
    owner = f.__self__
    if owner is None or inspect.ismodule(owner):
        module = f.__module__ or getattr(owner, "__name__", None)
        return ("global", module, f.__qualname__)
    return (owner, f.__name__)  # a bound builtin method such as [].append


@normalize_token.register(types.MethodWrapperType)
def _normalize_method_wrapper(m: Any) -> tuple:
    return (m.__self__, m.__name__)


@normalize_token.register(
    (
        types.WrapperDescriptorType,
        types.MethodDescriptorType,
        types.ClassMethodDescriptorType,
        types.GetSetDescriptorType,
        types.MemberDescriptorType,
    )
)
def _normalize_descriptor(d: Any) -> tuple:
    return (d.__objclass__, d.__name__)


@normalize_token.register(property)
def _normalize_property(p: property) -> tuple:
    return (p.fget, p.fset, p.fdel, p.__doc__)


@normalize_token.register((staticmethod, classmethod))
def _normalize_static_or_class_method(m: Any) -> tuple:
    return (m.__func__,)


@normalize_token.register(type)
def _normalize_class(cls: type) -> tuple:
    name = _importable_name(cls)
    if name is not None:
        return ("global",) + name
    if not cls.__flags__ & _HEAPTYPE:  # a C type: fixed for the interpreter
        return ("global", cls.__module__, cls.__qualname__)
    # A class from a function body or __main__: hash what defines its behaviour.  Methods
    # refer back to the class (``__class__`` cells), which the cycle check turns into markers.
    attrs = tuple(sorted((k, v) for k, v in vars(cls).items() if k not in _CLASS_DICT_SKIP))
    return ("local", cls.__module__, cls.__qualname__, cls.__bases__, attrs)


# --------------------------------------------------------------------------------------
# everything else


_PROCESS_NONCE = uuid.uuid4().hex
# object() sentinels kept alive so that their id (part of their token) is never reused.
_identity_pinned: dict[int, object] = {}


def _random_token(obj: Any, why: str) -> tuple:
    logger.debug("random token for %s: %s", _type_tag(type(obj)), why)
    return ("__random__", uuid.uuid4().hex)


def _normalize_by_pickle(obj: Any) -> tuple:
    import cloudpickle

    try:
        data = cloudpickle.dumps(obj, protocol=5)
    except Exception as e:
        return _random_token(obj, f"cannot be pickled ({e!r})")
    return ("pickle", _hash_buffer(data))


@normalize_token.register(object)
def _normalize_object(obj: Any) -> Any:
    if type(obj) is object:
        # A bare sentinel has no content, only identity: stable in this process, unique
        # across processes.  Never equal to another sentinel.
        _identity_pinned[id(obj)] = obj
        return ("__identity__", _PROCESS_NONCE, id(obj))
    if dataclasses.is_dataclass(obj):
        return (
            type(obj),
            tuple((f.name, getattr(obj, f.name, _EMPTY_CELL)) for f in dataclasses.fields(obj)),
        )
    name = _importable_name(obj)  # cython functions, singletons reachable by name
    if name is not None:
        return ("global",) + name
    reducer = copyreg.dispatch_table.get(type(obj))
    try:
        rv = reducer(obj) if reducer is not None else obj.__reduce_ex__(4)
    except Exception:
        return _normalize_by_pickle(obj)
    if isinstance(rv, str):  # pickled by reference to a global of that name
        return ("global", getattr(obj, "__module__", None), rv)
    rv = tuple(rv) + (None,) * (6 - len(rv))
    func, args, state, listitems, dictitems, setter = rv[:6]
    return (
        "reduce",
        func,
        args,
        state,
        None if listitems is None else list(listitems),
        None if dictitems is None else list(dictitems),
        setter,
    )

