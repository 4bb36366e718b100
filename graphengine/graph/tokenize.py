"""Deterministic content tokens: the hash that names a value inside a task key.

Collections name their tasks ``"<name>-<token>"``; the token is a hash of the *content* of
the inputs, so the same computation built twice (in this process or in another one) gets the
same key and can share a result, while different inputs never share a key.

    >>> from graphengine.graph.tokenize import tokenize
    >>> tokenize([1, 2.0, "3"]) == tokenize([1, 2.0, "3"]), tokenize(1) == tokenize(1.0)
    (True, False)

How it works.  :data:`normalize_token` turns an object into a *normal form*: nested tuples of
``None``/``bool``/``int``/``float``/``str``/``bytes``, where every non-atomic value is tagged
with its type's ``module.qualname`` (so ``1``, ``1.0``, ``True`` and ``np.int64(1)`` differ).
The normal form is written out in a tagged, length-prefixed byte format (unambiguous: no two
different forms share bytes) and hashed with BLAKE2b to 32 hex characters.  Big buffers (NumPy
arrays, Arrow buffers, long ``bytes``) enter the form as the SHA-1 of their memory, computed
in fixed 4 MiB pieces on several threads, and any finished sub-form longer than 256 bytes is
replaced by its own digest (a Merkle tree).  Together with a per-call memo of containers,
that makes structure shared many times (``[x, x]`` nested 100 deep) cost linear, not
exponential, time.  Python's salted ``hash()`` is never used, so tokens agree across
processes and machines running the same versions of Python and libraries.

What is and is not guaranteed:

- Equal content gives equal tokens: dict insertion order and set order never matter (items
  are sorted by their encoded key, which exists for any key type, not by the keys
  themselves), and an array agrees with its non-contiguous views' copies.  The exceptions are
  values that compare equal but behave differently: ``-0.0`` vs ``0.0`` and
  ``Decimal("1.0")`` vs ``Decimal("1.00")`` differ.
- Padding or null slots inside buffers (structured dtypes, pandas masked arrays, Arrow) are
  hashed as they are, so equal content *may* occasionally give different tokens there.  That
  only costs a cache miss; different content never shares a token.
- Importable functions and classes are named by ``module.qualname``; lambdas, local functions
  and functions defined in ``__main__`` are hashed by their code, defaults, closure contents
  and the globals they use.
- Objects without a registered normalizer are reduced the way pickle reduces them
  (``copyreg`` table, then ``__reduce_ex__(4)``) and the pieces are normalized.  If that fails
  and ``cloudpickle`` cannot pickle them either (locks, generators, open files), the token is a
  random UUID: such content cannot be compared, and a random token can only cause a recompute,
  never a wrong shared result.  ``object()`` sentinels get an identity token that is stable in
  this process.  This mirrors Dask.
- A container that contains itself does not recurse forever: the back-reference becomes a
  marker with the distance to its target, so the token is still deterministic.
- A read-only ``np.memmap`` is named by file, position, shape, dtype, size and mtime, without
  reading it; a writable one (modes ``r+``, ``w+``, ``c``) is hashed by content, because its
  memory can change without the file's mtime changing.
- Nesting deeper than about 300 levels raises ``RecursionError`` (as in Dask).

Other modules teach it new types with ``normalize_token.register(MyType)(func)``; ``func``
returns anything tokenizable (it is normalized recursively).  NumPy, pandas and pyarrow
normalizers are registered lazily, on the first value of such a type, so importing this module
imports none of them.  Environment-dependent hashers (xxhash, cityhash) are deliberately not
used: a client with xxhash and a worker without it would disagree on every token.
"""
from __future__ import annotations

import copyreg
import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import inspect
import logging
import os
import struct
import sys
import threading
import types
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

__all__ = ["tokenize", "normalize_token", "TokenDispatch"]

logger = logging.getLogger(__name__)

#: Digest size of the final token in bytes (hex string is twice as long).
_TOKEN_BYTES = 16
#: Buffers are hashed in pieces of this many bytes.  Fixed, so the digest never depends on
#: the number of cores of the machine that computed it.
_HASH_PIECE = 4 * 2**20
#: Buffers at least this big are hashed as a tree of pieces, on several threads (hashlib
#: releases the GIL); smaller ones are hashed in one call.
_PARALLEL_FROM = 16 * 2**20
#: Threads used for one big buffer.
_HASH_THREADS = max(1, min(8, os.cpu_count() or 1))
#: ``bytes``/``str`` longer than this enter the encoded form as a digest rather than verbatim,
#: so encoding a large payload does not copy it.
_INLINE_MAX = 64 * 2**10
#: A finished sub-form whose encoding is longer than this is replaced by its digest (a Merkle
#: tree), so a form shared many times is encoded once and costs 21 bytes per use after that.
_FORM_INLINE_MAX = 256

