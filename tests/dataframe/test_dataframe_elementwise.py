"""Row-wise and elementwise operations against pandas, on every partitioning case."""
from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd

from conftest import assert_eq, make_pdf

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.floordiv, operator.mod, operator.pow, operator.lt,
                                operator.eq, operator.ge])
def test_arithmetic_and_comparison_between_series_and_scalars(case, op):
    ddf, pdf = case
    assert_eq(op(ddf.i, ddf.f), op(pdf.i, pdf.f))
    assert_eq(op(ddf.f, 2), op(pdf.f, 2))
    assert_eq(op(3, ddf.i), op(3, pdf.i))


def test_unary_and_frame_ops(case):
    ddf, pdf = case
    num, pnum = ddf[["i", "f"]], pdf[["i", "f"]]
    assert_eq(-num, -pnum)
    assert_eq(abs(num), abs(pnum))
    assert_eq(num + num * 2, pnum + pnum * 2)
    assert_eq(num.add(1, fill_value=0), pnum.add(1, fill_value=0))
    assert_eq(~(ddf.i > 3), ~(pdf.i > 3))
    assert_eq((ddf.i > 3) & (ddf.f < 0), (pdf.i > 3) & (pdf.f < 0))


def test_arithmetic_with_lazy_scalar(case):
    ddf, pdf = case
    assert_eq(ddf.f - ddf.f.mean(), pdf.f - pdf.f.mean())
    assert_eq(ddf.i.sum() + 1, pdf.i.sum() + 1)


def test_alignment_of_differently_partitioned_frames():
    pdf = make_pdf()
    a = gd.from_pandas(pdf, npartitions=4)
    b = gd.from_pandas(pdf.f.iloc[5:], npartitions=3)
    assert_eq(a.i + b, pdf.i + pdf.f.iloc[5:])
    assert_eq(a.f.where(a.i > 4, b), pdf.f.where(pdf.i > 4, pdf.f.iloc[5:]))


def test_alignment_with_unknown_divisions_and_different_partitions_raises():
    pdf = make_pdf()
    a = gd.from_pandas(pdf, npartitions=4).clear_divisions()
    b = gd.from_pandas(pdf, npartitions=3).clear_divisions()
    with pytest.raises(ValueError, match="unknown divisions"):
        a.i + b.i


def test_getitem_columns_and_boolean_mask(case):
    ddf, pdf = case
    assert_eq(ddf["f"], pdf["f"])
    assert_eq(ddf[["s", "i"]], pdf[["s", "i"]])
    assert_eq(ddf[ddf.i > 4], pdf[pdf.i > 4])
    assert_eq(ddf.f[ddf.i > 4], pdf.f[pdf.i > 4])
    assert_eq(ddf.o, pdf.o)


def test_missing_column_raises_key_error_naming_it():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        ddf["nope"]
    with pytest.raises(KeyError, match="nope"):
        ddf[["i", "nope"]]
    with pytest.raises(KeyError, match="nope"):
        ddf.drop(columns=["nope"])
    with pytest.raises(AttributeError, match="nope"):
        ddf.nope


def test_meta_mismatch_raises_before_compute():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    with pytest.raises(TypeError):
        ddf.t + ddf.t  # datetime + datetime is undefined in pandas
    with pytest.raises(AttributeError, match=".str"):
        ddf.f.str.upper  # .str on floats, as pandas says


def test_setitem_assign_and_columns(case):
    ddf, pdf = case
    ddf = ddf.copy()
    pdf = pdf.copy()
    ddf["g"] = ddf.i * 2 + ddf.f
    pdf["g"] = pdf.i * 2 + pdf.f
    ddf["k"] = 7
    pdf["k"] = 7
    assert_eq(ddf, pdf)
    assert_eq(ddf.assign(h=lambda d: d.g + 1, m=ddf.i.max()),
              pdf.assign(h=lambda d: d.g + 1, m=pdf.i.max()))
    renamed = ddf[["i", "f"]]
    renamed.columns = ["x", "y"]
    p2 = pdf[["i", "f"]].copy()
    p2.columns = ["x", "y"]
    assert_eq(renamed, p2)


