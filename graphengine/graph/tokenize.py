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

import hashlib
import logging
import os
import struct
import threading
from collections.abc import Callable, Iterable
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


# The normalizers live in their own modules by family; importing them registers them.
from graphengine.graph import normalize_data, normalize_python  # noqa: E402,F401