# Types encoded directly (exact types only: subclasses such as ``np.float64`` or an
# ``IntEnum`` go through dispatch, so their type is part of the token).
_ATOMS = frozenset({str, int, float, bool, bytes, type(None)})
# Containers whose finished forms are reused within one call (see _State).  Only builtin
# containers: memoizing pins the object until the call ends, which for a temporary made by
# a normalizer (a combined Arrow column, say) would hold memory for nothing.
_MEMO_TYPES = frozenset({tuple, list, dict, set, frozenset})
# A container of atoms only is memoized when longer than this: re-walking a short one is
# cheaper than keeping it (a million memo entries cost more in GC time than they save).
_MEMO_MIN_LEN = 32
_TUPLE_TAG = "builtins.tuple"


def tokenize(*args: object, **kwargs: object) -> str:
    """Deterministic hex token of the content of ``args`` and ``kwargs``.

    Parameters
    ----------
    *args, **kwargs
        Values to hash.  Keyword order does not matter.

    Returns
    -------
    str
        32 hexadecimal characters.  Equal for equal content, across processes; different
        for different content.  See the module docstring for the exact guarantees and for
        when a token is random.

    Examples
    --------
    >>> tokenize({"a": 1, "b": [1, 2]}) == tokenize({"b": [1, 2], "a": 1})
    True
    >>> tokenize([1, 2]) == tokenize((1, 2))
    False
    """
    # A nested call (a normalizer that itself calls tokenize) gets a fresh cycle stack.
    previous = getattr(_local, "state", None)
    _local.state = state = _State()
    try:
        form: Any = normalize_token(args)
        if kwargs:
            form = (form, normalize_token(kwargs))
        data = _encode(form, state.encoded)
    finally:
        _local.state = previous
    return hashlib.blake2b(data, digest_size=_TOKEN_BYTES).hexdigest()


# --------------------------------------------------------------------------------------
# normal forms and their byte encoding


class _Token(tuple):
    """A finished normal form ``(type tag, payload)``; never normalized or walked again."""

    __slots__ = ()


class _State:
    """Per-call bookkeeping of one thread's normalization.

    ``active`` maps the id of each object being normalized to its depth (cycle detection).
    ``memo`` keeps finished forms of builtin containers, with the object itself so its id
    cannot be reused, so a structure that shares sub-containers is walked once per
    container rather than once per path (``[x, x]`` nested 100 deep is 2**100 paths).
    ``cycles`` counts back-references produced: a form that contains one depends on where
    the walk entered the cycle and is not memoized.  ``encoded`` does the same for the byte
    encoding: the digests of large finished forms, keyed by (and pinning) the form.
    """

    __slots__ = ("active", "depth", "memo", "cycles", "calls", "encoded")

    def __init__(self) -> None:
        self.active: dict[int, int] = {}
        self.depth = 0
        self.memo: dict[int, tuple[Any, Any]] = {}
        self.cycles = 0
        self.calls = 0  # non-atomic objects normalized so far (to see if a container nests)
        self.encoded: dict[int, tuple[Any, bytes]] = {}


_local = threading.local()


def _finish(x: Any) -> Any:
    """Turn what a normalizer returned into a normal form.

    Plain tuples are structure and are walked; everything else that is not an atom (lists
    included, so that a self-containing list goes through cycle detection) is normalized.
    """
    tp = type(x)
    if tp in _ATOMS or tp is _Token:
        return x
    if tp is tuple:
        return tuple([_finish(item) for item in x])
    return _normalize(x)


_pack_len = struct.Struct("<Q").pack
_pack_i64 = struct.Struct("<q").pack
_pack_f64 = struct.Struct("<d").pack
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _encode(form: Any, cache: dict[int, tuple[Any, bytes]]) -> bytearray:
    """The unambiguous byte encoding of a normal form (tag byte, then fixed or prefixed size).

    ``cache`` holds the digests of large finished forms already encoded in this call.
    """
    out = bytearray()
    _encode_into(form, out, cache)
    return out


