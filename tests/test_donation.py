"""Buffer donation (`jit(..., donate_argnums=..., donate_argnames=...)`), as JAX: the donated
Arrays are deleted after the call (using one raises RuntimeError), and on the kernel platforms an
output of the same shape and dtype is written into a donated buffer where the input's last reader
runs before that output is written, and nothing else holds the buffer. Buffer reuse is observed on
the `cuda` platform over tests/fake_cupy.py (its allocation counter, buffer identity); the numpy
platform only deletes. Every result is compared with NumPy."""
import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp

from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

RNG = np.random.default_rng(0)


@pytest.fixture
def cuda():
    with fc.installed(nvrtc=False) as backend:
        yield backend


def _spread(x):
    # The output is written by a kernel after x's last reader (a dot_general on cuBLAS) ran.
    return jnp.dot(x, x) * jnp.cos(jnp.arange(x.shape[0], dtype=x.dtype))


def _spread_ref(x):
    x = x.astype(np.float64)
    return (x @ x) * np.cos(np.arange(x.shape[0]))


def _ptr(x):
    # (the address, not the buffer: holding the buffer would make it shared, and not reused)
    return x._buf.data.ptr


def _allocs(f, *args):
    before = fc.stats["allocs"]
    out = f(*args)
    return out, fc.stats["allocs"] - before


def test_donated_buffer_holds_the_output_and_the_array_is_deleted(cuda):
    xs = [RNG.standard_normal(1000).astype(np.float32) for _ in range(4)]
    f = jax.jit(_spread, donate_argnums=0)
    g = jax.jit(_spread)
    for i, xv in enumerate(xs):       # the first call traces; later ones take the fast path
        x = jnp.asarray(xv)
        ptr = _ptr(x)
        y, n = _allocs(f, x)
        np.testing.assert_allclose(np.asarray(y), _spread_ref(xv), rtol=1e-5, atol=1e-5)
        assert x.is_deleted() and _ptr(y) == ptr
        if i:
            assert n == 0             # no output allocation: the donated buffer is the output
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            np.asarray(x)
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            x + 1
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            f(x)
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            g(x)
    # Without donation the output is a fresh allocation and the argument stays usable.
    x = jnp.asarray(xs[0])
    y, n = _allocs(g, x)
    y, n = _allocs(g, x)
    assert n == 1 and not x.is_deleted() and _ptr(y) != _ptr(x)
    np.testing.assert_allclose(np.asarray(x), xs[0])


def test_no_reuse_when_the_output_is_written_where_the_input_is_read(cuda):
    # w - 0.1 * g reads w in the kernel that writes the result: the result gets its own buffer
    # (the kernel's threads could read what another one wrote), w is deleted all the same.
    wv, gv = RNG.standard_normal((64, 32)).astype(np.float32), RNG.standard_normal((32, 64)).astype(np.float32)
    f = jax.jit(lambda w, g: w - 0.1 * g.T, donate_argnames="w")
    for i in range(3):
        w, g = jnp.asarray(wv), jnp.asarray(gv)
        y, n = _allocs(f, w, g)
        assert n == (1 if i else 2) and w.is_deleted() and not g.is_deleted()     # (the first: the arena)
        np.testing.assert_allclose(np.asarray(y), wv - np.float32(0.1) * gv.T, rtol=1e-6, atol=1e-6)


def test_a_buffer_held_elsewhere_is_not_written(cuda):
    xv = RNG.standard_normal(500).astype(np.float32)
    f = jax.jit(_spread, donate_argnums=0)
    for make_alias in (lambda x: x._buf, lambda x: x._buf[:10]):     # the buffer itself, a view of it
        x = jnp.asarray(xv)
        keep = make_alias(x)
        y = f(x)
        assert x.is_deleted() and y._buf is not x._buf
        np.testing.assert_array_equal(fc.asnumpy(keep), xv[:keep.shape[0]])
        np.testing.assert_allclose(np.asarray(y), _spread_ref(xv), rtol=1e-5, atol=1e-5)
    # The same array passed twice, donated once: its buffer is still read as the other argument.
    h = jax.jit(lambda a, b: _spread(a) + b[::-1], donate_argnums=0)
    for _ in range(2):
        x = jnp.asarray(xv)
        y = h(x, x)
        np.testing.assert_allclose(np.asarray(y), _spread_ref(xv) + xv[::-1], rtol=1e-5, atol=1e-5)


