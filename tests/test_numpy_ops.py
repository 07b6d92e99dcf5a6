"""gpuxla.numpy against NumPy over the shared op table (tests/op_table.py): the same lambda runs
with `numpy` and with `gpuxla.numpy`; shapes, dtypes and values must agree.

The result dtype must be JAX's: NumPy's result dtype canonicalised for the x64 mode (float64 ->
float32 and int64 -> int32 without x64), or the row's `jax_dtype` where NumPy's promotion differs
from JAX's. float64 rows run with x64 enabled (tight tolerances) and again without it (the inputs
canonicalise to float32). The x64 run of every row is in tests/test_x64.py.
"""
import warnings

import numpy as np
import pytest

import gpuxla.numpy as jnp
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


# --- special values and JAX-specific semantics, against JAX 0.10.2 -----------------------------
# NaN propagation and ordering, integer division by zero and overflow, rounding, casts, empty
# reductions, arange/linspace, and composites (quantile, interp, convolve, ...). Values are what
# JAX printed for the same expression (x64 off). Two JAX results are left out on purpose: XLA
# rewrites division by a constant into multiplication by its reciprocal, so jnp.round(x, 2) and
# jnp.percentile differ from the correctly rounded quotient in the last bit (gpuxla keeps the
# division, as NumPy does). Also left out: float16 cumsum (gpuxla accumulates 16-bit floats in
# float32, DESIGN.md §6; JAX rounds every partial sum) and lists passed to reductions (JAX refuses
# them; gpuxla accepts them as NumPy does).
nan, inf = float("nan"), float("inf")
SPECIAL = [   # name, expression, JAX dtype, shape, value (or None, None, repr for Python results)
    ('max_nan', 'jnp.max(jnp.array([1., nan, 3.]))', 'float32', (), 'nan'),
    ('min_nan', 'jnp.min(jnp.array([1., nan, -3.]))', 'float32', (), 'nan'),
    ('maximum_nan', 'jnp.maximum(jnp.array([1., nan, 3.]), jnp.array([nan, 2., 1.]))', 'float32', (3,), '[nan, nan, 3.0]'),
    ('argmax_nan', 'jnp.argmax(jnp.array([1., nan, 3., nan]))', 'int32', (), '1.0'),
    ('argmin_nan', 'jnp.argmin(jnp.array([1., 5., nan]))', 'int32', (), '2.0'),
    ('sort_nan', 'jnp.sort(jnp.array([3., nan, -inf, 1., nan, inf]))', 'float32', (6,), '[-inf, 1.0, 3.0, inf, nan, nan]'),
    ('argsort_nan', 'jnp.argsort(jnp.array([3., nan, -inf, 1., nan, inf]))', 'int32', (6,), '[2.0, 3.0, 0.0, 5.0, 1.0, 4.0]'),
    ('sort_negzero', 'jnp.sort(jnp.array([0., -0., 0.]))', 'float32', (3,), '[0.0, -0.0, 0.0]'),
    ('cummax_nan', 'jax.lax.cummax(jnp.array([1., nan, 3.]))', 'float32', (3,), '[1.0, nan, nan]'),
    ('clip_nan', 'jnp.clip(jnp.array([nan, 5., -5.]), -1, 1)', 'float32', (3,), '[nan, 1.0, -1.0]'),
    ('int_div_zero', 'jnp.array([7, -7, 0], jnp.int32) // jnp.array([0, 0, 0], jnp.int32)', 'int32', (3,), '[-2.0, -2.0, -1.0]'),
    ('int_mod_zero', 'jnp.array([7, -7, 0], jnp.int32) % jnp.array([0, 0, 0], jnp.int32)', 'int32', (3,), '[0.0, 0.0, 0.0]'),
    ('int_floordiv_neg', 'jnp.array([7, -7, 7, -7]) // jnp.array([2, 2, -2, -2])', 'int32', (4,), '[3.0, -4.0, -4.0, 3.0]'),
    ('int_mod_neg', 'jnp.array([7, -7, 7, -7]) % jnp.array([2, 2, -2, -2])', 'int32', (4,), '[1.0, 1.0, -1.0, -1.0]'),
    ('fmod_neg', 'jnp.fmod(jnp.array([7, -7, 7, -7]), jnp.array([2, 2, -2, -2]))', 'int32', (4,), '[1.0, -1.0, 1.0, -1.0]'),
    ('float_mod_neg', 'jnp.array([7.5, -7.5, 7.5, -7.5]) % jnp.array([2., 2., -2., -2.])', 'float32', (4,), '[1.5, 0.5, -0.5, -1.5]'),
    ('float_mod_zero', 'jnp.array([1., -1.]) % 0.', 'float32', (2,), '[nan, nan]'),
    ('float_floordiv_zero', 'jnp.array([1., -1., 0.]) // 0.', 'float32', (3,), '[inf, -inf, nan]'),
    ('int_overflow', 'jnp.array([2**31 - 1], jnp.int32) + 1', 'int32', (1,), '[-2147483648.0]'),
    ('uint_underflow', 'jnp.array([0], jnp.uint8) - 1', 'uint8', (1,), '[255.0]'),
    ('int8_mul_overflow', 'jnp.array([100], jnp.int8) * 3', 'int8', (1,), '[44.0]'),
    ('round_half', 'jnp.round(jnp.array([0.5, 1.5, 2.5, -0.5, -1.5]))', 'float32', (5,), '[0.0, 2.0, 2.0, -0.0, -2.0]'),
    ('astype_float_to_int_oob', 'jnp.array([1e10, -1e10, nan, 2.7, -2.7]).astype(jnp.int32)', 'int32', (5,), '[2147483647.0, -2147483648.0, 0.0, 2.0, -2.0]'),
    ('astype_float_to_uint8', 'jnp.array([300., -1., 255.5]).astype(jnp.uint8)', 'uint8', (3,), '[255.0, 0.0, 255.0]'),
    ('astype_int_to_bool', 'jnp.array([0, 2, -1]).astype(bool)', 'bool', (3,), '[False, True, True]'),
    ('astype_nan_to_bool', 'jnp.array([nan, 0., -0.]).astype(bool)', 'bool', (3,), '[True, False, False]'),
    ('sign_nan_zero', 'jnp.sign(jnp.array([nan, -0., 0., -2.]))', 'float32', (4,), '[nan, -0.0, 0.0, -1.0]'),
    ('sqrt_neg', 'jnp.sqrt(jnp.array([-1., 4.]))', 'float32', (2,), '[nan, 2.0]'),
    ('log_zero', 'jnp.log(jnp.array([0., -1.]))', 'float32', (2,), '[-inf, nan]'),
    ('power_zero_zero', 'jnp.power(jnp.array([0., 0., 2.]), jnp.array([0., -1., -1.]))', 'float32', (3,), '[1.0, inf, 0.5]'),
    ('int_power_neg_base', 'jnp.power(jnp.array([-2, -2, 3]), jnp.array([3, 0, 2]))', 'int32', (3,), '[-8.0, 1.0, 9.0]'),
    ('pow_int_literal', 'jnp.array([2, 3]) ** 2', 'int32', (2,), '[4.0, 9.0]'),
    ('pow_float_literal', 'jnp.array([2., 3.]) ** 0.5', 'float32', (2,), '[1.4142135381698608, 1.7320507764816284]'),
    ('float_power_neg', 'jnp.float_power(jnp.array([-8.]), 1/3)', 'float32', (1,), '[nan]'),
    ('arctan2_zeros', 'jnp.arctan2(jnp.array([0., -0., 0., -0.]), jnp.array([0., 0., -0., -0.]))', 'float32', (4,), '[0.0, -0.0, 3.1415927410125732, -3.1415927410125732]'),
    ('nextafter', 'jnp.nextafter(jnp.array([1., 0.], jnp.float32), jnp.array([2., -1.], jnp.float32))', 'float32', (2,), '[1.0000001192092896, -1.401298464324817e-45]'),
    ('sum_empty', 'jnp.sum(jnp.zeros((0, 3)), axis=0)', 'float32', (3,), '[0.0, 0.0, 0.0]'),
    ('prod_empty', 'jnp.prod(jnp.zeros((0,)))', 'float32', (), '1.0'),
    ('mean_empty', 'jnp.mean(jnp.zeros((0,)))', 'float32', (), 'nan'),
    ('any_empty', 'jnp.any(jnp.zeros((0,), bool))', 'bool', (), 'False'),
    ('all_empty', 'jnp.all(jnp.zeros((0,), bool))', 'bool', (), 'True'),
    ('max_initial_empty', 'jnp.max(jnp.zeros((0,)), initial=-1.)', 'float32', (), '-1.0'),
    ('sum_where', 'jnp.sum(jnp.arange(6.), where=jnp.arange(6) % 2 == 0)', 'float32', (), '6.0'),
    ('max_where', 'jnp.max(jnp.arange(6.), where=jnp.arange(6) < 3, initial=-10.)', 'float32', (), '2.0'),
    ('var_ddof_big', 'jnp.var(jnp.array([1., 2.]), ddof=2)', 'float32', (), 'nan'),
    ('cumsum_bool', 'jnp.cumsum(jnp.array([True, True, False]))', 'int32', (3,), '[1.0, 2.0, 2.0]'),
    ('cumprod_int8', 'jnp.cumprod(jnp.array([100, 2, 2], jnp.int8))', 'int8', (3,), '[100.0, -56.0, -112.0]'),
    ('linspace_int', 'jnp.linspace(0, 10, 4, dtype=jnp.int32)', 'int32', (4,), '[0.0, 3.0, 6.0, 10.0]'),
    ('linspace_noend', 'jnp.linspace(0., 1., 4, endpoint=False)', 'float32', (4,), '[0.0, 0.25, 0.5, 0.75]'),
    ('arange_neg_step', 'jnp.arange(5, 0, -2)', 'int32', (3,), '[5.0, 3.0, 1.0]'),
    ('arange_float_step', 'jnp.arange(0, 1, 0.3)', 'float32', (4,), '[0.0, 0.30000001192092896, 0.6000000238418579, 0.9000000357627869]'),
    ('arange_empty', 'jnp.arange(3, 1)', 'int32', (0,), '[]'),
    ('eye_neg_k', 'jnp.eye(3, k=-1, dtype=jnp.int32)', 'int32', (3, 3), '[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]'),
    ('tri_k', 'jnp.tri(3, 2, k=1)', 'float32', (3, 2), '[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]'),
    ('full_bool', 'jnp.full((2,), True)', 'bool', (2,), '[True, True]'),
    ('full_int_float', 'jnp.full((2,), 3, dtype=jnp.float16)', 'float16', (2,), '[3.0, 3.0]'),
    ('where_scalar_bcast', 'jnp.where(jnp.array([True, False]), 1, 2.5)', 'float32', (2,), '[1.0, 2.5]'),
    ('where_int_weak', 'jnp.where(jnp.array([True, False]), jnp.array([1, 2], jnp.int8), 300)', 'int8', (2,), '[1.0, 44.0]'),
    ('clip_int_float_bounds', 'jnp.clip(jnp.arange(5), 1.5, 3.5)', 'float32', (5,), '[1.5, 1.5, 2.0, 3.0, 3.5]'),
    ('abs_int_min', 'jnp.abs(jnp.array([-128], jnp.int8))', 'int8', (1,), '[-128.0]'),
    ('neg_uint', '-jnp.array([1, 2], jnp.uint8)', 'uint8', (2,), '[255.0, 254.0]'),
    ('invert_bool', '~jnp.array([True, False])', 'bool', (2,), '[False, True]'),
    ('shift_big', 'jnp.left_shift(jnp.array([1, 1], jnp.int32), jnp.array([31, 32]))', 'int32', (2,), '[-2147483648.0, 0.0]'),
    ('rshift_neg', 'jnp.right_shift(jnp.array([-8, -1], jnp.int32), jnp.array([1, 40]))', 'int32', (2,), '[-4.0, -1.0]'),
    ('rshift_uint', 'jnp.right_shift(jnp.array([255], jnp.uint8), jnp.array([9], jnp.uint8))', 'uint8', (1,), '[0.0]'),
    ('gcd_neg', 'jnp.gcd(jnp.array([-12, 0, 7]), jnp.array([18, 0, -21]))', 'int32', (3,), '[6.0, 0.0, 7.0]'),
    ('lcm_zero', 'jnp.lcm(jnp.array([0, 4]), jnp.array([5, 6]))', 'int32', (2,), '[0.0, 12.0]'),
    ('isclose', 'jnp.isclose(jnp.array([1., nan, inf]), jnp.array([1. + 1e-6, nan, inf]))', 'bool', (3,), '[True, False, True]'),
    ('isclose_nan', 'jnp.isclose(jnp.array([nan]), jnp.array([nan]), equal_nan=True)', 'bool', (1,), '[True]'),
    ('allclose', 'jnp.allclose(jnp.array([1., 2.]), jnp.array([1., 2.0001]))', 'bool', (), 'False'),
    ('array_equal', 'jnp.array_equal(jnp.array([1, 2]), jnp.array([1., 2.]))', 'bool', (), 'True'),
    ('nonzero', 'jnp.nonzero(jnp.array([[0, 1], [2, 0]]))[1]', 'int32', (2,), '[1.0, 0.0]'),
    ('nonzero_size', 'jnp.nonzero(jnp.array([0, 3, 0, 4]), size=3, fill_value=-1)[0]', 'int32', (3,), '[1.0, 3.0, -1.0]'),
    ('argwhere', 'jnp.argwhere(jnp.array([[0, 1], [2, 0]]))', 'int32', (2, 2), '[[0.0, 1.0], [1.0, 0.0]]'),
    ('unique', 'jnp.unique(jnp.array([3, 1, 3, 2, 1]))', 'int32', (3,), '[1.0, 2.0, 3.0]'),
    ('searchsorted', "jnp.searchsorted(jnp.array([1., 2., 2., 3.]), jnp.array([2., 0., 5.]), side='right')", 'int32', (3,), '[3.0, 0.0, 4.0]'),
    ('digitize', 'jnp.digitize(jnp.array([0.5, 1.5, 3.]), jnp.array([1., 2.]))', 'int32', (3,), '[0.0, 1.0, 2.0]'),
    ('bincount', 'jnp.bincount(jnp.array([0, 1, 1, 3]), length=5)', 'int32', (5,), '[1.0, 2.0, 0.0, 1.0, 0.0]'),
    ('repeat_total', 'jnp.repeat(jnp.array([1, 2, 3]), jnp.array([2, 0, 1]), total_repeat_length=4)', 'int32', (4,), '[1.0, 1.0, 3.0, 3.0]'),
    ('roll_multi', 'jnp.roll(jnp.arange(6).reshape(2, 3), (1, -1), axis=(0, 1))', 'int32', (2, 3), '[[4.0, 5.0, 3.0], [1.0, 2.0, 0.0]]'),
    ('pad_symmetric', "jnp.pad(jnp.arange(4), (2, 3), mode='symmetric')", 'int32', (9,), '[1.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0]'),
    ('pad_reflect_big', "jnp.pad(jnp.arange(3), (4, 4), mode='reflect')", 'int32', (11,), '[0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0]'),
    ('pad_wrap_big', "jnp.pad(jnp.arange(3), (4, 5), mode='wrap')", 'int32', (12,), '[2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0]'),
    ('pad_constant_pair', 'jnp.pad(jnp.arange(3.), (1, 2), constant_values=(7., 9.))', 'float32', (6,), '[7.0, 0.0, 1.0, 2.0, 9.0, 9.0]'),
    ('diag_neg', 'jnp.diag(jnp.arange(9).reshape(3, 3), -1)', 'int32', (2,), '[3.0, 7.0]'),
    ('trace_offset', 'jnp.trace(jnp.arange(12).reshape(3, 4), offset=1)', 'int32', (), '18.0'),
    ('triu_neg', 'jnp.triu(jnp.ones((3, 3)), -1)', 'float32', (3, 3), '[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]'),
    ('split_sections', 'jnp.stack(jnp.array_split(jnp.arange(7), 3)[0:1])', 'int32', (1, 3), '[[0.0, 1.0, 2.0]]'),
    ('median_even', 'jnp.median(jnp.array([3., 1., 4., 2.]))', 'float32', (), '2.5'),
    ('quantile_nearest', "jnp.quantile(jnp.arange(5.), 0.4, method='nearest')", 'float32', (), '2.0'),
    ('average_weights', 'jnp.average(jnp.arange(4.), weights=jnp.array([1., 0., 0., 3.]))', 'float32', (), '2.25'),
    ('interp', 'jnp.interp(jnp.array([-1., 0.5, 1.5, 9.]), jnp.array([0., 1., 2.]), jnp.array([10., 20., 40.]))', 'float32', (4,), '[10.0, 15.0, 30.0, 40.0]'),
    ('convolve', 'jnp.convolve(jnp.array([1., 2., 3.]), jnp.array([0., 1., 0.5]))', 'float32', (5,), '[0.0, 1.0, 2.5, 4.0, 1.5]'),
    ('convolve_same', "jnp.convolve(jnp.array([1., 2., 3., 4.]), jnp.array([1., 1.]), mode='same')", 'float32', (4,), '[1.0, 3.0, 5.0, 7.0]'),
    ('correlate', "jnp.correlate(jnp.array([1., 2., 3.]), jnp.array([0., 1.]), mode='full')", 'float32', (4,), '[1.0, 2.0, 3.0, 0.0]'),
    ('polyval', 'jnp.polyval(jnp.array([1., -2., 3.]), jnp.array([0., 2.]))', 'float32', (2,), '[3.0, 3.0]'),
    ('diff_n2', 'jnp.diff(jnp.array([1, 4, 9, 16]), n=2)', 'int32', (2,), '[2.0, 2.0]'),
    ('ediff1d', 'jnp.ediff1d(jnp.array([1, 4, 9]), to_begin=jnp.array([0]))', 'int32', (3,), '[0.0, 3.0, 5.0]'),
    ('trapezoid', 'jnp.trapezoid(jnp.array([1., 2., 3.]), dx=0.5)', 'float32', (), '2.0'),
    ('cross', 'jnp.cross(jnp.array([1., 0., 0.]), jnp.array([0., 1., 0.]))', 'float32', (3,), '[0.0, 0.0, 1.0]'),
    ('kron_int', 'jnp.kron(jnp.array([1, 2]), jnp.array([[1], [10]]))', 'int32', (2, 2), '[[1.0, 2.0], [10.0, 20.0]]'),
    ('outer_bool', 'jnp.outer(jnp.array([True, False]), jnp.array([True, True]))', 'bool', (2, 2), '[[True, True], [False, False]]'),
    ('dot_int8', 'jnp.dot(jnp.array([100, 100], jnp.int8), jnp.array([2, 1], jnp.int8))', 'int8', (), '44.0'),
    ('matmul_bool', 'jnp.matmul(jnp.array([[True, False]]), jnp.array([[True], [True]]))', 'bool', (1, 1), '[[True]]'),
    ('einsum_repeated', "jnp.einsum('ii->i', jnp.arange(9.).reshape(3, 3))", 'float32', (3,), '[0.0, 4.0, 8.0]'),
    ('einsum_outer_sum', "jnp.einsum('i,j->', jnp.arange(3.), jnp.arange(2.))", 'float32', (), '3.0'),
    ('vdot', 'jnp.vdot(jnp.arange(4.).reshape(2, 2), jnp.ones((2, 2)))', 'float32', (), '6.0'),
    ('logaddexp_inf', 'jnp.logaddexp(jnp.array([-inf, inf, 1.]), jnp.array([-inf, inf, -inf]))', 'float32', (3,), '[-inf, inf, 1.0]'),
    ('hypot_inf', 'jnp.hypot(jnp.array([inf, 3.]), jnp.array([nan, 4.]))', 'float32', (2,), '[inf, 5.0]'),
    ('frexp', 'jnp.stack(jnp.frexp(jnp.array([8., 0.3, -5., 0.])))', 'float32', (2, 4), '[[0.5, 0.6000000238418579, -0.625, 0.0], [4.0, -1.0, 3.0, 0.0]]'),
    ('ldexp', 'jnp.ldexp(jnp.array([1., 3.]), jnp.array([3, -1]))', 'float32', (2,), '[8.0, 1.5]'),
    ('nan_to_num', 'jnp.nan_to_num(jnp.array([nan, inf, -inf, 1.]))', 'float32', (4,), '[0.0, 3.4028234663852886e+38, -3.4028234663852886e+38, 1.0]'),
    ('isinf', 'jnp.isinf(jnp.array([nan, inf, -inf, 1.]))', 'bool', (4,), '[False, True, True, False]'),
    ('signbit', 'jnp.signbit(jnp.array([-0., 0., -1., nan]))', 'bool', (4,), '[True, False, True, False]'),
    ('copysign', 'jnp.copysign(jnp.array([1., 2.]), jnp.array([-0., 0.]))', 'float32', (2,), '[-1.0, 2.0]'),
    ('heaviside', 'jnp.heaviside(jnp.array([-1., 0., 2.]), 0.5)', 'float32', (3,), '[0.0, 0.5, 1.0]'),
    ('sinc', 'jnp.sinc(jnp.array([0., 0.5, 1.]))', 'float32', (3,), '[1.0, 0.6366197466850281, -2.7827534054836178e-08]'),
    ('logical_xor', 'jnp.logical_xor(jnp.array([0, 1, 2]), jnp.array([1., 1., 0.]))', 'bool', (3,), '[True, False, True]'),
    ('count_nonzero_axis', 'jnp.count_nonzero(jnp.array([[0, 1], [2, 3]]), axis=1)', 'int32', (2,), '[1.0, 2.0]'),
    ('ptp_int', 'jnp.ptp(jnp.array([[3, 1], [2, 9]], jnp.uint8), axis=0)', 'uint8', (2,), '[1.0, 8.0]'),
    ('std_keep', 'jnp.std(jnp.arange(6.).reshape(2, 3), axis=1, keepdims=True)', 'float32', (2, 1), '[[0.8164966106414795], [0.8164966106414795]]'),
    ('nanmax', 'jnp.nanmax(jnp.array([1., nan, 3.]))', 'float32', (), '3.0'),
    ('nansum', 'jnp.nansum(jnp.array([1., nan, 3.]))', 'float32', (), '4.0'),
    ('nanargmin', 'jnp.nanargmin(jnp.array([nan, 2., 1.]))', 'int32', (), '2.0'),
    ('take_neg_axis', 'jnp.take(jnp.arange(6).reshape(2, 3), jnp.array([2, 0]), axis=-1)', 'int32', (2, 2), '[[2.0, 0.0], [5.0, 3.0]]'),
    ('squeeze_none', 'jnp.squeeze(jnp.ones((1, 3, 1))).shape', None, None, '(3,)'),
    ('expand_neg', 'jnp.expand_dims(jnp.ones((2, 3)), -1).shape', None, None, '(2, 3, 1)'),
    ('moveaxis_multi', 'jnp.moveaxis(jnp.ones((2, 3, 4)), (0, 1), (2, 0)).shape', None, None, '(3, 4, 2)'),
    ('broadcast_arrays', 'jnp.stack(jnp.broadcast_arrays(jnp.arange(3), jnp.ones((2, 1), jnp.int32)))', 'int32', (2, 2, 3), '[[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]'),
    ('meshgrid_ij', "jnp.stack(jnp.meshgrid(jnp.arange(2), jnp.arange(3), indexing='ij'))", 'int32', (2, 2, 3), '[[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]]'),
    ('tile_scalar', 'jnp.tile(jnp.array(5), 3)', 'int32', (3,), '[5.0, 5.0, 5.0]'),
    ('atleast_3d', 'jnp.atleast_3d(jnp.arange(3)).shape', None, None, '(1, 3, 1)'),
    ('flip_none', 'jnp.flip(jnp.arange(6).reshape(2, 3))', 'int32', (2, 3), '[[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]'),
    ('rot', 'jnp.rot90(jnp.arange(4).reshape(2, 2))', 'int32', (2, 2), '[[1.0, 3.0], [0.0, 2.0]]'),
    ('column_stack', 'jnp.column_stack([jnp.arange(2), jnp.arange(2) * 10])', 'int32', (2, 2), '[[0.0, 0.0], [1.0, 10.0]]'),
    ('dstack', 'jnp.dstack([jnp.arange(2), jnp.arange(2)]).shape', None, None, '(1, 2, 2)'),
    ('ravel_multi_index', 'jnp.ravel_multi_index((jnp.array([1, 0]), jnp.array([2, 1])), (2, 3))', 'int32', (2,), '[5.0, 1.0]'),
    ('unravel_index', 'jnp.stack(jnp.unravel_index(jnp.array([5, 1]), (2, 3)))', 'int32', (2, 2), '[[1.0, 0.0], [2.0, 1.0]]'),
    ('select_default', 'jnp.select([jnp.array([True, False, False]), jnp.array([True, True, False])], [jnp.arange(3), jnp.arange(3) * 10], -1)', 'int32', (3,), '[0.0, 10.0, -1.0]'),
    ('compress', 'jnp.compress(jnp.array([True, False, True]), jnp.arange(3))', 'int32', (2,), '[0.0, 2.0]'),
    ('extract', 'jnp.extract(jnp.array([0, 1, 1]), jnp.arange(3))', 'int32', (2,), '[1.0, 2.0]'),
    ('put_along_axis', 'jnp.put_along_axis(jnp.zeros((2, 3)), jnp.array([[1], [2]]), 5., axis=1, inplace=False)', 'float32', (2, 3), '[[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]]'),
    ('append_axis', 'jnp.append(jnp.ones((2, 2)), jnp.zeros((1, 2)), axis=0)', 'float32', (3, 2), '[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]'),
    ('divmod', 'jnp.stack(jnp.divmod(jnp.array([7, -7]), 3))', 'int32', (2, 2), '[[2.0, -3.0], [1.0, 2.0]]'),
    ('modf_like_trunc', 'jnp.trunc(jnp.array([-1.7, 1.7, -0.2]))', 'float32', (3,), '[-1.0, 1.0, -0.0]'),
    ('real_imag', 'jnp.real(jnp.array([1 + 2j]))', 'float32', (1,), '[1.0]'),
    ('conj', 'jnp.conj(jnp.array([1 + 2j]))', 'complex64', (1,), '[(1-2j)]'),
    ('iscomplexobj', 'jnp.iscomplexobj(jnp.ones(2))', None, None, 'False'),
    ('result_type_mixed', 'jnp.result_type(jnp.int16, jnp.uint16)', None, None, "dtype('int32')"),
    ('can_cast', 'jnp.can_cast(jnp.int32, jnp.float32)', None, None, 'False'),
    ('finfo_bf16', 'jnp.finfo(jnp.bfloat16).eps', 'bfloat16', (), '0.0078125'),
    ('iinfo_u16', 'jnp.iinfo(jnp.uint16).max', None, None, '65535'),
    # second batch: reductions' dtypes and accumulation, creation, shapes, products, predicates
    ('sum_dtype_f16', 'jnp.sum(jnp.arange(5), dtype=jnp.float16)', 'float16', (), '10.0'),
    ('sum_f16_accum', 'jnp.sum(jnp.full((4096,), 0.1, jnp.float16))', 'float16', (), '409.5'),
    ('mean_f16_accum', 'jnp.mean(jnp.full((4096,), 0.1, jnp.float16))', 'float16', (), '0.0999755859375'),
    ('sum_bf16', 'jnp.sum(jnp.full((1000,), 0.01, jnp.bfloat16))', 'bfloat16', (), '10.0'),
    ('dot_f16', 'jnp.dot(jnp.full((1024,), 0.1, jnp.float16), jnp.full((1024,), 0.1, jnp.float16))', 'float16', (), '10.234375'),
    ('var_f16', 'jnp.var(jnp.arange(8, dtype=jnp.float16))', 'float16', (), '5.25'),
    ('prod_int8', 'jnp.prod(jnp.array([100, 3], jnp.int8))', 'int32', (), '300.0'),
    ('sum_uint8', 'jnp.sum(jnp.array([200, 100], jnp.uint8))', 'uint32', (), '300.0'),
    ('sum_keepdims_neg', 'jnp.sum(jnp.ones((2, 3, 4)), axis=(-1, 0), keepdims=True)', 'float32', (1, 3, 1), '[[[8.0], [8.0], [8.0]]]'),
    ('max_axis_tuple', 'jnp.max(jnp.arange(24).reshape(2, 3, 4), axis=(0, 2))', 'int32', (3,), '[15.0, 19.0, 23.0]'),
    ('argmax_keepdims', 'jnp.argmax(jnp.arange(6).reshape(2, 3), axis=1, keepdims=True)', 'int32', (2, 1), '[[2.0], [2.0]]'),
    ('any_axis_int', 'jnp.any(jnp.array([[0, 0], [0, 3]]), axis=0)', 'bool', (2,), '[False, True]'),
    ('mean_axis_none_keep', 'jnp.mean(jnp.ones((2, 3)), keepdims=True)', 'float32', (1, 1), '[[1.0]]'),
    ('mean_where', 'jnp.mean(jnp.arange(6.), where=jnp.arange(6) > 2)', 'float32', (), '4.0'),
    ('zeros_scalar', 'jnp.zeros(())', 'float32', (), '0.0'),
    ('zeros_int_shape', 'jnp.zeros(3, dtype=bool)', 'bool', (3,), '[False, False, False]'),
    ('full_array_fill', 'jnp.full((2, 3), jnp.array([1, 2, 3]))', 'int32', (2, 3), '[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]'),
    ('full_like_dtype', 'jnp.full_like(jnp.ones(2, jnp.int8), 2.7)', 'int8', (2,), '[2.0, 2.0]'),
    ('ones_like_shape', 'jnp.ones_like(jnp.ones(2), shape=(3,))', 'float32', (3,), '[1.0, 1.0, 1.0]'),
    ('empty_like', 'jnp.zeros_like(jnp.ones((2,), jnp.float16))', 'float16', (2,), '[0.0, 0.0]'),
    ('eye_dtype', 'jnp.eye(2, dtype=bool)', 'bool', (2, 2), '[[True, False], [False, True]]'),
    ('identity', 'jnp.identity(2, dtype=jnp.int8)', 'int8', (2, 2), '[[1.0, 0.0], [0.0, 1.0]]'),
    ('linspace_retstep', 'jnp.linspace(0., 1., 5, retstep=True)[1]', 'float32', (), '0.25'),
    ('linspace_num1', 'jnp.linspace(2., 3., 1)', 'float32', (1,), '[2.0]'),
    ('linspace_axis', 'jnp.linspace(jnp.array([0., 1.]), jnp.array([1., 3.]), 3, axis=1)', 'float32', (2, 3), '[[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]]'),
    ('logspace', 'jnp.logspace(0., 2., 3)', 'float32', (3,), '[1.0, 10.0, 100.0]'),
    ('geomspace_like', 'jnp.logspace(0., 3., 4, base=2.)', 'float32', (4,), '[1.0, 2.0, 4.0, 8.0]'),
    ('concat_promote', 'jnp.concatenate([jnp.ones(2, jnp.int8), jnp.ones(1, jnp.float16)])', 'float16', (3,), '[1.0, 1.0, 1.0]'),
    ('concat_weak', 'jnp.concatenate([jnp.array([1, 2], jnp.uint8), jnp.array([300])])', 'int32', (3,), '[1.0, 2.0, 300.0]'),
    ('stack_scalars', 'jnp.stack([1., 2.])', 'float32', (2,), '[1.0, 2.0]'),
    ('stack_neg_axis', 'jnp.stack([jnp.ones(2), jnp.zeros(2)], axis=-1)', 'float32', (2, 2), '[[1.0, 0.0], [1.0, 0.0]]'),
    ('hstack_scalars', 'jnp.hstack([1, 2.5])', 'float32', (2,), '[1.0, 2.5]'),
    ('vstack_1d', 'jnp.vstack([jnp.arange(2), jnp.arange(2)])', 'int32', (2, 2), '[[0.0, 1.0], [0.0, 1.0]]'),
    ('array_nested', 'jnp.array([[1, 2.5], [3, 4]])', 'float32', (2, 2), '[[1.0, 2.5], [3.0, 4.0]]'),
    ('array_mixed_bool', 'jnp.array([True, 2])', 'int32', (2,), '[1.0, 2.0]'),
    ('array_from_arrays', 'jnp.array([jnp.ones(2), jnp.zeros(2)])', 'float32', (2, 2), '[[1.0, 1.0], [0.0, 0.0]]'),
    ('array_ndmin', 'jnp.array(3., ndmin=2)', 'float32', (1, 1), '[[3.0]]'),
    ('asarray_dtype', 'jnp.asarray([1.7, -1.7], dtype=jnp.int32)', 'int32', (2,), '[1.0, -1.0]'),
    ('astype_weak', 'jnp.asarray(1.5).astype(jnp.float16)', 'float16', (), '1.5'),
    ('astype_bool_to_f', 'jnp.array([True, False]).astype(jnp.bfloat16)', 'bfloat16', (2,), '[1.0, 0.0]'),
    ('reshape_order_F', "jnp.reshape(jnp.arange(6), (2, 3), order='F')", 'int32', (2, 3), '[[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]'),
    ('ravel_F', "jnp.ravel(jnp.arange(6).reshape(2, 3), order='F')", 'int32', (6,), '[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]'),
    ('transpose_neg', 'jnp.transpose(jnp.ones((2, 3, 4)), (-1, 0, 1)).shape', None, None, '(4, 2, 3)'),
    ('swapaxes_neg', 'jnp.swapaxes(jnp.ones((2, 3, 4)), -1, 0).shape', None, None, '(4, 3, 2)'),
    ('squeeze_tuple', 'jnp.squeeze(jnp.ones((1, 2, 1, 1)), axis=(0, 2)).shape', None, None, '(2, 1)'),
    ('expand_tuple', 'jnp.expand_dims(jnp.ones(2), (0, -1)).shape', None, None, '(1, 2, 1)'),
    ('broadcast_to_scalar', 'jnp.broadcast_to(3, (2, 2))', 'int32', (2, 2), '[[3.0, 3.0], [3.0, 3.0]]'),
    ('broadcast_shapes', 'jnp.broadcast_shapes((2, 1), (3,))', None, None, '(2, 3)'),
    ('tile_more_dims', 'jnp.tile(jnp.arange(2), (2, 1, 2)).shape', None, None, '(2, 1, 4)'),
    ('split_axis1_idx', 'jnp.split(jnp.arange(8).reshape(2, 4), [1, 3], axis=1)[1]', 'int32', (2, 2), '[[1.0, 2.0], [5.0, 6.0]]'),
    ('array_split_uneven', 'jnp.array_split(jnp.arange(5), 3)[2]', 'int32', (1,), '[4.0]'),
    ('hsplit', 'jnp.hsplit(jnp.arange(6).reshape(2, 3), 3)[2]', 'int32', (2, 1), '[[2.0], [5.0]]'),
    ('flip_tuple', 'jnp.flip(jnp.arange(8).reshape(2, 2, 2), axis=(0, 2))', 'int32', (2, 2, 2), '[[[5.0, 4.0], [7.0, 6.0]], [[1.0, 0.0], [3.0, 2.0]]]'),
    ('roll_none_neg', 'jnp.roll(jnp.arange(5), -7)', 'int32', (5,), '[2.0, 3.0, 4.0, 0.0, 1.0]'),
    ('roll_big_axis', 'jnp.roll(jnp.arange(6).reshape(2, 3), 4, axis=1)', 'int32', (2, 3), '[[2.0, 0.0, 1.0], [5.0, 3.0, 4.0]]'),
    ('pad_2d_pairs', 'jnp.pad(jnp.ones((1, 2)), ((0, 1), (2, 0)), constant_values=5)', 'float32', (2, 4), '[[5.0, 5.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0]]'),
    ('pad_edge_2d', "jnp.pad(jnp.arange(4).reshape(2, 2), 1, mode='edge')", 'int32', (4, 4), '[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]]'),
    ('pad_int_per_axis', 'jnp.pad(jnp.arange(3), [(1, 0)])', 'int32', (4,), '[0.0, 0.0, 1.0, 2.0]'),
    ('take_2d_idx', 'jnp.take(jnp.arange(5) * 10, jnp.array([[0, 4], [1, 1]]))', 'int32', (2, 2), '[[0.0, 40.0], [10.0, 10.0]]'),
    ('take_along_bcast', 'jnp.take_along_axis(jnp.arange(6).reshape(2, 3), jnp.array([[2], [0]]), axis=1)', 'int32', (2, 1), '[[2.0], [3.0]]'),
    ('take_along_none', 'jnp.take_along_axis(jnp.arange(6).reshape(2, 3), jnp.array([5, 0]), axis=None)', 'int32', (2,), '[5.0, 0.0]'),
    ('sort_descending', 'jnp.sort(jnp.array([3, 1, 2]), descending=True)', 'int32', (3,), '[3.0, 2.0, 1.0]'),
    ('argsort_descending', 'jnp.argsort(jnp.array([3, 1, 3, 2]), descending=True)', 'int32', (4,), '[0.0, 2.0, 3.0, 1.0]'),
    ('argsort_axis_none', 'jnp.argsort(jnp.array([[3, 1], [2, 0]]), axis=None)', 'int32', (4,), '[3.0, 1.0, 2.0, 0.0]'),
    ('sort_bool', 'jnp.sort(jnp.array([True, False, True]))', 'bool', (3,), '[False, True, True]'),
    ('lexsort_like', 'jnp.argsort(jnp.array([2., -0., 0., -1.]))', 'int32', (4,), '[3.0, 1.0, 2.0, 0.0]'),
    ('triu_3d', 'jnp.triu(jnp.ones((2, 2, 3)), 1)', 'float32', (2, 2, 3), '[[[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]], [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]]'),
    ('diag_k_big', 'jnp.diag(jnp.arange(3), 2)', 'int32', (5, 5), '[[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]'),
    ('diagonal_neg', 'jnp.diagonal(jnp.arange(12).reshape(3, 4), -1)', 'int32', (2,), '[4.0, 9.0]'),
    ('trace_3d', 'jnp.trace(jnp.arange(8).reshape(2, 2, 2), axis1=1, axis2=2)', 'int32', (2,), '[3.0, 11.0]'),
    ('einsum_implicit', "jnp.einsum('ij,jk', jnp.ones((2, 3)), jnp.ones((3, 2)))", 'float32', (2, 2), '[[3.0, 3.0], [3.0, 3.0]]'),
    ('einsum_transpose', "jnp.einsum('ij->ji', jnp.arange(6).reshape(2, 3))", 'int32', (3, 2), '[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]'),
    ('einsum_bcast_ellipsis', "jnp.einsum('...i,i->...', jnp.ones((2, 3, 4)), jnp.arange(4.))", 'float32', (2, 3), '[[6.0, 6.0, 6.0], [6.0, 6.0, 6.0]]'),
    ('einsum_int', "jnp.einsum('i,i', jnp.arange(3), jnp.arange(3))", 'int32', (), '5.0'),
    ('tensordot_0', 'jnp.tensordot(jnp.arange(2.), jnp.arange(3.), 0)', 'float32', (2, 3), '[[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]'),
    ('inner_scalar', 'jnp.inner(2., jnp.arange(3.))', 'float32', (3,), '[0.0, 2.0, 4.0]'),
    ('matmul_1d_1d', 'jnp.matmul(jnp.arange(3.), jnp.arange(3.))', 'float32', (), '5.0'),
    ('dot_nd', 'jnp.dot(jnp.ones((2, 3, 4)), jnp.ones((5, 4, 6))).shape', None, None, '(2, 3, 5, 6)'),
    ('matmul_int_float', 'jnp.matmul(jnp.ones((2, 2), jnp.int32), jnp.ones((2, 2)))', 'float32', (2, 2), '[[2.0, 2.0], [2.0, 2.0]]'),
    ('outer_2d', 'jnp.outer(jnp.ones((2, 2)), jnp.arange(3))', 'float32', (4, 3), '[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]'),
    ('where_one_arg', 'jnp.where(jnp.array([0, 3, 0, 5]))[0]', 'int32', (2,), '[1.0, 3.0]'),
    ('where_bcast3', 'jnp.where(jnp.array([[True], [False]]), jnp.arange(3), -1)', 'int32', (2, 3), '[[0.0, 1.0, 2.0], [-1.0, -1.0, -1.0]]'),
    ('clip_none_min', 'jnp.clip(jnp.arange(5), max=2)', 'int32', (5,), '[0.0, 1.0, 2.0, 2.0, 2.0]'),
    ('clip_arrays_bcast', 'jnp.clip(jnp.arange(6).reshape(2, 3), jnp.array([1, 0, 2]), 3)', 'int32', (2, 3), '[[1.0, 1.0, 2.0], [3.0, 3.0, 3.0]]'),
    ('minimum_bool', 'jnp.minimum(jnp.array([True, False]), jnp.array([True, True]))', 'bool', (2,), '[True, False]'),
    ('maximum_mixed', 'jnp.maximum(jnp.array([1, 5], jnp.int8), 2.5)', 'float32', (2,), '[2.5, 5.0]'),
    ('square_int', 'jnp.square(jnp.array([-3], jnp.int8))', 'int8', (1,), '[9.0]'),
    ('abs_float_negzero', 'jnp.abs(jnp.array([-0.]))', 'float32', (1,), '[0.0]'),
    ('reciprocal_int', 'jnp.reciprocal(jnp.array([2, 4]))', 'float32', (2,), '[0.5, 0.25]'),
    ('exp2_int', 'jnp.exp2(jnp.array([3, -1]))', 'float32', (2,), '[8.0, 0.5]'),
    ('log2_exact', 'jnp.log2(jnp.array([8., 0.25]))', 'float32', (2,), '[3.0, -2.0]'),
    ('log10_exact', 'jnp.log10(jnp.array([1000., 0.01]))', 'float32', (2,), '[3.0, -2.0]'),
    ('cbrt_neg', 'jnp.cbrt(jnp.array([-27.]))', 'float32', (1,), '[-3.0]'),
    ('expm1_small', 'jnp.expm1(jnp.array([1e-10]))', 'float32', (1,), '[1.000000013351432e-10]'),
    ('log1p_small', 'jnp.log1p(jnp.array([1e-10]))', 'float32', (1,), '[1.000000013351432e-10]'),
    ('tanh_big', 'jnp.tanh(jnp.array([50., -50.]))', 'float32', (2,), '[1.0, -1.0]'),
    ('arccosh_1', 'jnp.arccosh(jnp.array([1.]))', 'float32', (1,), '[0.0]'),
    ('deg2rad_int', 'jnp.deg2rad(jnp.array([180]))', 'float32', (1,), '[3.1415927410125732]'),
    ('true_divide_weak', 'jnp.true_divide(3, 2)', 'float32', (), '1.5'),
    ('floor_divide_float_neg', 'jnp.floor_divide(jnp.array([-7.5, 7.5]), 2.)', 'float32', (2,), '[-4.0, 3.0]'),
    ('power_neg_int_exp_float', 'jnp.power(jnp.array([2.]), -2)', 'float32', (1,), '[0.25]'),
    ('power_bool', 'jnp.power(jnp.array([True, False]), 2)', 'int32', (2,), '[1.0, 0.0]'),
    ('bitwise_count_like', 'jnp.bitwise_and(jnp.array([12], jnp.uint8), 10)', 'uint8', (1,), '[8.0]'),
    ('invert_uint8', 'jnp.invert(jnp.array([0, 255], jnp.uint8))', 'uint8', (2,), '[255.0, 0.0]'),
    ('logical_not_float', 'jnp.logical_not(jnp.array([0., nan, 2.]))', 'bool', (3,), '[True, False, False]'),
    ('isfinite_int', 'jnp.isfinite(jnp.array([1, 2]))', 'bool', (2,), '[True, True]'),
    ('isnan_int', 'jnp.isnan(jnp.array([1]))', 'bool', (1,), '[False]'),
    ('equal_nan', 'jnp.equal(jnp.array([nan]), jnp.array([nan]))', 'bool', (1,), '[False]'),
    ('not_equal_mixed', 'jnp.not_equal(jnp.array([1, 2]), 1.0)', 'bool', (2,), '[False, True]'),
    ('greater_uint_neg', 'jnp.greater(jnp.array([1], jnp.uint8), -1)', 'bool', (1,), '[False]'),
    ('compare_bool_int', 'jnp.array([True, False]) == 1', 'bool', (2,), '[True, False]'),
    ('cumprod_axis_none', 'jnp.cumprod(jnp.arange(1, 7).reshape(2, 3))', 'int32', (6,), '[1.0, 2.0, 6.0, 24.0, 120.0, 720.0]'),
    ('cumsum_dtype', 'jnp.cumsum(jnp.array([100, 100], jnp.int8), dtype=jnp.int32)', 'int32', (2,), '[100.0, 200.0]'),
    ('nancumsum', 'jnp.nancumsum(jnp.array([1., nan, 2.]))', 'float32', (3,), '[1.0, 1.0, 3.0]'),
    ('unique_counts', 'jnp.unique(jnp.array([3, 1, 3, 3]), return_counts=True)[1]', 'int32', (2,), '[1.0, 3.0]'),
    ('unique_inverse', 'jnp.unique(jnp.array([3, 1, 3]), return_inverse=True)[1]', 'int32', (3,), '[1.0, 0.0, 1.0]'),
    ('unique_size', 'jnp.unique(jnp.array([3, 1, 3]), size=4, fill_value=-1)', 'int32', (4,), '[1.0, 3.0, -1.0, -1.0]'),
    ('flatnonzero', 'jnp.flatnonzero(jnp.array([[0, 1], [1, 0]]))', 'int32', (2,), '[1.0, 2.0]'),
    ('count_nonzero_bool', 'jnp.count_nonzero(jnp.array([True, False, True]))', 'int32', (), '2.0'),
    ('histogram_like_bincount_w', 'jnp.bincount(jnp.array([0, 2, 2]), weights=jnp.array([0.5, 1., 2.]))', 'float32', (3,), '[0.5, 0.0, 3.0]'),
    ('searchsorted_left', 'jnp.searchsorted(jnp.array([1, 2, 2, 3]), 2)', 'int32', (), '1.0'),
    ('digitize_right', 'jnp.digitize(jnp.array([1., 2.]), jnp.array([1., 2.]), right=True)', 'int32', (2,), '[0.0, 1.0]'),
    ('interp_left_right', 'jnp.interp(jnp.array([-1., 5.]), jnp.array([0., 1.]), jnp.array([1., 2.]), left=-9., right=9.)', 'float32', (2,), '[-9.0, 9.0]'),
    ('nanmean_all_nan', 'jnp.nanmean(jnp.array([nan, nan]))', 'float32', (), 'nan'),
    ('nanstd', 'jnp.nanstd(jnp.array([1., nan, 3.]))', 'float32', (), '1.0'),
    ('median_axis', 'jnp.median(jnp.array([[1., 5., 3.], [2., 2., 9.]]), axis=1)', 'float32', (2,), '[3.0, 2.0]'),
    ('quantile_multi', 'jnp.quantile(jnp.arange(5.), jnp.array([0., 1.]))', 'float32', (2,), '[0.0, 4.0]'),
    ('quantile_lower', "jnp.quantile(jnp.arange(5.), 0.3, method='lower')", 'float32', (), '1.0'),
    ('average_returned', 'jnp.average(jnp.arange(4.).reshape(2, 2), axis=0, weights=jnp.array([1., 3.]), returned=True)[1]', 'float32', (2,), '[4.0, 4.0]'),
    ('allclose_shape_bcast', 'jnp.allclose(jnp.ones((2, 2)), 1.)', 'bool', (), 'True'),
    ('array_equiv', 'jnp.array_equiv(jnp.ones((2, 2)), jnp.ones(2))', 'bool', (), 'True'),
    ('array_equal_shape', 'jnp.array_equal(jnp.ones(2), jnp.ones(3))', 'bool', (), 'False'),
    ('cross_2d', 'jnp.cross(jnp.array([1., 2.]), jnp.array([3., 4.]))', 'float32', (), '-2.0'),
    ('kron_3d', 'jnp.kron(jnp.ones((2, 1, 1)), jnp.arange(2)).shape', None, None, '(2, 1, 2)'),
    ('convolve_valid', "jnp.convolve(jnp.arange(5.), jnp.array([1., -1.]), mode='valid')", 'float32', (4,), '[1.0, 1.0, 1.0, 1.0]'),
    ('correlate_valid_default', 'jnp.correlate(jnp.arange(5.), jnp.array([1., 2.]))', 'float32', (4,), '[2.0, 5.0, 8.0, 11.0]'),
    ('diff_prepend', 'jnp.diff(jnp.array([1, 3, 6]), prepend=0)', 'int32', (3,), '[1.0, 2.0, 3.0]'),
    ('diff_bool', 'jnp.diff(jnp.array([True, False, False]))', 'bool', (2,), '[True, False]'),
    ('trapezoid_x', 'jnp.trapezoid(jnp.array([1., 2., 3.]), x=jnp.array([0., 1., 3.]))', 'float32', (), '6.5'),
    ('gcd_uint', 'jnp.gcd(jnp.array([12], jnp.uint8), jnp.array([18], jnp.uint8))', 'uint8', (1,), '[6.0]'),
    ('frexp_exp_dtype', 'jnp.frexp(jnp.array([8.]))[1]', 'int32', (1,), '[4.0]'),
    ('nan_to_num_args', 'jnp.nan_to_num(jnp.array([nan, inf]), nan=-1., posinf=7.)', 'float32', (2,), '[-1.0, 7.0]'),
    ('real_float', 'jnp.real(jnp.array([1.5]))', 'float32', (1,), '[1.5]'),
    ('imag_float', 'jnp.imag(jnp.array([1.5]))', 'float32', (1,), '[0.0]'),
    ('conj_float', 'jnp.conj(jnp.array([1.5]))', 'float32', (1,), '[1.5]'),
    ('size_axis', 'jnp.size(jnp.ones((2, 3)), 1)', None, None, '3'),
    ('ndim_list', 'jnp.ndim([[1, 2]])', None, None, '2'),
    ('shape_scalar', 'jnp.shape(3.)', None, None, '()'),
    ('isscalar', 'jnp.isscalar(jnp.float32(1))', None, None, 'True'),
    ('issubdtype', 'jnp.issubdtype(jnp.float16, jnp.floating)', None, None, 'True'),
    ('dtype_fn', "jnp.dtype('float32')", None, None, "dtype('float32')"),
    ('promote_types', "jnp.promote_types('uint8', 'int8')", None, None, "dtype('int16')"),
    ('iinfo_int8_min', 'jnp.iinfo(jnp.int8).min', None, None, '-128'),
    ('finfo_f16_max', 'jnp.finfo(jnp.float16).max', 'float16', (), '65504.0'),
    ('bool_scalar_type', 'jnp.bool_(1)', 'bool', (), 'True'),
    ('int8_scalar_wrap', 'jnp.int8(3.9)', 'int8', (), '3.0'),
    ('float16_scalar', 'jnp.float16(1/3)', 'float16', (), '0.333251953125'),
    ('bfloat16_scalar', 'jnp.bfloat16(1/3)', 'bfloat16', (), '0.333984375'),
    ('int32_from_array', 'jnp.int32(jnp.array([1.9, -1.9]))', 'int32', (2,), '[1.0, -1.0]'),
]


