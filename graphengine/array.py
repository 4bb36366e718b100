"""``import graphengine.array as ga``: NumPy-like chunked arrays that compute lazily.

The names follow NumPy (and Dask's array API where it has its own): ``ga.from_array``,
``ga.zeros``, ``ga.random.random``, ``x.sum(axis=0)``, ``x.rechunk(...)``, ``x @ y``,
``ga.linalg.qr``... Nothing runs until ``.compute()`` (or ``np.asarray(x)``).

    >>> import graphengine.array as ga
    >>> x = ga.random.default_rng(0).random((1000, 1000), chunks=(250, 250))
    >>> float(((x + 1) * 2 - x.T).mean().compute()) > 2
    True
"""
from __future__ import annotations

from graphengine.collections.array import *  # noqa: F401,F403
from graphengine.collections.array import __all__  # noqa: F401
from graphengine.collections.array import linalg, random  # noqa: F401
