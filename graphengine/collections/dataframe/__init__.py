"""Partitioned pandas: lazy DataFrame, Series and Index that build task graphs.

    >>> import pandas as pd
    >>> from graphengine.collections.dataframe import from_pandas
    >>> from_pandas(pd.DataFrame({"a": [1, 2]}), npartitions=1).a.max().compute()
    np.int64(2)
"""
from __future__ import annotations

from graphengine.collections.dataframe.core import Scalar, map_partitions
from graphengine.collections.dataframe.frame import DataFrame, Index, Series
from graphengine.collections.dataframe.groupby import Aggregation
from graphengine.collections.dataframe.joins import concat, merge
from graphengine.collections.dataframe.io_array import from_array, to_array
from graphengine.collections.dataframe.io_csv import read_csv, to_csv
from graphengine.collections.dataframe.io_parquet import read_parquet, to_parquet
from graphengine.collections.dataframe.io_pandas import from_delayed, from_dict, from_pandas

__all__ = ["from_array", "to_array", "read_csv", "to_csv", "read_parquet", "to_parquet", "concat", "merge", "Aggregation", "DataFrame", "Series", "Index", "Scalar", "map_partitions", "from_pandas",
           "from_dict", "from_delayed"]
