"""Axis arguments are checked as JAX checks them (issue #21): an axis that the operand does not
have raises `ValueError: axis A is out of bounds for array of dimension N`, for a 0-d operand
too, and under vmap the per-example rank is what counts. Valid axes still give NumPy's values.
"""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
import gpuxla.scipy.special as jsp
from gpuxla import lax

# (name, f(x, axis), NumPy reference or None)
AXIS_OPS = [
    ("sum", jnp.sum, np.sum),
    ("mean", jnp.mean, np.mean),
    ("prod", jnp.prod, np.prod),
    ("max", jnp.max, np.max),
    ("min", jnp.min, np.min),
    ("var", jnp.var, np.var),
    ("std", jnp.std, np.std),
    ("any", lambda x, axis: jnp.any(x > 0.5, axis=axis), lambda x, axis: np.any(x > 0.5, axis=axis)),
    ("all", lambda x, axis: jnp.all(x > 0.5, axis=axis), lambda x, axis: np.all(x > 0.5, axis=axis)),
    ("argmax", jnp.argmax, np.argmax),
    ("argmin", jnp.argmin, np.argmin),
    ("nanmax", jnp.nanmax, np.nanmax),
    ("nansum", jnp.nansum, np.nansum),
    ("cumsum", jnp.cumsum, np.cumsum),
    ("cumprod", jnp.cumprod, np.cumprod),
    ("sort", jnp.sort, np.sort),
    ("argsort", jnp.argsort, lambda x, axis: np.argsort(x, axis=axis, kind="stable")),
    ("softmax", jax.nn.softmax, lambda x, axis: np.exp(x) / np.exp(x).sum(axis, keepdims=True)),
    ("log_softmax", jax.nn.log_softmax, lambda x, axis: x - np.log(np.exp(x).sum(axis, keepdims=True))),
    ("logsumexp", jsp.logsumexp, lambda x, axis: np.log(np.exp(x).sum(axis))),
    ("lax.reduce_sum", lambda x, axis: lax.reduce_sum(x, (axis,)), lambda x, axis: x.sum(axis)),
    ("lax.cumsum", lambda x, axis: lax.cumsum(x, axis), np.cumsum),
    ("lax.sort", lambda x, axis: lax.sort(x, axis), np.sort),
    ("lax.argmax", lambda x, axis: lax.argmax(x, axis, np.int32), np.argmax),
]
IDS = [n for n, _, _ in AXIS_OPS]
MSG = "axis 0 is out of bounds for array of dimension 0"


@pytest.mark.parametrize("name,f,ref", AXIS_OPS, ids=IDS)
def test_zero_d_operand_has_no_axis(name, f, ref):
    with pytest.raises(ValueError, match=MSG):
        f(jnp.float32(0.25), axis=0)
    with pytest.raises(ValueError, match="axis -1 is out of bounds for array of dimension 0"):
        f(jnp.float32(0.25), axis=-1)
    with pytest.raises(ValueError, match=MSG):
        jax.jit(lambda x: f(x, axis=0))(jnp.float32(0.25))


@pytest.mark.parametrize("name,f,ref", AXIS_OPS, ids=IDS)
def test_vmap_counts_the_per_example_rank(name, f, ref):
    # Each example is a scalar: axis 0 does not exist in it, although the batched array has one.
    with pytest.raises(ValueError, match=MSG):
        jax.vmap(lambda x: f(x, axis=0))(jnp.ones(3))
    # Each example is a vector: axis 0 is its axis, and the result is NumPy's row by row.
    x = np.random.default_rng(0).uniform(size=(3, 5)).astype(np.float32)
    got = np.asarray(jax.vmap(lambda r: f(r, axis=0))(jnp.asarray(x)))
    want = np.stack([ref(r, axis=0) for r in x])
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    with pytest.raises(ValueError, match="axis 1 is out of bounds for array of dimension 1"):
        jax.vmap(lambda r: f(r, axis=1))(jnp.asarray(x))


@pytest.mark.parametrize("name,f,ref", AXIS_OPS, ids=IDS)
def test_out_of_range_axis_of_a_matrix(name, f, ref):
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match="axis 2 is out of bounds for array of dimension 2"):
        f(x, axis=2)
    with pytest.raises(ValueError, match="axis -3 is out of bounds for array of dimension 2"):
        f(x, axis=-3)


def test_scalars_reduced_over_no_axis_still_work():
    one = jnp.float32(1.5)
    assert float(jnp.sum(one)) == 1.5 and float(jnp.sum(one, axis=())) == 1.5
    assert float(jnp.max(one)) == 1.5 and float(jax.nn.softmax(jnp.ones(1))[0]) == 1.0
    # axis=None flattens first (NumPy and JAX): a 0-d operand becomes a 1-element vector.
    assert jnp.sort(one, axis=None).shape == (1,) and jnp.cumsum(one).shape == (1,)
    # JAX's cumulative ops take a Python or NumPy scalar as a vector of one element, whatever
    # the axis; a 0-d Array has no axis 0 (test above).
    np.testing.assert_array_equal(np.asarray(jnp.cumsum(2.0, axis=0)), [2.0])
    np.testing.assert_array_equal(np.asarray(jnp.cumprod(np.float32(3.0), axis=0)), [3.0])


def test_axis_helpers_of_lax():
    with pytest.raises(ValueError, match="axis 1 is out of bounds for array of dimension 1"):
        lax.squeeze(jnp.ones(1), (1,))
    with pytest.raises(ValueError, match="axis 0 is out of bounds for array of dimension 0"):
        lax.split(jnp.float32(1), [1], axis=0)
    np.testing.assert_array_equal(np.asarray(lax.squeeze(jnp.ones((1, 2)), (-2,))), [1.0, 1.0])
