"""Hash shuffle, set_index, sort_values, merge/join plans, concat, drop_duplicates and
repartition against pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd
from graphengine import config

from conftest import assert_eq, make_pdf

pytestmark = pytest.mark.timeout(60)


def _layers(frame, prefix):
    return [n for n in frame.graph.layers if n.startswith(prefix)]


def test_shuffle_puts_each_key_in_exactly_one_partition(case):
    ddf, pdf = case
    out = ddf.shuffle("o", npartitions=3)
    assert out.npartitions == 3 and not out.known_divisions
    seen = {}
    for j in range(3):
        for key in set(out.partitions[j].compute().o.dropna()):
            assert key not in seen
            seen[key] = j
    assert_eq(out.compute().sort_index(), pdf)
    assert_eq(ddf.shuffle(["i", "s"]).compute().sort_index(), pdf)


def test_shuffle_missing_column_raises_key_error():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        ddf.shuffle("nope")


@pytest.mark.parametrize("col", ["f", "i", "t", "s"])
def test_set_index_sorts_globally_with_known_divisions(case, col):
    ddf, pdf = case
    out = ddf.set_index(col)
    assert out.known_divisions
    exp = pdf.set_index(col).sort_index(kind="stable")
    exp = exp[exp.index.notna()] if col in ("f", "s") else exp
    got = out.compute()
    got = got[got.index.notna()] if col in ("f", "s") else got
    assert_eq(got, exp)
    # divisions really bound the partitions
    for j in range(out.npartitions):
        idx = out.partitions[j].compute().index.dropna()
        if len(idx):
            assert out.divisions[j] <= idx.min() and idx.max() <= out.divisions[j + 1]


def test_set_index_sorted_and_explicit_divisions():
    pdf = pd.DataFrame({"k": np.arange(20), "v": np.arange(20.0)})
    ddf = gd.from_pandas(pdf, npartitions=4).clear_divisions()
    out = ddf.set_index("k", sorted=True)
    assert out.divisions == (0, 5, 10, 15, 19)
    assert_eq(out, pdf.set_index("k"))
    out2 = ddf.set_index("k", divisions=[0, 10, 19])
    assert out2.npartitions == 2
    assert_eq(out2, pdf.set_index("k"))
    with pytest.raises(ValueError, match="not sorted"):
        gd.from_pandas(pdf.iloc[::-1], npartitions=2, sort=False).set_index("k", sorted=True)


def test_set_index_then_loc_and_alignment():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3).set_index("t")
    exp = pdf.set_index("t")
    assert_eq(ddf.loc["2021-01-01 05:00":"2021-01-01 20:00"],
              exp.loc["2021-01-01 05:00":"2021-01-01 20:00"])


@pytest.mark.parametrize("ascending", [True, False])
def test_sort_values(case, ascending):
    ddf, pdf = case
    assert_eq(ddf.sort_values("i", ascending=ascending),
              pdf.sort_values("i", ascending=ascending, kind="stable"))
    assert_eq(ddf.sort_values(["o", "f"]), pdf.sort_values(["o", "f"], kind="stable"))
    assert_eq(ddf.f.sort_values(ascending=ascending),
              pdf.f.sort_values(ascending=ascending, kind="stable"))


@pytest.fixture
def sides():
    rng = np.random.default_rng(3)
    left = pd.DataFrame({"k": rng.integers(0, 15, 60), "k2": rng.choice(list("ab"), 60),
                         "x": np.arange(60.0)})
    right = pd.DataFrame({"k": np.arange(20), "k2": ["a", "b"] * 10,
                          "y": pd.Series(np.arange(20) % 3 == 0)})
    return left, right


def _norm(df):
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_hash_join_matches_pandas(sides, how):
    left, right = sides
    dl, dr = gd.from_pandas(left, npartitions=4), gd.from_pandas(right, npartitions=3)
    out = dl.merge(dr, on="k", how=how)
    assert _layers(out, "merge-shuffle")
    assert_eq(_norm(out.compute()), _norm(left.merge(right, on="k", how=how)))
    out2 = gd.merge(dl, dr, on=["k", "k2"], how=how, suffixes=("_l", "_r"))
    assert_eq(_norm(out2.compute()),
              _norm(left.merge(right, on=["k", "k2"], how=how, suffixes=("_l", "_r"))))
    out3 = dl.merge(dr.rename(columns={"k": "rk"}), left_on="k", right_on="rk", how=how)
    assert_eq(_norm(out3.compute()),
              _norm(left.merge(right.rename(columns={"k": "rk"}), left_on="k",
                               right_on="rk", how=how)))


@pytest.mark.parametrize("how", ["inner", "left"])
def test_broadcast_join_when_one_side_is_small(sides, how):
    left, right = sides
    dl, dr = gd.from_pandas(left, npartitions=4), gd.from_pandas(right, npartitions=1)
    out = dl.merge(dr, on="k", how=how)
    assert _layers(out, "broadcast-merge") and not _layers(out, "merge-shuffle")
    assert_eq(_norm(out.compute()), _norm(left.merge(right, on="k", how=how)))
    with config.set({"dataframe.broadcast-join-max-partitions": 0}):
        assert not _layers(dl.merge(dr, on="k", how=how), "broadcast-merge")
    # a pandas frame on the right is accepted too
    assert_eq(_norm(dl.merge(right, on="k", how=how).compute()),
              _norm(left.merge(right, on="k", how=how)))


def test_broadcast_of_the_left_side_for_right_joins(sides):
    left, right = sides
    dl, dr = gd.from_pandas(left, npartitions=1), gd.from_pandas(right, npartitions=3)
    out = dl.merge(dr, on="k", how="right")
    assert _layers(out, "broadcast-merge")
    assert_eq(_norm(out.compute()), _norm(left.merge(right, on="k", how="right")))
    outer = dl.merge(dr, on="k", how="outer")
    assert not _layers(outer, "broadcast-merge")
    assert_eq(_norm(outer.compute()), _norm(left.merge(right, on="k", how="outer")))


def test_aligned_index_join_with_known_divisions(sides):
    left, right = sides
    li = left.groupby("k").x.sum().to_frame()
    ri = right.set_index("k")
    dl, dr = gd.from_pandas(li, npartitions=3), gd.from_pandas(ri, npartitions=2)
    for how in ["inner", "left", "outer"]:
        out = dl.merge(dr, left_index=True, right_index=True, how=how)
        assert out.known_divisions
        assert_eq(out, li.merge(ri, left_index=True, right_index=True, how=how))
    assert_eq(dl.join(dr, how="left"), li.join(ri, how="left"))


def test_join_on_index_with_unknown_divisions_uses_hash(sides):
    left, right = sides
    li = left.groupby("k").x.sum().to_frame()
    ri = right.set_index("k")
    dl = gd.from_pandas(li, npartitions=3).clear_divisions()
    dr = gd.from_pandas(ri, npartitions=2).clear_divisions()
    out = dl.merge(dr, left_index=True, right_index=True, how="outer")
    assert_eq(out.compute().sort_index(), li.merge(ri, left_index=True, right_index=True,
                                                   how="outer"))


def test_impossible_joins_raise_before_compute(sides):
    left, right = sides
    dl, dr = gd.from_pandas(left, npartitions=2), gd.from_pandas(right, npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        dl.merge(dr, on="nope")
    with pytest.raises(ValueError, match="int64 and str"):
        dl.merge(dr, left_on="k", right_on="k2")
    with pytest.raises(ValueError, match="how"):
        dl.merge(dr, on="k", how="cross")


def test_merge_int_and_float_keys_hash_together():
    a = pd.DataFrame({"k": np.arange(10), "x": np.arange(10)})
    b = pd.DataFrame({"k": np.arange(10.0), "y": np.arange(10)})
    out = gd.from_pandas(a, npartitions=3).merge(gd.from_pandas(b, npartitions=2), on="k",
                                                 broadcast=False)
    assert_eq(_norm(out.compute()), _norm(a.merge(b, on="k")))


def test_concat_axis0_and_axis1(case):
    ddf, pdf = case
    a, b = ddf[["i", "f"]], ddf[["i", "s"]]
    assert_eq(gd.concat([a, b]), pd.concat([pdf[["i", "f"]], pdf[["i", "s"]]]))
    assert_eq(gd.concat([a, b], join="inner"),
              pd.concat([pdf[["i", "f"]], pdf[["i", "s"]]], join="inner"))
    assert_eq(gd.concat([ddf.f, ddf.i], axis=1), pd.concat([pdf.f, pdf.i], axis=1))


def test_concat_keeps_divisions_when_ranges_follow():
    pdf = make_pdf()
    a = gd.from_pandas(pdf.iloc[:20], npartitions=2)
    b = gd.from_pandas(pdf.iloc[20:], npartitions=2)
    out = gd.concat([a, b])
    assert out.known_divisions and out.npartitions == 4
    assert_eq(out, pdf)
    assert not gd.concat([b, a]).known_divisions
    assert_eq(gd.concat([a, b], ignore_index=True), pdf.reset_index(drop=True))


def test_drop_duplicates(case):
    ddf, pdf = case
    assert_eq(ddf[["i", "o"]].drop_duplicates(), pdf[["i", "o"]].drop_duplicates())
    assert_eq(ddf.drop_duplicates(subset=["o"], keep="last"),
              pdf.drop_duplicates(subset=["o"], keep="last"))
    assert_eq(ddf[["i", "o"]].drop_duplicates(keep=False).compute().sort_index(),
              pdf[["i", "o"]].drop_duplicates(keep=False))
    out = ddf[["i", "o"]].drop_duplicates(split_out=3)
    assert out.npartitions == 3
    assert_eq(out.compute().sort_index(), pdf[["i", "o"]].drop_duplicates())
    assert_eq(ddf.i.drop_duplicates(), pdf.i.drop_duplicates())


def test_repartition(case):
    ddf, pdf = case
    assert_eq(ddf.repartition(npartitions=2), pdf)
    more = ddf.repartition(npartitions=7)
    assert more.npartitions == 7
    assert_eq(more, pdf)
    small = ddf.repartition(partition_size="1kB")
    assert small.npartitions > 1
    assert_eq(small, pdf)


def test_repartition_divisions():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3)
    out = ddf.repartition(divisions=[0, 10, 11, 50, 78])
    assert out.divisions == (0, 10, 11, 50, 78)
    assert_eq(out, pdf)
    assert list(out.partitions[1].compute().index) == [10]  # [10, 11) holds only 10
    with pytest.raises(ValueError, match="cover"):
        ddf.repartition(divisions=[10, 78])
    with pytest.raises(ValueError, match="increasing"):
        ddf.repartition(divisions=[0, 50, 40, 78])
    with pytest.raises(ValueError, match="known divisions"):
        ddf.clear_divisions().repartition(divisions=[0, 78])
