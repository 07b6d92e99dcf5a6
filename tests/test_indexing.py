"""Indexing and `.at` updates: JAX's semantics, with values recorded from JAX 0.10.2 (CPU).

Plain NumPy-compatible indexing is compared with NumPy over the op table (tests/test_numpy_ops.py);
here are the cases where JAX differs from NumPy or that need care: out-of-bounds gathers clamp,
out-of-bounds updates are dropped, repeated indices accumulate, boolean masks and scalar
booleans, `mode="fill"`, and the errors (item assignment, list indices, float indices).
"""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import errors
from gpuxla.core import dtypes as D

nan = float("nan")


@pytest.fixture(autouse=True)
def x32():
    with D.enable_x64(False):
        yield


def operands():
    return jnp.arange(12.).reshape(3, 4), jnp.arange(5), jnp.arange(24).reshape(2, 3, 4)


# (name, expression over x = arange(12.).reshape(3, 4), y = arange(5), z = arange(24).reshape(2, 3, 4),
#  JAX's dtype, shape and value)
CASES = [
    ('int_oob_clamps', 'x[10]', 'float32', (4,), [8.0, 9.0, 10.0, 11.0]),
    ('neg_oob_clamps', 'x[-7]', 'float32', (4,), [0.0, 1.0, 2.0, 3.0]),
    ('col_oob_clamps', 'x[:, 9]', 'float32', (3,), [3.0, 7.0, 11.0]),
    ('both_oob', 'x[5, -9]', 'float32', (), 8.0),
    ('array_oob_clamps', 'x[jnp.array([-1, 5, -9])]', 'float32', (3, 4), [[8.0, 9.0, 10.0, 11.0], [8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]]),
    ('array_2d_oob', 'x[jnp.array([[0, 3], [-4, 1]]), 1]', 'float32', (2, 2), [[1.0, 9.0], [1.0, 5.0]]),
    ('jnp_scalar_index', 'x[jnp.int32(2)]', 'float32', (4,), [8.0, 9.0, 10.0, 11.0]),
    ('jnp_scalar_oob', 'x[jnp.int32(7)]', 'float32', (4,), [8.0, 9.0, 10.0, 11.0]),
    ('neg_step_slice', 'x[::-2, ::-3]', 'float32', (2, 2), [[11.0, 8.0], [3.0, 0.0]]),
    ('slice_past_end', 'x[1:100, -100:2]', 'float32', (2, 2), [[4.0, 5.0], [8.0, 9.0]]),
    ('none_ellipsis_mix', 'z[None, ..., None, 1]', 'int32', (1, 2, 3, 1), [[[[1], [5], [9]], [[13], [17], [21]]]]),
    ('ellipsis_middle', 'z[1, ..., 2]', 'int32', (3,), [14, 18, 22]),
    ('adv_split_moves_front', 'z[jnp.array([0, 1]), :, jnp.array([3, 2])]', 'int32', (2, 3), [[3, 7, 11], [14, 18, 22]]),
    ('adv_adjacent_stays', 'z[:, jnp.array([0, 2]), jnp.array([1, 3])]', 'int32', (2, 2), [[1, 11], [13, 23]]),
    ('adv_broadcast', 'x[jnp.array([[0], [2]]), jnp.array([1, 3])]', 'float32', (2, 2), [[1.0, 3.0], [9.0, 11.0]]),
    ('mask_all', 'x[x > 5]', 'float32', (6,), [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]),
    ('mask_rows', 'x[jnp.array([True, False, True])]', 'float32', (2, 4), [[0.0, 1.0, 2.0, 3.0], [8.0, 9.0, 10.0, 11.0]]),
    ('mask_rows_slice', 'x[jnp.array([True, False, True]), 1:]', 'float32', (2, 3), [[1.0, 2.0, 3.0], [9.0, 10.0, 11.0]]),
    ('mask_numpy', 'y[np.array([True, False, True, False, True])]', 'int32', (3,), [0, 2, 4]),
    ('scalar_true', 'x[True]', 'float32', (1, 3, 4), [[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]]),
    ('scalar_false', 'x[False]', 'float32', (0, 3, 4), []),
    ('scalar_true_mid', 'x[0, True]', 'float32', (1, 4), [[0.0, 1.0, 2.0, 3.0]]),
    ('get_fill', "x.at[jnp.array([0, 7])].get(mode='fill', fill_value=-1)", 'float32', (2, 4), [[0.0, 1.0, 2.0, 3.0], [-1.0, -1.0, -1.0, -1.0]]),
    ('get_fill_nan', "x.at[jnp.array([1, -4])].get(mode='fill')", 'float32', (2, 4), [[4.0, 5.0, 6.0, 7.0], [nan, nan, nan, nan]]),
    ('get_clip', "y.at[jnp.array([-9, 9])].get(mode='clip')", 'int32', (2,), [0, 4]),
    ('take_clip', "jnp.take(y, jnp.array([-9, 2, 9]), mode='clip')", 'int32', (3,), [0, 2, 4]),
    ('take_fill', "jnp.take(y, jnp.array([-9, 2, 9]), mode='fill', fill_value=-5)", 'int32', (3,), [-5, 2, -5]),
    ('take_along_oob', 'jnp.take_along_axis(x, jnp.array([[0, 9]]), axis=1)', 'float32', (3, 2), [[0.0, nan], [4.0, nan], [8.0, nan]]),
    ('set_int', 'x.at[1].set(0.)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], [8.0, 9.0, 10.0, 11.0]]),
    ('set_neg', 'x.at[-1, -1].set(100.)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 100.0]]),
    ('set_slice_broadcast', 'x.at[:, 1:3].set(jnp.array([7., 8.]))', 'float32', (3, 4), [[0.0, 7.0, 8.0, 3.0], [4.0, 7.0, 8.0, 7.0], [8.0, 7.0, 8.0, 11.0]]),
    ('set_array_rows', 'x.at[jnp.array([2, 0])].set(jnp.array([[1., 2., 3., 4.], [5., 6., 7., 8.]]))', 'float32', (3, 4), [[5.0, 6.0, 7.0, 8.0], [4.0, 5.0, 6.0, 7.0], [1.0, 2.0, 3.0, 4.0]]),
    ('set_mask', 'x.at[x > 5].set(-1.)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0]]),
    ('set_oob_static_dropped', 'x.at[5].set(0.)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]),
    ('set_oob_array_dropped', 'y.at[jnp.array([0, 7, -9])].set(100)', 'int32', (5,), [100, 1, 2, 3, 4]),
    ('set_neg_array', 'y.at[jnp.array([-1, -2])].set(jnp.array([10, 20]))', 'int32', (5,), [0, 1, 2, 20, 10]),
    ('set_repeated_last_wins', 'y.at[jnp.array([1, 1])].set(jnp.array([5, 5]))', 'int32', (5,), [0, 5, 2, 3, 4]),
    ('set_dtype_cast', 'y.at[0].set(2.7)', 'int32', (5,), [2, 1, 2, 3, 4]),
    ('add_repeated_accumulates', 'y.at[jnp.array([0, 0, 4, 4, 4])].add(1)', 'int32', (5,), [2, 1, 2, 3, 7]),
    ('add_slice', 'x.at[1:, ::2].add(10.)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [14.0, 5.0, 16.0, 7.0], [18.0, 9.0, 20.0, 11.0]]),
    ('add_oob_dropped', 'y.at[jnp.array([2, 5, 100])].add(10)', 'int32', (5,), [0, 1, 12, 3, 4]),
    ('subtract', 'y.at[1].subtract(5)', 'int32', (5,), [0, -4, 2, 3, 4]),
    ('multiply_repeated', 'y.at[jnp.array([2, 2])].multiply(3)', 'int32', (5,), [0, 1, 18, 3, 4]),
    ('divide', 'x.at[0].divide(2.)', 'float32', (3, 4), [[0.0, 0.5, 1.0, 1.5], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]),
    ('power', 'x.at[1, 1:3].power(2)', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [4.0, 25.0, 36.0, 7.0], [8.0, 9.0, 10.0, 11.0]]),
    ('min', 'x.at[jnp.array([0, 0, 2])].min(jnp.array([[1., 1., 1., 1.], [0.5, 9., 9., 9.], [-1., -1., 20., 20.]]))', 'float32', (3, 4), [[0.0, 1.0, 1.0, 1.0], [4.0, 5.0, 6.0, 7.0], [-1.0, -1.0, 10.0, 11.0]]),
    ('max', 'y.at[jnp.array([1, 3, 3])].max(jnp.array([0, 9, 2]))', 'int32', (5,), [0, 1, 2, 9, 4]),
    ('apply', 'y.at[jnp.array([1, 2])].apply(lambda v: v * 10)', 'int32', (5,), [0, 10, 20, 3, 4]),
    ('at_ellipsis', 'z.at[..., 0].set(-1)', 'int32', (2, 3, 4), [[[-1, 1, 2, 3], [-1, 5, 6, 7], [-1, 9, 10, 11]], [[-1, 13, 14, 15], [-1, 17, 18, 19], [-1, 21, 22, 23]]]),
    ('at_none', 'y.at[None, 2].set(9)', 'int32', (5,), [0, 1, 9, 3, 4]),
    ('iterate_rows', 'jnp.stack(list(x))', 'float32', (3, 4), [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]),
]


@pytest.mark.parametrize("name,expr,dtype,shape,value", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(name, expr, dtype, shape, value):
    x, y, z = operands()
    r = eval(expr)
    assert (str(r.dtype), r.shape) == (dtype, shape)
    np.testing.assert_array_equal(np.asarray(r), np.asarray(value, dtype=np.asarray(r).dtype).reshape(shape))


def test_updates_are_functional():
    x, y, _ = operands()
    y.at[0].set(100)
    x.at[:, 0].add(1.)
    np.testing.assert_array_equal(np.asarray(y), np.arange(5))
    np.testing.assert_array_equal(np.asarray(x), np.arange(12.).reshape(3, 4))


def test_traced_integer_index():
    # a traced scalar index is a gather (clamped), so it works under make_jaxpr / jit
    x, _, _ = operands()
    f = lambda x, i: x[i, 1:]  # noqa: E731
    text = str(jax.make_jaxpr(f)(x, jnp.int32(1)))
    assert "gather" in text
    np.testing.assert_array_equal(np.asarray(jax.jit(f)(x, jnp.int32(7))), [9., 10., 11.])
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda x, i: x.at[i].set(0.))(x, 1))[1], [0.] * 4)


def test_boolean_mask_needs_concrete_values():
    x, _, _ = operands()
    with pytest.raises(errors.ConcretizationTypeError, match="[Bb]oolean"):
        jax.make_jaxpr(lambda x: x[x > 5])(x)
    # the usual fix works traced
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda x: jnp.where(x > 5, x, 0.))(x)).ravel(),
                                  np.where(np.arange(12.) > 5, np.arange(12.), 0.))


