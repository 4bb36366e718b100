"""Rolling windows (integer and time-based), shift, diff and ffill/bfill across partitions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd

from conftest import assert_eq, frame_from_parts, make_pdf

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("method", ["sum", "mean", "min", "max", "std", "count"])
@pytest.mark.parametrize("window", [1, 3, 12])
def test_integer_rolling_crosses_partitions(case, method, window):
    ddf, pdf = case
    num, pnum = ddf[["i", "f"]], pdf[["i", "f"]]
    assert_eq(getattr(num.rolling(window), method)(), getattr(pnum.rolling(window), method)())
    assert_eq(getattr(ddf.f.rolling(window, min_periods=1), method)(),
              getattr(pdf.f.rolling(window, min_periods=1), method)())


def test_window_longer_than_a_partition():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=10)  # 4 rows per partition
    assert_eq(ddf.i.rolling(9).sum(), pdf.i.rolling(9).sum())
    assert_eq(ddf.i.rolling(5, center=True).mean(), pdf.i.rolling(5, center=True).mean())


def test_rolling_apply():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    assert_eq(ddf.f.rolling(3).apply(lambda a: np.nanmax(a) - np.nanmin(a), raw=True),
              pdf.f.rolling(3).apply(lambda a: np.nanmax(a) - np.nanmin(a), raw=True))


@pytest.mark.parametrize("window", ["2h", "5h", "90min"])
def test_time_based_rolling(window):
    pdf = make_pdf().set_index("t")[["i", "f"]]
    for ddf in [gd.from_pandas(pdf, npartitions=5),
                frame_from_parts([pdf.iloc[:7], pdf.iloc[7:7], pdf.iloc[7:30], pdf.iloc[30:]])]:
        assert_eq(ddf.rolling(window).sum(), pdf.rolling(window).sum())
        assert_eq(ddf.f.rolling(window).mean(), pdf.f.rolling(window).mean())
        assert_eq(ddf.i.rolling(window).count(), pdf.i.rolling(window).count())


def test_time_window_needs_datetime_index():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    with pytest.raises(ValueError, match="DatetimeIndex"):
        ddf.rolling("2h")


@pytest.mark.parametrize("periods", [1, 3, -2, 0])
def test_shift_and_diff(case, periods):
    ddf, pdf = case
    assert_eq(ddf.shift(periods), pdf.shift(periods))
    assert_eq(ddf.f.diff(periods), pdf.f.diff(periods))
    assert_eq(ddf[["i", "f"]].diff(periods), pdf[["i", "f"]].diff(periods))


def test_shift_with_freq_moves_the_index():
    pdf = make_pdf().set_index("t")
    ddf = gd.from_pandas(pdf, npartitions=3)
    assert_eq(ddf.i.shift(2, freq="h"), pdf.i.shift(2, freq="h"))


def test_ffill_bfill_across_partitions():
    s = pd.Series([1.0, np.nan, np.nan, np.nan, np.nan, 2.0, np.nan, np.nan], name="v")
    sf = s.to_frame()
    for ds in [gd.from_pandas(s, npartitions=4),
               frame_from_parts([sf.iloc[:0], sf.iloc[:3], sf.iloc[3:3], sf.iloc[3:]])["v"]]:
        assert_eq(ds.ffill(), s.ffill())
        assert_eq(ds.bfill(), s.bfill())
