"""JAX's options are honoured or refused, never silently ignored (issue #21): each `jax_*` option
gpuxla accepts changes what it says it changes, tested here against JAX's documented behaviour.
"""
import warnings

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config


@pytest.fixture
def option():
    """Set options for one test; restore them after."""
    saved = {}

    def set_(name, value):
        saved.setdefault(name, config.read(name))
        config.update(name, value)
    yield set_
    for name, value in saved.items():
        config.update(name, value)


# --- jax_numpy_rank_promotion -----------------------------------------------------------------
def test_rank_promotion_allow_is_numpy_broadcasting():
    a, b = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.arange(3.0, dtype=np.float32)
    assert config.read("jax_numpy_rank_promotion") == "allow"
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a) + jnp.asarray(b)), a + b)


def test_rank_promotion_raise(option):
    x, v = jnp.ones((2, 3)), jnp.arange(3.0)
    f = jax.jit(lambda p, q: jnp.multiply(p, q))
    np.testing.assert_array_equal(np.asarray(f(x, v)), np.ones((2, 3)) * np.arange(3.0))
    option("jax_numpy_rank_promotion", "raise")
    msg = (r"Operands could not be broadcast together for add on shapes \(2, 3\) \(3,\) "
           r"and with the config option jax_numpy_rank_promotion='raise'")
    with pytest.raises(ValueError, match=msg):
        x + v
    with pytest.raises(ValueError, match="for multiply on shapes"):
        f(x, v)                    # jit keys its cache on the option: a retrace, which raises
    with pytest.raises(ValueError, match="for add on shapes"):
        jax.vmap(lambda r: r + jnp.ones((2, 3)))(jnp.ones((4, 3)))     # per-example ranks 1 and 2
    # What JAX does not count as rank promotion: scalars, and equal ranks with size-1 axes.
    assert (x + 1.0).shape == (2, 3) and (x * jnp.float32(2)).shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(x + jnp.ones((1, 3))), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(np.asarray(jax.vmap(lambda r: r + v)(x)), np.ones((2, 3)) + np.arange(3.0))


def test_rank_promotion_warn(option):
    option("jax_numpy_rank_promotion", "warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = jnp.ones((2, 3)) - jnp.ones(3)
        jnp.ones((2, 3)) - jnp.ones((2, 3))
    np.testing.assert_array_equal(np.asarray(out), np.zeros((2, 3)))
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "Following NumPy automatic rank promotion for subtract on shapes (2, 3) (3,)" in str(caught[0].message)
    assert caught[0].filename == __file__          # the warning points at the user's line


def test_rank_promotion_refuses_unknown_values():
    with pytest.raises(ValueError, match="jax_numpy_rank_promotion: 'strict' is not one of"):
        config.update("jax_numpy_rank_promotion", "strict")
    assert config.read("jax_numpy_rank_promotion") == "allow"
