"""Array exchange (#21): DLPack both ways without a copy on the host platforms, the array-API
namespace, the CUDA array interface's clear refusal on the host; lax.sort with num_keys."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends, lax
from gpuxla.backends.numpy import NumpyBackend


@pytest.fixture(autouse=True)
def numpy_platform(monkeypatch):
    monkeypatch.setattr(backends, "_backend", NumpyBackend())
    monkeypatch.setattr(backends, "_eager_cache", {})


def test_from_dlpack_shares_host_memory():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = jnp.from_dlpack(a)
    assert x.shape == (3, 4) and x.dtype == jnp.float32
    assert np.shares_memory(x._buf, a)                      # no copy
    np.testing.assert_array_equal(np.asarray(x * 2), a * 2)
    y = jnp.from_dlpack(a, copy=True)
    assert not np.shares_memory(y._buf, a)
    np.testing.assert_array_equal(np.asarray(y), a)


def test_numpy_reads_an_array_through_dlpack_without_a_copy():
    x = jnp.arange(6.0, dtype=jnp.float32) + 1.0             # a lazy result: realised on export
    v = np.from_dlpack(x)
    np.testing.assert_array_equal(v, np.arange(6.0) + 1)
    assert np.shares_memory(v, x._buf)
    assert x.__dlpack_device__() == (1, 0)                   # kDLCPU, device 0
    z = jnp.from_dlpack(x)                                   # Array -> Array
    np.testing.assert_array_equal(np.asarray(z), np.asarray(x))


def test_array_namespace_and_cuda_interface():
    x = jnp.ones(3)
    assert x.__array_namespace__() is jnp
    with pytest.raises(AttributeError, match="not in GPU memory"):
        x.__cuda_array_interface__
    assert not hasattr(x, "__cuda_array_interface__")


def test_exporting_a_traced_array_raises():
    with pytest.raises(jax.errors.TracerArrayConversionError):
        jax.jit(lambda x: np.from_dlpack(x))(jnp.ones(2))


def test_sort_with_num_keys_is_lexicographic_and_carries_the_rest():
    rng = np.random.default_rng(0)
    k0 = rng.integers(0, 3, (4, 20)).astype(np.int32)
    k1 = rng.integers(0, 4, (4, 20)).astype(np.float32)
    v = rng.standard_normal((4, 20)).astype(np.float32)
    s0, s1, sv = lax.sort((k0, k1, v), dimension=1, num_keys=2)
    order = np.lexsort((k1, k0), axis=1)                     # last key first for np.lexsort
    take = lambda a: np.take_along_axis(a, order, 1)         # noqa: E731
    np.testing.assert_array_equal(np.asarray(s0), take(k0))
    np.testing.assert_array_equal(np.asarray(s1), take(k1))
    np.testing.assert_array_equal(np.asarray(sv), take(v))   # stable: ties keep their order
    (one,) = lax.sort((k1,), num_keys=1)
    np.testing.assert_array_equal(np.asarray(one), np.sort(k1, 1))
    g = jax.grad(lambda w: jnp.sum(lax.sort((k0[0], w), num_keys=1)[1] * jnp.arange(20.0)))(jnp.asarray(v[0]))
    want = np.zeros(20)
    want[np.argsort(k0[0], kind="stable")] = np.arange(20.0)
    np.testing.assert_allclose(np.asarray(g), want)
    with pytest.raises(ValueError, match="num_keys=3"):
        lax.sort((k0, v), num_keys=3)
    with pytest.raises(ValueError, match="num_keys=2"):
        lax.sort(k0, num_keys=2)
