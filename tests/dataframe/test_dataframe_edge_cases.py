"""Edge cases filling the gaps of the other dataframe test files: every partitioning case
(multi, single, unknown divisions, empty partitions) for items tested elsewhere on one
layout only, object/string/categorical/datetime columns with NaNs, and error cases that
must raise (KeyError naming the column, meta mismatch, impossible joins) while the graph
is built, before any compute."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine
import graphengine.dataframe as gd

from conftest import assert_eq, frame_from_parts, make_pdf

pytestmark = pytest.mark.timeout(60)


def _never(df):
    raise AssertionError("a partition was computed")


@pytest.fixture
def boom():
    """A frame with the metadata of ``make_pdf()`` whose partitions fail if computed: any
    error raised while building an operation on it was raised before any compute."""
    ddf = gd.from_pandas(make_pdf(), npartitions=3)
    return ddf.map_partitions(_never, meta=ddf._meta)


# --- objects and metadata ----------------------------------------------------------------

def test_metadata_per_case(case):
    ddf, pdf = case
    pd.testing.assert_index_equal(ddf.columns, pdf.columns)
    pd.testing.assert_series_equal(ddf.dtypes, pdf.dtypes)
    pd.testing.assert_index_equal(ddf._meta.index, pdf.index[:0])
    assert ddf.npartitions == len(ddf.divisions) - 1
    if ddf.known_divisions:
        assert ddf.divisions[0] == pdf.index.min() and ddf.divisions[-1] == pdf.index.max()
    else:
        assert all(d is None for d in ddf.divisions)
    assert_eq(ddf.index, pdf.index)
    assert_eq(ddf.f.index, pdf.f.index)
    assert ddf.f.name == "f" and ddf.f.dtype == pdf.f.dtype
    assert len(ddf) == len(pdf) and len(ddf.f) == len(pdf)


def test_partitions_concatenate_back_to_the_frame(case):
    ddf, pdf = case
    parts = [ddf.partitions[j].compute() for j in range(ddf.npartitions)]
    assert_eq(pd.concat(parts), pdf)
    for p in parts:
        pd.testing.assert_series_equal(p.dtypes, pdf.dtypes)
    assert_eq(ddf.partitions[::-1].compute().sort_index(), pdf)


def test_head_and_tail_dtypes_per_case(case):
    ddf, pdf = case
    got = ddf.head(3, npartitions=-1)
    assert_eq(got, pdf.head(3))
    assert_eq(ddf.f.head(3, npartitions=-1), pdf.f.head(3))
    assert_eq(ddf.head(0), pdf.head(0))


def test_tail_with_nonempty_last_partition(case):
    ddf, pdf = case
    # tail reads only the last partition (documented); the empty-parts layout ends with an
    # empty partition, so compare with that partition's pandas tail instead.
    last = ddf.partitions[ddf.npartitions - 1].compute()
    assert_eq(ddf.tail(4), last.tail(4))
    pd.testing.assert_series_equal(ddf.tail(4).dtypes, pdf.dtypes)


def test_repr_per_case(case):
    ddf, pdf = case
    text = repr(ddf)
    assert f"npartitions={ddf.npartitions}" in text
    for dt in ["int64", "float64", "category", "datetime64"]:
        assert dt in text
    assert "<table" in ddf._repr_html_()
    assert "category" in repr(ddf.c)


def test_meta_override_is_used_on_every_case(case):
    ddf, pdf = case
    out = ddf.map_partitions(lambda d: d.f.fillna(0).astype("float32"), meta=("f", "float32"))
    assert out.dtype == np.float32
    assert_eq(out, pdf.f.fillna(0).astype("float32"))
    meta = pdf.iloc[:0][["i", "s"]]
    out2 = ddf.map_partitions(lambda d: d[["i", "s"]], meta=meta)
    assert_eq(out2, pdf[["i", "s"]])


def test_map_partitions_meta_inference_per_case(case):
    ddf, pdf = case
    out = ddf.map_partitions(lambda d: d.assign(z=d.t.dt.day, w=d.o.str.len()))
    exp = pdf.assign(z=pdf.t.dt.day, w=pdf.o.str.len())
    pd.testing.assert_series_equal(out.dtypes, exp.dtypes)
    assert_eq(out, exp)


# --- IO ----------------------------------------------------------------------------------

def test_from_pandas_more_partitions_than_rows_and_empty_frame():
    pdf = make_pdf(3)
    ddf = gd.from_pandas(pdf, npartitions=10)
    assert ddf.npartitions <= 3
    assert_eq(ddf, pdf)
    empty = pdf.iloc[:0]
    de = gd.from_pandas(empty, npartitions=2)
    assert_eq(de, empty)
    assert len(de) == 0


def test_from_pandas_chunksize_dataframe_keeps_dtypes():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, chunksize=15)
    assert ddf.npartitions == 3
    assert ddf.known_divisions
    assert_eq(ddf, pdf)


def test_from_dict_dtypes():
    data = {"a": [1, 2, 3, 4], "s": ["x", None, "y", "z"], "f": [1.0, np.nan, 2.0, 3.0],
            "t": pd.to_datetime(["2021-01-01", None, "2021-01-03", "2021-01-04"])}
    assert_eq(gd.from_dict(data, npartitions=3), pd.DataFrame(data))


def test_from_delayed_with_empty_parts_and_to_delayed(case):
    ddf, pdf = case
    parts = ddf.to_delayed()
    assert len(parts) == ddf.npartitions
    back = gd.from_delayed(parts, meta=ddf._meta)
    assert_eq(back, pdf)
    assert not back.known_divisions


def test_to_array_per_case(case):
    ddf, pdf = case
    arr = ddf[["i", "f"]].to_array()
    np.testing.assert_array_equal(arr.compute(), pdf[["i", "f"]].to_numpy())
    np.testing.assert_array_equal(ddf.f.to_array().compute(), pdf.f.to_numpy())


def test_csv_roundtrip_with_nan_strings_and_dates(tmp_path, case):
    ddf, pdf = case
    cols = ["i", "f", "s", "t"]
    files = ddf[cols].to_csv(str(tmp_path / "p-*.csv"))
    assert len(files) == ddf.npartitions
    back = gd.read_csv(str(tmp_path / "p-*.csv"), parse_dates=["t"],
                       dtype={"s": "str"})
    exp = pd.concat([pd.read_csv(f, parse_dates=["t"], dtype={"s": "str"}) for f in files])
    assert_eq(back, exp, check_index=False)
    one = ddf[cols].to_csv(str(tmp_path / "one.csv"), single_file=True)
    pd.testing.assert_frame_equal(pd.read_csv(one[0], index_col="idx", parse_dates=["t"]),
                                  pd.read_csv(_pandas_csv(pdf[cols], tmp_path), index_col="idx",
                                              parse_dates=["t"]))


def _pandas_csv(pdf, tmp_path):
    path = tmp_path / "pandas.csv"
    pdf.to_csv(path)
    return path


def test_read_csv_usecols_with_parse_dates_and_path_column_on_glob(tmp_path):
    pdf = make_pdf()[["i", "f", "s", "t"]]
    pdf.iloc[:20].to_csv(tmp_path / "a-0.csv", index=False)
    pdf.iloc[20:].to_csv(tmp_path / "a-1.csv", index=False)
    ddf = gd.read_csv(str(tmp_path / "a-*.csv"), usecols=["i", "t"], parse_dates=["t"],
                      include_path_column="src")
    got = ddf.compute()
    exp = pd.concat([pd.read_csv(tmp_path / f"a-{k}.csv", usecols=["i", "t"],
                                 parse_dates=["t"]) for k in range(2)])
    pd.testing.assert_frame_equal(got[["i", "t"]].reset_index(drop=True),
                                  exp.reset_index(drop=True))
    assert got.src.astype(str).tolist() == ([str(tmp_path / "a-0.csv")] * 20
                                            + [str(tmp_path / "a-1.csv")] * 20)


def test_read_csv_missing_usecols_raises_like_pandas_before_compute(tmp_path):
    make_pdf()[["i", "f"]].to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(Exception) as expected:
        pd.read_csv(tmp_path / "x.csv", usecols=["i", "nope"])
    with pytest.raises(type(expected.value), match="nope"):
        gd.read_csv(str(tmp_path / "x.csv"), usecols=["i", "nope"])


def test_parquet_roundtrip_per_case(tmp_path, case):
    ddf, pdf = case
    ddf.to_parquet(str(tmp_path / "pq"))
    back = gd.read_parquet(str(tmp_path / "pq"))
    exp = pd.read_parquet(tmp_path / "pq")
    assert_eq(back, exp)
    assert_eq(back.i, pdf.i)
    assert_eq(back.t, pdf.t)
    sel = gd.read_parquet(str(tmp_path / "pq"), columns=["f", "t"])
    assert_eq(sel, pdf[["f", "t"]])


def test_parquet_filters_on_datetime_and_divisions_from_statistics(tmp_path):
    pdf = make_pdf()
    gd.from_pandas(pdf, npartitions=4).to_parquet(str(tmp_path / "pq"))
    back = gd.read_parquet(str(tmp_path / "pq"), filters=[("t", "<", pd.Timestamp("2021-01-01 10:00"))])
    got = back.compute()
    exp = pdf[pdf.t < pd.Timestamp("2021-01-01 10:00")]
    # row-group filtering keeps whole row groups; filter rows as pandas would
    assert_eq(got[got.t < pd.Timestamp("2021-01-01 10:00")][["i", "f", "t"]], exp[["i", "f", "t"]])
    assert back.known_divisions


# --- row-wise ----------------------------------------------------------------------------

def test_frame_alignment_with_different_columns(case):
    ddf, pdf = case
    a, b = ddf[["i", "f"]], ddf[["f", "i"]].rename(columns={"i": "z"})
    pa, pb = pdf[["i", "f"]], pdf[["f", "i"]].rename(columns={"i": "z"})
    assert_eq(a + b, pa + pb)
    assert_eq(a.f > ddf.i, pa.f > pdf.i)


def test_frame_and_series_comparison_with_strings_and_datetimes(case):
    ddf, pdf = case
    assert_eq(ddf.s == "a", pdf.s == "a")
    assert_eq(ddf.o > "x2", pdf.o > "x2")
    assert_eq(ddf.t > pd.Timestamp("2021-01-02"), pdf.t > pd.Timestamp("2021-01-02"))
    assert_eq(ddf.t - ddf.t.min(), pdf.t - pdf.t.min())
    assert_eq(ddf.t + pd.Timedelta("1D"), pdf.t + pd.Timedelta("1D"))
    assert_eq(ddf.c == "lo", pdf.c == "lo")
    assert_eq(ddf.s + "!", pdf.s + "!")


def test_setitem_with_boolean_and_replace_existing_column(case):
    ddf, pdf = case
    ddf, pdf = ddf.copy(), pdf.copy()
    ddf["f"] = ddf.f.fillna(-1)
    pdf["f"] = pdf.f.fillna(-1)
    ddf["b"] = ddf.i > 4
    pdf["b"] = pdf.i > 4
    ddf["when"] = ddf.t.dt.date
    pdf["when"] = pdf.t.dt.date
    assert_eq(ddf, pdf)


def test_where_mask_on_frames(case):
    ddf, pdf = case
    num, pnum = ddf[["i", "f"]], pdf[["i", "f"]]
    assert_eq(num.where(num > 0), pnum.where(pnum > 0))
    assert_eq(num.mask(num > 0, -1), pnum.mask(pnum > 0, -1))
    assert_eq(ddf.s.where(ddf.i > 4, "z"), pdf.s.where(pdf.i > 4, "z"))
    assert_eq(ddf.t.where(ddf.i > 4), pdf.t.where(pdf.i > 4))


def test_fillna_dropna_isin_on_object_categorical_datetime(case):
    ddf, pdf = case
    tn = ddf.t.where(ddf.i > 2)
    ptn = pdf.t.where(pdf.i > 2)
    assert_eq(tn.fillna(pd.Timestamp("2000-01-01")), ptn.fillna(pd.Timestamp("2000-01-01")))
    assert_eq(ddf.c.fillna("lo"), pdf.c.fillna("lo"))
    assert_eq(ddf.s.fillna("?"), pdf.s.fillna("?"))
    assert_eq(ddf.dropna(how="all"), pdf.dropna(how="all"))
    assert_eq(ddf[["f", "s"]].dropna(thresh=2), pdf[["f", "s"]].dropna(thresh=2))
    assert_eq(ddf.s.isin(["a", "c"]), pdf.s.isin(["a", "c"]))
    assert_eq(ddf.c.isin(["hi"]), pdf.c.isin(["hi"]))
    assert_eq(ddf[["i", "o"]].isin([1, "x1"]), pdf[["i", "o"]].isin([1, "x1"]))
    assert_eq(ddf.s.isna(), pdf.s.isna())
    assert_eq(ddf.f.dropna(), pdf.f.dropna())


def test_astype_variants(case):
    ddf, pdf = case
    assert_eq(ddf.i.astype(str), pdf.i.astype(str))
    assert_eq(ddf.s.astype("category"), pdf.s.astype("category"))
    assert_eq(ddf.c.astype(str), pdf.c.astype(str))
    assert_eq(ddf.t.astype("int64"), pdf.t.astype("int64"))
    dt = pd.CategoricalDtype(["x0", "x1", "x2", "x3", "x4"])
    known = ddf.o.astype(dt)
    assert known.cat.known
    assert_eq(known, pdf.o.astype(dt))
    assert_eq(ddf.astype("object"), pdf.astype("object"))


def test_rename_drop_variants(case):
    ddf, pdf = case
    assert_eq(ddf.f.rename("g"), pdf.f.rename("g"))
    assert_eq(ddf.rename(columns=str.upper), pdf.rename(columns=str.upper))
    assert_eq(ddf.drop("s", axis=1), pdf.drop("s", axis=1))
    assert_eq(ddf.drop(columns="c"), pdf.drop(columns="c"))
    assert_eq(ddf.add_prefix("p_"), pdf.add_prefix("p_"))


def test_apply_axis1_and_map_on_non_numeric(case):
    ddf, pdf = case
    f = lambda r: f"{r.o}-{r.c}"  # noqa: E731
    assert_eq(ddf.apply(f, axis=1, meta=(None, "object")), pdf.apply(f, axis=1))
    assert_eq(ddf.o.map({"x1": 1.5}), pdf.o.map({"x1": 1.5}))
    assert_eq(ddf.s.map(lambda v: v * 2, na_action="ignore", meta=("s", "str")),
              pdf.s.map(lambda v: v * 2, na_action="ignore"))
    assert_eq(ddf.c.map({"lo": "L", "hi": "H"}), pdf.c.map({"lo": "L", "hi": "H"}))
    assert_eq(ddf.i.apply(lambda v: v % 3, meta=("i", "int64")), pdf.i.apply(lambda v: v % 3))


def test_query_eval_with_strings_and_locals(case):
    ddf, pdf = case
    lim = 3
    assert_eq(ddf.query("o == 'x1' or i > @lim", local_dict={"lim": lim}),
              pdf.query("o == 'x1' or i > @lim", local_dict={"lim": lim}))
    assert_eq(ddf.eval("g = i * 2"), pdf.eval("g = i * 2"))


def test_str_and_dt_accessors_more(case):
    ddf, pdf = case
    assert_eq(ddf.s.str.startswith("b"), pdf.s.str.startswith("b"))
    assert_eq(ddf.o.str.replace("x", "y"), pdf.o.str.replace("x", "y"))
    assert_eq(ddf.s.str.strip(), pdf.s.str.strip())
    assert_eq(ddf.t.dt.strftime("%Y-%m-%d"), pdf.t.dt.strftime("%Y-%m-%d"))
    assert_eq(ddf.t.dt.day_of_week, pdf.t.dt.day_of_week)
    assert_eq(ddf.t.dt.tz_localize("UTC"), pdf.t.dt.tz_localize("UTC"))
    assert_eq(ddf.c.cat.add_categories(["mid"]), pdf.c.cat.add_categories(["mid"]))
    assert_eq(ddf.c.cat.rename_categories({"lo": "L", "hi": "H"}),
              pdf.c.cat.rename_categories({"lo": "L", "hi": "H"}))


def test_clip_round_abs_on_frames(case):
    ddf, pdf = case
    num, pnum = ddf[["i", "f"]], pdf[["i", "f"]]
    assert_eq(num.clip(lower=1, upper=5), pnum.clip(lower=1, upper=5))
    assert_eq(num.round(1), pnum.round(1))
    assert_eq((num - 4).abs(), (pnum - 4).abs())
    assert_eq(ddf.t.clip(upper=pd.Timestamp("2021-01-01 12:00")),
              pdf.t.clip(upper=pd.Timestamp("2021-01-01 12:00")))


def test_loc_with_unknown_and_empty_partitions(case):
    ddf, pdf = case
    assert_eq(ddf.loc[10:30], pdf.loc[10:30])
    assert_eq(ddf.loc[:, ["s", "t"]], pdf.loc[:, ["s", "t"]])
    assert_eq(ddf.loc[ddf.s == "a", "f"], pdf.loc[pdf.s == "a", "f"])
    assert_eq(ddf.f.loc[12:20], pdf.f.loc[12:20])


# --- reductions --------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["prod", "any", "all", "nunique"])
def test_dataframe_reductions_more(case, how):
    ddf, pdf = case
    cols = ["i", "f"]
    assert_eq(getattr(ddf[cols], how)(), getattr(pdf[cols], how)())


def test_reductions_skipna_and_datetime(case):
    ddf, pdf = case
    assert_eq(ddf.f.sum(skipna=False), pdf.f.sum(skipna=False))
    assert_eq(ddf.f.max(skipna=False), pdf.f.max(skipna=False))
    assert_eq(ddf.t.mean(), pdf.t.mean())
    tn, ptn = ddf.t.where(ddf.i > 2), pdf.t.where(pdf.i > 2)  # with NaT
    assert_eq(tn.mean(), ptn.mean())
    got, exp = tn.mean(skipna=False).compute(), ptn.mean(skipna=False)
    assert got is exp  # both pd.NaT (assert_eq compares with ==, and NaT != NaT)
    assert_eq((ddf.t - ddf.t.min()).mean(), (pdf.t - pdf.t.min()).mean())
    assert_eq(ddf.s.min(), pdf.s.min())
    assert_eq(ddf.s.count(), pdf.s.count())
    assert_eq((ddf.i > 4).sum(), (pdf.i > 4).sum())
    assert_eq(ddf.f.isna().any(), pdf.f.isna().any())


def test_value_counts_on_datetime_and_unknown_categoricals(case):
    ddf, pdf = case
    assert_eq(ddf.t.dt.date.value_counts(), pdf.t.dt.date.value_counts())
    assert_eq(ddf.o.astype("category").value_counts().compute().sort_index(),
              pdf.o.astype("category").value_counts().sort_index(), check_categorical=False)
    assert_eq(ddf.f.value_counts(dropna=False, sort=False).compute().sort_index(),
              pdf.f.value_counts(dropna=False, sort=False).sort_index())


def test_idxmin_idxmax_on_datetime_and_skipna(case):
    ddf, pdf = case
    assert_eq(ddf.t.idxmax(), pdf.t.idxmax())
    assert_eq(ddf[["i", "f", "t"]].idxmin(), pdf[["i", "f", "t"]].idxmin())


def test_memory_usage_with_index(case):
    ddf, pdf = case
    num, pnum = ddf[["i", "f"]], pdf[["i", "f"]]
    # each partition carries its own index: the sum over partitions equals pandas' figure
    got = num.memory_usage(index=True).compute()
    exp = pnum.memory_usage(index=True)
    pd.testing.assert_index_equal(got.index, exp.index)
    pd.testing.assert_series_equal(got.drop("Index"), exp.drop("Index"))


def test_mode_of_frame_columns_and_datetime(case):
    ddf, pdf = case
    assert_eq(ddf.s.mode(), pdf.s.mode())
    assert_eq(ddf.c.mode(), pdf.c.mode())
    assert_eq(ddf.f.round(0).mode(dropna=False), pdf.f.round(0).mode(dropna=False))


def test_quantile_and_describe_on_datetime_and_empty_result(case):
    ddf, pdf = case
    assert_eq(ddf.i.quantile(0.5), pdf.i.quantile(0.5))
    sub, psub = ddf[ddf.i > 100], pdf[pdf.i > 100]
    assert_eq(sub.f.sum(), psub.f.sum())
    assert_eq(sub.f.count(), psub.f.count())
    assert_eq(sub[["i", "f"]].max(), psub[["i", "f"]].max())


@pytest.mark.parametrize("op", ["cumsum", "cummax", "cummin"])
def test_cumulative_on_datetime_and_bool(case, op):
    ddf, pdf = case
    assert_eq(getattr(ddf.i > 4, op)(), getattr(pdf.i > 4, op)())
    if op != "cumsum":
        assert_eq(getattr(ddf.t, op)(), getattr(pdf.t, op)())


# --- groupby -----------------------------------------------------------------------------

@pytest.mark.parametrize("func", ["sum", "mean", "min", "max", "count", "first", "last", "size"])
def test_groupby_datetime_key_and_values(case, func):
    ddf, pdf = case
    dk, pk = ddf.t.dt.floor("6h"), pdf.t.dt.floor("6h")
    assert_eq(getattr(ddf.groupby(dk).f, func)(), getattr(pdf.groupby(pk).f, func)())
    if func in ("min", "max", "first", "last", "count"):
        assert_eq(getattr(ddf.groupby("i").t, func)(), getattr(pdf.groupby("i").t, func)())


def test_groupby_categorical_values_and_dropna_on_multiple_keys(case):
    ddf, pdf = case
    assert_eq(ddf.groupby("i").c.first(), pdf.groupby("i").c.first())
    assert_eq(ddf.groupby(["s", "i"], dropna=False).f.sum(),
              pdf.groupby(["s", "i"], dropna=False).f.sum())
    assert_eq(ddf.groupby(["s", "i"]).f.mean(), pdf.groupby(["s", "i"]).f.mean())
    assert_eq(ddf.groupby(["c", "o"], observed=True).i.sum(),
              pdf.groupby(["c", "o"], observed=True).i.sum())


def test_groupby_split_out_per_case(case):
    ddf, pdf = case
    out = ddf.groupby("o").agg({"i": "sum", "f": "mean"}, split_out=2)
    assert out.npartitions == 2
    # split_out hashes keys into partitions, so the row order is undefined: sort
    assert_eq(out.compute().sort_index(), pdf.groupby("o").agg({"i": "sum", "f": "mean"}))


def test_groupby_split_every_per_case(case):
    ddf, pdf = case
    assert_eq(ddf.groupby("s").f.std(split_every=2), pdf.groupby("s").f.std())
    assert_eq(ddf.groupby("o").i.nunique(split_every=2), pdf.groupby("o").i.nunique())


def test_groupby_level_per_case(case):
    ddf, pdf = case
    assert_eq(ddf.groupby(level=0).f.sum(), pdf.groupby(level=0).f.sum())
    assert_eq(ddf.f.groupby(level="idx").count(), pdf.f.groupby(level="idx").count())


def test_groupby_series_by_series(case):
    ddf, pdf = case
    assert_eq(ddf.f.groupby(ddf.o).max(), pdf.f.groupby(pdf.o).max())
    assert_eq(ddf.f.groupby([ddf.o, ddf.c], observed=True).sum(),
              pdf.f.groupby([pdf.o, pdf.c], observed=True).sum())


def test_groupby_transform_and_apply_keep_dtypes(case):
    ddf, pdf = case
    # transform/apply shuffle rows between partitions: the row order is undefined, sort
    got = ddf.groupby("s").f.transform("sum").compute().sort_index()
    assert_eq(got, pdf.groupby("s").f.transform("sum"))
    got = ddf.groupby("c", observed=True).t.transform("min").compute().sort_index()
    assert_eq(got, pdf.groupby("c", observed=True).t.transform("min"))
    res = ddf.groupby("i").apply(lambda g: g.f.max(), meta=(None, "float64")).compute()
    assert_eq(res.sort_index(), pdf.groupby("i").apply(lambda g: g.f.max()))


def test_groupby_named_agg_on_non_numeric(case):
    ddf, pdf = case
    spec = dict(first_t=("t", "first"), last_s=("s", "last"), n=("o", "nunique"),
                mx=("t", "max"))
    assert_eq(ddf.groupby("i").agg(**spec), pdf.groupby("i").agg(**spec))
    assert_eq(ddf.groupby("i").agg({"t": ["min", "max"], "f": "sum"}),
              pdf.groupby("i").agg({"t": ["min", "max"], "f": "sum"}))


# --- shuffle, sort, set_index, merge, concat, repartition -------------------------------

@pytest.mark.parametrize("col", ["f", "s", "t", "c"])
def test_sort_values_with_nans_and_non_numeric(case, col):
    ddf, pdf = case
    assert_eq(ddf.sort_values(col), pdf.sort_values(col, kind="stable"))
    assert_eq(ddf.sort_values(col, ascending=False),
              pdf.sort_values(col, ascending=False, kind="stable"))


def test_sort_values_na_position_first(case):
    ddf, pdf = case
    assert_eq(ddf.sort_values("f", na_position="first"),
              pdf.sort_values("f", na_position="first", kind="stable"))


def test_set_index_on_object_and_categorical_columns(case):
    ddf, pdf = case
    assert_eq(ddf.set_index("o"), pdf.set_index("o").sort_index(kind="stable"))
    out = ddf.set_index("i", drop=False)
    assert_eq(out, pdf.set_index("i", drop=False).sort_index(kind="stable"))


def test_shuffle_keeps_dtypes_per_case(case):
    ddf, pdf = case
    out = ddf.shuffle("c", npartitions=2)
    pd.testing.assert_series_equal(out.dtypes, pdf.dtypes)
    # hash partitioning reorders rows: sort by the (unique) index
    assert_eq(out.compute().sort_index(), pdf)
    assert_eq(ddf.shuffle("t").compute().sort_index(), pdf)


def _norm(df):
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_merge_per_case_with_string_keys_and_suffixes(case, how):
    ddf, pdf = case
    right = pd.DataFrame({"o": ["x0", "x1", "x3", "zz"], "f": [1.0, np.nan, 3.0, 4.0],
                          "w": pd.Categorical(["p", "q", "p", "q"])})
    dr = gd.from_pandas(right, npartitions=2)
    cols = ["i", "f", "o", "t"]
    # a hash join has no defined row order (pandas' is), so rows are normalised
    out = ddf[cols].merge(dr, on="o", how=how, suffixes=("_l", "_r"))
    exp = pdf[cols].merge(right, on="o", how=how, suffixes=("_l", "_r"))
    if how in ("inner", "left"):
        # right/outer joins turn "i" into float64 in pandas only when some row is unmatched,
        # which the metadata cannot know (see the report); the computed frame must match.
        pd.testing.assert_series_equal(out.dtypes, exp.dtypes)
    assert_eq(_norm(out.compute()), _norm(exp))
    out = ddf[cols].merge(dr, on="o", how=how, broadcast=False)
    exp = pdf[cols].merge(right, on="o", how=how)
    assert_eq(_norm(out.compute()), _norm(exp))


@pytest.mark.parametrize("how", ["inner", "left", "outer"])
def test_merge_index_with_column(case, how):
    ddf, pdf = case
    right = pd.DataFrame({"i": np.arange(10), "v": np.arange(10) * 1.5}).set_index("i")
    dr = gd.from_pandas(right, npartitions=3)
    exp = pdf[["i", "f"]].merge(right, left_on="i", right_index=True, how=how)
    for broadcast in [None, False]:  # False forces the hash join (column vs index hash)
        out = ddf[["i", "f"]].merge(dr, left_on="i", right_index=True, how=how,
                                    broadcast=broadcast)
        pd.testing.assert_series_equal(out.dtypes, exp.dtypes)
        got = out.compute()
        if how != "outer":  # outer: pandas' NaN-filled float index is not reproduced
            assert got.index.name == exp.index.name
        assert_eq(_norm(got), _norm(exp))
    rev = dr.merge(ddf[["i", "f"]], left_index=True, right_on="i", how=how, broadcast=False)
    assert_eq(_norm(rev.compute()),
              _norm(right.merge(pdf[["i", "f"]], left_index=True, right_on="i", how=how)))


def test_join_with_suffixes_per_case(case):
    ddf, pdf = case
    other = pdf[["f", "i"]].iloc[::2] * 2
    do = gd.from_pandas(other, npartitions=2)
    if not ddf.known_divisions:
        do = do.clear_divisions()
    exp = pdf[["i", "f"]].join(other, suffixes=("_a", "_b"))
    # joins on unknown divisions hash the index: sort by it
    for out in (ddf[["i", "f"]].join(do, suffixes=("_a", "_b")),
                ddf[["i", "f"]].join(do, lsuffix="_a", rsuffix="_b")):  # Dask's spelling
        assert_eq(out.compute().sort_index(), exp)
    with pytest.raises(ValueError, match="both 'suffixes' and 'lsuffix'"):
        ddf.join(do, lsuffix="_a", suffixes=("_a", "_b"))


def test_concat_with_mixed_dtypes_and_empty_parts(case):
    ddf, pdf = case
    a = ddf[["i", "c"]]
    b = ddf[["f", "c", "t"]]
    exp = pd.concat([pdf[["i", "c"]], pdf[["f", "c", "t"]]])
    out = gd.concat([a, b])
    pd.testing.assert_series_equal(out.dtypes, exp.dtypes)
    assert_eq(out, exp)
    assert_eq(gd.concat([ddf.s, ddf.o]), pd.concat([pdf.s, pdf.o]))


def test_concat_axis1_unknown_divisions_same_partitions(case):
    ddf, pdf = case
    assert_eq(gd.concat([ddf[["i"]], ddf[["s", "t"]]], axis=1),
              pd.concat([pdf[["i"]], pdf[["s", "t"]]], axis=1))


def test_drop_duplicates_on_categorical_and_datetime(case):
    ddf, pdf = case
    assert_eq(ddf[["c", "s"]].drop_duplicates(), pdf[["c", "s"]].drop_duplicates())
    assert_eq(ddf.t.dt.floor("D").drop_duplicates(), pdf.t.dt.floor("D").drop_duplicates())


def test_repartition_keeps_dtypes_and_divisions(case):
    ddf, pdf = case
    for out in [ddf.repartition(npartitions=1), ddf.repartition(npartitions=3),
                ddf.repartition(partition_size="500B")]:
        pd.testing.assert_series_equal(out.dtypes, pdf.dtypes)
        assert_eq(out, pdf)
        for j in range(out.npartitions):
            pd.testing.assert_series_equal(out.partitions[j].compute().dtypes, pdf.dtypes)


def test_repartition_divisions_with_empty_ranges():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=2)
    divs = [0, 1, 2, 3, 78]
    out = ddf.repartition(divisions=divs)
    assert_eq(out, pdf)
    for j in range(4):  # [lo, hi) for all but the last, closed, interval
        hi = pdf.index < divs[j + 1] if j < 3 else pdf.index <= divs[j + 1]
        assert_eq(out.partitions[j], pdf[(pdf.index >= divs[j]) & hi])


# --- windows -----------------------------------------------------------------------------

@pytest.mark.parametrize("window", [2, 5])
def test_rolling_apply_per_case(case, window):
    ddf, pdf = case
    f = lambda a: np.nansum(a) * 2  # noqa: E731
    assert_eq(ddf.f.rolling(window).apply(f, raw=True), pdf.f.rolling(window).apply(f, raw=True))
    assert_eq(ddf[["i", "f"]].rolling(window, min_periods=1).apply(f, raw=True),
              pdf[["i", "f"]].rolling(window, min_periods=1).apply(f, raw=True))


def test_rolling_window_longer_than_the_data(case):
    ddf, pdf = case
    assert_eq(ddf.i.rolling(50, min_periods=1).sum(), pdf.i.rolling(50, min_periods=1).sum())
    assert_eq(ddf.f.rolling(50).mean(), pdf.f.rolling(50).mean())


@pytest.mark.parametrize("method", ["sum", "mean", "min", "max", "std", "count"])
def test_time_rolling_with_unknown_divisions_and_single_partition(method):
    pdf = make_pdf().set_index("t")[["i", "f"]]
    for ddf in [gd.from_pandas(pdf, npartitions=1),
                gd.from_pandas(pdf, npartitions=4).clear_divisions()]:
        assert_eq(getattr(ddf.rolling("3h"), method)(), getattr(pdf.rolling("3h"), method)())


def test_shift_and_diff_of_non_numeric(case):
    ddf, pdf = case
    assert_eq(ddf.s.shift(2), pdf.s.shift(2))
    assert_eq(ddf.c.shift(-1), pdf.c.shift(-1))
    assert_eq(ddf.t.diff(), pdf.t.diff())
    assert_eq(ddf.t.shift(3), pdf.t.shift(3))


# --- errors: missing columns -------------------------------------------------------------

def test_missing_column_key_errors_name_it(boom):
    checks = [
        lambda: boom[["nope"]],
        lambda: boom.loc[:, ["i", "nope"]],
        lambda: boom.groupby(["i", "nope"]),
        lambda: boom.groupby("i")["nope"],
        lambda: boom.groupby("i")[["f", "nope"]],
        lambda: boom.groupby("i").agg(x=("nope", "sum")),
        lambda: boom.set_index("nope"),
        lambda: boom.sort_values("nope"),
        lambda: boom.sort_values(["i", "nope"]),
        lambda: boom.drop(columns="nope"),
        lambda: boom.drop("nope", axis=1),
        lambda: boom.dropna(subset=["nope"]),
        lambda: boom.drop_duplicates(subset=["nope"]),
        lambda: boom.shuffle(["i", "nope"]),
        lambda: boom.astype({"nope": "int64"}),
        lambda: boom.merge(boom, on="nope"),
        lambda: boom.merge(boom, left_on="nope", right_on="i"),
        lambda: boom.merge(boom, left_on="i", right_on="nope"),
    ]
    for make in checks:
        with pytest.raises(KeyError, match="nope"):
            make()


def test_missing_column_in_query_raises_before_compute(boom):
    # pandas raises UndefinedVariableError (a NameError) naming the column
    with pytest.raises(NameError, match="nope"):
        make_pdf().query("nope > 1")
    with pytest.raises(NameError, match="nope"):
        boom.query("nope > 1")


# --- errors: meta mismatch and impossible joins before compute ---------------------------

def test_meta_mismatch_raises_before_compute(boom):
    pdf = make_pdf()
    bad = [
        lambda d: d.s - 1,           # str minus int
        lambda d: d.i + d.t,         # int plus datetime
        lambda d: d.c + 1,           # arithmetic on a categorical
        lambda d: d.t * 2,           # datetime times int
        lambda d: d.o.dt.hour,       # .dt on an object column
        lambda d: d.i.cat.codes,     # .cat on an int column
    ]
    for op in bad:
        with pytest.raises((TypeError, AttributeError)) as expected:
            op(pdf)
        with pytest.raises(type(expected.value)):
            op(boom)


def test_merge_incompatible_key_dtypes_raises_before_compute(boom):
    pdf = make_pdf()
    other = pd.DataFrame({"k": pd.date_range("2021", periods=3), "v": [1, 2, 3]})
    with pytest.raises(ValueError) as expected:
        pdf.merge(other, left_on="i", right_on="k")
    with pytest.raises(ValueError, match="int64 and datetime64"):
        boom.merge(gd.from_pandas(other, npartitions=1), left_on="i", right_on="k")
    assert "int64 and datetime64" in str(expected.value)


def test_impossible_join_specifications_raise_before_compute(boom):
    pdf = make_pdf()
    other = pd.DataFrame({"k": [1, 2], "i": [1, 2]})
    do = gd.from_pandas(other, npartitions=1)
    specs = [
        dict(on="k"),                              # "k" only on the right
        dict(left_on=["i", "f"], right_on=["i"]),  # lengths differ
        dict(left_on="i"),                         # right_on missing
        dict(on="i", left_on="i", right_on="i"),   # both on= and left_on=
    ]
    for kw in specs:
        with pytest.raises((KeyError, ValueError)) as expected:
            pdf.merge(other, **kw)
        with pytest.raises(type(expected.value)):
            boom.merge(do, **kw)


def test_map_partitions_meta_mismatch_raises_at_compute_with_clear_message():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    out = ddf.map_partitions(lambda d: d.f, meta=("f", "int64"), enforce_metadata=True)
    with pytest.raises(ValueError, match="int64|float64"):
        out.compute(scheduler="sync")


def test_from_delayed_meta_mismatch_dtypes():
    pdf = make_pdf()
    parts = [graphengine.delayed(pdf.astype({"i": "float64"}), pure=True)]
    out = gd.from_delayed(parts, meta=pdf.iloc[:0])
    with pytest.raises(ValueError, match="'i'"):
        out.compute(scheduler="sync")


def test_empty_parts_frame_helper_is_consistent():
    pdf = make_pdf()
    ddf = frame_from_parts([pdf.iloc[:0], pdf, pdf.iloc[:0]])
    assert ddf.npartitions == 3
    assert_eq(ddf, pdf)
