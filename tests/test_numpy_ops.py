"""gpuxla.numpy against NumPy over the shared op table (tests/op_table.py): the same lambda runs
with `numpy` and with `gpuxla.numpy`; shapes, dtypes and values must agree.

The result dtype must be JAX's: NumPy's result dtype canonicalised for the x64 mode (float64 ->
float32 and int64 -> int32 without x64), or the row's `jax_dtype` where NumPy's promotion differs
from JAX's. float64 rows run with x64 enabled (tight tolerances) and again without it (the inputs
canonicalise to float32). The x64 run of every row is in tests/test_x64.py.
"""
import numpy as np
import pytest

from gpuxla.core import dtypes as D
from gpuxla.tree_util import tree_flatten

from op_table import F64, OPS, make_args, numpy_ref, run_gpuxla, tolerance


def _leaves(x):
    return [np.asarray(v) for v in (tree_flatten(list(x))[0] if isinstance(x, (list, tuple)) else [x])]


def expected_dtype(op, dtype, ref_leaf):
    dt = np.dtype(op.jax_dtype(np.dtype(dtype))) if op.jax_dtype else ref_leaf.dtype
    return D.canonicalize_dtype(dt)


def check(op, dtype, seed=0):
    """Run `op` at `dtype` in the current x64 mode and compare with the NumPy reference."""
    args = make_args(op, dtype, np.random.default_rng(seed))
    ref = numpy_ref(op, args)
    out = run_gpuxla(op, args)
    assert isinstance(out, (list, tuple)) == isinstance(ref, (list, tuple)), (type(out), type(ref))
    got, want = _leaves(out), _leaves(ref)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        dt = expected_dtype(op, dtype, w)
        assert g.dtype == dt, f"{op.name}[{np.dtype(dtype).name}]: dtype {g.dtype}, JAX gives {dt}"
        assert g.shape == w.shape, f"{op.name}: shape {g.shape} != {w.shape}"
        if g.dtype == np.bool_ or D.is_int(g.dtype):
            np.testing.assert_array_equal(g, w, err_msg=op.name)
            continue
        rtol, atol = tolerance(op, g.dtype)
        if np.dtype(dtype) == F64 and g.dtype != F64:
            rtol, atol = max(rtol, 1e-5), max(atol, 1e-5)    # float64 data rounded to float32
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=f"{op.name}[{np.dtype(dtype).name}]")


CASES = [pytest.param(op, dt, id=f"{op.name}-{dt.name}") for op in OPS for dt in op.dtypes]


@pytest.mark.parametrize("op,dtype", CASES)
def test_op_matches_numpy(op, dtype):
    with D.enable_x64(np.dtype(dtype) == F64 or op.x64):
        check(op, dtype)


@pytest.mark.parametrize("op,dtype", [c for c in CASES if c.values[1] == F64 and not c.values[0].x64])
def test_float64_rows_without_x64(op, dtype):
    with D.enable_x64(False):
        check(op, dtype)


def test_checker_notices_a_wrong_value_and_dtype():
    # the comparison must fail on a wrong answer (guards against a vacuous checker)
    from op_table import Op
    bad = Op("bad", lambda xnp, x: x + 1 if xnp is np else x + 1.001, [(3,)], (np.float32,))
    with D.enable_x64(False), pytest.raises(AssertionError):
        check(bad, np.dtype(np.float32))
    bad = Op("bad_dtype", lambda xnp, x: x if xnp is np else x.astype(np.float16), [(3,)], (np.float32,))
    with D.enable_x64(False), pytest.raises(AssertionError, match="dtype"):
        check(bad, np.dtype(np.float32))