def _encode_into(x: Any, out: bytearray, cache: dict[int, tuple[Any, bytes]]) -> None:
    tp = type(x)
    if tp is _Token:
        hit = cache.get(id(x))
        if hit is not None and hit[0] is x:
            out += hit[1]
            return
        start = len(out)
        tag, payload = x
        header = _token_headers.get(tag)
        if header is None:  # a handful of type names: encode each once
            header = bytearray(b"(" + _pack_len(2))
            _put_bytes(b"s", tag.encode("utf-8", "surrogatepass"), header)
            header = _token_headers[tag] = bytes(header)
        out += header
        _encode_into(payload, out, cache)
        if len(out) - start > _FORM_INLINE_MAX:
            # Replace the encoding by its digest: depends only on the content, so a shared
            # form and an equal unshared copy still encode alike.
            with memoryview(out) as whole, whole[start:] as tail:
                digest = b"H" + hashlib.blake2b(tail, digest_size=20).digest()
            del out[start:]
            out += digest
            cache[id(x)] = (x, digest)
    elif tp is tuple:
        out += b"("
        out += _pack_len(len(x))
        for item in x:
            # The commonest items inline: a call per element is most of the encoding time.
            it = type(item)
            if it is int and _I64_MIN <= item <= _I64_MAX:
                out += b"i"
                out += _pack_i64(item)
            elif it is str and len(item) <= _SHORT_STR:
                data = item.encode("utf-8", "surrogatepass")
                out += b"s"
                out += _pack_len(len(data))
                out += data
            else:
                _encode_into(item, out, cache)
    elif tp is str:
        _put_bytes(b"s", x.encode("utf-8", "surrogatepass"), out)
    elif tp is int:
        if _I64_MIN <= x <= _I64_MAX:
            out += b"i"
            out += _pack_i64(x)
        else:
            _put_bytes(b"I", x.to_bytes((x.bit_length() + 8) // 8, "little", signed=True), out)
    elif tp is float:
        # Bit pattern: -0.0 and 0.0 differ (1/x tells them apart); a given NaN is stable.
        out += b"f"
        out += _pack_f64(x)
    elif x is None:
        out += b"N"
    elif tp is bool:
        out += b"T" if x else b"F"
    elif tp is bytes:
        _put_bytes(b"y", x, out)
    else:
        raise TypeError(f"internal error: {tp.__qualname__} value {x!r} inside a token form")


_token_headers: dict[str, bytes] = {}
# A str this short encodes to at most _INLINE_MAX bytes of UTF-8, so it is never digested.
_SHORT_STR = _INLINE_MAX // 4


def _put_bytes(tag: bytes, data: bytes, out: bytearray) -> None:
    if len(data) > _INLINE_MAX:
        out += tag.upper()  # distinct tag: a digest never reads as a short verbatim payload
        out += _hash_buffer(data)
    else:
        out += tag
        out += _pack_len(len(data))
        out += data


def _hash_buffer(buf: Any) -> bytes:
    """SHA-1 digest of a C-contiguous buffer; big buffers as a tree of fixed pieces in parallel.

    SHA-1 because it is the fastest hashlib algorithm on CPUs with SHA extensions (about
    2 GB/s per core); tokens are cache keys, not security boundaries.
    """
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    n = mv.nbytes
    if n < _PARALLEL_FROM:
        return hashlib.sha1(mv, usedforsecurity=False).digest()
    pieces = [mv[i : i + _HASH_PIECE] for i in range(0, n, _HASH_PIECE)]
    digests: list[bytes | None] = [None] * len(pieces)
    nthreads = min(_HASH_THREADS, len(pieces))

    def work(first: int) -> None:
        for i in range(first, len(pieces), nthreads):
            digests[i] = hashlib.sha1(pieces[i], usedforsecurity=False).digest()

    # Plain short-lived threads rather than a pool: nothing to leak or to break after fork().
    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(1, nthreads)]
    for t in threads:
        t.start()
    work(0)
    for t in threads:
        t.join()
    tree = hashlib.sha1(b"tree", usedforsecurity=False)
    tree.update(_pack_len(n))
    for i, d in enumerate(digests):
        if d is None:  # a helper thread died (e.g. MemoryError): redo its pieces here
            d = hashlib.sha1(pieces[i], usedforsecurity=False).digest()
        tree.update(d)
    return tree.digest()


# --------------------------------------------------------------------------------------
# the dispatch registry


def _type_tag(tp: type) -> str:
    return f"{getattr(tp, '__module__', None)}.{getattr(tp, '__qualname__', tp.__name__)}"


def _call_tokenize_method(obj: Any) -> Any:
    return obj.__graphengine_tokenize__()


class TokenDispatch:
    """Type dispatch for :func:`normalize_token`, walking the MRO, with lazy registration.

    Calling the dispatcher normalizes an object: atoms are returned as they are, anything
    else becomes a ``(type tag, payload)`` form.  An object whose type defines
    ``__graphengine_tokenize__()`` is normalized from that method's return value, before
    any registered handler.

    Examples
    --------
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> @normalize_token.register(Point)
    ... def _(p):
    ...     return (p.x, p.y)
    >>> tokenize(Point(1, 2)) == tokenize(Point(1, 2)) != tokenize(Point(2, 1))
    True
    """

    def __init__(self) -> None:
        self._registry: dict[type, tuple[Callable[[Any], Any], bool]] = {}
        self._lazy: dict[str, Callable[[], None]] = {}
        # type -> (handler, trusted, tag).  Cleared on every registration.
        self._cache: dict[type, tuple[Callable[[Any], Any], bool, str]] = {}
        self._lock = threading.RLock()

    def register(
        self,
        types_: type | tuple[type, ...],
        func: Callable[[Any], Any] | None = None,
        *,
        _trusted: bool = False,
    ) -> Any:
        """Register ``func(obj)`` as the normalizer of ``types_`` (and their subclasses).

        ``func`` may return any tokenizable value; its result is normalized recursively.
        Usable as a decorator: ``@normalize_token.register(MyType)``.
        ``_trusted`` (internal) marks handlers that already return a finished normal form.
        """

        def add(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
            with self._lock:
                for tp in types_ if isinstance(types_, tuple) else (types_,):
                    self._registry[tp] = (f, _trusted)
                self._cache.clear()
            return f

        return add(func) if func is not None else add

    def register_lazy(self, toplevel: str, func: Callable[[], None] | None = None) -> Any:
        """Run ``func()`` (which registers handlers) the first time a type from ``toplevel``
        (a top-level module name such as ``"pandas"``) is dispatched on."""

        def add(f: Callable[[], None]) -> Callable[[], None]:
            with self._lock:
                self._lazy[toplevel] = f
                self._cache.clear()
            return f

        return add(func) if func is not None else add

    def dispatch(self, tp: type) -> Callable[[Any], Any]:
        """The normalizer used for objects of type ``tp``."""
        return self._resolve(tp)[0]

    def _resolve(self, tp: type) -> tuple[Callable[[Any], Any], bool, str]:
        try:
            return self._cache[tp]
        except KeyError:
            pass
        with self._lock:
            entry = self._lookup(tp)
            self._cache[tp] = entry
        return entry

    def _lookup(self, tp: type) -> tuple[Callable[[Any], Any], bool, str]:
        tag = _type_tag(tp)
        if getattr(tp, "__graphengine_tokenize__", None) is not None:
            return _call_tokenize_method, False, tag
        for cls in tp.__mro__:
            toplevel = (getattr(cls, "__module__", None) or "").partition(".")[0]
            if toplevel in self._lazy:
                self._lazy.pop(toplevel)()
                return self._lookup(tp)
            found = self._registry.get(cls)
            if found is not None:
                return found[0], found[1], tag
        raise TypeError(f"no normalizer for {tag}")  # unreachable: object is registered

    def __call__(self, obj: Any) -> Any:
        """Normal form of ``obj`` (see the class docstring)."""
        tp = type(obj)
        if tp in _ATOMS:
            return obj
        if tp is tuple:
            # Fast path for the commonest small container: a tuple of atoms is its own
            # payload, and cannot be part of a cycle.
            for item in obj:
                if type(item) not in _ATOMS:
                    break
            else:
                return _Token((_TUPLE_TAG, obj))
        state = getattr(_local, "state", None)
        if state is None:  # called directly, outside tokenize()
            _local.state = state = _State()
            try:
                return self(obj)
            finally:
                _local.state = None
        key = id(obj)
        seen_at = state.active.get(key)
        if seen_at is not None:
            # obj contains itself: refer to the enclosing occurrence by distance, which
            # depends only on the structure, not on where in memory it lives.
            state.cycles += 1
            return _Token(("__cycle__", state.depth - seen_at))
        memoize = tp in _MEMO_TYPES
        if memoize:
            hit = state.memo.get(key)
            if hit is not None and hit[0] is obj:
                return hit[1]
        func, trusted, tag = self._resolve(tp)
        cycles_before = state.cycles
        calls_before = state.calls
        state.calls += 1
        state.active[key] = state.depth
        state.depth += 1
        try:
            form = func(obj)
            if not trusted:
                form = _finish(form)
        finally:
            state.depth -= 1
            del state.active[key]
        token = _Token((tag, form))
        if (
            memoize
            and state.cycles == cycles_before  # no back-reference: the form is context-free
            and (state.calls - calls_before > 1 or len(obj) > _MEMO_MIN_LEN)  # worth keeping
        ):
            state.memo[key] = (obj, token)
        return token


normalize_token = TokenDispatch()
# Internal recursive calls use the bound method: calling the instance goes through a C slot,
# which costs extra recursion depth per level of nesting.
_normalize = normalize_token.__call__


def _items(values: Iterable[Any]) -> tuple:
    """Normal forms of ``values`` in order (atoms inline, to skip a call per element)."""
    norm = _normalize
    atoms = _ATOMS
    return tuple([v if type(v) in atoms else norm(v) for v in values])


def _sort_key(form: Any) -> bytes:
    state = getattr(_local, "state", None)
    return bytes(_encode(form, state.encoded if state is not None else {}))


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


# --------------------------------------------------------------------------------------
# numpy


@normalize_token.register_lazy("numpy")
def _register_numpy() -> None:
    import mmap

    import numpy as np

    def object_elements(x: np.ndarray) -> tuple:
        flat = x.ravel().tolist()
        if all(type(e) is str for e in flat):
            # Fast path for string data: lengths then bytes, so ["a-b", "c"] != ["a", "b-c"].
            encoded = [e.encode("utf-8", "surrogatepass") for e in flat]
            lengths = np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded))
            return ("str", _hash_buffer(lengths.tobytes() + b"".join(encoded)))
        return ("items", _items(flat))

    def array_digest(x: np.ndarray) -> bytes:
        # The logical C-order bytes: a transposed or sliced view hashes like its copy.
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        try:
            return _hash_buffer(x.reshape(-1).view(np.uint8))
        except (TypeError, ValueError):  # zero-itemsize dtypes and the like
            return _hash_buffer(x.tobytes())

    @normalize_token.register(np.ndarray)
    def _normalize_ndarray(x: np.ndarray) -> tuple:
        if x.dtype.hasobject:
            # The buffer holds pointers (object dtype, and StringDType, which also reports
            # hasobject): hash the elements.
            return (x.dtype, x.shape, object_elements(x))
        return (x.dtype, x.shape, array_digest(x))

    @normalize_token.register(np.memmap)
    def _normalize_memmap(x: np.memmap) -> tuple:
        mapping = getattr(x, "_mmap", None)
        filename = getattr(x, "filename", None)
        if mapping is None or filename is None or x.mode != "r":
            # Writable maps change without touching the file's mtime (mode "c" never
            # writes back at all), so their content must be read.
            return ("data", _normalize_ndarray(x))
        st = os.stat(filename)
        # Where in the file this view starts: np.memmap maps from the offset rounded down
        # to the allocation granularity; a slice keeps its parent's .offset, so derive the
        # position from the data pointer.
        map_start = x.offset - x.offset % mmap.ALLOCATIONGRANULARITY
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        position = map_start + x.ctypes.data - base
        return (
            "file",
            filename,
            position,
            x.shape,
            x.strides,
            x.dtype,
            x.mode,
            st.st_size,
            st.st_mtime_ns,
        )

    @normalize_token.register(np.ma.MaskedArray)
    def _normalize_masked_array(x: np.ma.MaskedArray) -> tuple:
        return (np.asarray(x.data), np.ma.getmaskarray(x), np.asarray(x.fill_value))

    @normalize_token.register(np.generic)
    def _normalize_numpy_scalar(x: np.generic) -> tuple:
        return (np.asarray(x),)

    @normalize_token.register(np.dtype)
    def _normalize_dtype(dt: np.dtype) -> tuple:
        return (dt.str, repr(dt))  # repr carries field names, units, string NA objects


