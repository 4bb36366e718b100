"""Groupby aggregations (tree and split_out), agg specs, custom Aggregation, apply/transform."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd

from conftest import assert_eq, make_pdf

pytestmark = pytest.mark.timeout(60)

FUNCS = ["sum", "mean", "count", "min", "max", "std", "var", "first", "last", "nunique",
         "size", "prod"]


@pytest.mark.parametrize("func", FUNCS)
def test_groupby_column_aggregations(case, func):
    ddf, pdf = case
    num = ddf[["i", "f"]].assign(k=ddf.i % 3)
    pnum = pdf[["i", "f"]].assign(k=pdf.i % 3)
    assert_eq(getattr(num.groupby("k"), func)(), getattr(pnum.groupby("k"), func)())
    assert_eq(getattr(num.groupby("k").f, func)(), getattr(pnum.groupby("k").f, func)())


@pytest.mark.parametrize("func", ["sum", "mean", "count", "max", "first", "nunique", "size"])
def test_groupby_string_categorical_and_datetime_keys(case, func):
    ddf, pdf = case
    for key in ["s", "c", "o"]:
        assert_eq(getattr(ddf.groupby(key).f, func)(), getattr(pdf.groupby(key).f, func)())
    assert_eq(getattr(ddf.groupby(["o", "c"]).i, func)(),
              getattr(pdf.groupby(["o", "c"]).i, func)())


def test_groupby_non_numeric_values(case):
    ddf, pdf = case
    assert_eq(ddf.groupby("i").t.min(), pdf.groupby("i").t.min())
    assert_eq(ddf.groupby("i").s.first(), pdf.groupby("i").s.first())
    assert_eq(ddf.groupby("i")[["t", "o"]].max(), pdf.groupby("i")[["t", "o"]].max())


def test_groupby_dropna_sort_observed(case):
    ddf, pdf = case
    assert_eq(ddf.groupby("s", dropna=False).i.sum(), pdf.groupby("s", dropna=False).i.sum())
    got = ddf.groupby("o", sort=False).i.sum().compute()
    assert_eq(got.sort_index(), pdf.groupby("o").i.sum())
    assert_eq(ddf.groupby("c", observed=False).f.count(),
              pdf.groupby("c", observed=False).f.count())


def test_groupby_by_series_and_level(case):
    ddf, pdf = case
    assert_eq(ddf.groupby(ddf.i % 2).f.sum(), pdf.groupby(pdf.i % 2).f.sum())
    assert_eq(ddf.f.groupby(ddf.i).mean(), pdf.f.groupby(pdf.i).mean())
    s = ddf.set_index("i").f if False else None  # set_index is covered in the shuffle tests
    assert s is None
    pidx = pdf[["i", "f"]].set_index("i")
    didx = gd.from_pandas(pidx, npartitions=3)
    assert_eq(didx.groupby(level=0).f.sum(), pidx.groupby(level=0).f.sum())


def test_groupby_agg_list_dict_named(case):
    ddf, pdf = case
    cols = ["i", "f", "o"]
    dg, pg = ddf[cols].groupby("o"), pdf[cols].groupby("o")
    assert_eq(dg.agg(["sum", "mean", "max"]), pg.agg(["sum", "mean", "max"]))
    assert_eq(dg.agg({"i": "sum", "f": ["min", "std"]}), pg.agg({"i": "sum", "f": ["min", "std"]}))
    assert_eq(dg.agg({"i": "sum", "f": "count"}), pg.agg({"i": "sum", "f": "count"}))
    assert_eq(dg.agg(total=("i", "sum"), avg=("f", "mean"), n=("f", "nunique")),
              pg.agg(total=("i", "sum"), avg=("f", "mean"), n=("f", "nunique")))
    assert_eq(dg.f.agg(["min", "max", "var"]), pg.f.agg(["min", "max", "var"]))
    assert_eq(dg.f.agg("mean"), pg.f.agg("mean"))


def test_groupby_unsupported_function_raises_before_compute():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    with pytest.raises(ValueError, match="median"):
        ddf.groupby("i").agg({"f": "median"})
    with pytest.raises(KeyError, match="zzz"):
        ddf.groupby("zzz")
    with pytest.raises(KeyError, match="zzz"):
        ddf.groupby("i").agg({"zzz": "sum"})


def test_custom_aggregation(case):
    ddf, pdf = case
    custom_mean = gd.Aggregation(
        "custom_mean",
        chunk=lambda s: (s.count(), s.sum()),
        agg=lambda count, total: (count.sum(), total.sum()),
        finalize=lambda count, total: total / count,
    )
    assert_eq(ddf.groupby("o").f.agg(custom_mean), pdf.groupby("o").f.mean())
    spread = gd.Aggregation("spread", chunk=lambda s: (s.max(), s.min()),
                            agg=lambda mx, mn: (mx.max(), mn.min()),
                            finalize=lambda mx, mn: mx - mn)
    got = ddf.groupby("o").agg({"f": spread, "i": "sum"}).compute()
    exp = pdf.groupby("o").agg({"f": lambda s: s.max() - s.min(), "i": "sum"})
    np.testing.assert_allclose(got["f"], exp["f"])
    np.testing.assert_array_equal(got["i"], exp["i"])


def test_split_every_and_split_out():
    pdf = pd.DataFrame({"k": np.arange(2000) % 397, "v": np.arange(2000.0)})
    ddf = gd.from_pandas(pdf, npartitions=10)
    assert_eq(ddf.groupby("k").v.mean(split_every=2), pdf.groupby("k").v.mean())
    out = ddf.groupby("k").agg({"v": ["sum", "std"]}, split_out=4)
    assert out.npartitions == 4
    parts = [set(out.partitions[j].compute().index) for j in range(4)]
    assert sum(len(p) for p in parts) == 397 and len(set().union(*parts)) == 397
    assert_eq(out.compute().sort_index(), pdf.groupby("k").agg({"v": ["sum", "std"]}))


def test_groupby_apply_and_transform_via_shuffle(case):
    ddf, pdf = case
    got = ddf.groupby("o").apply(lambda g: g.f.sum() - g.i.max(), meta=(None, "float64"))
    exp = pdf.groupby("o").apply(lambda g: g.f.sum() - g.i.max())
    assert_eq(got.compute().sort_index(), exp)
    assert_eq(ddf.groupby("o").f.transform("mean").compute().sort_index(),
              pdf.groupby("o").f.transform("mean"))
    assert_eq(ddf.groupby("o").i.transform(lambda s: s - s.min()).compute().sort_index(),
              pdf.groupby("o").i.transform(lambda s: s - s.min()))


def test_groupby_value_counts(case):
    ddf, pdf = case
    assert_eq(ddf.groupby("o").i.value_counts().compute().sort_index(),
              pdf.groupby("o").i.value_counts().sort_index())