def same_bits(got, want, dtype):
    """Bit-equal on the NumPy platform (the reference computes float32 in float64 and rounds once,
    as XLA's CPU results are); on CUDA, transcendental functions may differ by an ulp or two."""
    from gpuxla.backends import get_backend
    if get_backend().platform == "numpy" or np.dtype(dtype).kind not in "fc":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=4 * float(np.finfo(dtype).eps), atol=0, equal_nan=True)


@pytest.mark.parametrize("name,expr,dtype,shape,value", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_values_match_jax(name, expr, dtype, shape, value):
    import gpuxla as jax  # noqa: F401  (expressions use jax.lax)
    import gpuxla.numpy as jnp  # noqa: F401
    with D.enable_x64(False):
        r = eval(expr)
        if dtype is None:
            assert repr(r) == value
            return
        a = np.asarray(r)
        assert (str(a.dtype), a.shape) == (dtype, shape)
        want = np.asarray(eval(value), dtype=np.float64 if a.dtype.kind not in "bc" else a.dtype).reshape(shape)
        got = a.astype(np.float64) if a.dtype.kind not in "bc" else a
        same_bits(got, want, a.dtype)
        if a.dtype.kind == "f":     # signed zeros too (sign(-0.) is -0.); NaN signs are not recorded
            ok = ~np.isnan(want)
            np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want[ok]))