# --------------------------------------------------------------------------------------
# pandas


@normalize_token.register_lazy("pandas")
def _register_pandas() -> None:
    import numpy as np
    import pandas as pd

    @normalize_token.register(pd.DataFrame)
    def _normalize_dataframe(df: pd.DataFrame) -> tuple:
        # Column by column, so block layout (consolidated or not) does not matter.
        return (df.columns, df.index, tuple(col.array for _, col in df.items()))

    @normalize_token.register(pd.Series)
    def _normalize_series(s: pd.Series) -> tuple:
        return (s.name, s.dtype, s.array, s.index)

    @normalize_token.register(pd.Index)
    def _normalize_index(ind: pd.Index) -> tuple:
        return (tuple(ind.names), ind.array, getattr(ind, "freq", None))

    @normalize_token.register(pd.RangeIndex)
    def _normalize_range_index(ind: pd.RangeIndex) -> tuple:
        return (ind.start, ind.stop, ind.step, ind.name)  # no values materialized

    @normalize_token.register(pd.MultiIndex)
    def _normalize_multi_index(ind: pd.MultiIndex) -> tuple:
        return (tuple(ind.names), tuple(ind.levels), tuple(ind.codes))

    @normalize_token.register(pd.Categorical)
    def _normalize_categorical(c: pd.Categorical) -> tuple:
        return (c.dtype, c.codes)

    @normalize_token.register(
        (pd.arrays.DatetimeArray, pd.arrays.TimedeltaArray, pd.arrays.PeriodArray)
    )
    def _normalize_datetimelike_array(a: Any) -> tuple:
        return (a.dtype, a.asi8)  # int64 ticks; unit and time zone live in the dtype

    @normalize_token.register(pd.arrays.IntervalArray)
    def _normalize_interval_array(a: pd.arrays.IntervalArray) -> tuple:
        return (a.dtype, a.left, a.right)

    @normalize_token.register(
        (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)
    )
    def _normalize_masked(a: Any) -> tuple:
        try:
            return (a.dtype, a._data, a._mask)
        except AttributeError:  # private layout changed: fall back to the public view
            return (a.dtype, np.asarray(a, dtype=object))

    @normalize_token.register(pd.arrays.ArrowExtensionArray)
    def _normalize_arrow_backed(a: Any) -> tuple:
        return (a.dtype, a.__arrow_array__())

    # Named PandasArray before pandas 2.1.
    numpy_backed = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray

    @normalize_token.register(numpy_backed)
    def _normalize_numpy_backed(a: Any) -> tuple:
        return (a.dtype, np.asarray(a))

    @normalize_token.register(pd.api.extensions.ExtensionArray)
    def _normalize_extension_array(a: Any) -> tuple:
        return (a.dtype, np.asarray(a))

    # Subclasses of datetime/timedelta that carry more (nanoseconds, resolution): their
    # pickle reduction is exact, where the datetime normalizer would drop nanoseconds.
    normalize_token.register(
        (pd.Timestamp, pd.Timedelta, type(pd.NaT)), _normalize_object
    )


