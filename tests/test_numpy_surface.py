"""jnp additions: dsplit, ufunc/frompyfunc, load/save/savez/fromfile, linalg eig/eigvals/tensorinv/
tensorsolve; against NumPy (and finite differences for eigvals' derivative)."""
import functools
import io

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp


def test_dsplit():
    x = np.arange(24.0).reshape(2, 3, 4)
    for s in (2, [1, 3]):
        for g, w in zip(jnp.dsplit(x, s), np.dsplit(x, s)):
            np.testing.assert_array_equal(np.asarray(g), w)
    with pytest.raises(ValueError, match="3 or more dimensions"):
        jnp.dsplit(np.ones((2, 2)), 2)


def _np_ufunc():
    return np.frompyfunc(lambda a, b: a * b + 1, 2, 1, identity=0)


def test_frompyfunc_methods_match_numpy_object_ufuncs():
    f = lambda a, b: a * b + 1  # noqa: E731
    u, nu = jnp.frompyfunc(f, 2, 1, identity=0), _np_ufunc()
    x = np.array([0.5, 1.0, 2.0, 3.0], np.float32)
    m = np.arange(6.0, dtype=np.float32).reshape(2, 3) / 3
    close = lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w, np.float64), rtol=1e-6)  # noqa: E731
    close(u(x, 2.0), nu(x, 2.0))
    close(u.outer(x[:2], x[:3]), nu.outer(x[:2], x[:3]))
    # With an identity, JAX's reduce folds from it (NumPy's object ufuncs start at the first element).
    fold = lambda v, start: functools.reduce(f, v, start)  # noqa: E731
    close(u.reduce(x), fold(x, 0))
    close(u.reduce(m, axis=1), [fold(r, 0) for r in m])
    close(u.reduce(m, axis=0, keepdims=True), [[fold(c, 0) for c in m.T]])
    close(u.reduce(m, axis=None), fold(m.ravel(), 0))
    close(u.reduce(x, initial=2.0), fold(x, 2.0))
    close(u.accumulate(x), nu.accumulate(x))
    close(u.accumulate(m, axis=1), nu.accumulate(m, axis=1))
    want = x.astype(object).copy()
    nu.at(want, np.array([1, 1, 3]), 3.0)
    close(u.at(x, jnp.array([1, 1, 3]), 3.0, inplace=False), want)
    close(u.reduceat(x, np.array([0, 2])), nu.reduceat(x, np.array([0, 2])))
    no_id = jnp.frompyfunc(f, 2, 1)
    close(no_id.reduce(x), np.frompyfunc(f, 2, 1).reduce(x))
    assert (u.nin, u.nout, u.nargs, u.identity, repr(u)) == (2, 1, 2, 0, "<jnp.ufunc '<lambda>'>")
    close(jax.jit(lambda v: u.reduce(v))(x), fold(x, 0))
    with pytest.raises(ValueError, match="no identity"):
        no_id.reduce(jnp.zeros((0,)))
    with pytest.raises(NotImplementedError, match="inplace=True"):
        u.at(x, jnp.array([1]), 1.0)


def test_load_save_savez_fromfile(tmp_path):
    f = io.BytesIO()
    x = jnp.array([2, 4, 6, 8], dtype="bfloat16")
    jnp.save(f, x)
    f.seek(0)
    y = jnp.load(f)
    assert isinstance(y, jax.Array) and y.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(y, np.float32), [2, 4, 6, 8])
    p = tmp_path / "a.npz"
    jnp.savez(p, jnp.arange(3), b=jnp.ones(2))
    z = jnp.load(p)
    np.testing.assert_array_equal(z["arr_0"], [0, 1, 2])
    np.testing.assert_array_equal(z["b"], [1.0, 1.0])
    with pytest.raises(NotImplementedError, match="non-pure"):
        jnp.fromfile(str(p))


def test_eig_and_eigvals_match_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4)).astype(np.float32)
    w, v = jnp.linalg.eig(a)
    assert w.dtype == np.complex64 and v.dtype == np.complex64
    nw, nv = np.linalg.eig(a)
    np.testing.assert_allclose(np.asarray(w), nw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.abs(np.asarray(v)), np.abs(nv), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-4)
    np.testing.assert_allclose(np.asarray(jax.jit(jnp.linalg.eigvals)(a)), nw, rtol=1e-5, atol=1e-5)
    batch = rng.standard_normal((3, 3, 3))
    np.testing.assert_allclose(np.asarray(jax.vmap(jnp.linalg.eigvals)(batch)), np.linalg.eigvals(batch),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="square matrix"):
        jnp.linalg.eig(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="non-symmetric eigenvectors"):
        jax.grad(lambda m: jnp.linalg.eig(m)[0].real.sum())(a)


def test_eigvals_derivative_finite_differences(x64):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 4))
    f = lambda m: jnp.sum(jnp.abs(jnp.linalg.eigvals(m)) ** 2)  # noqa: E731
    g = np.asarray(jax.grad(f)(a))
    d = rng.standard_normal((4, 4))
    fd = (float(f(a + 1e-6 * d)) - float(f(a - 1e-6 * d))) / 2e-6
    np.testing.assert_allclose(np.sum(g * d), fd, rtol=1e-6)


def test_tensorinv_tensorsolve(x64):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 2, 3))
    np.testing.assert_allclose(np.asarray(jnp.linalg.tensorinv(a, ind=1)), np.linalg.tensorinv(a, ind=1), rtol=1e-10)
    a4 = rng.standard_normal((2, 3, 6))
    np.testing.assert_allclose(np.asarray(jnp.linalg.tensorinv(a4, ind=2)), np.linalg.tensorinv(a4, ind=2),
                               rtol=1e-10)
    a = rng.standard_normal((2, 3, 6))
    b = rng.standard_normal((2, 3))
    np.testing.assert_allclose(np.asarray(jnp.linalg.tensorsolve(a, b)), np.linalg.tensorsolve(a, b), rtol=1e-10)
    a = rng.standard_normal((2, 3, 6))
    b = rng.standard_normal(6)
    np.testing.assert_allclose(np.asarray(jnp.linalg.tensorsolve(a, b, axes=(0, 1))),
                               np.linalg.tensorsolve(a, b, axes=(0, 1)), rtol=1e-10)
    with pytest.raises(ValueError, match="same size"):
        jnp.linalg.tensorinv(np.ones((2, 3)), ind=1)
