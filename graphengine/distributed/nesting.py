"""Walking nested arguments and results: futures to task references, keys to values.

    >>> map_keys([["a", "b"], ["c"]], {"a": 1, "b": 2, "c": 3})
    [[1, 2], [3]]
"""
from __future__ import annotations

from typing import Any

from graphengine.distributed.future import Future
from graphengine.graph.spec import Ref

__all__ = ["futures_to_refs", "keys_to_refs", "map_keys", "collect_futures", "fill_futures",
           "SKIPPED"]

#: Marks a value left out of a gather (``errors="skip"``).
SKIPPED = object()


def futures_to_refs(obj: Any) -> Any:
    """Arguments with Futures replaced by references to their keys."""
    t = type(obj)
    if t is Future or isinstance(obj, Future):
        return Ref(obj.key)
    if t in (list, tuple, set, frozenset):
        items = [futures_to_refs(x) for x in obj]
        return items if t is list else t(items)
    if t is dict:
        return {k: futures_to_refs(v) for k, v in obj.items()}
    return obj


def keys_to_refs(keys: Any) -> Any:
    if type(keys) is list:
        return [keys_to_refs(k) for k in keys]
    return Ref(keys)


def map_keys(keys: Any, by_key: dict) -> Any:
    if type(keys) is list:
        return [map_keys(k, by_key) for k in keys]
    return by_key[keys]


def collect_futures(obj: Any, out: dict) -> None:
    if isinstance(obj, Future):
        out.setdefault(obj.key, obj)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for x in obj:
            collect_futures(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            collect_futures(x, out)


def fill_futures(obj: Any, data: dict, errors: str) -> Any:
    if isinstance(obj, Future):
        return data.get(obj.key, SKIPPED)
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [fill_futures(x, data, errors) for x in obj]
        items = [x for x in items if x is not SKIPPED]
        return items if type(obj) is list else type(obj)(items)
    if isinstance(obj, dict):
        filled = {k: fill_futures(v, data, errors) for k, v in obj.items()}
        return {k: v for k, v in filled.items() if v is not SKIPPED}
    return obj
