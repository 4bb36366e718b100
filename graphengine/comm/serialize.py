"""Turn Python objects into a small header plus zero-copy buffers, and back.

A *serializer family* maps an object to ``(header, frames)``: ``header`` is plain
msgpack-able data, ``frames`` are buffers that travel out-of-band (never inside msgpack).
Built in: ``"numpy"`` (arrays as their raw memory), ``"bytes"`` (large bytes-likes) and
``"pickle"`` (pickle protocol 5 with out-of-band buffers, falling back to cloudpickle for
functions and interactively defined objects; pandas objects use it, and their numpy
buffers are not copied). Any type can register its own family::

    >>> import numpy as np
    >>> s = serialize(np.arange(3))
    >>> s.name, deserialize(s).tolist()
    ('numpy', [0, 1, 2])
"""
from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, NamedTuple

import cloudpickle
import numpy as np

__all__ = [
    "Serialized",
    "register_serializer",
    "serialize",
    "deserialize",
    "pickle_dumps",
    "pickle_loads",
]


class _Family(NamedTuple):
    name: str
    dumps: Callable[[Any], tuple[Any, list[Any]]]
    loads: Callable[[Any, list[Any]], Any]


_by_name: dict[str, _Family] = {}
_by_type: dict[type, _Family] = {}
_subclass_types: list[tuple[type, _Family]] = []
# type -> family, filled on first use of each type (subclass lookups walk a list).
_resolved: dict[type, _Family] = {}


class Serialized:
    """An object in serialized form: family ``name``, msgpack-able ``header``, ``frames``.

    Received with ``deserialize=False``, an object stays a ``Serialized`` (nothing is
    unpickled) and is forwarded as is when written again. ``codecs`` holds, per frame,
    ``None`` or ``(codec, uncompressed_size)`` for frames that are still compressed.
    """

    __slots__ = ("name", "header", "frames", "codecs")

    def __init__(self, name: str, header: Any, frames: list[Any],
                 codecs: list[Any] | None = None):
        self.name = name
        self.header = header
        self.frames = frames
        self.codecs = codecs

    @property
    def nbytes(self) -> int:
        """Bytes of payload (as it would travel, i.e. compressed where it is)."""
        return sum(memoryview(f).nbytes for f in self.frames)

    def deserialize(self) -> Any:
        """The original object (see :func:`deserialize`)."""
        return deserialize(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Serialized):
            return NotImplemented
        return (self.name, self.header, self.codecs) == (other.name, other.header, other.codecs) \
            and [bytes(f) for f in self.frames] == [bytes(f) for f in other.frames]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Serialized {self.name} frames={len(self.frames)} nbytes={self.nbytes}>"


def register_serializer(type_: type, dumps: Callable[[Any], tuple[Any, list[Any]]],
                        loads: Callable[[Any, list[Any]], Any], *, name: str | None = None,
                        subclasses: bool = False) -> None:
    """Teach the comm layer to send objects of ``type_`` with ``dumps``/``loads``.

    Both ends must register the same ``name``.

    Parameters
    ----------
    type_ : type
        Objects of exactly this type (or of subclasses, with ``subclasses=True``).
    dumps : callable
        ``dumps(obj) -> (header, frames)``; ``header`` must be msgpack-able (lists,
        dicts, tuples, str, bytes, numbers), ``frames`` a list of bytes-like objects,
        which are sent without copying.
    loads : callable
        ``loads(header, frames) -> obj``; frames arrive as writable buffers that the
        object may keep (no copy needed).
    name : str, optional
        Wire name of the family; defaults to ``"module.QualName"`` of ``type_``.
    subclasses : bool
        Also use this family for subclasses of ``type_``.

    Examples
    --------
    >>> class Point:
    ...     def __init__(self, x, y): self.x, self.y = x, y
    >>> register_serializer(Point, lambda p: ([p.x, p.y], []), lambda h, f: Point(*h))
    >>> deserialize(serialize(Point(1, 2))).y
    2
    """
    if name is None:
        name = f"{type_.__module__}.{type_.__qualname__}"
    family = _Family(name, dumps, loads)
    _by_name[name] = family
    _by_type[type_] = family
    _subclass_types[:] = [(t, f) for t, f in _subclass_types if t is not type_]
    if subclasses:
        _subclass_types.append((type_, family))
    _resolved.clear()


def _family_for(obj: Any) -> _Family:
    t = type(obj)
    family = _resolved.get(t)
    if family is None:
        family = _by_type.get(t)
        if family is None:
            for base, candidate in _subclass_types:
                if issubclass(t, base):
                    family = candidate
                    break
            else:
                family = _by_name["pickle"]
        _resolved[t] = family
    return family


def serialize(obj: Any) -> Serialized:
    """Serialize ``obj`` with the family registered for its type (pickle otherwise).

    Raises
    ------
    TypeError
        If the object cannot be serialized; the message names its type.
    """
    if type(obj) is Serialized:
        return obj
    family = _family_for(obj)
    try:
        header, frames = family.dumps(obj)
    except Exception as e:
        raise TypeError(f"could not serialize {type(obj).__module__}.{type(obj).__qualname__} "
                        f"object with the {family.name!r} serializer: {e}") from e
    return Serialized(family.name, header, frames)


