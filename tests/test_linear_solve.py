"""lax.custom_linear_solve and lax.custom_root: values, gradients by the implicit function theorem (through a solver
written with while_loop, which reverse mode cannot differentiate), closed-over operators, pytrees,
symmetric solves, jit, and the missing transpose_solve error."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax

rng = np.random.default_rng(0)
M = rng.standard_normal((5, 5))
A0 = (M @ M.T + 5 * np.eye(5)).astype(np.float32)           # symmetric positive definite
N0 = (A0 + np.triu(rng.standard_normal((5, 5)), 1)).astype(np.float32)     # not symmetric
B0 = rng.standard_normal(5).astype(np.float32)
C = np.arange(1.0, 6.0)


def cg(matvec, b):
    """Conjugate gradients as a while_loop: reverse mode cannot differentiate it."""
    def cond(s):
        return (s[4] < 50) & (jnp.sum(s[1] * s[1]) > 1e-14)

    def body(s):
        x, r, p, rs, k = s
        ap = matvec(p)
        alpha = rs / jnp.sum(p * ap)
        x, r = x + alpha * p, r - alpha * ap
        new = jnp.sum(r * r)
        return x, r, r + (new / rs) * p, new, k + 1
    x0 = jnp.zeros_like(b)
    return lax.while_loop(cond, body, (x0, b, b, jnp.sum(b * b), 0))[0]


def dense(matvec, b):
    return jnp.linalg.solve(jax.jacfwd(matvec)(b), b)


def test_values_and_gradients_through_a_while_loop_solver():
    def f(A, b):
        x = lax.custom_linear_solve(lambda v: A @ v, b, cg, symmetric=True)
        return jnp.sum(x * C)
    x = np.linalg.solve(A0.astype(np.float64), B0)
    np.testing.assert_allclose(float(f(A0, B0)), x @ C, rtol=1e-4)
    gA, gb = jax.grad(f, argnums=(0, 1))(jnp.asarray(A0), jnp.asarray(B0))
    lam = np.linalg.solve(A0.T.astype(np.float64), C)            # d/db = A^-T c, d/dA = -A^-T c x^T
    np.testing.assert_allclose(np.asarray(gb), lam, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gA), -np.outer(lam, x), rtol=1e-3, atol=1e-5)
    with pytest.raises(Exception, match="while"):                # the solver alone is not differentiable
        jax.grad(lambda b: jnp.sum(cg(lambda v: jnp.asarray(A0) @ v, b)))(jnp.asarray(B0))


def test_a_non_symmetric_operator_needs_transpose_solve():
    def f(A, b, transpose_solve):
        return jnp.sum(lax.custom_linear_solve(lambda v: A @ v, b, dense, transpose_solve=transpose_solve) * C)
    x = np.linalg.solve(N0.astype(np.float64), B0)
    lam = np.linalg.solve(N0.T.astype(np.float64), C)
    gA, gb = jax.jit(jax.grad(f, argnums=(0, 1)), static_argnums=2)(N0, B0, dense)
    np.testing.assert_allclose(np.asarray(gb), lam, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gA), -np.outer(lam, x), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(float(f(N0, B0, None)), x @ C, rtol=1e-4)     # values need no transpose
    with pytest.raises(TypeError, match="transpose_solve"):
        jax.grad(f, argnums=1)(N0, B0, None)


def test_pytree_right_hand_side():
    # Two blocks: (u, v) -> (2u + v, u + 3v), symmetric.
    def mv(z):
        return {"u": 2 * z["u"] + z["v"], "v": z["u"] + 3 * z["v"]}

    def solve(matvec, z):
        return {"u": (3 * z["u"] - z["v"]) / 5, "v": (2 * z["v"] - z["u"]) / 5}
    b = {"u": jnp.asarray([1.0, 2.0]), "v": jnp.asarray([0.5, -1.0])}
    x = lax.custom_linear_solve(mv, b, solve, symmetric=True)
    np.testing.assert_allclose(np.asarray(mv(x)["u"]), [1.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mv(x)["v"]), [0.5, -1.0], rtol=1e-6)
    g = jax.grad(lambda b: jnp.sum(lax.custom_linear_solve(mv, b, solve, symmetric=True)["u"]))(b)
    np.testing.assert_allclose(np.asarray(g["u"]), [0.6, 0.6], rtol=1e-6)          # row u of A^-1 = (3, -1)/5
    np.testing.assert_allclose(np.asarray(g["v"]), [-0.2, -0.2], rtol=1e-6)


def newton(f, x0):
    """Newton's method as a while_loop (not reverse-differentiable itself)."""
    def body(s):
        x, k = s
        return x - f(x) / jax.grad(f)(x), k + 1
    return lax.while_loop(lambda s: s[1] < 30, body, (x0, 0))[0]


def test_custom_root_differentiates_implicitly():
    # x = cbrt(a): the root of x^3 - a; dx/da = 1 / (3 x^2).
    def cube_root(a):
        return lax.custom_root(lambda x: x ** 3 - a, jnp.float32(1.0), newton, lambda g, y: y / g(1.0))
    for a in (2.0, 8.0, 27.0):
        np.testing.assert_allclose(float(cube_root(a)), a ** (1 / 3), rtol=1e-6)
        np.testing.assert_allclose(float(jax.grad(cube_root)(a)), 1 / (3 * a ** (2 / 3)), rtol=1e-5)
        np.testing.assert_allclose(float(jax.jit(jax.grad(cube_root))(a)), 1 / (3 * a ** (2 / 3)), rtol=1e-5)
    # Through a vector of parameters: the x with x = w0 / (1 + w1 x).
    w = jnp.asarray([2.0, 0.5])

    def fixed(w):
        return lax.custom_root(lambda x: x - w[0] / (1 + w[1] * x), jnp.float32(1.0), newton, lambda g, y: y / g(1.0))
    x = float(fixed(w))
    np.testing.assert_allclose(x, w[0] / (1 + w[1] * x), rtol=1e-6)
    # implicit: F = x - w0/(1+w1 x); dF/dx = 1 + w0 w1/(1+w1 x)^2; dF/dw = (-1/(1+w1 x), w0 x/(1+w1 x)^2)
    d = 1 + w[1] * x
    dfdx = 1 + 2.0 * 0.5 / d ** 2
    want = -np.array([-1 / d, 2.0 * x / d ** 2]) / float(dfdx)
    np.testing.assert_allclose(np.asarray(jax.grad(fixed)(w)), want, rtol=1e-5)


def test_forward_mode_is_refused_by_name():
    def cube_root(a):
        return lax.custom_root(lambda x: x ** 3 - a, jnp.float32(1.0), newton, lambda g, y: y / g(1.0))
    with pytest.raises(TypeError, match=r"forward-mode.*custom_root"):
        jax.jvp(cube_root, (2.0,), (1.0,))
