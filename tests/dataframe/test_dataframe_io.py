"""read_csv/to_csv and read_parquet/to_parquet round trips against pandas."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import graphengine.dataframe as gd

from conftest import assert_eq, make_pdf

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def csv_frame():
    rng = np.random.default_rng(5)
    n = 300
    return pd.DataFrame({
        "a": np.arange(n),
        "b": rng.normal(size=n).round(3),
        "s": pd.Series(rng.choice(["x", "yy", "zzz"], n), dtype="str"),
        "t": pd.date_range("2022-01-01", periods=n, freq="min"),
    })


def test_read_csv_blocks_split_on_line_boundaries(tmp_path, csv_frame):
    p = tmp_path / "data.csv"
    csv_frame.to_csv(p, index=False)
    ddf = gd.read_csv(str(p), blocksize=1000, parse_dates=["t"])
    assert ddf.npartitions == -(-os.path.getsize(p) // 1000)
    assert_eq(ddf, csv_frame, check_index=False)
    assert_eq(gd.read_csv(str(p), blocksize=None, parse_dates=["t"]), csv_frame)


def test_read_csv_glob_list_usecols_dtype_and_path_column(tmp_path, csv_frame):
    for i in range(3):
        csv_frame.iloc[i * 100:(i + 1) * 100].to_csv(tmp_path / f"part-{i}.csv", index=False)
    ddf = gd.read_csv(str(tmp_path / "part-*.csv"), blocksize="2kB", usecols=["a", "s"],
                      dtype={"a": "float64"})
    exp = csv_frame[["a", "s"]].astype({"a": "float64"})
    assert_eq(ddf, exp, check_index=False)
    listed = gd.read_csv([str(tmp_path / "part-0.csv"), str(tmp_path / "part-2.csv")],
                         include_path_column=True)
    got = listed.compute()
    assert got.path.value_counts().to_dict() == {str(tmp_path / "part-0.csv"): 100,
                                                 str(tmp_path / "part-2.csv"): 100}
    assert isinstance(got.path.dtype, pd.CategoricalDtype)


def test_read_csv_category_dtype_has_unknown_categories(tmp_path, csv_frame):
    csv_frame.to_csv(tmp_path / "c.csv", index=False)
    ddf = gd.read_csv(str(tmp_path / "c.csv"), blocksize=2000, dtype={"s": "category"})
    assert not ddf.s.cat.known
    got = ddf.compute()
    assert sorted(got.s.cat.categories) == ["x", "yy", "zzz"]
    assert got.s.astype(str).tolist() == csv_frame.s.tolist()


def test_read_csv_dtype_mismatch_in_later_block_explains(tmp_path):
    pdf = pd.DataFrame({"k": range(205), "a": ["1"] * 200 + [""] * 5})
    pdf.to_csv(tmp_path / "m.csv", index=False)
    ddf = gd.read_csv(str(tmp_path / "m.csv"), blocksize=100, sample=200)
    with pytest.raises(ValueError, match="dtype="):
        ddf.compute(scheduler="sync")


def test_read_csv_missing_files_raise():
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        gd.read_csv("/nonexistent/nothing-here-*.csv")


def test_to_csv_one_file_per_partition_and_single_file(tmp_path, csv_frame):
    ddf = gd.from_pandas(csv_frame, npartitions=3)
    files = ddf.to_csv(str(tmp_path / "out-*.csv"), index=False)
    assert len(files) == 3 and all(os.path.exists(f) for f in files)
    back = gd.read_csv(str(tmp_path / "out-*.csv"), parse_dates=["t"])
    assert_eq(back, csv_frame, check_index=False)
    single = ddf.to_csv(str(tmp_path / "all.csv"), single_file=True, index=False)
    assert single == [str(tmp_path / "all.csv")]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "all.csv", parse_dates=["t"]),
                                  csv_frame)
    named = ddf.to_csv(str(tmp_path / "dir"), name_function=lambda i: f"p{i}", index=False)
    assert sorted(os.path.basename(f) for f in named) == ["p0.part", "p1.part", "p2.part"]


def test_parquet_roundtrip_keeps_index_dtypes_and_divisions(tmp_path):
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    ddf.to_parquet(str(tmp_path / "pq"))
    back = gd.read_parquet(str(tmp_path / "pq"))
    assert back.divisions == ddf.divisions
    assert back.npartitions == 4
    assert not back.c.cat.known  # dictionary columns: categories are per row group
    exp = pd.read_parquet(tmp_path / "pq")  # pandas reads object strings back as "str"
    assert_eq(back, exp)
    assert_eq(back.loc[10:30], exp.loc[10:30])
    assert_eq(back.i, pdf.i)


def test_parquet_column_selection_and_filters_prune_row_groups(tmp_path):
    pdf = pd.DataFrame({"a": np.arange(1000), "b": np.arange(1000) * 2.0})
    gd.from_pandas(pdf, npartitions=10).to_parquet(str(tmp_path / "pq"))
    sel = gd.read_parquet(str(tmp_path / "pq"), columns=["b"])
    assert list(sel.columns) == ["b"]
    assert_eq(sel, pdf[["b"]])
    flt = gd.read_parquet(str(tmp_path / "pq"), filters=[("a", ">=", 720)])
    assert flt.npartitions == 3  # row groups with a < 700 are skipped by their statistics
    assert_eq(flt, pdf[pdf.a >= 720])
    with pytest.raises(KeyError, match="nope"):
        gd.read_parquet(str(tmp_path / "pq"), columns=["nope"])


def test_parquet_unsorted_statistics_give_unknown_divisions(tmp_path):
    pdf = pd.DataFrame({"a": [5, 1, 9, 2]}, index=[3, 2, 1, 0])
    gd.from_pandas(pdf, npartitions=2, sort=False).to_parquet(str(tmp_path / "pq"))
    back = gd.read_parquet(str(tmp_path / "pq"))
    assert not back.known_divisions
    assert_eq(back, pdf)


def test_partitioned_parquet_dataset(tmp_path):
    pdf = make_pdf()[["i", "f", "o"]]
    gd.from_pandas(pdf, npartitions=3).to_parquet(str(tmp_path / "ds"), partition_on=["o"])
    assert sorted(os.listdir(tmp_path / "ds")) == [f"o=x{k}" for k in range(5)]
    back = gd.read_parquet(str(tmp_path / "ds"))
    got = back.compute().sort_index()
    assert isinstance(got.o.dtype, pd.CategoricalDtype)
    exp = pdf.astype({"o": "category"})
    pd.testing.assert_frame_equal(got[["i", "f"]], exp[["i", "f"]])
    assert got.o.astype(str).tolist() == pdf.o.tolist()
    only = gd.read_parquet(str(tmp_path / "ds"), filters=[("o", "in", ["x1", "x3"])])
    assert set(only.compute().o.astype(str)) == {"x1", "x3"}


def test_from_array_and_to_array_roundtrip():
    import graphengine.array as ga

    data = np.arange(24.0).reshape(8, 3)
    x = ga.from_array(data, chunks=(3, 2))
    ddf = gd.from_array(x, columns=["a", "b", "c"])
    assert ddf.divisions == (0, 3, 6, 7)
    assert_eq(ddf, pd.DataFrame(data, columns=["a", "b", "c"]))
    back = ddf[ddf.a > 5].to_array()
    np.testing.assert_array_equal(back.compute(), data[data[:, 0] > 5])
    s = gd.from_array(ga.from_array(np.arange(7), chunks=3), columns="v")
    assert_eq(s, pd.Series(np.arange(7), name="v"))
    np.testing.assert_array_equal(s.to_array().compute(), np.arange(7))
    with pytest.raises(ValueError, match="column names"):
        gd.from_array(x, columns=["a"])


def test_to_records_and_to_delayed():
    pdf = make_pdf()[["i", "f"]]
    ddf = gd.from_pandas(pdf, npartitions=3)
    recs = ddf.to_records().compute()
    exp = pdf.to_records()
    assert recs.dtype == exp.dtype
    for field in exp.dtype.names:  # field by field: NaN == NaN there
        np.testing.assert_array_equal(recs[field], exp[field])
    parts = [d.compute() for d in ddf.to_delayed()]
    pd.testing.assert_frame_equal(pd.concat(parts), pdf)