# --------------------------------------------------------------------------------------
# pyarrow


@normalize_token.register_lazy("pyarrow")
def _register_pyarrow() -> None:
    import pyarrow as pa

    t_ = pa.types
    flat_checks = (
        t_.is_null,
        t_.is_boolean,
        t_.is_integer,
        t_.is_floating,
        t_.is_temporal,
        t_.is_decimal,
        t_.is_string,
        t_.is_large_string,
        t_.is_binary,
        t_.is_large_binary,
        t_.is_fixed_size_binary,
    )

    def is_flat(t: Any) -> bool:
        return any(check(t) for check in flat_checks)

    @normalize_token.register(pa.Array)
    def _normalize_arrow_array(a: Any) -> tuple:
        if is_flat(a.type):
            if a.offset or a.get_total_buffer_size() > a.nbytes:
                # A slice: compact it, so buffers start at row 0 and hold only its rows.
                a = pa.concat_arrays([a])
            buffers = a.buffers()
            if a.null_count == 0 and buffers:
                buffers[0] = None  # an all-valid bitmap may or may not be materialized
            digests = tuple(None if b is None else _hash_buffer(b) for b in buffers)
            return (a.type, len(a), a.null_count, digests)
        # Nested, dictionary, extension and view types: children carry their own offsets,
        # so let Arrow's IPC writer produce the canonical bytes.
        batch = pa.RecordBatch.from_arrays([a], names=["_"])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        return (a.type, len(a), _hash_buffer(sink.getvalue()))

    @normalize_token.register(pa.ChunkedArray)
    def _normalize_chunked_array(a: Any) -> tuple:
        # Equal content may be chunked differently: hash the combined array.
        return (a.type, a.combine_chunks() if a.num_chunks else ())

    @normalize_token.register((pa.Table, pa.RecordBatch))
    def _normalize_table(t: Any) -> tuple:
        return (t.schema, tuple(t.columns))