def test_item_assignment_points_to_at():
    x, _, _ = operands()
    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set\(y\)"):
        x[0, 0] = 1.


@pytest.mark.parametrize("idx,err,match", [
    ([0, 1], TypeError, "non-tuple sequence"),
    (1.5, TypeError, "Indexer must have integer or boolean type, got indexer with type float"),
    (np.float32(1), TypeError, "Indexer must have integer or boolean type"),
    (jnp.array([0.5]), TypeError, "integer or boolean type"),
    ((0, 0, 0), IndexError, "Too many indices"),
    ((Ellipsis, 0, Ellipsis), IndexError, "single ellipsis"),
    (np.ones(5, bool), IndexError, "boolean index did not match"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
])
def test_index_errors(idx, err, match):
    x, _, _ = operands()
    with pytest.raises(err, match=match):
        x[idx]


def test_at_rejects_list_like_getitem():
    x, _, _ = operands()
    with pytest.raises(TypeError, match="non-tuple sequence"):
        x.at[[0, 1]].set(0.)


def test_iteration_and_len():
    x, y, _ = operands()
    assert len(x) == 3 and len(y) == 5
    assert [int(v) for v in y] == [0, 1, 2, 3, 4]
    rows = list(x)
    assert len(rows) == 3 and rows[2].shape == (4,)
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(jnp.float32(1))
    with pytest.raises(TypeError, match="iteration over a 0-d array"):
        iter(jnp.float32(1))
