"""``.str``, ``.dt`` and ``.cat`` on lazy Series: pandas accessor calls, partition by partition.

    >>> import pandas as pd, graphengine.dataframe as gd
    >>> s = gd.from_pandas(pd.Series(["a", "Bc", None]), npartitions=2)
    >>> s.str.upper().compute().tolist()
    ['A', 'BC', nan]
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from graphengine.collections.dataframe.core import _Frame, map_partitions
from graphengine.collections.dataframe.meta import UNKNOWN_CATEGORIES

__all__ = ["Accessor", "CategoricalAccessor"]


def _accessor_call(part: pd.Series, accessor: str, attr: str, args: tuple, kwargs: dict) -> Any:
    return getattr(getattr(part, accessor), attr)(*args, **kwargs)


def _accessor_attr(part: pd.Series, accessor: str, attr: str) -> Any:
    return getattr(getattr(part, accessor), attr)


class Accessor:
    """Forwards ``series.<accessor>.<name>`` to every partition."""

    def __init__(self, series: _Frame, accessor: str):
        meta_acc = getattr(series._meta, accessor)  # raises AttributeError like pandas
        self._series = series
        self._accessor = accessor
        self._meta_acc = meta_acc

    def __dir__(self) -> list:
        return dir(self._meta_acc)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        target = getattr(self._meta_acc, attr)  # AttributeError names the attribute
        if callable(target):
            def method(*args: Any, meta: Any = None, **kwargs: Any) -> Any:
                return map_partitions(_accessor_call, self._series, self._accessor, attr,
                                      args, kwargs, meta=meta)
            method.__name__ = attr
            return method
        return map_partitions(_accessor_attr, self._series, self._accessor, attr)


def _set_categories(part: pd.Series, categories: Any, ordered: bool) -> pd.Series:
    return part.cat.set_categories(categories, ordered=ordered)


class CategoricalAccessor(Accessor):
    """``.cat`` with knowledge of whether the categories are known without computing."""

    def __init__(self, series: _Frame):
        super().__init__(series, "cat")

    @property
    def known(self) -> bool:
        """Whether the categories are known (else they are found only by computing)."""
        return UNKNOWN_CATEGORIES not in self._series._meta.cat.categories

    @property
    def categories(self) -> pd.Index:
        if not self.known:
            raise NotImplementedError("categories are unknown; call .cat.as_known() first")
        return self._series._meta.cat.categories

    def as_known(self) -> _Frame:
        """The same Series with categories found by computing the distinct values."""
        if self.known:
            return self._series
        values = self._series.map_partitions(_categories_of).unique().compute()
        cats = pd.Index(values.dropna())
        try:
            cats = cats.sort_values()
        except TypeError:
            pass
        ordered = self._series._meta.cat.ordered
        meta = self._series._meta.cat.set_categories(cats, ordered=ordered)
        return map_partitions(_set_categories, self._series, cats, ordered, meta=meta)

    def as_unknown(self) -> _Frame:
        """The same Series, forgetting its categories."""
        s = self._series
        meta = s._meta.cat.set_categories([UNKNOWN_CATEGORIES])
        from graphengine.collections.dataframe.core import new_collection

        return new_collection(s.graph, s._name, meta, s.divisions)


def _categories_of(part: pd.Series) -> pd.Series:
    return pd.Series(part.cat.categories[part.cat.codes[part.cat.codes >= 0]]
                     if len(part) else [], dtype=part.cat.categories.dtype)
