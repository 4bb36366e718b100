"""NumPy functions on graphengine Arrays: ``np.sum(x, 0)`` runs :func:`graphengine.array.sum`.

:func:`implements` registers an implementation of NumPy functions, and
``Array.__array_function__`` calls it through :func:`call_implementation`. NumPy hands
on the arguments exactly as the caller wrote them, so a positional call follows *NumPy's*
parameter order, while ours follow Dask's where it differs (``sum(a, axis, dtype,
keepdims, split_every, out)`` against NumPy's ``sum(a, axis, dtype, out, keepdims, ...)``).
The first time a function is dispatched its two signatures are compared: from the first
position where they part, positional arguments are passed by NumPy's parameter name. A
NumPy parameter we do not have is dropped when it holds NumPy's default (``out=None``,
``overwrite_input=False``) and is a TypeError naming it otherwise.

    >>> import numpy as np, graphengine.array as ga
    >>> x = ga.ones((2, 3), chunks=2)
    >>> np.sum(x, 0, None, None, True).shape       # NumPy's (axis, dtype, out, keepdims)
    (1, 3)
    >>> np.median(x, 1, None, False, True).shape   # out=None, overwrite_input=False
    (2, 1)
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["HANDLED_FUNCTIONS", "implements", "call_implementation"]

#: NumPy functions with a graphengine implementation, for ``__array_function__``.
HANDLED_FUNCTIONS: dict = {}

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

#: numpy function -> None (call as given) or (first keyword position, NumPy's
#: positional parameters, NumPy's defaults, our parameter names)
_PLANS: dict = {}


def implements(*numpy_functions: Any) -> Callable:
    """Register the decorated function as the implementation of ``numpy_functions``."""
    def decorate(func: Callable) -> Callable:
        for f in numpy_functions:
            HANDLED_FUNCTIONS[f] = func
        return func
    return decorate


def _plan(numpy_func: Any, impl: Callable) -> tuple | None:
    try:
        theirs = inspect.signature(numpy_func).parameters
        ours = inspect.signature(impl).parameters
    except (TypeError, ValueError):  # no introspectable signature: pass as given
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ours.values()):
        return None  # ours takes anything by keyword and sorts it out itself
    np_pos = [p for p in theirs.values() if p.kind in _POSITIONAL]
    our_pos = [p.name for p in ours.values() if p.kind in _POSITIONAL]
    for i, p in enumerate(np_pos):
        if i < len(our_pos) and our_pos[i] == p.name:
            continue
        if i < len(our_pos) and p.name not in ours and our_pos[i] not in theirs:
            continue  # the same parameter under another name (``a`` and ``x``)
        break
    else:
        return None
    defaults = {p.name: p.default for p in theirs.values()}
    return i, [p.name for p in np_pos], defaults, set(ours)


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    simple = (bool, int, float, str, type(None))
    return type(value) in simple and type(value) is type(default) and value == default


def call_implementation(numpy_func: Any, impl: Callable, args: tuple, kwargs: dict) -> Any:
    """``impl`` called with ``args``/``kwargs`` as written for ``numpy_func``.

    Raises
    ------
    TypeError
        For a NumPy parameter ``impl`` does not have, given a value other than NumPy's
        default (named in the message).
    """
    try:
        plan = _PLANS[numpy_func]
    except KeyError:
        plan = _PLANS[numpy_func] = _plan(numpy_func, impl)
    if plan is None:
        return impl(*args, **kwargs)
    k, names, defaults, ours = plan
    if len(args) <= k and all(name in ours for name in kwargs):
        return impl(*args, **kwargs)
    named = dict(zip(names[k:], args[k:]))
    if len(args) > len(names):
        raise TypeError(f"{numpy_func.__name__}() takes at most {len(names)} positional "
                        f"arguments ({len(args)} given)")
    named.update(kwargs)
    passed = {}
    for name, value in named.items():
        if name in ours:
            passed[name] = value
        elif not _is_default(value, defaults.get(name, inspect.Parameter.empty)):
            raise TypeError(f"graphengine's {numpy_func.__name__} does not support "
                            f"{name}={value!r}")
    return impl(*args[:k], **passed)
