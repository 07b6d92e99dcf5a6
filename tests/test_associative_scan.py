"""lax.associative_scan against NumPy's accumulate and a sequential loop: odd, even, 1 and 0
lengths, other axes, reverse, pytrees, a non-commutative fn, grad and vmap."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 13])
def test_cumulative_sum_and_max(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    np.testing.assert_allclose(np.asarray(lax.associative_scan(jnp.add, jnp.asarray(x))), np.cumsum(x),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(lax.associative_scan(jnp.maximum, x)), np.maximum.accumulate(x))


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("reverse", [False, True])
def test_axis_and_reverse(axis, reverse):
    x = np.random.default_rng(1).standard_normal((5, 7, 3)).astype(np.float32)
    want = np.flip(np.cumsum(np.flip(x, axis), axis), axis) if reverse else np.cumsum(x, axis)
    got = lax.associative_scan(jnp.add, x, reverse=reverse, axis=axis)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_a_non_commutative_pytree_fn_matches_a_sequential_loop():
    # Affine maps x -> a*x + b composed left to right: (a1, b1) then (a2, b2) is (a1*a2, b1*a2 + b2).
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.5, 1.5, 11), rng.standard_normal(11)

    def compose(p, q):
        return {"a": p["a"] * q["a"], "b": p["b"] * q["a"] + q["b"]}
    got = lax.associative_scan(compose, {"a": jnp.asarray(a, jnp.float32), "b": jnp.asarray(b, jnp.float32)})
    ra, rb, wa, wb = 1.0, 0.0, [], []
    for ai, bi in zip(a, b):
        ra, rb = ra * ai, rb * ai + bi
        wa.append(ra)
        wb.append(rb)
    np.testing.assert_allclose(np.asarray(got["a"]), wa, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(got["b"]), wb, rtol=1e-5, atol=1e-5)


def test_grad_vmap_and_jit():
    x = np.random.default_rng(3).uniform(0.5, 1.5, (4, 6)).astype(np.float32)
    cumprod = jax.vmap(lambda r: lax.associative_scan(jnp.multiply, r))
    np.testing.assert_allclose(np.asarray(jax.jit(cumprod)(x)), np.cumprod(x, 1), rtol=1e-5)
    g = jax.grad(lambda r: jnp.sum(lax.associative_scan(jnp.multiply, r)))(jnp.asarray(x[0]))
    # d/dx_k sum_i prod_{j<=i} x_j = sum_{i>=k} prod_{j<=i} x_j / x_k
    p = np.cumprod(x[0].astype(np.float64))
    want = [p[k:].sum() / x[0][k] for k in range(6)]
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="same first dimension"):
        lax.associative_scan(lambda a, b: (a[0] + b[0], a[1] + b[1]), (jnp.ones(3), jnp.ones(4)))
    with pytest.raises(ValueError, match="out of bounds"):
        lax.associative_scan(jnp.add, jnp.ones(3), axis=1)
    with pytest.raises(TypeError, match="structure"):
        lax.associative_scan(lambda a, b: (a, b), jnp.ones(3))