def deserialize(serialized: Serialized) -> Any:
    """Rebuild the object from a :class:`Serialized`, decompressing frames that arrived
    compressed and were kept so (``deserialize=False``, e.g. relayed by the scheduler).

    Raises
    ------
    ValueError
        If no family of that name is registered in this process.
    """
    try:
        family = _by_name[serialized.name]
    except KeyError:
        raise ValueError(f"no serializer registered under {serialized.name!r} in this process; "
                         f"known: {sorted(_by_name)}") from None
    frames = serialized.frames
    if serialized.codecs is not None:
        from graphengine.comm import compression

        frames = [f if c is None else compression.decompress(c[0], f, c[1])
                  for f, c in zip(frames, serialized.codecs)]
    return family.loads(serialized.header, frames)


# --- pickle: anything, with out-of-band buffers ----------------------------------------

def _raw(buffer: pickle.PickleBuffer) -> Any:
    try:
        return buffer.raw()
    except BufferError:  # a non-contiguous exporter: one copy is unavoidable
        return memoryview(buffer).tobytes()


def pickle_dumps(obj: Any) -> tuple[Any, list[Any]]:
    """Pickle (protocol 5) with out-of-band buffers; cloudpickle when pickle cannot.

    Plain pickle is tried first because it is several times faster; objects defined in
    ``__main__`` or interactively (lambdas, closures) need cloudpickle's by-value pickling.
    """
    buffers: list[pickle.PickleBuffer] = []
    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        if b"__main__" in data:  # pickled by reference to a module the peer lacks
            raise pickle.PicklingError("refers to __main__")
    except Exception:
        buffers = []
        data = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return None, [data, *(_raw(b) for b in buffers)]


def pickle_loads(header: Any, frames: list[Any]) -> Any:
    return pickle.loads(frames[0], buffers=frames[1:])


# --- numpy: dtype + shape in the header, the memory itself as one frame ----------------

def _numpy_dumps(arr: np.ndarray) -> tuple[Any, list[Any]]:
    dtype = arr.dtype
    if dtype.hasobject:
        _, frames = pickle_dumps(arr)
        return ["object"], frames
    simple = dtype.fields is None and dtype.subdtype is None
    dt = dtype.str if simple else pickle.dumps(dtype, protocol=5)
    if arr.flags.c_contiguous:
        flat, order = arr, "C"
    elif arr.flags.f_contiguous:
        flat, order = arr.T, "F"  # the transpose of an F array is C-contiguous: no copy
    else:
        flat, order = np.ascontiguousarray(arr), "C"
    # Raw bytes as uint8: datetime and structured dtypes do not export a buffer themselves.
    data = flat.reshape(-1).view(np.uint8) if dtype.itemsize else np.empty(0, np.uint8)
    return [dt, list(arr.shape), order], [data.data]


def _numpy_loads(header: Any, frames: list[Any]) -> np.ndarray:
    if header[0] == "object":
        return pickle_loads(None, frames)
    dt, shape, order = header
    dtype = np.dtype(dt) if isinstance(dt, str) else pickle.loads(dt)
    if not isinstance(dtype, np.dtype):
        raise ValueError(f"numpy header carries {type(dtype).__name__}, not a dtype")
    shape = tuple(shape)
    if dtype.itemsize == 0:
        return np.empty(shape, dtype=dtype, order=order)
    flat = np.frombuffer(frames[0], dtype=dtype)  # a view on the received buffer
    if order == "F":
        return flat.reshape(shape[::-1]).T
    return flat.reshape(shape)


# --- large bytes-likes that must not be copied into msgpack ----------------------------

def _bytes_dumps(obj: Any) -> tuple[Any, list[Any]]:
    if type(obj) is memoryview:
        if not obj.c_contiguous:
            obj = memoryview(obj.tobytes()).cast(obj.format, obj.shape)
        return ["memoryview", obj.format, list(obj.shape)], [obj.cast("B") if obj.ndim else obj]
    return [type(obj).__name__], [obj]


def _bytes_loads(header: Any, frames: list[Any]) -> Any:
    kind, frame = header[0], frames[0]
    if kind == "bytes":
        return bytes(frame)
    if kind == "bytearray":
        return frame if type(frame) is bytearray else bytearray(frame)
    if kind == "memoryview":
        view = frame if type(frame) is memoryview else memoryview(frame)
        return view.cast("B").cast(header[1], header[2]) if header[2] else view
    raise ValueError(f"unknown bytes kind {kind!r}")


register_serializer(object, pickle_dumps, pickle_loads, name="pickle")
_by_type.pop(object)  # "pickle" is the fallback, reached by name, not by type
register_serializer(np.ndarray, _numpy_dumps, _numpy_loads, name="numpy")
for _t in (bytes, bytearray, memoryview):
    register_serializer(_t, _bytes_dumps, _bytes_loads, name="bytes")
