"""Shared fixtures for the dataframe tests: one pandas frame and its partitioned versions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine
import graphengine.dataframe as gd
from graphengine.collections.base import is_collection


def make_pdf(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    f = rng.normal(size=n)
    f[::7] = np.nan
    return pd.DataFrame({
        "i": rng.integers(0, 10, n),
        "f": f,
        "s": pd.Series(rng.choice(["a", "bb", "c"], n), dtype="str").where(
            np.arange(n) % 9 != 4),
        "o": pd.Series([f"x{k % 5}" for k in range(n)], dtype=object),
        "c": pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "hi"]),
        "t": pd.date_range("2021-01-01", periods=n, freq="h"),
    }).set_axis(pd.Index(np.arange(n) * 2, name="idx"))


def frame_from_parts(parts: list) -> gd.DataFrame:
    """A frame whose partitions are exactly ``parts`` (some may be empty), divisions
    unknown."""
    return gd.from_delayed([graphengine.delayed(p, pure=True) for p in parts], meta=parts[0])


CASES = ["multi", "single", "unknown", "empty-parts"]


@pytest.fixture(params=CASES)
def case(request):
    """``(ddf, pdf)`` for several partitionings of the same data."""
    pdf = make_pdf()
    if request.param == "multi":
        return gd.from_pandas(pdf, npartitions=4), pdf
    if request.param == "single":
        return gd.from_pandas(pdf, npartitions=1), pdf
    if request.param == "unknown":
        return gd.from_pandas(pdf, npartitions=3).clear_divisions(), pdf
    parts = [pdf.iloc[:0], pdf.iloc[:15], pdf.iloc[15:15], pdf.iloc[15:], pdf.iloc[:0]]
    return frame_from_parts(parts), pdf


def assert_eq(a, b, check_index: bool = True, sort: bool = False, **kwargs) -> None:
    """Compute ``a`` (and ``b``) if lazy and compare like pandas' testing functions."""
    if is_collection(a):
        a = a.compute(scheduler="sync")
    if is_collection(b):
        b = b.compute(scheduler="sync")
    if sort and isinstance(a, (pd.DataFrame, pd.Series)):
        a, b = _sorted(a), _sorted(b)
    if not check_index and isinstance(a, (pd.DataFrame, pd.Series)):
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, **kwargs)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, **kwargs)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, **kwargs)
    else:
        if isinstance(b, float) and np.isnan(b):
            assert np.isnan(a)
        else:
            assert a == pytest.approx(b, **kwargs) if isinstance(b, float) else a == b
            assert type(a) is type(b) or np.dtype(type(a)) == np.dtype(type(b))


def _sorted(x):
    if isinstance(x, pd.DataFrame):
        return x.sort_values(list(x.columns)).sort_index(kind="stable") if len(x.columns) else x
    return x.sort_values().sort_index(kind="stable")


@pytest.fixture(name="assert_eq")
def assert_eq_fixture():
    return assert_eq