def test_rowwise_methods(case):
    ddf, pdf = case
    assert_eq(ddf.isna(), pdf.isna())
    assert_eq(ddf.notna(), pdf.notna())
    assert_eq(ddf.f.fillna(0), pdf.f.fillna(0))
    assert_eq(ddf.fillna({"f": -1, "s": "?"}), pdf.fillna({"f": -1, "s": "?"}))
    assert_eq(ddf.dropna(), pdf.dropna())
    assert_eq(ddf.dropna(subset=["s"]), pdf.dropna(subset=["s"]))
    assert_eq(ddf.i.isin([1, 3, 5]), pdf.i.isin([1, 3, 5]))
    assert_eq(ddf.astype({"i": "float32"}), pdf.astype({"i": "float32"}))
    assert_eq(ddf.rename(columns={"i": "ii"}), pdf.rename(columns={"i": "ii"}))
    assert_eq(ddf.drop(columns=["o", "t"]), pdf.drop(columns=["o", "t"]))
    assert_eq(ddf.f.where(ddf.f > 0, 0), pdf.f.where(pdf.f > 0, 0))
    assert_eq(ddf.f.mask(ddf.i > 5), pdf.f.mask(pdf.i > 5))
    assert_eq(ddf.f.clip(-0.5, 0.5), pdf.f.clip(-0.5, 0.5))
    assert_eq(ddf.f.round(2), pdf.f.round(2))
    assert_eq(ddf.f.abs(), pdf.f.abs())
    assert_eq(ddf.query("i > 3 and f < 0"), pdf.query("i > 3 and f < 0"))
    assert_eq(ddf.eval("i + f"), pdf.eval("i + f"))
    assert_eq(ddf.i.between(2, 5), pdf.i.between(2, 5))
    assert_eq(ddf.s.replace("a", "z"), pdf.s.replace("a", "z"))


def test_apply_rows_and_map_with_meta(case):
    ddf, pdf = case
    assert_eq(ddf.apply(lambda r: r.i * 2, axis=1, meta=("x", "int64")),
              pdf.apply(lambda r: r.i * 2, axis=1).rename("x"))
    assert_eq(ddf.i.map(lambda v: v + 1, meta=("i", "int64")), pdf.i.map(lambda v: v + 1))
    assert_eq(ddf.i.map({1: "one"}), pdf.i.map({1: "one"}))
    assert_eq(ddf.map_partitions(lambda d: d.i + d.f), pdf.i + pdf.f)


def test_str_and_dt_accessors(case):
    ddf, pdf = case
    assert_eq(ddf.s.str.upper(), pdf.s.str.upper())
    assert_eq(ddf.s.str.len(), pdf.s.str.len())
    assert_eq(ddf.o.str.contains("1"), pdf.o.str.contains("1"))
    assert_eq(ddf.o.str.slice(0, 1), pdf.o.str.slice(0, 1))
    assert_eq(ddf.t.dt.hour, pdf.t.dt.hour)
    assert_eq(ddf.t.dt.day_name(), pdf.t.dt.day_name())
    assert_eq(ddf.t.dt.floor("D"), pdf.t.dt.floor("D"))


def test_categoricals_known_and_unknown(case):
    ddf, pdf = case
    assert ddf.c.cat.known
    assert list(ddf.c.cat.categories) == ["lo", "hi"]
    assert_eq(ddf.c, pdf.c)
    assert_eq(ddf.c.cat.codes, pdf.c.cat.codes)
    unknown = ddf.o.astype("category")
    assert not unknown.cat.known
    with pytest.raises(NotImplementedError, match="unknown"):
        unknown.cat.categories
    assert_eq(unknown, pdf.o.astype("category"))
    known = unknown.cat.as_known()
    assert known.cat.known and list(known.cat.categories) == sorted(pdf.o.unique())
    assert_eq(known, pdf.o.astype("category"))
    assert_eq(ddf.c.cat.as_unknown(), pdf.c)


def test_loc_with_known_divisions_touches_only_needed_partitions():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    sub = ddf.loc[20:50]
    assert sub.npartitions < 4
    assert_eq(sub, pdf.loc[20:50])
    assert_eq(ddf.loc[:30, ["i", "f"]], pdf.loc[:30, ["i", "f"]])
    assert_eq(ddf.loc[24], pdf.loc[[24]])
    assert_eq(ddf.loc[[2, 40, 60]], pdf.loc[[2, 40, 60]])
    assert_eq(ddf.loc[ddf.i > 5], pdf.loc[pdf.i > 5])
    assert_eq(ddf.clear_divisions().loc[20:50], pdf.loc[20:50])
    with pytest.raises(KeyError):
        ddf.loc[1000]


def test_reset_index_gives_global_positions(case):
    ddf, pdf = case
    assert_eq(ddf.reset_index(), pdf.reset_index())
    assert_eq(ddf.f.reset_index(drop=True), pdf.f.reset_index(drop=True))


def test_nan_and_empty_partitions_in_elementwise_results():
    pdf = pd.DataFrame({"a": [np.nan, 1.0, np.nan, 3.0]})
    ddf = gd.from_pandas(pdf, npartitions=2)
    empty = ddf[ddf.a > 100]
    assert_eq(empty, pdf[pdf.a > 100])
    assert_eq(empty.a + 1, pdf[pdf.a > 100].a + 1)