def test_special_errors_match_jax():
    import gpuxla.numpy as jnp
    with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
        jnp.uint8(-1)
    with pytest.raises(TypeError, match="neg does not accept dtype bool"):
        -jnp.array([True])


# --- Array methods and operators, and gpuxla.lax, against JAX 0.10.2 (weak types included) ------
# Left out: lax.erf_inv/lgamma/digamma differ from XLA's float32 approximations in the last bit
# (gpuxla's NumPy reference computes them in float64; the op table checks them with tolerances),
# and lax.add of a float16 array and a Python float (JAX refuses; gpuxla's lax lets the weak
# scalar take the array's dtype).
METHODS_AND_LAX = [   # name, expression over x = arange(12.).reshape(3, 4), dtype, shape, value, weak_type
    ('m_sum', 'x.sum(axis=0)', 'float32', (4,), '[12.0, 15.0, 18.0, 21.0]', False),
    ('m_mean_keep', 'x.mean(1, keepdims=True)', 'float32', (3, 1), '[[1.5], [5.5], [9.5]]', False),
    ('m_max', 'x.max()', 'float32', (), '11.0', False),
    ('m_argmin', 'x.argmin(axis=1)', 'int32', (3,), '[0.0, 0.0, 0.0]', False),
    ('m_clip', 'x.clip(2, 5)', 'float32', (3, 4), '[[2.0, 2.0, 2.0, 3.0], [4.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]]', False),
    ('m_astype', 'x.astype(jnp.int8)', 'int8', (3, 4), '[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]', False),
    ('m_T', 'x.T', 'float32', (4, 3), '[[0.0, 4.0, 8.0], [1.0, 5.0, 9.0], [2.0, 6.0, 10.0], [3.0, 7.0, 11.0]]', False),
    ('m_mT', 'jnp.ones((2, 3, 4)).mT.shape', None, None, '(2, 4, 3)', None),
    ('m_flatten', 'x.flatten()', 'float32', (12,), '[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]', False),
    ('m_ravel', 'x.ravel()', 'float32', (12,), '[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]', False),
    ('m_squeeze', 'x[None].squeeze(0).shape', None, None, '(3, 4)', None),
    ('m_any', '(x > 10).any()', 'bool', (), 'True', False),
    ('m_all_axis', '(x > 0).all(axis=1)', 'bool', (3,), '[False, True, True]', False),
    ('m_cumsum', 'x.cumsum(axis=1)', 'float32', (3, 4), '[[0.0, 1.0, 3.0, 6.0], [4.0, 9.0, 15.0, 22.0], [8.0, 17.0, 27.0, 38.0]]', False),
    ('m_prod', 'x.prod(axis=1)', 'float32', (3,), '[0.0, 840.0, 7920.0]', False),
    ('m_std', 'x.std()', 'float32', (), '3.452052593231201', False),
    ('m_var_ddof', 'x.var(ddof=1)', 'float32', (), '13.0', False),
    ('m_reshape_tuple', 'x.reshape((4, 3)).shape', None, None, '(4, 3)', None),
    ('m_reshape_args', 'x.reshape(2, -1).shape', None, None, '(2, 6)', None),
    ('m_transpose_args', 'jnp.ones((2, 3, 4)).transpose(2, 0, 1).shape', None, None, '(4, 2, 3)', None),
    ('m_swapaxes', 'x.swapaxes(0, 1).shape', None, None, '(4, 3)', None),
    ('m_take', 'x.take(jnp.array([0, 5]))', 'float32', (2,), '[0.0, 5.0]', False),
    ('m_repeat', 'x.repeat(2, axis=0).shape', None, None, '(6, 4)', None),
    ('m_diagonal', 'x.diagonal()', 'float32', (3,), '[0.0, 5.0, 10.0]', False),
    ('m_trace', 'x.trace()', 'float32', (), '15.0', False),
    ('m_dot', 'x.dot(jnp.ones(4))', 'float32', (3,), '[6.0, 22.0, 38.0]', False),
    ('m_sort', '(-x).sort(axis=1)', 'float32', (3, 4), '[[-3.0, -2.0, -1.0, -0.0], [-7.0, -6.0, -5.0, -4.0], [-11.0, -10.0, -9.0, -8.0]]', False),
    ('m_argsort', '(-x).argsort(axis=0)', 'int32', (3, 4), '[[2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]', False),
    ('m_nonzero', '(x > 8).nonzero()[1]', 'int32', (3,), '[1.0, 2.0, 3.0]', False),
    ('m_ptp', 'x.ptp(axis=1)', 'float32', (3,), '[3.0, 3.0, 3.0]', False),
    ('m_conj', 'x.conj()', 'float32', (3, 4), '[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]', False),
    ('m_real', 'x.real', 'float32', (3, 4), '[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]', False),
    ('m_imag', 'x.imag', 'float32', (3, 4), '[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]', False),
    ('m_size_ndim', '(x.size, x.ndim, x.shape)', None, None, '(12, 2, (3, 4))', None),
    ('m_item_idx', 'x[1, 2].item()', None, None, '6.0', None),
    ('m_copy', 'x.copy()', 'float32', (3, 4), '[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]', False),
    ('m_len', 'len(x)', None, None, '3', None),
    ('m_iter_sum', 'sum(x)', 'float32', (4,), '[12.0, 15.0, 18.0, 21.0]', False),
    ('m_rpow', '2 ** jnp.arange(4)', 'int32', (4,), '[1.0, 2.0, 4.0, 8.0]', False),
    ('m_rsub', '10 - x', 'float32', (3, 4), '[[10.0, 9.0, 8.0, 7.0], [6.0, 5.0, 4.0, 3.0], [2.0, 1.0, 0.0, -1.0]]', False),
    ('m_rtruediv', '1 / jnp.array([2., 4.])', 'float32', (2,), '[0.5, 0.25]', False),
    ('m_rfloordiv', '7 // jnp.array([2, -2])', 'int32', (2,), '[3.0, -4.0]', False),
    ('m_rmod', '7 % jnp.array([3, -3])', 'int32', (2,), '[1.0, -2.0]', False),
    ('m_matmul_r', 'np.ones((2, 3)) @ jnp.ones((3,))', 'float32', (2,), '[3.0, 3.0]', False),
    ('m_np_left', 'np.float32(2) * jnp.ones(2)', 'float32', (2,), '[2.0, 2.0]', False),
    ('m_np_array_left', 'np.ones(2) + jnp.ones(2, jnp.float16)', 'float32', (2,), '[2.0, 2.0]', False),
    ('m_divmod', 'divmod(jnp.array([7, -7]), 3)[1]', 'int32', (2,), '[1.0, 2.0]', False),
    ('m_abs', 'abs(jnp.array([-1.5]))', 'float32', (1,), '[1.5]', False),
    ('m_neg_uint', '-jnp.array([3], jnp.uint8)', 'uint8', (1,), '[253.0]', False),
    ('m_invert_int', '~jnp.array([5])', 'int32', (1,), '[-6.0]', False),
    ('m_and_bool', 'jnp.array([True, False]) & True', 'bool', (2,), '[True, False]', False),
    ('m_xor_int', 'jnp.array([5]) ^ 3', 'int32', (1,), '[6.0]', False),
    ('m_lshift', 'jnp.array([1]) << 4', 'int32', (1,), '[16.0]', False),
    ('m_rshift', 'jnp.array([-16]) >> 2', 'int32', (1,), '[-4.0]', False),
    ('m_pos', '+jnp.array([1])', 'int32', (1,), '[1.0]', False),
    ('m_lt_scalar', 'jnp.array([1., 2.]) < 1.5', 'bool', (2,), '[True, False]', False),
    ('m_bool_and_int', 'jnp.array([True]) + jnp.array([2])', 'int32', (1,), '[3.0]', False),
    ('lax_div_int', 'jax.lax.div(jnp.array([7, -7]), jnp.array([2, 2]))', 'int32', (2,), '[3.0, -3.0]', False),
    ('lax_rem_int', 'jax.lax.rem(jnp.array([7, -7]), jnp.array([2, 2]))', 'int32', (2,), '[1.0, -1.0]', False),
    ('lax_srl_neg', 'jax.lax.shift_right_logical(jnp.array([-16]), jnp.array([2]))', 'int32', (1,), '[1073741820.0]', False),
    ('lax_sra', 'jax.lax.shift_right_arithmetic(jnp.array([-16]), jnp.array([2]))', 'int32', (1,), '[-4.0]', False),
    ('lax_popcnt', 'jax.lax.population_count(jnp.array([7, -1], jnp.int8))', 'int8', (2,), '[3.0, 8.0]', False),
    ('lax_clz', 'jax.lax.clz(jnp.array([1, 0, -1]))', 'int32', (3,), '[31.0, 32.0, 0.0]', False),
    ('lax_round_away', 'jax.lax.round(jnp.array([0.5, -0.5, 1.5, 2.5]))', 'float32', (4,), '[1.0, -1.0, 2.0, 3.0]', False),
    ('lax_round_even', 'jax.lax.round(jnp.array([0.5, -0.5, 1.5, 2.5]), jax.lax.RoundingMethod.TO_NEAREST_EVEN)', 'float32', (4,), '[0.0, -0.0, 2.0, 2.0]', False),
    ('lax_integer_pow', 'jax.lax.integer_pow(jnp.array([2., 3.]), -2)', 'float32', (2,), '[0.25, 0.1111111119389534]', False),
    ('lax_integer_pow_int', 'jax.lax.integer_pow(jnp.array([2, 3]), 3)', 'int32', (2,), '[8.0, 27.0]', False),
    ('lax_convert_weak', 'jax.lax.convert_element_type(jnp.array([1.7]), jnp.int32)', 'int32', (1,), '[1.0]', False),
    ('lax_convert_f2u', 'jax.lax.convert_element_type(jnp.array([-1.5, 300.]), jnp.uint8)', 'uint8', (2,), '[0.0, 255.0]', False),
    ('lax_bitcast', 'jax.lax.bitcast_convert_type(jnp.array([1.], jnp.float32), jnp.int32)', 'int32', (1,), '[1065353216.0]', False),
    ('lax_bitcast_u16', 'jax.lax.bitcast_convert_type(jnp.array([1.], jnp.float16), jnp.uint16)', 'uint16', (1,), '[15360.0]', False),
    ('lax_iota', 'jax.lax.iota(jnp.int8, 4)', 'int8', (4,), '[0.0, 1.0, 2.0, 3.0]', False),
    ('lax_broadcasted_iota', 'jax.lax.broadcasted_iota(jnp.int32, (2, 3), 1)', 'int32', (2, 3), '[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]', False),
    ('lax_full', 'jax.lax.full((2,), 3.)', 'float32', (2,), '[3.0, 3.0]', True),
    ('lax_full_like', 'jax.lax.full_like(jnp.ones(2, jnp.int8), 7)', 'int8', (2,), '[7.0, 7.0]', False),
    ('lax_broadcast', 'jax.lax.broadcast(jnp.arange(2), (3,))', 'int32', (3, 2), '[[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]', False),
    ('lax_broadcast_in_dim', 'jax.lax.broadcast_in_dim(jnp.arange(2), (3, 2), (1,))', 'int32', (3, 2), '[[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]', False),
    ('lax_reshape_dims', 'jax.lax.reshape(jnp.arange(6).reshape(2, 3), (3, 2), dimensions=(1, 0))', 'int32', (3, 2), '[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]', False),
    ('lax_squeeze', 'jax.lax.squeeze(jnp.ones((1, 2, 1)), (0, 2)).shape', None, None, '(2,)', None),
    ('lax_expand_dims', 'jax.lax.expand_dims(jnp.ones(2), (0, 2)).shape', None, None, '(1, 2, 1)', None),
    ('lax_rev', 'jax.lax.rev(jnp.arange(6).reshape(2, 3), (0, 1))', 'int32', (2, 3), '[[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]', False),
    ('lax_transpose', 'jax.lax.transpose(jnp.arange(6).reshape(2, 3), (1, 0))', 'int32', (3, 2), '[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]', False),
    ('lax_slice', 'jax.lax.slice(jnp.arange(10), (1,), (9,), (3,))', 'int32', (3,), '[1.0, 4.0, 7.0]', False),
    ('lax_slice_in_dim', 'jax.lax.slice_in_dim(jnp.arange(6).reshape(2, 3), 1, 3, axis=1)', 'int32', (2, 2), '[[1.0, 2.0], [4.0, 5.0]]', False),
    ('lax_index_in_dim', 'jax.lax.index_in_dim(jnp.arange(6).reshape(2, 3), 1, axis=1, keepdims=False)', 'int32', (2,), '[1.0, 4.0]', False),
    ('lax_dynamic_slice_in_dim', 'jax.lax.dynamic_slice_in_dim(jnp.arange(6), 4, 3)', 'int32', (3,), '[3.0, 4.0, 5.0]', False),
    ('lax_dynamic_index_in_dim', 'jax.lax.dynamic_index_in_dim(jnp.arange(6).reshape(2, 3), -1, axis=1)', 'int32', (2, 1), '[[2.0], [5.0]]', False),
    ('lax_dus_clamp', 'jax.lax.dynamic_update_slice(jnp.zeros(5), jnp.ones(2), (4,))', 'float32', (5,), '[0.0, 0.0, 0.0, 1.0, 1.0]', False),
    ('lax_dus_neg', 'jax.lax.dynamic_update_slice(jnp.zeros(5), jnp.ones(2), (-1,))', 'float32', (5,), '[0.0, 0.0, 0.0, 1.0, 1.0]', False),
    ('lax_dus_in_dim', 'jax.lax.dynamic_update_slice_in_dim(jnp.zeros((2, 4)), jnp.ones((2, 1)), 2, axis=1)', 'float32', (2, 4), '[[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]]', False),
    ('lax_pad_interior', 'jax.lax.pad(jnp.arange(3.), 0., ((1, 2, 1),))', 'float32', (8,), '[0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0]', False),
    ('lax_pad_negative', 'jax.lax.pad(jnp.arange(5.), -1., ((-2, 1, 0),))', 'float32', (4,), '[2.0, 3.0, 4.0, -1.0]', False),
    ('lax_pad_neg_interior', 'jax.lax.pad(jnp.arange(4.), 9., ((-1, -1, 1),))', 'float32', (5,), '[9.0, 1.0, 9.0, 2.0, 9.0]', False),
    ('lax_concatenate', 'jax.lax.concatenate([jnp.ones((1, 2)), jnp.zeros((2, 2))], 0)', 'float32', (3, 2), '[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]', False),
    ('lax_select', 'jax.lax.select(jnp.array([True, False]), jnp.ones(2), jnp.zeros(2))', 'float32', (2,), '[1.0, 0.0]', False),
    ('lax_select_n', 'jax.lax.select_n(jnp.array([2, 0, 1]), jnp.zeros(3), jnp.ones(3), jnp.full(3, 2.))', 'float32', (3,), '[2.0, 0.0, 1.0]', False),
    ('lax_clamp', 'jax.lax.clamp(0., jnp.array([-1., 0.5, 2.]), 1.)', 'float32', (3,), '[0.0, 0.5, 1.0]', False),
    ('lax_reduce_sum', 'jax.lax.reduce_sum(jnp.arange(6).reshape(2, 3), (1,))', 'int32', (2,), '[3.0, 12.0]', False),
    ('lax_reduce_max', 'jax.lax.reduce_max(jnp.arange(6.).reshape(2, 3), (0,))', 'float32', (3,), '[3.0, 4.0, 5.0]', False),
    ('lax_reduce_and', 'jax.lax.reduce_and(jnp.array([[True, False], [True, True]]), (1,))', 'bool', (2,), '[False, True]', False),
    ('lax_reduce_or_int', 'jax.lax.reduce_or(jnp.array([[1, 2], [4, 0]]), (0,))', 'int32', (2,), '[5.0, 2.0]', False),
    ('lax_argmax', 'jax.lax.argmax(jnp.array([[1., 3.], [5., 2.]]), 1, jnp.int8)', 'int8', (2,), '[1.0, 0.0]', False),
    ('lax_cumsum_rev', 'jax.lax.cumsum(jnp.arange(4), reverse=True)', 'int32', (4,), '[6.0, 6.0, 5.0, 3.0]', False),
    ('lax_cummin', 'jax.lax.cummin(jnp.array([3, 1, 2, 0]))', 'int32', (4,), '[3.0, 1.0, 1.0, 0.0]', False),
    ('lax_cumprod', 'jax.lax.cumprod(jnp.array([1., 2., 3.]))', 'float32', (3,), '[1.0, 2.0, 6.0]', False),
    ('lax_cumlogsumexp', 'jax.lax.cumlogsumexp(jnp.array([0., 0., 0.]))', 'float32', (3,), '[0.0, 0.6931471824645996, 1.0986123085021973]', False),
    ('lax_sort', 'jax.lax.sort(jnp.array([3, 1, 2]))', 'int32', (3,), '[1.0, 2.0, 3.0]', False),
    ('lax_sort_dim', 'jax.lax.sort(jnp.array([[3, 1], [0, 5]]), dimension=0)', 'int32', (2, 2), '[[0.0, 1.0], [3.0, 5.0]]', False),
    ('lax_top_k', 'jax.lax.top_k(jnp.array([1., 5., 3., 5.]), 2)[1]', 'int32', (2,), '[1.0, 3.0]', False),
    ('lax_dot', 'jax.lax.dot(jnp.ones((2, 3)), jnp.ones(3))', 'float32', (2,), '[3.0, 3.0]', False),
    ('lax_dot_general_batch', 'jax.lax.dot_general(jnp.ones((2, 3, 4)), jnp.ones((2, 4, 5)), (((2,), (1,)), ((0,), (0,)))).shape', None, None, '(2, 3, 5)', None),
    ('lax_dot_pet', 'jax.lax.dot_general(jnp.ones(3, jnp.int8), jnp.ones(3, jnp.int8), (((0,), (0,)), ((), ())), preferred_element_type=jnp.int32)', 'int32', (), '3.0', False),
    ('lax_logistic', 'jax.lax.logistic(jnp.array([-50., 0., 50.]))', 'float32', (3,), '[1.9287498933537385e-22, 0.5, 1.0]', False),
    ('lax_rsqrt', 'jax.lax.rsqrt(jnp.array([4., 0.25]))', 'float32', (2,), '[0.5, 2.0]', False),
    ('lax_nextafter', 'jax.lax.nextafter(jnp.array([0.], jnp.float32), jnp.array([1.], jnp.float32))', 'float32', (1,), '[1.401298464324817e-45]', False),
    ('lax_atan2', 'jax.lax.atan2(jnp.array([1.]), jnp.array([-1.]))', 'float32', (1,), '[2.356194496154785]', False),
    ('lax_is_finite', 'jax.lax.is_finite(jnp.array([inf, nan, 1.]))', 'bool', (3,), '[False, False, True]', False),
    ('lax_not_int', 'jax.lax.bitwise_not(jnp.array([0, -1]))', 'int32', (2,), '[-1.0, 0.0]', False),
    ('lax_max_nan', 'jax.lax.max(jnp.array([nan, 1.]), jnp.array([0., nan]))', 'float32', (2,), '[nan, nan]', False),
    ('lax_sign_int', 'jax.lax.sign(jnp.array([-5, 0, 3]))', 'int32', (3,), '[-1.0, 0.0, 1.0]', False),
    ('lax_expm1', 'jax.lax.expm1(jnp.array([0.]))', 'float32', (1,), '[0.0]', False),
    ('lax_stop_gradient', 'jax.lax.stop_gradient(jnp.ones(2))', 'float32', (2,), '[1.0, 1.0]', False),
    ('lax_square', 'jax.lax.square(jnp.array([3]))', 'int32', (1,), '[9.0]', False),
    ('lax_reciprocal', 'jax.lax.reciprocal(jnp.array([4.]))', 'float32', (1,), '[0.25]', False),
]


