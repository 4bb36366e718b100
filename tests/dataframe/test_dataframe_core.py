"""Objects, metadata, from_pandas/from_dict/from_delayed, partitions, head/tail, len, repr,
map_partitions, compute and persist."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphengine
import graphengine.dataframe as gd
from graphengine.collections.dataframe.layers import PartitionwiseLayer
from graphengine.graph.layers import HighLevelGraph

from conftest import assert_eq, frame_from_parts, make_pdf

pytestmark = pytest.mark.timeout(60)


def test_from_pandas_roundtrips_with_known_divisions():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    assert ddf.npartitions == 4
    assert ddf.known_divisions
    assert ddf.divisions[0] == pdf.index[0] and ddf.divisions[-1] == pdf.index[-1]
    assert_eq(ddf, pdf)
    assert list(ddf.columns) == list(pdf.columns)
    pd.testing.assert_series_equal(ddf.dtypes, pdf.dtypes)


def test_from_pandas_chunksize_and_series():
    s = pd.Series(np.arange(10.0), name="x")
    ds = gd.from_pandas(s, chunksize=3)
    assert ds.npartitions == 4
    assert isinstance(ds, gd.Series) and ds.name == "x"
    assert_eq(ds, s)


def test_from_pandas_sorts_unsorted_index_and_keeps_duplicates_in_one_partition():
    pdf = pd.DataFrame({"a": range(8)}, index=[3, 1, 1, 1, 1, 2, 0, 5])
    ddf = gd.from_pandas(pdf, npartitions=4)
    assert list(ddf.divisions) == sorted(ddf.divisions)
    assert len(set(ddf.divisions)) == len(ddf.divisions)
    assert_eq(ddf, pdf.sort_index(kind="stable"))


def test_from_pandas_without_sort_has_unknown_divisions():
    pdf = pd.DataFrame({"a": range(6)}, index=[5, 4, 3, 2, 1, 0])
    ddf = gd.from_pandas(pdf, npartitions=2, sort=False)
    assert not ddf.known_divisions
    assert_eq(ddf, pdf)


def test_from_pandas_rejects_bad_arguments():
    with pytest.raises(TypeError, match="pandas"):
        gd.from_pandas([1, 2, 3], npartitions=1)
    with pytest.raises(ValueError, match="exactly one"):
        gd.from_pandas(pd.DataFrame({"a": [1]}))


def test_from_dict():
    data = {"a": [1, 2, 3], "b": ["x", "y", "z"]}
    assert_eq(gd.from_dict(data, npartitions=2), pd.DataFrame(data))


def test_from_delayed_and_to_delayed_roundtrip():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3)
    parts = ddf.to_delayed()
    assert len(parts) == 3
    back = gd.from_delayed(parts, meta=ddf._meta)
    assert_eq(back, pdf)
    with pytest.raises(ValueError, match="columns"):
        gd.from_delayed([graphengine.delayed(pd.DataFrame({"z": [1]}), pure=True)],
                        meta=ddf._meta).compute()


def test_meta_is_empty_with_right_dtypes(case):
    ddf, pdf = case
    assert len(ddf._meta) == 0
    pd.testing.assert_series_equal(ddf._meta.dtypes, pdf.dtypes)
    out = ddf.assign(g=ddf.f * 2)
    assert out._meta["g"].dtype == np.float64


def test_meta_override_is_used_without_running_the_function():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    calls = []

    def f(df):
        calls.append(len(df))
        return df.i.astype("float64")

    out = ddf.map_partitions(f, meta=("i", "float64"))
    assert calls == []
    assert out.dtype == np.float64
    assert_eq(out, make_pdf().i.astype("float64"))


def test_partitions_and_get_partition():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    p = ddf.partitions[1]
    assert p.npartitions == 1 and p.divisions == ddf.divisions[1:3]
    sub = ddf.partitions[1:3]
    assert sub.npartitions == 2
    assert_eq(sub, pdf.loc[ddf.divisions[1]:].iloc[:len(sub.compute())])
    assert_eq(ddf.partitions[[0, 3]].compute(), pd.concat(
        [ddf.get_partition(0).compute(), ddf.get_partition(3).compute()]))
    with pytest.raises(IndexError):
        ddf.partitions[4]


def test_head_computes_only_the_first_partition():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=4)
    boom = ddf.map_partitions(_fail_unless_first, meta=ddf._meta)
    pd.testing.assert_frame_equal(boom.head(3), pdf.head(3))
    pd.testing.assert_frame_equal(ddf.tail(4), pdf.tail(4))
    assert len(ddf.head(100, npartitions=-1)) == 40


def _fail_unless_first(df):
    if len(df) and df.index[0] != 0:
        raise RuntimeError("a partition other than the first was computed")
    return df


def test_head_with_empty_first_partitions_reads_more_with_npartitions():
    pdf = make_pdf()
    ddf = frame_from_parts([pdf.iloc[:0], pdf.iloc[:0], pdf])
    assert len(ddf.head(5)) == 0
    pd.testing.assert_frame_equal(ddf.head(5, npartitions=3), pdf.head(5))


def test_len_and_size(case):
    ddf, pdf = case
    assert len(ddf) == len(pdf)
    assert len(ddf.index) == len(pdf)
    assert ddf.size.compute() == pdf.size


def test_repr_shows_structure_without_computing():
    ddf = gd.from_pandas(make_pdf(), npartitions=2).map_partitions(_never, meta=make_pdf())
    text = repr(ddf)
    assert "npartitions=2" in text and "float64" in text and "datetime64" in text
    html = ddf._repr_html_()
    assert "<table" in html and "npartitions=2" in html
    assert "Series" in repr(ddf.f)


def _never(df):
    raise AssertionError("computed")


def test_map_partitions_builds_one_lazy_layer_per_step_and_culls_lazily():
    ddf = gd.from_pandas(make_pdf(), npartitions=4)
    out = ((ddf.i + 1) * 2 - ddf.f).abs()
    layers = out.graph.layers
    lazy = [la for la in layers.values() if isinstance(la, PartitionwiseLayer)]
    assert len(lazy) == 6  # two column selections, +, *, -, abs
    assert all(la._cache is None for la in lazy)
    culled = out.graph.cull([(out._name, 2)])
    assert all(la._cache is None for la in lazy)
    assert len(culled.to_dict()) == 7  # one task per layer for partition 2, plus the input


def test_map_partitions_with_scalar_and_extra_args():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3)
    total = ddf.i.sum()
    assert_eq(ddf.map_partitions(lambda df, t, k: df.i * 0 + t + k, total, k=1),
              pdf.i * 0 + pdf.i.sum() + 1)
    counts = ddf.map_partitions(len).compute()
    assert counts.sum() == 40 and len(counts) == 3


def test_enforce_metadata_reports_mismatch():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    out = ddf.map_partitions(lambda df: df[["i"]], meta={"i": "float64"}, enforce_metadata=True)
    with pytest.raises(ValueError, match="dtypes differ.*'i'"):
        out.compute(scheduler="sync")


def test_compute_persist_and_module_compute():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3)
    p = (ddf.i * 3).persist(scheduler="sync")
    assert len(p.graph.layers) == 1
    assert_eq(p, pdf.i * 3)
    a, b = graphengine.compute(ddf.i.sum(), ddf.f.max(), scheduler="threads")
    assert a == pdf.i.sum() and b == pdf.f.max()


def test_visualize_dot_text():
    ddf = gd.from_pandas(make_pdf(), npartitions=2)
    dot = (ddf.i + 1).visualize(filename=None, format="dot")
    assert b"digraph" in dot


def test_index_collection():
    pdf = make_pdf()
    ddf = gd.from_pandas(pdf, npartitions=3)
    assert isinstance(ddf.index, gd.Index)
    assert_eq(ddf.index, pdf.index)
    assert ddf.index.max().compute() == pdf.index.max()


def test_hlg_graph_and_keys_protocol():
    ddf = gd.from_pandas(make_pdf(), npartitions=3)
    assert isinstance(ddf.__graphengine_graph__(), HighLevelGraph)
    assert ddf.__graphengine_keys__() == [(ddf._name, i) for i in range(3)]
