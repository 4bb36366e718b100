"""Public alias: ``import graphengine.dataframe as gd`` for partitioned pandas.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> ddf = gd.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), npartitions=2)
    >>> int(ddf.x.sum().compute())
    6
"""
from __future__ import annotations

from graphengine.collections.dataframe import *  # noqa: F401,F403
from graphengine.collections.dataframe import __all__  # noqa: F401
