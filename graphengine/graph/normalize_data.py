"""Normal forms for NumPy, pandas and pyarrow values, registered lazily.

Each library's normalizers are registered on the first value of one of its types, so
``import graphengine`` imports none of these libraries.

    >>> import numpy as np
    >>> from graphengine.graph.tokenize import tokenize
    >>> tokenize(np.arange(3)) == tokenize(np.arange(3))
    True
"""
from __future__ import annotations

import logging
import os
from typing import Any

from graphengine.graph.normalize_python import _normalize_object
from graphengine.graph.tokenize import _hash_buffer, _items, normalize_token

logger = logging.getLogger(__name__)

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
