"""jax-level APIs: custom_gradient, closure_convert, ensure_compile_time_eval, live_arrays,
transfer guards, jax.dlpack; checked against finite differences / NumPy / JAX's documented behaviour."""
import logging

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax


def test_custom_gradient_rule_is_used():
    @jax.custom_gradient
    def f(x):
        return x ** 2, lambda g: (g * x,)          # deliberately not 2x: the rule must win
    assert float(f(3.0)) == 9.0
    assert float(jax.grad(f)(3.0)) == 3.0
    np.testing.assert_allclose(np.asarray(jax.vmap(jax.grad(f))(jnp.arange(3.0))), [0.0, 1.0, 2.0])

    @jax.custom_gradient
    def g(x, y):                                   # a clipped gradient, two arguments
        return x * y, lambda ct: (jnp.clip(ct * y, -1, 1), ct * x)
    gx, gy = jax.grad(g, argnums=(0, 1))(2.0, 5.0)
    assert (float(gx), float(gy)) == (1.0, 2.0)
    np.testing.assert_allclose(float(jax.jit(jax.grad(g))(2.0, 0.5)), 0.5)

    @jax.custom_gradient
    def single(x):                                 # a bare cotangent for a one-argument function
        return jnp.sin(x), lambda ct: ct * jnp.cos(x)
    np.testing.assert_allclose(float(jax.grad(single)(0.3)), np.cos(0.3), rtol=1e-6)
    with pytest.raises(TypeError, match="must return a pair"):
        jax.grad(jax.custom_gradient(lambda x: x))(1.0)


def test_closure_convert_hoists_float_constants():
    w = jnp.array([1.5, -2.0, 0.5])
    n = jnp.array(2, jnp.int32)

    def f(x):
        return jnp.sum(jnp.sin(x * w)) * n

    conv, consts = jax.closure_convert(f, jnp.ones(3))
    assert len(consts) == 1 and np.array_equal(np.asarray(consts[0]), np.asarray(w))
    x = jnp.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(float(conv(x, *consts)), float(f(x)), rtol=1e-6)
    w2 = np.array([3.0, 1.0, -1.0], np.float32)
    np.testing.assert_allclose(float(conv(x, w2)), 2 * np.sum(np.sin(np.asarray(x) * w2)), rtol=1e-6)
    # The hoisted constant is differentiable: d/dw sum(sin(x w)) * 2 = 2 x cos(x w).
    gw = jax.grad(lambda c: conv(x, c))(consts[0])
    np.testing.assert_allclose(np.asarray(gw), 2 * np.asarray(x) * np.cos(np.asarray(x) * np.asarray(w)), rtol=1e-5)

    # The documented use: a custom_vjp of a higher-order function that must see the closure.
    def scale_by(fn, x):
        return fn(x)
    conv2, cs = jax.closure_convert(lambda x: x * w, jnp.ones(3))
    np.testing.assert_allclose(np.asarray(scale_by(lambda v: conv2(v, *cs), x)), np.asarray(x * w))
    with pytest.raises(TypeError, match="do not match the example arguments"):
        conv(x, x, *consts)


def test_ensure_compile_time_eval_in_jit():
    @jax.jit
    def f(x):
        with jax.ensure_compile_time_eval():
            y = jnp.sin(3.0)
            z_positive = jnp.sin(y) > 0
        if z_positive:
            return jnp.sin(x)
        return jnp.cos(x)
    np.testing.assert_allclose(float(f(0.5)), np.sin(0.5) if np.sin(np.sin(3.0)) > 0 else np.cos(0.5), rtol=1e-6)

    @jax.jit
    def g(x):
        with jax.ensure_compile_time_eval():
            return bool(x > 0)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        g(1.0)


def test_live_arrays():
    x = jnp.arange(7.0) + 1
    jax.block_until_ready(x)
    assert any(a is x for a in jax.live_arrays())
    x.delete()
    assert not any(a is x for a in jax.live_arrays())
    with pytest.raises(ValueError, match="not the active platform"):
        jax.live_arrays("tpu")


def test_transfer_guards():
    x = jnp.arange(3.0)
    h = np.ones(3, np.float32)
    with jax.transfer_guard("disallow"):
        with pytest.raises(jax.errors.JaxRuntimeError, match="Disallowed host-to-device transfer"):
            jnp.asarray(h)
        with pytest.raises(jax.errors.JaxRuntimeError, match="Disallowed host-to-device transfer"):
            jnp.array([1.0, 2.0])
        jax.device_put(h)                     # explicit: allowed below the *_explicit levels
        y = jnp.sum(x * 2)                    # gpuxla's own constants are no transfers
        assert float(y) == 6.0 and jnp.asarray(x) is x
    with jax.transfer_guard("disallow_explicit"):
        with pytest.raises(jax.errors.JaxRuntimeError, match="Disallowed host-to-device transfer: device_put"):
            jax.device_put(h)
        with pytest.raises(jax.errors.JaxRuntimeError):
            jnp.asarray(h)
    with jax.transfer_guard_host_to_device("disallow"), jax.transfer_guard("allow"):
        with pytest.raises(jax.errors.JaxRuntimeError):
            jnp.asarray(h)                    # the per-direction level wins
    with jax.transfer_guard_device_to_host("disallow"):
        jnp.asarray(h)
    jnp.asarray(h)                            # restored after the blocks
    with jax.transfer_guard("log"):
        logger = logging.getLogger("gpuxla")
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger.addHandler(handler)
        try:
            jnp.asarray(h)
        finally:
            logger.removeHandler(handler)
        assert any("host-to-device transfer" in r.getMessage() for r in records)
    with pytest.raises(ValueError, match="must be None or in"):
        with jax.transfer_guard("nope"):
            pass


def test_dlpack_module():
    src = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = jax.dlpack.from_dlpack(src)
    np.testing.assert_array_equal(np.asarray(a), src)
    back = np.from_dlpack(a)
    np.testing.assert_array_equal(back, src)
    assert jax.dlpack.is_supported_dtype(np.float32) and jax.dlpack.is_supported_dtype(jnp.bfloat16)
    assert not jax.dlpack.is_supported_dtype(np.str_)
    assert lax.axis_size is not None


def test_print_environment_info(capsys):
    s = jax.print_environment_info(return_string=True)
    assert s.startswith("gpuxla:") and f"numpy:     {np.__version__}" in s and "process_count: 1" in s
    jax.print_environment_info()
    assert capsys.readouterr().out.startswith("gpuxla:")
