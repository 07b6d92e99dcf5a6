"""JAX's config context managers at the top level (jax.enable_x64, debug_nans, ...) and a few
lax names (broadcast_shapes, optimization_barrier, complex)."""
import threading

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config, lax


def test_enable_x64_for_a_block():
    assert jnp.ones(2).dtype == jnp.float32
    with jax.enable_x64():
        assert jnp.ones(2).dtype == np.float64
        assert jnp.asarray(2**40).dtype == np.int64
    assert jnp.ones(2).dtype == jnp.float32 and not config.read("jax_enable_x64")


def test_debug_nans_for_a_block():
    with jax.debug_nans():
        with pytest.raises(FloatingPointError, match="nan"):
            np.asarray(jnp.log(jnp.float32(-1.0)))
    assert np.isnan(np.asarray(jnp.log(jnp.float32(-1.0))))


def test_numpy_rank_promotion_is_scoped_to_the_thread():
    seen = []
    with jax.numpy_rank_promotion("raise"):
        with pytest.raises(ValueError, match="jax_numpy_rank_promotion=.raise."):
            jnp.ones((2, 3)) + jnp.ones(3)
        t = threading.Thread(target=lambda: seen.append(np.asarray(jnp.ones((2, 3)) + jnp.ones(3)).shape))
        t.start()
        t.join()
    assert seen == [(2, 3)]
    assert (jnp.ones((2, 3)) + jnp.ones(3)).shape == (2, 3)


def test_lax_broadcast_shapes_barrier_and_complex():
    assert lax.broadcast_shapes((2, 1), (3,)) == (2, 3)
    with pytest.raises(ValueError, match="Incompatible shapes"):
        lax.broadcast_shapes((2,), (3,))
    x = jnp.arange(3.0)
    g = jax.grad(lambda v: jnp.sum(lax.optimization_barrier((v * v, 1.0))[0]))(x)
    np.testing.assert_allclose(np.asarray(g), 2 * np.arange(3.0))
    z = lax.complex(x, 2 * x)
    np.testing.assert_array_equal(np.asarray(z), np.arange(3.0) + 2j * np.arange(3.0))