def test_training_loop_with_donated_parameters(cuda):
    # A parameter update whose new values are written after the last read of the old ones (the
    # update reads only the gradient's statistics): over several steps the results match NumPy
    # and the parameters' buffers are recycled.
    def step(params, x):
        scale = jnp.mean(jnp.tanh(x @ params["w"]))
        return {"w": jnp.ones_like(params["w"]) * scale, "b": params["b"] + scale}
    f = jax.jit(step, donate_argnums=0)
    wv, xv = RNG.standard_normal((16, 8)).astype(np.float32), RNG.standard_normal((4, 16)).astype(np.float32)
    params = {"w": jnp.asarray(wv), "b": jnp.zeros(8)}
    ref = {"w": wv.astype(np.float64), "b": np.zeros(8)}
    for i in range(4):
        old, x = params, jnp.asarray(xv)
        ptr = _ptr(old["w"])
        params, n = _allocs(f, params, x)
        s = np.mean(np.tanh(xv @ ref["w"]))
        ref = {"w": np.ones_like(ref["w"]) * s, "b": ref["b"] + s}
        assert old["w"].is_deleted() and old["b"].is_deleted()
        assert _ptr(params["w"]) == ptr
        if i:
            assert n == 1       # b + scale reads b where it writes it: only w's buffer is reused
        for k in ref:
            np.testing.assert_allclose(np.asarray(params[k]), ref[k], rtol=1e-5, atol=1e-5)


def test_pending_work_reading_a_donated_array_raises(cuda):
    x = jnp.asarray(RNG.standard_normal(100).astype(np.float32))
    pending = x * 2             # (eager work is lazy: not computed yet)
    jax.jit(_spread, donate_argnums=0)(x)
    with pytest.raises(RuntimeError, match="Array has been deleted"):
        np.asarray(pending)


def test_donation_on_the_numpy_platform():
    xv = RNG.standard_normal(100).astype(np.float32)
    f = jax.jit(lambda x, y: x * 2 + y, donate_argnums=(0,))
    for _ in range(3):
        x, y = jnp.asarray(xv), jnp.asarray(xv)
        out = f(x, y)
        np.testing.assert_allclose(np.asarray(out), 3 * xv, rtol=1e-6)
        assert x.is_deleted() and not y.is_deleted()
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            x.block_until_ready()
    # keyword arguments are donated by name too, as JAX resolves donate_argnums through the signature
    x, y = jnp.asarray(xv), jnp.asarray(xv)
    np.testing.assert_allclose(np.asarray(f(y=y, x=x)), 3 * xv, rtol=1e-6)
    assert x.is_deleted() and not y.is_deleted()
    # Under an outer transformation nothing is donated.
    x = jnp.asarray(xv)
    jax.grad(lambda v: jnp.sum(f(v, v)))(x)
    assert not x.is_deleted()


def test_donation_errors_and_delete():
    with pytest.raises(ValueError, match="cannot intersect"):
        jax.jit(lambda x, n: x * n, static_argnums=1, donate_argnums=1)
    x = jnp.asarray(np.arange(3.0, dtype=np.float32))
    assert not x.is_deleted()
    x.delete()
    assert x.is_deleted() and "deleted" in repr(x)
    with pytest.raises(RuntimeError, match="Array has been deleted"):
        jnp.sin(x)
    with pytest.raises(RuntimeError, match="Array has been deleted"):
        jax.jit(jnp.sin).lower(np.zeros(3, np.float32)).compile()(x)
