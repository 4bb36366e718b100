"""NumPy functions called on graphengine Arrays take NumPy's positional parameter order."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphengine.array as ga
from graphengine.collections.array.dispatch import HANDLED_FUNCTIONS

pytestmark = pytest.mark.timeout(60)

A = np.random.default_rng(3).normal(size=(4, 6))
X = ga.from_array(A, chunks=(3, 4))


def run(x):
    return x.compute(scheduler="sync")


@pytest.mark.parametrize("func, args", [
    (np.sum, (0, None, None, True)), (np.prod, (1, "f4", None, True)),
    (np.mean, (0, None, None, True)), (np.nanmean, (1, None, None, True)),
    (np.min, (0, None, True)), (np.amax, (1, None, True)), (np.nanmax, (0, None, True)),
    (np.any, (0, None, True)), (np.all, (1, None, True)), (np.nansum, (0, "f4", None, True)),
    (np.var, (0, None, None, 1, True)), (np.std, (1, None, None, 0, True)),
    (np.argmax, (0, None)), (np.nanargmin, (1, None)), (np.ptp, (0, None, True)),
    (np.median, (0, None, False, True)), (np.nanmedian, (1, None, False, True)),
    (np.percentile, (30, 0, None, False, "linear", True)),
    (np.quantile, ([0.2, 0.9], 1, None, False, "lower", True)),
    (np.cumsum, (1, "f4")),
])
def test_positional_numpy_calls_mean_what_they_mean_in_numpy(func, args):
    got = func(X, *args)
    expected = func(A, *args)
    assert isinstance(got, ga.Array)
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(run(got), expected, rtol=1e-6)


def test_histogram_takes_density_before_weights_as_numpy():
    a = np.arange(10.0)
    got = np.histogram(ga.from_array(a, chunks=3), 5, None, True)
    expected = np.histogram(a, 5, None, True)
    np.testing.assert_allclose(run(got[0]), expected[0])
    w = np.linspace(1, 2, 10)
    got = np.histogram(ga.from_array(a, chunks=3), 4, (0, 10), False, w)
    np.testing.assert_allclose(run(got[0]), np.histogram(a, 4, (0, 10), False, w)[0])


def test_numpy_parameters_we_lack_are_dropped_at_their_default_and_named_otherwise():
    np.testing.assert_allclose(run(np.median(X, 0, None, False)), np.median(A, 0))
    np.testing.assert_allclose(run(np.median(X, axis=0, overwrite_input=False)),
                               np.median(A, axis=0))
    with pytest.raises(TypeError, match="median does not support overwrite_input=True"):
        np.median(X, 0, None, True)


def test_every_handled_function_dispatches_its_positional_arguments_to_a_parameter():
    """For each registered function whose signature differs from NumPy's, the adapter
    maps every NumPy positional parameter either to one of ours of the same name or
    drops it only at its default: no positional value lands on a different parameter."""
    import inspect
    from graphengine.collections.array.dispatch import _plan
    for numpy_func, impl in HANDLED_FUNCTIONS.items():
        plan = _plan(numpy_func, impl)
        if plan is None:
            continue
        k, names, _defaults, ours = plan
        our_pos = [p.name for p in inspect.signature(impl).parameters.values()
                   if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for i in range(1, k):  # positions passed as they are: the same parameter
            assert names[i] == our_pos[i] or (names[i] not in ours and
                                              our_pos[i] not in names), numpy_func


def test_unchanged_signatures_still_dispatch_as_given():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(run(np.concatenate([X, X], 1)),
                                      np.concatenate([A, A], 1))
        np.testing.assert_array_equal(run(np.where(X > 0, X, 0)), np.where(A > 0, A, 0))
        np.testing.assert_array_equal(run(np.clip(X, -0.5, 0.5)), np.clip(A, -0.5, 0.5))
