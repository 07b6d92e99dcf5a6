"""float sums are pairwise along every axis (issue #21): NumPy's own pairwise summation covers only
the contiguous axis, so the NumPy reference sums other axes as a tree. Errors are measured
against float64 sums; a sequential float32 sum of 10^5 uniform values errs by ~8e-6, JAX (XLA's
tree reduction) by ~4e-7."""
import numpy as np
import pytest

import gpuxla.numpy as jnp
from gpuxla.backends.numpy.reference import impl_rules
from gpuxla.core import primitives as P

SUM = impl_rules[P.reduce_sum_p]


def _rel_err(got, x, axes):
    want = x.astype(np.float64).sum(axes)
    return float(np.max(np.abs(np.asarray(got, np.float64) - want) / np.abs(want)))


@pytest.mark.parametrize("layout", ["C", "F"])
def test_column_sums_are_pairwise(layout):
    x = np.random.default_rng(0).uniform(size=(100_000, 8)).astype(np.float32)
    x = np.asfortranarray(x) if layout == "F" else x
    if layout == "C":      # the premise: NumPy's own sum along this axis adds rows in order
        assert _rel_err(np.sum(x, axis=0), x, (0,)) > 2e-6
    assert _rel_err(SUM(x, (0,)), x, (0,)) < 5e-7
    assert _rel_err(SUM(x.T, (1,)), x.T, (1,)) < 5e-7          # the summed axis last, not contiguous
    assert _rel_err(jnp.sum(jnp.asarray(x), axis=0), x, (0,)) < 5e-7
    assert _rel_err(jnp.mean(jnp.asarray(x), axis=0) * x.shape[0], x, (0,)) < 5e-7


@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2), (0, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.complex64, np.int32])
def test_every_axis_set_and_dtype(axes, dtype):
    rng = np.random.default_rng(1)
    x = (rng.uniform(size=(37, 300, 19)) * (0.01 if dtype == np.float16 else 4)).astype(dtype)   # no float16 overflow
    got = SUM(x, axes)
    want = np.sum(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64), axis=axes)
    assert got.dtype == x.dtype and got.shape == want.shape
    if dtype == np.int32:
        np.testing.assert_array_equal(got, want.astype(np.int32))
    else:
        np.testing.assert_allclose(got, want, rtol=2e-3 if dtype == np.float16 else 1e-6)


def test_shapes_without_elements_or_with_one():
    assert SUM(np.zeros((0, 3), np.float32), (0,)).tolist() == [0.0, 0.0, 0.0]
    x = np.arange(6, dtype=np.float32).reshape(1, 6)
    out = SUM(x, (0,))
    np.testing.assert_array_equal(out, x[0])
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(SUM(np.arange(17.0, dtype=np.float32)[:, None], (0,)), [136.0])
