"""Reductions (tree reductions with split_every), value_counts, describe, quantile and
cumulative operations against pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd
from graphengine import config

from conftest import assert_eq, make_pdf

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("how", ["sum", "mean", "count", "min", "max", "std", "var", "prod",
                                 "any", "all"])
def test_series_reductions(case, how):
    ddf, pdf = case
    for col in ["i", "f"]:
        assert_eq(getattr(ddf[col], how)(), getattr(pdf[col], how)())


@pytest.mark.parametrize("how", ["sum", "mean", "count", "min", "max", "std", "var"])
def test_dataframe_reductions(case, how):
    ddf, pdf = case
    num = ["i", "f"]
    res = getattr(ddf[num], how)()
    assert isinstance(res, gd.Series)
    assert_eq(res, getattr(pdf[num], how)())


def test_reductions_of_non_numeric_columns(case):
    ddf, pdf = case
    assert_eq(ddf.t.min(), pdf.t.min())
    assert_eq(ddf.t.max(), pdf.t.max())
    assert_eq(ddf.s.max(), pdf.s.max())
    assert_eq(ddf.count(), pdf.count())
    assert_eq(ddf[["i", "t", "o"]].min(), pdf[["i", "t", "o"]].min())


def test_split_every_builds_a_deeper_tree_with_the_same_result():
    pdf = make_pdf(200)
    ddf = gd.from_pandas(pdf, npartitions=20)
    shallow = ddf.f.sum(split_every=32)
    deep = ddf.f.sum(split_every=2)
    assert len(deep.graph.layers[deep._name]) > len(shallow.graph.layers[shallow._name])
    assert deep.compute() == pytest.approx(pdf.f.sum())
    with config.set({"dataframe.split-every": 3}):
        assert ddf.i.max().compute() == pdf.i.max()
    with pytest.raises(ValueError, match="split_every"):
        ddf.i.sum(split_every=1)


def test_var_is_numerically_stable_with_large_offsets():
    s = pd.Series(np.arange(1000.0) + 1e9)
    assert gd.from_pandas(s, npartitions=7).var().compute() == pytest.approx(s.var(), rel=1e-9)


def test_nunique_size_and_memory_usage(case):
    ddf, pdf = case
    assert_eq(ddf.i.nunique(), pdf.i.nunique())
    assert_eq(ddf.s.nunique(dropna=False), pdf.s.nunique(dropna=False))
    assert_eq(ddf.nunique(), pdf.nunique())
    assert_eq(ddf.size, pdf.size)
    assert ddf.i.memory_usage(index=False).compute() == pdf.i.memory_usage(index=False)
    assert_eq(ddf[["i", "f"]].memory_usage(index=False), pdf[["i", "f"]].memory_usage(index=False))


def test_value_counts(case):
    ddf, pdf = case
    assert_eq(ddf.i.value_counts(), pdf.i.value_counts())
    assert_eq(ddf.s.value_counts(dropna=False), pdf.s.value_counts(dropna=False))
    assert_eq(ddf.o.value_counts(normalize=True), pdf.o.value_counts(normalize=True))
    assert_eq(ddf.c.value_counts(), pdf.c.value_counts())
    assert_eq(ddf.i.value_counts(split_every=2, ascending=True),
              pdf.i.value_counts(ascending=True))


def test_idxmin_idxmax(case):
    ddf, pdf = case
    assert_eq(ddf.f.idxmin(), pdf.f.idxmin())
    assert_eq(ddf.i.idxmax(), pdf.i.idxmax())
    assert_eq(ddf[["i", "f"]].idxmax(), pdf[["i", "f"]].idxmax())


def test_mode_unique_nlargest(case):
    ddf, pdf = case
    assert_eq(ddf.i.mode(), pdf.i.mode())
    assert_eq(ddf.o.mode(), pdf.o.mode())
    assert sorted(ddf.i.unique().compute()) == sorted(pdf.i.unique())
    assert_eq(ddf.f.nlargest(3), pdf.f.nlargest(3))
    assert_eq(ddf.i.nsmallest(4), pdf.i.nsmallest(4))


def test_quantile_exact_when_partitions_fit_the_sample(case):
    ddf, pdf = case
    assert_eq(ddf.f.quantile(0.3), pdf.f.quantile(0.3))
    assert_eq(ddf.f.quantile([0.1, 0.5, 0.9]), pdf.f.quantile([0.1, 0.5, 0.9]))
    assert_eq(ddf[["i", "f"]].quantile([0.25, 0.75]), pdf[["i", "f"]].quantile([0.25, 0.75]))


def test_quantile_is_approximate_for_large_partitions():
    s = pd.Series(np.random.default_rng(1).normal(size=50_000))
    ds = gd.from_pandas(s, npartitions=5)
    with config.set({"dataframe.quantile-samples": 100}):
        got = ds.quantile([0.1, 0.5, 0.9]).compute()
    # The rank error is bounded by about rows_per_partition / samples.
    for q, v in got.items():
        rank = (s < v).mean()
        assert abs(rank - q) < 0.01


def test_describe(case):
    ddf, pdf = case
    assert_eq(ddf.describe(), pdf.describe())
    assert_eq(ddf[["i", "f"]].describe(), pdf[["i", "f"]].describe())
    assert_eq(ddf[["s", "c", "o"]].describe(), pdf[["s", "c", "o"]].describe())
    assert_eq(ddf.t.describe(), pdf.t.describe())
    assert_eq(ddf.s.describe(), pdf.s.describe())
    assert_eq(ddf.f.describe(), pdf.f.describe())


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummax", "cummin"])
def test_cumulative_across_partitions(case, op):
    ddf, pdf = case
    assert_eq(getattr(ddf.f, op)(), getattr(pdf.f, op)())
    assert_eq(getattr(ddf.i, op)(), getattr(pdf.i, op)())
    assert_eq(getattr(ddf[["i", "f"]], op)(), getattr(pdf[["i", "f"]], op)())


def test_cumsum_without_skipna_propagates_nan():
    s = pd.Series([1.0, np.nan, 2.0, 3.0, 4.0])
    assert_eq(gd.from_pandas(s, npartitions=3).cumsum(skipna=False), s.cumsum(skipna=False))


def test_reductions_over_all_empty_partitions():
    pdf = pd.DataFrame({"a": [1, 2, 3], "b": [1.0, 2.0, 3.0]})
    ddf = gd.from_pandas(pdf, npartitions=2)
    none = ddf[ddf.a > 10]
    empty = pdf[pdf.a > 10]
    assert_eq(none.a.sum(), empty.a.sum())
    assert_eq(none.b.max(), empty.b.max())
    assert_eq(none.count(), empty.count())
    assert_eq(none.a.mean(), empty.a.mean())