@pytest.mark.parametrize("name,expr,dtype,shape,value,weak", METHODS_AND_LAX, ids=[c[0] for c in METHODS_AND_LAX])
def test_methods_and_lax_match_jax(name, expr, dtype, shape, value, weak):
    import gpuxla as jax  # noqa: F401
    import gpuxla.numpy as jnp
    with D.enable_x64(False):
        x = jnp.arange(12.).reshape(3, 4)  # noqa: F841
        r = eval(expr)
        if dtype is None:
            assert repr(r) == value
            return
        a = np.asarray(r)
        assert (str(a.dtype), a.shape, bool(getattr(r, "weak_type", False))) == (dtype, shape, weak)
        want = np.asarray(eval(value), dtype=np.float64 if a.dtype.kind not in "bc" else a.dtype).reshape(shape)
        same_bits(a.astype(np.float64) if a.dtype.kind not in "bc" else a, want, a.dtype)


def test_operators_refuse_lists_as_jax_does():
    import gpuxla.numpy as jnp
    x = jnp.array([1, 2])
    for f, sym in [(lambda: x == [1, 3], "=="), (lambda: x + [1, 2], r"\+"), (lambda: x != (1,), "!=")]:
        with pytest.raises(TypeError, match=f"unsupported operand type\\(s\\) for {sym}"):
            f()
    assert (x == None) is False  # noqa: E711  (not an array operand: Python's identity fallback)


def test_nan_extrema_of_all_nan_slices_match_jax():
    # JAX (and NumPy) give NaN for nanmax/nanmin of an all-NaN slice; JAX's nanargmax/nanargmin
    # give -1 there. Integer operands have no NaNs to skip.
    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, -2.0]], np.float32)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in ("nanmax", "nanmin"):
            np.testing.assert_array_equal(np.asarray(getattr(jnp, f)(x, axis=1)), getattr(np, f)(x, axis=1))
            assert getattr(jnp, f)(x, axis=1, keepdims=True).shape == (2, 1)
    assert np.asarray(jnp.nanargmax(x, axis=1)).tolist() == [-1, 0]
    assert np.asarray(jnp.nanargmin(x, axis=1)).tolist() == [-1, 2]
    assert float(jnp.nanmax(x)) == 1.0 and int(jnp.nanargmin(x)) == 5
    assert int(jnp.nanmax(jnp.arange(4))) == 3 and int(jnp.nanargmin(jnp.arange(4))) == 0
